package bench

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// TestDCERPCCaptured checks the built-in PDUs against the bytes taken from
// the rpcclient capture (testdata/README.md) and their headers.
func TestDCERPCCaptured(t *testing.T) {
	tests := []struct {
		file  string
		pdu   []byte
		ptype byte
	}{
		{"srvsvc-bind.hex", SrvsvcBind(), 11},
		{"srvsvc-getinfo.hex", SrvsvcGetInfo(), 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			h, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			want, err := hex.DecodeString(string(bytes.TrimSpace(h)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tc.pdu, want) {
				t.Fatalf("PDU differs from the capture:\n got % x\nwant % x", tc.pdu, want)
			}
			pt, ok := dcePacketType(tc.pdu)
			if !ok || pt != tc.ptype {
				t.Fatalf("packet type %d (whole: %v), want %d", pt, ok, tc.ptype)
			}
		})
	}
}

func TestDCEPacketType(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		ptype byte
		ok    bool
	}{
		{"empty", nil, 0, false},
		{"short", []byte{5, 0, 12}, 0, false},
		{"version 4", append([]byte{4, 0, 12, 3, 0x10, 0, 0, 0, 16, 0}, make([]byte, 6)...), 0, false},
		{"bind_ack", append([]byte{5, 0, 12, 3, 0x10, 0, 0, 0, 16, 0}, make([]byte, 6)...), 12, true},
		{"frag length mismatch", append([]byte{5, 0, 2, 3, 0x10, 0, 0, 0, 99, 0}, make([]byte, 6)...), 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt, ok := dcePacketType(tc.in)
			if pt != tc.ptype || ok != tc.ok {
				t.Fatalf("got %d, %v; want %d, %v", pt, ok, tc.ptype, tc.ok)
			}
		})
	}
}

func FuzzDCEPacketType(f *testing.F) {
	f.Add(SrvsvcBind())
	f.Add(SrvsvcGetInfo())
	f.Add([]byte{5})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, ok := dcePacketType(b); ok && (len(b) < 16 || b[0] != 5) {
			t.Fatalf("accepted % x", b)
		}
	})
}
