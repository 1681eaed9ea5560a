package server

import (
	"testing"
	"time"
)

// TestPipeWaitTimeout: FSCTL_PIPE_WAIT's Timeout in both encodings, the
// default when unspecified, and the bounds.
func TestPipeWaitTimeout(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	filetime := func(tm time.Time) int64 { return tm.UnixNano()/100 + filetimeUnixEpoch }
	tests := []struct {
		name      string
		raw       int64
		specified bool
		want      time.Duration
	}{
		{"unspecified", -12345, false, defaultPipeWait},
		{"relative negative (NT API)", -int64(2 * time.Second / 100), true, 2 * time.Second},
		{"relative positive (impacket, 5*100000)", 500000, true, 50 * time.Millisecond},
		{"zero", 0, true, 0},
		{"absolute future", filetime(now.Add(3 * time.Second)), true, 3 * time.Second},
		{"absolute past", filetime(now.Add(-time.Hour)), true, 0},
		{"huge relative", -1 << 62, true, maxPipeWait},
		{"most negative", -1 << 63, true, maxPipeWait},
		{"huge positive", 1<<63 - 1, true, maxPipeWait},
		{"just below 2000", filetime2000 - 1, true, maxPipeWait},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pipeWaitTimeout(tc.raw, tc.specified, now); got != tc.want {
				t.Errorf("pipeWaitTimeout(%d, %v) = %v, want %v", tc.raw, tc.specified, got, tc.want)
			}
		})
	}
}
