package security

import (
	"reflect"
	"testing"
)

// TestCheckIsAccessCheck: Check decides as AccessCheck does on every
// combination of descriptors, tokens and masks below; only the trace
// differs.
func TestCheckIsAccessCheck(t *testing.T) {
	user, _ := ParseSID("S-1-5-21-1-2-3-1001")
	tokens := []*Token{
		{User: AnonymousLogon(), Groups: []SID{Network()}},
		{User: AnonymousLogon(), Groups: []SID{Network(), Everyone()}},
		{User: user, Groups: []SID{Everyone(), BuiltinUsers(), Network(), AuthenticatedUsers()}},
		{User: LocalSystem(), Groups: []SID{BuiltinAdministrators()}},
	}
	sddls := []string{
		"D:NO_ACCESS_CONTROL", "O:BAD:", "O:" + user.String() + "D:", "D:(A;;GA;;;WD)",
		"O:BAG:SYD:(A;;FA;;;BA)(A;;0x12019b;;;AN)(A;;0x12019b;;;WD)",
		"D:(A;;FR;;;WD)(D;;FR;;;AN)", "D:(D;;FR;;;AN)(A;;FR;;;WD)", "D:(A;;FA;;;WD)(D;;FW;;;AN)",
		"D:(A;IO;FA;;;WD)(A;;FR;;;AN)(D;;FW;;;NU)(A;;FA;;;BA)",
		"O:" + user.String() + "D:(A;;FR;;;OW)(A;;0x12019b;;;WD)",
		"O:SYG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;WD)(A;;FR;;;AN)",
	}
	masks := []uint32{0, 0x1, 0x3, 0x4, 0x12019F, 0x12019B, ReadControl, WriteDAC, MaximumAllowed,
		MaximumAllowed | FileWriteData, AccessSystemSecurity, GenericRead, GenericAll}
	for _, text := range sddls {
		sd, err := ParseSDDL(text, nil)
		if err != nil {
			t.Fatal(err)
		}
		sd = sd.MapGeneric(FileMapping())
		for _, tok := range tokens {
			for _, m := range masks {
				for _, pipe := range []bool{false, true} {
					opt := CheckOptions{PipeClientOpen: pipe}
					want := AccessCheck(sd, tok, m, opt)
					want.Trace = nil
					if got := Check(sd, tok, m, opt); !reflect.DeepEqual(got, want) {
						t.Errorf("%s, %v, 0x%X, pipe %v: Check %+v, AccessCheck %+v", text, tok.User, m, pipe, got, want)
					}
				}
			}
		}
	}
	if r := Check(nil, tokens[0], 0x3, CheckOptions{}); r.Granted != 0x3 || r.Trace != nil {
		t.Errorf("no descriptor: %+v", r)
	}
}

// TestCheckAllocs pins Check, the server's access check, at zero
// allocations, granted or denied.
func TestCheckAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	sd, _ := ParseSDDL("D:(A;;0x12019b;;;AN)(A;;0x12019b;;;AU)(A;;FA;;;SY)(A;;FA;;;BA)", nil)
	user, _ := ParseSID("S-1-5-21-1-2-3-1001")
	anon := &Token{User: AnonymousLogon(), Groups: []SID{Network()}}
	usr := &Token{User: user, Groups: []SID{Everyone(), BuiltinUsers(), Network(), AuthenticatedUsers()}}
	for _, tc := range []struct {
		tok     *Token
		desired uint32
	}{{anon, 0x12019F}, {usr, 0x12019F}, {usr, FileAllAccess}, {anon, MaximumAllowed}} {
		if n := testing.AllocsPerRun(100, func() { Check(sd, tc.tok, tc.desired, CheckOptions{PipeClientOpen: true}) }); n != 0 {
			t.Errorf("%v 0x%X: %v allocations per Check, want 0", tc.tok.User, tc.desired, n)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	sd, _ := ParseSDDL("D:(A;;0x12019b;;;AN)(A;;0x12019b;;;AU)(A;;FA;;;SY)(A;;FA;;;BA)", nil)
	anon := &Token{User: AnonymousLogon(), Groups: []SID{Network()}}
	b.Run("Check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Check(sd, anon, 0x12019F, CheckOptions{PipeClientOpen: true})
		}
	})
	b.Run("AccessCheck", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			AccessCheck(sd, anon, 0x12019F, CheckOptions{PipeClientOpen: true})
		}
	})
}

func TestRightsNames(t *testing.T) {
	for mask, want := range map[uint32]string{
		0:                            "none",
		FileReadData | FileWriteData: "READ_DATA|WRITE_DATA",
		FileGenericRead:              "READ_DATA|READ_EA|READ_ATTRIBUTES|READ_CONTROL|SYNCHRONIZE",
		0x00C00000:                   "0xC00000",
		FileExecute | 0x00200000:     "EXECUTE|0x200000",
		GenericRead | MaximumAllowed: "MAXIMUM_ALLOWED|GENERIC_READ",
	} {
		if got := RightsNames(mask); got != want {
			t.Errorf("RightsNames(0x%X) = %q, want %q", mask, got, want)
		}
	}
	if got := string(AppendRightsNames([]byte("x "), 0x20)); got != "x EXECUTE" {
		t.Errorf("AppendRightsNames: %q", got)
	}
}
