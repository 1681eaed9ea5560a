package policy_test

import (
	"slices"
	"testing"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
)

// TestDecideFixesChain: when more than one gate denies, Fixes holds the
// change of every gate that would still deny once the earlier ones pass,
// in gate order, and Fix joins them; one gate gives one change.
func TestDecideFixesChain(t *testing.T) {
	s := mustSnap(t, `
machine_sid = "S-1-5-21-1-2-3"
[LanmanServer]
NullSessionPipes = ["listed"]
[[account]]
name = "alice"
password = "x"
rid = 1001
[[pipe]]
name = "listed"
backend = "echo"
[[pipe]]
name = "def"
backend = "echo"
[[pipe]]
name = "null"
backend = "echo"
sddl = "D:NO_ACCESS_CONTROL"
[[pipe]]
name = "alice"
backend = "echo"
sddl = "D:(A;;FA;;;S-1-5-21-1-2-3-1001)"
`)
	anon := policy.Identity{Kind: policy.Anonymous}
	const (
		anRW   = "add (A;;0x12019B;;;AN) to the pipe's sddl"
		delegs = "the client must request impersonation level Impersonation (2) or lower; no server setting allows Delegate"
	)
	tests := []struct {
		name  string
		pipe  string
		level uint32
		fixes []string
	}{
		{"unlisted, DACL fine", "null", 2, []string{`add null to LanmanServer\NullSessionPipes`}},
		{"unlisted, default DACL read only", "def", 2, []string{`add def to LanmanServer\NullSessionPipes`,
			"the DACL grants ANONYMOUS LOGON only read (0x120089); " + anRW}},
		{"unlisted, DACL names alice only", "alice", 2, []string{`add alice to LanmanServer\NullSessionPipes`,
			"the DACL grants ANONYMOUS LOGON nothing; " + anRW}},
		{"unlisted, missing", "nosuch", 2, []string{`add nosuch to LanmanServer\NullSessionPipes`,
			`add a [[pipe]] named "nosuch" (or start the program that serves it)`}},
		{"unlisted, delegate, DACL too narrow", "def", 3, []string{`add def to LanmanServer\NullSessionPipes`, delegs,
			"the DACL grants ANONYMOUS LOGON only read (0x120089); " + anRW}},
		{"listed, DACL too narrow", "listed", 2, []string{"the DACL grants ANONYMOUS LOGON only read (0x120089); " + anRW}},
		{"listed, delegate only", "listed", 3, []string{delegs, "the DACL grants ANONYMOUS LOGON only read (0x120089); " + anRW}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := s.Decide(policy.Request{Identity: anon, PipeName: tt.pipe, DesiredAccess: 0x12019F,
				ImpersonationLevel: tt.level, Pipe: s.PipeInfo(tt.pipe)})
			if d.Status == ntstatus.Success || !slices.Equal(d.Fixes, tt.fixes) {
				t.Fatalf("%v fixes:\n%q\nwant\n%q", d.Status, d.Fixes, tt.fixes)
			}
			if len(tt.fixes) == 1 && d.Fix != tt.fixes[0] || len(tt.fixes) > 1 && d.Fix[:11] != "all of: (1)" {
				t.Errorf("Fix %q", d.Fix)
			}
		})
	}
	// A request the gates grant has no fix.
	d := s.Decide(policy.Request{Identity: anon, PipeName: "listed", DesiredAccess: 0x80000000, ImpersonationLevel: 2, Pipe: s.PipeInfo("listed")})
	if d.Status != ntstatus.Success || d.Fix != "" || d.Fixes != nil {
		t.Errorf("granted: %v %q", d.Status, d.Fix)
	}
}
