package security

import (
	"testing"

	"github.com/smbpipe/smbpipe/ntstatus"
)

// TestAccessCheckVectors runs the 13 vectors of SEMANTICS 3.5.
func TestAccessCheckVectors(t *testing.T) {
	user, _ := ParseSID("S-1-5-21-1-2-3-1001")
	anon := &Token{User: AnonymousLogon(), Groups: []SID{Network()}}
	anonE := &Token{User: AnonymousLogon(), Groups: []SID{Network(), Everyone()}}
	usr := &Token{User: user, Groups: []SID{Everyone(), BuiltinUsers(), Network(), AuthenticatedUsers(), ThisOrganization()}}
	const lsarpc = "O:BAG:SYD:(A;;FA;;;BA)(A;;0x12019b;;;AN)(A;;0x12019b;;;WD)"
	const npfsDefault = "O:SYG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;WD)(A;;FR;;;AN)"
	tests := []struct {
		n       int
		sddl    string
		tok     *Token
		desired uint32
		pipe    bool
		status  ntstatus.Status
		granted uint32
	}{
		{1, "D:NO_ACCESS_CONTROL", anon, 0x0012019F, false, ntstatus.Success, 0x0012019F},
		{2, "D:NO_ACCESS_CONTROL", anon, MaximumAllowed, false, ntstatus.Success, 0x001F01FF},
		{3, "O:BAD:", anon, 0x3, false, ntstatus.AccessDenied, 0},
		{4, "O:" + user.String() + "D:", usr, ReadControl, false, ntstatus.Success, ReadControl},
		{5, "D:(A;;GA;;;WD)", anon, 0x3, false, ntstatus.AccessDenied, 0},
		{6, "D:(A;;GA;;;WD)", anonE, 0x3, false, ntstatus.Success, 0x3},
		{7, lsarpc, anon, 0x0012019F, true, ntstatus.Success, 0x0012019B},
		{8, lsarpc, anon, 0x0012019F, false, ntstatus.AccessDenied, 0},
		{9, "D:(A;;FR;;;WD)(D;;FR;;;AN)", anonE, FileReadData, false, ntstatus.Success, FileReadData},
		{10, "D:(D;;FR;;;AN)(A;;FR;;;WD)", anonE, FileReadData, false, ntstatus.AccessDenied, 0},
		{11, "D:(A;;FA;;;WD)(D;;FW;;;AN)", anonE, MaximumAllowed, false, ntstatus.Success, 0x001F01FF},
		{12, "D:(A;IO;FA;;;WD)", anonE, 0x1, false, ntstatus.AccessDenied, 0},
		{13, npfsDefault, anon, 0x0012019B, false, ntstatus.AccessDenied, 0},
	}
	for _, tt := range tests {
		t.Run(tt.sddl, func(t *testing.T) {
			sd, err := ParseSDDL(tt.sddl, nil)
			if err != nil {
				t.Fatal(err)
			}
			sd = sd.MapGeneric(FileMapping()) // as stored
			r := AccessCheck(sd, tt.tok, tt.desired, CheckOptions{PipeClientOpen: tt.pipe})
			if r.Status != tt.status || r.Granted != tt.granted {
				t.Fatalf("vector %d: %v granted 0x%08X, want %v 0x%08X; trace %+v", tt.n, r.Status, r.Granted, tt.status, tt.granted, r.Trace)
			}
			if len(r.Trace) == 0 || r.Trace[len(r.Trace)-1].Kind != StepResult {
				t.Fatalf("vector %d: trace does not end in a result: %+v", tt.n, r.Trace)
			}
		})
	}
}

func TestAccessCheckMore(t *testing.T) {
	owner, _ := ParseSID("S-1-5-21-1-2-3-1001")
	anonE := &Token{User: AnonymousLogon(), Groups: []SID{Network(), Everyone()}}
	ownerTok := &Token{User: owner, Groups: []SID{Everyone()}}
	o := "O:" + owner.String()
	tests := []struct {
		name    string
		sddl    string
		tok     *Token
		desired uint32
		status  ntstatus.Status
		granted uint32
	}{
		{"absent DACL grants", "O:SY", anonE, 0x3, ntstatus.Success, 0x3},
		{"absent DACL max", "", anonE, MaximumAllowed | FileReadData, ntstatus.Success, FileAllAccess},
		{"zero desired", "D:NO_ACCESS_CONTROL", anonE, 0, ntstatus.AccessDenied, 0},
		{"generic read mapped", "D:(A;;FR;;;WD)", anonE, GenericRead, ntstatus.Success, FileGenericRead},
		{"ACCESS_SYSTEM_SECURITY", "D:NO_ACCESS_CONTROL", anonE, AccessSystemSecurity, ntstatus.PrivilegeNotHeld, 0},
		{"owner WRITE_DAC", o + "D:", ownerTok, WriteDAC, ntstatus.Success, WriteDAC},
		{"owner not READ_DATA", o + "D:", ownerTok, FileReadData, ntstatus.AccessDenied, 0},
		{"OWNER RIGHTS replace implicit", o + "D:(A;;FR;;;OW)", ownerTok, WriteDAC, ntstatus.AccessDenied, 0},
		{"OWNER RIGHTS grant", o + "D:(A;;FR;;;OW)", ownerTok, FileReadData, ntstatus.Success, FileReadData},
		{"OWNER RIGHTS not for others", o + "D:(A;;FR;;;OW)", anonE, FileReadData, ntstatus.AccessDenied, 0},
		{"owner max allowed", o + "D:(A;;FR;;;WD)", ownerTok, MaximumAllowed, ntstatus.Success, FileGenericRead | WriteDAC},
		{"max allowed nothing", "D:(A;;FR;;;AU)", anonE, MaximumAllowed, ntstatus.AccessDenied, 0},
		{"max allowed plus bits missing", "D:(A;;FR;;;WD)", anonE, MaximumAllowed | FileWriteData, ntstatus.AccessDenied, 0},
		{"max allowed deny first", "D:(D;;FW;;;AN)(A;;FA;;;WD)", anonE, MaximumAllowed, ntstatus.Success, FileAllAccess &^ FileGenericWrite},
		{"deny for unrequested bits", "D:(D;;FW;;;AN)(A;;FR;;;WD)", anonE, FileReadData, ntstatus.Success, FileReadData},
		{"deny network", "D:(D;;FA;;;NU)(A;;FA;;;WD)", anonE, FileReadData, ntstatus.AccessDenied, 0},
		{"split across ACEs", "D:(A;;0x1;;;AN)(A;;0x2;;;NU)", anonE, 0x3, ntstatus.Success, 0x3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := ParseSDDL(tt.sddl, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := AccessCheck(sd.MapGeneric(FileMapping()), tt.tok, tt.desired, CheckOptions{})
			if r.Status != tt.status || r.Granted != tt.granted {
				t.Fatalf("%v 0x%08X, want %v 0x%08X; trace %+v", r.Status, r.Granted, tt.status, tt.granted, r.Trace)
			}
		})
	}
}

func TestAccessCheckTrace(t *testing.T) {
	sd, _ := ParseSDDL("D:(A;IO;FA;;;WD)(A;;FR;;;AN)(D;;FW;;;NU)(A;;FA;;;BA)", nil)
	anon := &Token{User: AnonymousLogon(), Groups: []SID{Network()}}
	r := AccessCheck(sd, anon, 0x3, CheckOptions{})
	if r.Status != ntstatus.AccessDenied || r.DeniedBy != 3 || r.Missing != FileWriteData {
		t.Fatalf("%+v", r)
	}
	var aces []TraceStep
	for _, s := range r.Trace {
		if s.Kind == StepACE {
			aces = append(aces, s)
		}
	}
	if len(aces) != 3 || aces[0].Note != "inherit-only: skipped" || aces[1].Granted != FileReadData || aces[2].Denied != FileWriteData {
		t.Fatalf("trace %+v", aces)
	}
	r = AccessCheck(sd, anon, FileReadData, CheckOptions{})
	if r.Status != ntstatus.Success || len(r.Trace) != 6 || r.Trace[3].Note == "" {
		t.Fatalf("every ACE is in the trace, even when not reached: %+v", r.Trace)
	}
}

func TestGenericMapping(t *testing.T) {
	m := FileMapping()
	for in, want := range map[uint32]uint32{
		GenericRead: 0x120089, GenericWrite: 0x120116, GenericExecute: 0x1200A0, GenericAll: 0x1F01FF,
		GenericRead | GenericWrite: 0x12019F, 0x3: 0x3, GenericRead | MaximumAllowed: 0x120089 | MaximumAllowed,
	} {
		if got := m.Map(in); got != want {
			t.Errorf("Map(0x%X) = 0x%X, want 0x%X", in, got, want)
		}
	}
}

func TestAccessCheckAllocs(t *testing.T) {
	sd, _ := ParseSDDL("D:(A;;0x12019b;;;AN)(A;;FA;;;SY)", nil)
	anon := &Token{User: AnonymousLogon(), Groups: []SID{Network()}}
	n := testing.AllocsPerRun(100, func() { AccessCheck(sd, anon, 0x3, CheckOptions{PipeClientOpen: true}) })
	// The trace and its notes are built for every check; keep it bounded.
	if n > 16 {
		t.Fatalf("%v allocations per AccessCheck", n)
	}
}
