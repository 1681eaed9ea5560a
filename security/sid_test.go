package security

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "", "|", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSIDStringAndBinary(t *testing.T) {
	// Binary forms from SEMANTICS 1.5.
	tests := []struct {
		str string
		bin string
	}{
		{"S-1-5-7", "01 01 00 00 00 00 00 05 07 00 00 00"},
		{"S-1-1-0", "01 01 00 00 00 00 00 01 00 00 00 00"},
		{"S-1-5-2", "01 01 00 00 00 00 00 05 02 00 00 00"},
		{"S-1-5-11", "01 01 00 00 00 00 00 05 0b 00 00 00"},
		{"S-1-5-32-544", "01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00"},
		{"S-1-5-21-1-2-3-4294967295", "01 05 000000000005 15000000 01000000 02000000 03000000 ffffffff"},
		{"S-1-0x1000000000000-1", ""},
		{"S-1-0x100000000", "01 00 000100000000"},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			s, err := ParseSID(tt.str)
			if tt.bin == "" {
				if err == nil {
					t.Fatalf("ParseSID(%q) = %v, want error", tt.str, s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.String(); got != tt.str {
				t.Errorf("String = %q", got)
			}
			want := mustHex(t, tt.bin)
			if got := s.AppendBinary(nil); !bytes.Equal(got, want) {
				t.Errorf("binary = %x, want %x", got, want)
			}
			d, n, err := DecodeSID(append(want, 0xAA))
			if err != nil || d != s || n != len(want) {
				t.Errorf("DecodeSID = %v, %d, %v", d, n, err)
			}
		})
	}
}

func TestParseSIDRejects(t *testing.T) {
	for _, s := range []string{"", "S", "S-1", "S-2-5", "S-1-5-", "S-1--5", "S-1-5-+1", "S-1-5-4294967296",
		"X-1-5", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", "S-1-0x"} {
		if v, err := ParseSID(s); err == nil {
			t.Errorf("ParseSID(%q) = %v, want error", s, v)
		}
	}
}

func TestDecodeSIDRejects(t *testing.T) {
	for _, b := range []string{"", "01", "02 00 000000000000", "01 10 000000000005", "01 02 000000000005 00000000"} {
		if _, _, err := DecodeSID(mustHex(t, b)); err == nil {
			t.Errorf("DecodeSID(%s) succeeded", b)
		}
	}
}

func TestWithRIDAndPrefix(t *testing.T) {
	m, _ := ParseSID("S-1-5-21-10-20-30")
	u, err := m.WithRID(1001)
	if err != nil || u.String() != "S-1-5-21-10-20-30-1001" || u.RID() != 1001 || !u.Prefix(m) || m.Prefix(u) {
		t.Fatalf("WithRID: %v %v", u, err)
	}
}

func FuzzDecodeSID(f *testing.F) {
	f.Add(mustHex(f, "01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00"))
	f.Add([]byte{1, 15, 0, 0, 0, 0, 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, n, err := DecodeSID(b)
		if err != nil {
			return
		}
		if enc := s.AppendBinary(nil); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("round trip %x != %x", enc, b[:n])
		}
		if p, err := ParseSID(s.String()); err != nil || p != s {
			t.Fatalf("string round trip %v: %v %v", s, p, err)
		}
	})
}
