package policy_test

import (
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/policy/policytest"
)

func identity(s policytest.Session) policy.Identity {
	switch s {
	case policytest.Anonymous:
		return policy.Identity{Kind: policy.Anonymous}
	case policytest.Guest:
		return policy.Identity{Kind: policy.Guest, User: policytest.GuestName}
	case policytest.Alice:
		return policy.Identity{Kind: policy.User, User: "alice", Domain: "WORKGROUP"}
	}
	return policy.Identity{Kind: policy.User, User: "bob", Domain: "WORKGROUP"}
}

func TestDecisionMatrix(t *testing.T) {
	snaps := map[string]*policy.Snapshot{}
	for _, c := range policytest.Cells() {
		text := policytest.ConfigTOML(c, "127.0.0.1:4450")
		snap, ok := snaps[text]
		if !ok {
			cfg, err := policy.Parse([]byte(text), "matrix.toml")
			if err != nil {
				t.Fatalf("%v: %v\n%s", c, err, text)
			}
			if snap, err = policy.Compile(cfg); err != nil {
				t.Fatal(err)
			}
			snaps[text] = snap
		}
		name := c.Pipe.Name()
		d := snap.Decide(policy.Request{Identity: identity(c.Session), PipeName: name, DesiredAccess: c.Access.Mask(),
			ImpersonationLevel: policy.ImpersonationImpersonation, Pipe: snap.PipeInfo(name)})
		if want := policytest.Expect(c); d.Status != want {
			t.Errorf("%v: %v (rule %s), want %v\n%s", c, d.Status, d.Rule, want, strings.Join(d.Steps, "\n"))
		}
		if d.Status != ntstatus.Success && d.Fix == "" {
			t.Errorf("%v: denied without a fix", c)
		}
		if d.Status == ntstatus.Success && (d.Granted == 0 || d.Fix != "") {
			t.Errorf("%v: granted 0x%X fix %q", c, d.Granted, d.Fix)
		}
	}
	if len(snaps) != 16 {
		t.Errorf("%d distinct configs", len(snaps))
	}
}

func mustSnap(t *testing.T, text string) *policy.Snapshot {
	t.Helper()
	return testserver.Snapshot(t, text, "t.toml")
}

const base = `
machine_sid = "S-1-5-21-1-2-3"
guest = true
[LanmanServer]
NullSessionPipes = ["\\echo", "pipe\\Sql\\Query", "  spaced  "]
[[account]]
name = "alice"
password = "Passw0rd!"
rid = 1001
[[pipe]]
name = "echo"
backend = "echo"
sddl = "D:(A;;0x12019B;;;AN)(A;;GX;;;WD)"
[[pipe]]
name = "sql\\query"
backend = "tcp:127.0.0.1:1433"
sddl = "D:NO_ACCESS_CONTROL"
[[pipe]]
name = "limited"
backend = "echo"
max_instances = 2
sddl = "D:NO_ACCESS_CONTROL"
`

func TestDecideGates(t *testing.T) {
	s := mustSnap(t, base)
	anon := policy.Identity{Kind: policy.Anonymous}
	alice := policy.Identity{Kind: policy.User, User: "ALICE"}
	duplex := func(name string) *policy.PipeInfo { return s.PipeInfo(name) }
	tests := []struct {
		name   string
		req    policy.Request
		status ntstatus.Status
		rule   string
		fix    string
		grant  uint32
	}{
		{"listed with backslash entry", policy.Request{Identity: anon, PipeName: "ECHO", DesiredAccess: 0x12019F, ImpersonationLevel: 2, Pipe: duplex("echo")},
			ntstatus.Success, policy.RuleGranted, "", 0x12019B},
		{"multi-component listed", policy.Request{Identity: anon, PipeName: `SQL\query`, DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: duplex(`sql\query`)},
			ntstatus.Success, policy.RuleGranted, "", 0x3},
		{"entry trimmed", policy.Request{Identity: anon, PipeName: "spaced", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: nil},
			ntstatus.ObjectNameNotFound, policy.RuleNotFound, `add a [[pipe]] named "spaced"`, 0},
		{"last component does not match", policy.Request{Identity: anon, PipeName: "query", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: nil},
			ntstatus.AccessDenied, policy.RuleNullSessionPipes, `add query to LanmanServer\NullSessionPipes`, 0},
		{"unlisted before existence", policy.Request{Identity: anon, PipeName: "limited", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: duplex("limited")},
			ntstatus.AccessDenied, policy.RuleNullSessionPipes, `add limited to LanmanServer\NullSessionPipes`, 0},
		{"request name not normalised", policy.Request{Identity: alice, PipeName: `\echo`, DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: nil},
			ntstatus.ObjectNameNotFound, policy.RuleNotFound, "", 0},
		{"delegate", policy.Request{Identity: alice, PipeName: "echo", DesiredAccess: 0x3, ImpersonationLevel: 3, Pipe: duplex("echo")},
			ntstatus.BadImpersonationLevel, policy.RuleImpersonation, "Impersonation (2)", 0},
		{"delegate before existence", policy.Request{Identity: alice, PipeName: "nope", DesiredAccess: 0x3, ImpersonationLevel: 4},
			ntstatus.BadImpersonationLevel, policy.RuleImpersonation, "", 0},
		{"anonymous unlisted beats delegate", policy.Request{Identity: anon, PipeName: "nope", DesiredAccess: 0x3, ImpersonationLevel: 3},
			ntstatus.AccessDenied, policy.RuleNullSessionPipes, "", 0},
		{"execute adds read data", policy.Request{Identity: alice, PipeName: "echo", DesiredAccess: 0x20, ImpersonationLevel: 2, Pipe: duplex("echo")},
			ntstatus.Success, policy.RuleGranted, "", 0x21},
		{"alice cannot write echo", policy.Request{Identity: alice, PipeName: "echo", DesiredAccess: 0x2, ImpersonationLevel: 2, Pipe: duplex("echo")},
			ntstatus.AccessDenied, policy.RuleDACL, "add (A;;0x2;;;S-1-5-21-1-2-3-1001)", 0},
		{"inbound read", policy.Request{Identity: alice, PipeName: "limited", DesiredAccess: 0x3, ImpersonationLevel: 2,
			Pipe: &policy.PipeInfo{Name: "limited", SDDL: "D:NO_ACCESS_CONTROL", Direction: policy.DirectionInbound, FreeInstance: true}},
			ntstatus.AccessDenied, policy.RuleDirection, "writing only", 0},
		{"inbound write", policy.Request{Identity: alice, PipeName: "limited", DesiredAccess: 0x2, ImpersonationLevel: 2,
			Pipe: &policy.PipeInfo{Name: "limited", SDDL: "D:NO_ACCESS_CONTROL", Direction: policy.DirectionInbound, FreeInstance: true}},
			ntstatus.Success, policy.RuleGranted, "", 0x2},
		{"outbound write", policy.Request{Identity: alice, PipeName: "limited", DesiredAccess: 0x3, ImpersonationLevel: 2,
			Pipe: &policy.PipeInfo{Name: "limited", SDDL: "D:NO_ACCESS_CONTROL", Direction: policy.DirectionOutbound, FreeInstance: true}},
			ntstatus.AccessDenied, policy.RuleDirection, "reading only", 0},
		{"no instance", policy.Request{Identity: alice, PipeName: "limited", DesiredAccess: 0x3, ImpersonationLevel: 2,
			Pipe: &policy.PipeInfo{Name: "limited", SDDL: "D:NO_ACCESS_CONTROL", Direction: policy.DirectionDuplex}},
			ntstatus.PipeNotAvailable, policy.RuleInstances, "raise max_instances of pipe \"limited\" (now 2)", 0},
		{"unknown user identity", policy.Request{Identity: policy.Identity{Kind: policy.User, User: "mallory"}, PipeName: "echo", DesiredAccess: 0x3, Pipe: duplex("echo")},
			ntstatus.AccessDenied, policy.RuleUnknownUser, "", 0},
		{"system security", policy.Request{Identity: alice, PipeName: "limited", DesiredAccess: 0x01000000, ImpersonationLevel: 2, Pipe: duplex("limited")},
			ntstatus.PrivilegeNotHeld, policy.RuleDACL, "ACCESS_SYSTEM_SECURITY", 0},
		{"go pipe with own sddl", policy.Request{Identity: alice, PipeName: "go", DesiredAccess: 0x3, ImpersonationLevel: 2,
			Pipe: &policy.PipeInfo{Name: "go", SDDL: "D:(A;;FA;;;S-1-5-21-1-2-3-1001)", Direction: 2, FreeInstance: true}},
			ntstatus.Success, policy.RuleGranted, "", 0x3},
		{"go pipe with bad sddl", policy.Request{Identity: alice, PipeName: "go", DesiredAccess: 0x3, ImpersonationLevel: 2,
			Pipe: &policy.PipeInfo{Name: "go", SDDL: "D:(A;;QQ;;;WD)", Direction: 2, FreeInstance: true}},
			ntstatus.AccessDenied, policy.RuleDACL, "unknown right", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := s.Decide(tt.req)
			if d.Status != tt.status || d.Rule != tt.rule || !strings.Contains(d.Fix, tt.fix) || d.Granted != tt.grant {
				t.Fatalf("got %v rule %s granted 0x%X fix %q\n%s", d.Status, d.Rule, d.Granted, d.Fix, strings.Join(d.Steps, "\n"))
			}
			if d.Reason == "" || len(d.Steps) < 2 || !strings.HasPrefix(d.Steps[len(d.Steps)-1], "result: ") {
				t.Fatalf("incomplete decision %+v", d)
			}
		})
	}
}

func TestDecideFixes(t *testing.T) {
	s := mustSnap(t, `
machine_sid = "S-1-5-21-1-2-3"
[LanmanServer]
NullSessionPipes = ["def", "deny", "wd"]
[[pipe]]
name = "def"
backend = "echo"
[[pipe]]
name = "deny"
backend = "echo"
sddl = "D:(D;;FA;;;NU)(A;;FA;;;WD)"
[[pipe]]
name = "wd"
backend = "echo"
sddl = "D:(A;;FA;;;WD)"
[[pipe]]
name = "empty"
backend = "echo"
sddl = "D:"
`)
	anon := policy.Identity{Kind: policy.Anonymous}
	for _, tt := range []struct{ pipe, fix string }{
		{"def", "the DACL grants ANONYMOUS LOGON only read (0x120089); add (A;;0x12019B;;;AN) to the pipe's sddl"},
		{"deny", "remove ACE 1 (D;;FA;;;NU) from the pipe's sddl"},
		{"wd", `the DACL grants ANONYMOUS LOGON nothing; add (A;;0x12019B;;;AN) to the pipe's sddl, or set Lsa\EveryoneIncludesAnonymous = 1`},
	} {
		d := s.Decide(policy.Request{Identity: anon, PipeName: tt.pipe, DesiredAccess: 0x12019F, ImpersonationLevel: 2, Pipe: s.PipeInfo(tt.pipe)})
		if d.Status != ntstatus.AccessDenied || !strings.HasPrefix(d.Fix, tt.fix) {
			t.Errorf("%s: %v fix %q", tt.pipe, d.Status, d.Fix)
		}
	}
	d := s.Decide(policy.Request{Identity: policy.Identity{Kind: policy.Guest}, PipeName: "empty", DesiredAccess: 0x3, Pipe: s.PipeInfo("empty")})
	if d.Status != ntstatus.AccessDenied || !strings.Contains(d.Fix, "empty") {
		t.Errorf("empty: %v %q", d.Status, d.Fix)
	}
}

func TestTokens(t *testing.T) {
	s := mustSnap(t, `
machine_sid = "S-1-5-21-1-2-3"
[Lsa]
EveryoneIncludesAnonymous = 1
[[account]]
name = "bob"
nt_hash = "FC525C9683E8FE067095BA2DDC971889"
rid = 1002
groups = ["Administrators", "BUILTIN\\Backup Operators", "PU", "S-1-5-21-1-2-3-2000", "Users"]
`)
	tests := []struct {
		id   policy.Identity
		want string
	}{
		{policy.Identity{Kind: policy.Anonymous}, "S-1-5-7 S-1-5-2 S-1-1-0"},
		{policy.Identity{Kind: policy.Guest, User: "x"}, "S-1-5-21-1-2-3-501 S-1-1-0 S-1-5-32-546 S-1-5-2"},
		{policy.Identity{Kind: policy.User, User: "Bob"}, "S-1-5-21-1-2-3-1002 S-1-1-0 S-1-5-32-545 S-1-5-2 S-1-5-11 S-1-5-15 S-1-5-64-10 S-1-5-32-544 S-1-5-32-551 S-1-5-32-547 S-1-5-21-1-2-3-2000"},
		{policy.Identity{Kind: policy.User, User: "nobody"}, ""},
	}
	for _, tt := range tests {
		if got := strings.Join(s.SIDs(tt.id), " "); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.id, got, tt.want)
		}
	}
	h, name, ok := s.LookupAccount("BOB")
	if !ok || name != "bob" || h[0] != 0xFC {
		t.Fatal("LookupAccount")
	}
	// The NT hash of "Passw0rd!" is what nt_hash above says.
	s2 := mustSnap(t, "[[account]]\nname = \"alice\"\npassword = \"Passw0rd!\"\n")
	if h2, _, _ := s2.LookupAccount("alice"); h2 != h {
		t.Fatalf("ntHash(Passw0rd!) = %x", h2)
	}
	// Without EveryoneIncludesAnonymous the anonymous token has no Everyone.
	if got := strings.Join(s2.SIDs(policy.Identity{}), " "); got != "S-1-5-7 S-1-5-2" {
		t.Fatal(got)
	}
}

func TestStableSIDs(t *testing.T) {
	text := "server_name = \"HOST1\"\n[[account]]\nname = \"alice\"\npassword = \"x\"\n[[account]]\nname = \"carol\"\npassword = \"x\"\n"
	a, b := mustSnap(t, text), mustSnap(t, text)
	ida := policy.Identity{Kind: policy.User, User: "alice"}
	if a.SIDs(ida)[0] != b.SIDs(ida)[0] || a.MachineSID() != b.MachineSID() {
		t.Fatal("SIDs differ between two compilations of the same file")
	}
	// Reordering accounts keeps each SID.
	c := mustSnap(t, "server_name = \"HOST1\"\n[[account]]\nname = \"carol\"\npassword = \"x\"\n[[account]]\nname = \"alice\"\npassword = \"x\"\n")
	if a.SIDs(ida)[0] != c.SIDs(ida)[0] {
		t.Fatal("RID depends on account order")
	}
	if !strings.HasPrefix(a.SIDs(ida)[0], a.MachineSID().String()+"-") || a.MachineSID().String() == mustSnap(t, "server_name = \"HOST2\"").MachineSID().String() {
		t.Fatal("machine SID not derived from server_name")
	}
}

func TestCheckSession(t *testing.T) {
	on := mustSnap(t, "guest = true\n[[account]]\nname = \"alice\"\npassword = \"x\"\n")
	off := mustSnap(t, "allow_anonymous = false\n")
	tests := []struct {
		s      *policy.Snapshot
		anon   bool
		user   string
		status ntstatus.Status
		kind   policy.Kind
	}{
		{on, true, "", ntstatus.Success, policy.Anonymous},
		{off, true, "", ntstatus.AccessDenied, policy.Anonymous},
		{on, false, "ALICE", ntstatus.Success, policy.User},
		{on, false, "zed", ntstatus.Success, policy.Guest},
		{off, false, "zed", ntstatus.LogonFailure, policy.Guest},
	}
	for _, tt := range tests {
		d := tt.s.CheckSession(tt.anon, tt.user)
		if d.Status != tt.status || (d.Status == ntstatus.Success && d.Kind != tt.kind) || d.Reason == "" {
			t.Errorf("%v %q: %+v", tt.anon, tt.user, d)
		}
	}
}

func TestDescriptorForQueryInfo(t *testing.T) {
	s := mustSnap(t, base)
	sd, err := s.Descriptor("")
	if err != nil || sd.SDDL(nil) != "O:SYG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;WD)(A;;FR;;;AN)" {
		t.Fatalf("%v %v", sd, err)
	}
	sd, err = s.Descriptor("D:(A;;0x12019B;;;AN)(A;;GX;;;WD)")
	if err != nil || sd.SDDL(nil) != "O:SYG:SYD:(A;;0x12019b;;;AN)(A;;FX;;;WD)" {
		t.Fatalf("%v %v", sd.SDDL(nil), err)
	}
	if b, _ := s.Backend("SQL\\QUERY"); b.Kind != "tcp" || b.Addr != "127.0.0.1:1433" {
		t.Fatalf("%+v", b)
	}
}

func BenchmarkDecide(b *testing.B) {
	cfg := policy.Default()
	s, _ := policy.Compile(cfg)
	r := policy.Request{Identity: policy.Identity{Kind: policy.Anonymous}, PipeName: "echo", DesiredAccess: 0x12019F, ImpersonationLevel: 2, Pipe: s.PipeInfo("echo")}
	for b.Loop() {
		s.Decide(r)
	}
}
