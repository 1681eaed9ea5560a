package security

import (
	"bytes"
	"errors"
	"testing"
)

// Binary vectors of SEMANTICS 3.2.
var sdVectors = []struct {
	name, sddl, bin string
}{
	{"null dacl", "D:NO_ACCESS_CONTROL", "01 00 04 80 00000000 00000000 00000000 00000000"},
	{"owner BA, empty dacl", "O:BAD:", `01 00 04 80 14000000 00000000 00000000 24000000
		01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00
		02 00 08 00 00 00 00 00`},
	{"lsarpc-like", "O:BAG:SYD:(A;;FA;;;BA)(A;;0x12019b;;;AN)(A;;0x12019b;;;WD)", `
		01 00 04 80 14000000 24000000 00000000 30000000
		01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00
		01 01 00 00 00 00 00 05 12 00 00 00
		02 00 48 00 03 00 00 00
		00 00 18 00 ff 01 1f 00 01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00
		00 00 14 00 9b 01 12 00 01 01 00 00 00 00 00 05 07 00 00 00
		00 00 14 00 9b 01 12 00 01 01 00 00 00 00 00 01 00 00 00 00`},
	{"absent dacl", "O:SY", "01 00 00 80 14000000 00000000 00000000 00000000 01 01 00 00 00 00 00 05 12 00 00 00"},
}

func TestDescriptorVectors(t *testing.T) {
	for _, v := range sdVectors {
		t.Run(v.name, func(t *testing.T) {
			sd, err := ParseSDDL(v.sddl, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := mustHex(t, v.bin)
			got, err := sd.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encode:\n got %x\nwant %x", got, want)
			}
			dec, err := DecodeSecurityDescriptor(want)
			if err != nil {
				t.Fatal(err)
			}
			if !dec.Equal(sd) {
				t.Fatalf("decode = %+v, want %+v", dec, sd)
			}
			if s := dec.SDDL(nil); s != v.sddl {
				t.Errorf("SDDL = %q, want %q", s, v.sddl)
			}
		})
	}
}

func TestDACLStatesDistinct(t *testing.T) {
	absent, _ := ParseSDDL("", nil)
	null, _ := ParseSDDL("D:NO_ACCESS_CONTROL", nil)
	empty, _ := ParseSDDL("D:", nil)
	if absent.DACLPresent || !null.DACLPresent || null.DACL != nil || !empty.DACLPresent || empty.DACL == nil || len(empty.DACL.ACEs) != 0 {
		t.Fatalf("states: %+v %+v %+v", absent, null, empty)
	}
	if absent.Equal(null) || null.Equal(empty) || absent.Equal(empty) {
		t.Fatal("distinct states compare equal")
	}
	for _, sd := range []*SecurityDescriptor{absent, null, empty} {
		b, _ := sd.AppendBinary(nil)
		d, err := DecodeSecurityDescriptor(b)
		if err != nil || !d.Equal(sd) {
			t.Fatalf("round trip of %+v: %+v %v", sd, d, err)
		}
	}
}

func TestDecodeDescriptorRejects(t *testing.T) {
	tests := []struct {
		name, bin   string
		unsupported bool
	}{
		{"short", "01 00 04 80", false},
		{"revision", "02 00 04 80 00000000 00000000 00000000 00000000", false},
		{"not self-relative", "01 00 04 00 00000000 00000000 00000000 00000000", false},
		{"owner offset past end", "01 00 04 80 ff000000 00000000 00000000 00000000", false},
		{"owner offset inside header", "01 00 04 80 04000000 00000000 00000000 00000000", false},
		{"sacl", "01 00 14 80 00000000 00000000 14000000 00000000 02 00 08 00 00 00 00 00", true},
		{"dacl offset without DP", "01 00 00 80 00000000 00000000 00000000 14000000 02 00 08 00 00 00 00 00", false},
		{"acl size too big", "01 00 04 80 00000000 00000000 00000000 14000000 02 00 ff 00 00 00 00 00", false},
		{"too many aces", "01 00 04 80 00000000 00000000 00000000 14000000 02 00 08 00 05 00 00 00", false},
		{"object ace", "01 00 04 80 00000000 00000000 00000000 14000000 02 00 18 00 01 00 00 00 05 00 10 00 ff 01 1f 00 01 01 00 00 00 00 00 01 00 00 00 00", true},
		{"ace size smaller than sid", "01 00 04 80 00000000 00000000 00000000 14000000 02 00 1c 00 01 00 00 00 00 00 10 00 ff 01 1f 00 01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00", false},
		{"ace size odd", "01 00 04 80 00000000 00000000 00000000 14000000 02 00 18 00 01 00 00 00 00 00 11 00 ff 01 1f 00 01 01 00 00 00 00 00 01 00 00 00 00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeSecurityDescriptor(mustHex(t, tt.bin))
			if err == nil {
				t.Fatal("decoded")
			}
			if errors.Is(err, ErrUnsupported) != tt.unsupported {
				t.Fatalf("err = %v, unsupported want %v", err, tt.unsupported)
			}
		})
	}
}

func TestDecodeIgnoresAcePadding(t *testing.T) {
	// An ACE whose AceSize exceeds its SID: the extra bytes are ignored.
	b := mustHex(t, "01 00 04 80 00000000 00000000 00000000 14000000 02 00 20 00 01 00 00 00 00 00 18 00 ff 01 1f 00 01 01 00 00 00 00 00 01 00 00 00 00 00000000")
	sd, err := DecodeSecurityDescriptor(b)
	if err != nil || sd.SDDL(nil) != "D:(A;;FA;;;WD)" {
		t.Fatalf("%v %v", sd, err)
	}
}

func FuzzSecurityDescriptor(f *testing.F) {
	for _, v := range sdVectors {
		f.Add(mustHex(f, v.bin))
	}
	f.Add(mustHex(f, "01 00 04 80 00000000 00000000 00000000 14000000 02 00 20 00 01 00 00 00 01 0a 18 00 ff 01 1f 00 01 01 00 00 00 00 00 01 00 00 00 00 00000000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := DecodeSecurityDescriptor(b)
		if err != nil {
			return
		}
		enc, err := sd.AppendBinary(nil)
		if err != nil {
			return // e.g. more than 64 KiB after canonical layout: impossible from ≤64 KiB input, tolerated
		}
		again, err := DecodeSecurityDescriptor(enc)
		if err != nil || !again.Equal(sd) {
			t.Fatalf("binary round trip: %v\n%+v\n%+v", err, sd, again)
		}
		// Every decodable descriptor is expressible in SDDL except for
		// control bits SDDL has no syntax for.
		s := sd.SDDL(nil)
		p, err := ParseSDDL(s, nil)
		if err != nil {
			t.Fatalf("ParseSDDL(%q): %v", s, err)
		}
		p.Control = sd.Control
		if p.DACL != nil && sd.DACL != nil {
			p.DACL.Revision = sd.DACL.Revision
		}
		if !p.Equal(sd) {
			t.Fatalf("SDDL round trip %q: %+v vs %+v", s, p, sd)
		}
		_ = AccessCheck(sd, &Token{User: AnonymousLogon(), Groups: []SID{Network()}}, MaximumAllowed, CheckOptions{})
	})
}
