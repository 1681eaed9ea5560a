package security

import (
	"errors"
	"strings"
	"testing"
)

func testCtx(t testing.TB) *SDDLContext {
	m, err := ParseSID("S-1-5-21-1-2-3")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := ParseSID("S-1-5-21-7-8-9")
	return &SDDLContext{Machine: m, Domain: d}
}

func TestSDDLParseFormat(t *testing.T) {
	tests := []struct {
		in, out string // out "" means same as in
	}{
		{"D:NO_ACCESS_CONTROL", ""},
		{"D:", ""},
		{"", ""},
		{"O:BAG:SYD:PAI(A;;FA;;;SY)", "O:BAG:SYD:PAI(A;;FA;;;SY)"},
		{"D:P(A;;FA;;;SY)", ""},
		{"D:ARAI(A;;FA;;;SY)", ""},
		{"D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)(A;;FA;;;BA)", "D:(A;;0x12019b;;;AN)(A;;0x12019b;;;AU)(A;;FA;;;SY)(A;;FA;;;BA)"},
		{"D:(A;;GA;;;WD)", ""},
		{"D:(A;;GRGW;;;WD)", ""},
		{"D:(A;;GWGR;;;WD)", "D:(A;;GRGW;;;WD)"},
		{"D:(A;;FRFW;;;WD)", "D:(A;;0x12019f;;;WD)"},
		{"D:(A;;CCDCLCSWRPWPDTLOCR;;;WD)", "D:(A;;0x1ff;;;WD)"},
		{"D:(A;;SDRCWDWO;;;WD)", ""},
		{"D:(A;;1179785;;;WD)", "D:(A;;FR;;;WD)"},
		{"D:(A;;010;;;WD)", "D:(A;;0x8;;;WD)"},
		{"D:(D;OICIIONPID;FA;;;NU)", "D:(D;OICINPIOID;FA;;;NU)"},
		{"D:(A;SAFA;FX;;;IU)", ""},
		{"D:(A;;FA;;;S-1-5-21-1-2-3-1001)", ""},
		{"D:(A;;FA;;;S-1-5-21-1-2-3-500)", "D:(A;;FA;;;LA)"},
		{"D:(A;;FA;;;LG)(A;;FA;;;DA)(A;;FA;;;DU)(A;;FA;;;DG)(A;;FA;;;DC)", ""},
		{"D:(A;;FA;;;SU)(A;;FA;;;BU)(A;;FA;;;BG)(A;;FA;;;PU)(A;;FA;;;RU)(A;;FA;;;LS)(A;;FA;;;NS)(A;;FA;;;OW)(A;;FA;;;CO)(A;;FA;;;CG)(A;;FA;;;RC)", ""},
		{"d:(a;;fa;;;wd)", "D:(A;;FA;;;WD)"},
		{" O:S-1-5-18 G:SY D:(A;;FA;;;SY) (A;;FR;;;WD) ", "O:SYG:SYD:(A;;FA;;;SY)(A;;FR;;;WD)"},
		{"G:DUO:DAD:", "O:DAG:DU D:"},
	}
	ctx := testCtx(t)
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sd, err := ParseSDDL(tt.in, ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.out
			if want == "" {
				want = tt.in
			}
			want = strings.ReplaceAll(want, " ", "")
			if got := sd.SDDL(ctx); got != want {
				t.Fatalf("SDDL = %q, want %q", got, want)
			}
		})
	}
}

func TestSDDLErrors(t *testing.T) {
	tests := []struct {
		in     string
		ace    int
		substr string
	}{
		{"D:(A;;XX;;;WD)", 1, `unknown right "XX"`},
		{"D:(A;;FA;;;SY)(A;;FAX;;;WD)", 2, `unknown right "X"`},
		{"D:(A;;FA;;;SY)(OA;;FA;;;WD)", 2, `ACE type "OA" is not supported (only A and D)`},
		{"D:(XA;;FA;;;WD;(@User.x==1))", 1, `ACE type "XA" is not supported`},
		{"D:(Q;;FA;;;WD)", 1, "unknown ACE type"},
		{"D:(A;QQ;FA;;;WD)", 1, "unknown ACE flag"},
		{"D:(A;;FA;;;ZZ)", 1, `unknown SID "ZZ"`},
		{"D:(A;;FA;;;S-1-x)", 1, "invalid SID"},
		{"D:(A;;FA;guid;;WD)", 1, "object GUIDs"},
		{"D:(A;;FA;;WD)", 1, "fields"},
		{"D:(A;;FA;;;WD", 1, "missing ')'"},
		{"D:(A;;0x1FFFFFFFF;;;WD)", 1, "invalid rights number"},
		{"D:(A;;FA;;;LA)", 1, "needs a machine SID"}, // parsed without a context
		{"S:(AU;SA;FA;;;WD)", 0, "SACL"},
		{"D:D:", 0, "twice"},
		{"X:", 0, "expected O:, G: or D:"},
		{"O:QQ", 0, "owner"},
		{"D:NO_ACCESS_CONTROL(A;;FA;;;WD)", 0, "NO_ACCESS_CONTROL with ACEs"},
		{"D:Z", 0, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseSDDL(tt.in, nil)
			var se *SDDLError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SDDLError", err)
			}
			if se.ACE != tt.ace || !strings.Contains(se.Error(), tt.substr) {
				t.Fatalf("err = %q (ACE %d), want ACE %d containing %q", se.Error(), se.ACE, tt.ace, tt.substr)
			}
			if !strings.HasPrefix(se.Error(), "security: sddl: ") {
				t.Fatalf("no package prefix: %q", se.Error())
			}
		})
	}
}

func TestSDDLErrorNamesACE(t *testing.T) {
	_, err := ParseSDDL("D:(A;;FA;;;SY)(A;;XX;;;WD)", nil)
	var se *SDDLError
	if !errors.As(err, &se) || se.Detail() != `ACE 2 (A;;XX;;;WD): unknown right "XX"` {
		t.Fatalf("%v", err)
	}
}

func TestMapGeneric(t *testing.T) {
	sd, _ := ParseSDDL("D:(A;;GA;;;WD)(A;;GRGW;;;AN)(A;;GX;;;AU)(A;;0x4;;;SY)", nil)
	got := sd.MapGeneric(FileMapping()).SDDL(nil)
	if want := "D:(A;;FA;;;WD)(A;;0x12019f;;;AN)(A;;FX;;;AU)(A;;0x4;;;SY)"; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
	if sd.SDDL(nil) != "D:(A;;GA;;;WD)(A;;GRGW;;;AN)(A;;GX;;;AU)(A;;0x4;;;SY)" {
		t.Fatal("MapGeneric modified its receiver")
	}
}

func FuzzSDDL(f *testing.F) {
	for _, s := range []string{"D:NO_ACCESS_CONTROL", "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(D;;FW;;;NU)", "D:",
		"D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)(A;;FA;;;BA)", "O:LAG:DUD:(A;;GRGW;;;S-1-5-21-1-2-3-1001)",
		"D:(A;;XX;;;WD)", "D:(OA;;FA;;;WD)", "S:", "O:S-1-0x1000000000-5"} {
		f.Add(s)
	}
	ctx := testCtx(f)
	f.Fuzz(func(t *testing.T, s string) {
		sd, err := ParseSDDL(s, ctx)
		if err != nil {
			return
		}
		out := sd.SDDL(ctx)
		again, err := ParseSDDL(out, ctx)
		if err != nil {
			t.Fatalf("reparse of %q (from %q): %v", out, s, err)
		}
		if !again.Equal(sd) {
			t.Fatalf("SDDL round trip %q -> %q differs", s, out)
		}
		if out2 := again.SDDL(ctx); out2 != out {
			t.Fatalf("format not stable: %q vs %q", out, out2)
		}
		b, err := sd.AppendBinary(nil)
		if err != nil {
			return
		}
		dec, err := DecodeSecurityDescriptor(b)
		if err != nil || !dec.Equal(sd) {
			t.Fatalf("binary round trip of %q: %v", s, err)
		}
	})
}
