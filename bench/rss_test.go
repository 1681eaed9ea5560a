package bench

import (
	"errors"
	"os"
	"testing"
)

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name, in string
		want     int64
		err      bool
	}{
		{"linux status", "Name:\tsmbpipe\nVmPeak:\t  100 kB\nVmRSS:\t   43520 kB\nRssAnon:\t 1 kB\n", 43520 << 10, false},
		{"last line no newline", "VmRSS: 8 kB", 8 << 10, false},
		{"zero", "VmRSS:\t0 kB\n", 0, false},
		{"missing", "Name:\tx\nVmSize:\t1 kB\n", 0, true},
		{"empty", "", 0, true},
		{"no unit", "VmRSS: 12\n", 0, true},
		{"wrong unit", "VmRSS: 12 MB\n", 0, true},
		{"negative", "VmRSS: -12 kB\n", 0, true},
		{"not a number", "VmRSS: x kB\n", 0, true},
		{"huge", "VmRSS: 99999999999999999999 kB\n", 0, true},
		{"prefix only", "VmRSS:", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseVmRSS([]byte(tc.in))
			if tc.err {
				if !errors.Is(err, ErrNoVmRSS) {
					t.Fatalf("got %d, %v; want ErrNoVmRSS", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestProcessRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	n, err := ProcessRSS(os.Getpid())
	if err != nil || n <= 0 {
		t.Fatalf("own RSS: %d, %v", n, err)
	}
	if _, err := ProcessRSS(-1); err == nil {
		t.Error("RSS of pid -1: no error")
	}
}

func FuzzParseVmRSS(f *testing.F) {
	f.Add([]byte("VmRSS:\t   43520 kB\n"))
	f.Add([]byte("Name:\tsmbpipe\nVmRSS: 1 kB"))
	f.Add([]byte("VmRSS:"))
	f.Add([]byte("VmRSS: 9223372036854775807 kB\n"))
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseVmRSS(b)
		if err == nil && n < 0 {
			t.Fatalf("negative RSS %d", n)
		}
		if err != nil && n != 0 {
			t.Fatalf("error with RSS %d", n)
		}
	})
}
