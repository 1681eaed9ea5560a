package policy_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/policy/policytest"
)

// serverSnap is the default policy (the pipe echo, with a DACL of 4 ACEs)
// plus the account alice, as the server tests run it.
func serverSnap(tb testing.TB) *policy.Snapshot {
	tb.Helper()
	cfg := policy.Default()
	cfg.Accounts = append(cfg.Accounts, policy.Account{Name: "alice", Password: "Passw0rd!"})
	s, err := policy.Compile(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// checkRequests are server-path requests, granted and denied at each gate.
func checkRequests(s *policy.Snapshot) map[string]policy.Request {
	anon := policy.Identity{Kind: policy.Anonymous}
	alice := policy.Identity{Kind: policy.User, User: "alice", Domain: "WORKGROUP"}
	echo := s.PipeInfo("echo")
	goPipe := func(sddl string) *policy.PipeInfo {
		return &policy.PipeInfo{Name: "go", SDDL: sddl, Direction: policy.DirectionDuplex, FreeInstance: true}
	}
	return map[string]policy.Request{
		"anonymous":             {Identity: anon, PipeName: "echo", DesiredAccess: 0x12019F, ImpersonationLevel: 2, Pipe: echo},
		"user":                  {Identity: alice, PipeName: "echo", DesiredAccess: 0x12019F, ImpersonationLevel: 2, Pipe: echo},
		"user upper-case":       {Identity: policy.Identity{Kind: policy.User, User: "ALICE"}, PipeName: "ECHO", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: echo},
		"guest":                 {Identity: policy.Identity{Kind: policy.Guest, User: "zed"}, PipeName: "echo", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: echo},
		"unknown user":          {Identity: policy.Identity{Kind: policy.User, User: "mallory"}, PipeName: "echo", DesiredAccess: 0x3, Pipe: echo},
		"not in NullSessPipes":  {Identity: anon, PipeName: "srvsvc", DesiredAccess: 0x3, ImpersonationLevel: 2},
		"non-ASCII name":        {Identity: anon, PipeName: "éçho", DesiredAccess: 0x3, ImpersonationLevel: 2},
		"delegate":              {Identity: alice, PipeName: "echo", DesiredAccess: 0x3, ImpersonationLevel: 3, Pipe: echo},
		"not found":             {Identity: alice, PipeName: "nosuch", DesiredAccess: 0x3, ImpersonationLevel: 2},
		"DACL too narrow":       {Identity: alice, PipeName: "echo", DesiredAccess: 0x1F01FF, ImpersonationLevel: 2, Pipe: echo},
		"DACL maximum allowed":  {Identity: anon, PipeName: "echo", DesiredAccess: 0x02000000, ImpersonationLevel: 2, Pipe: echo},
		"system security":       {Identity: alice, PipeName: "echo", DesiredAccess: 0x01000000, ImpersonationLevel: 2, Pipe: echo},
		"Go pipe":               {Identity: alice, PipeName: "go", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: goPipe("D:(A;;FA;;;AU)(D;;FW;;;NU)")},
		"Go pipe deny ACE":      {Identity: alice, PipeName: "go", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: goPipe("D:(D;;FW;;;NU)(A;;FA;;;AU)")},
		"Go pipe bad SDDL":      {Identity: alice, PipeName: "go", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: goPipe("D:(A;;QQ;;;WD)")},
		"inbound":               {Identity: alice, PipeName: "echo", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: &policy.PipeInfo{Name: "echo", SDDL: echo.SDDL, Direction: policy.DirectionInbound, FreeInstance: true}},
		"outbound":              {Identity: alice, PipeName: "echo", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: &policy.PipeInfo{Name: "echo", SDDL: echo.SDDL, Direction: policy.DirectionOutbound, FreeInstance: true}},
		"no instance":           {Identity: alice, PipeName: "echo", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: &policy.PipeInfo{Name: "echo", SDDL: echo.SDDL, Direction: policy.DirectionDuplex}},
		"execute adds read":     {Identity: alice, PipeName: "go", DesiredAccess: 0x20, ImpersonationLevel: 2, Pipe: goPipe("D:NO_ACCESS_CONTROL")},
		"FSCTL_PIPE_WAIT shape": {Identity: anon, PipeName: "echo"},
	}
}

// sameDecision fails unless Check's decision is Decide's without the
// explanation, and Why is Decide's Reason.
func sameDecision(t *testing.T, name string, s *policy.Snapshot, r policy.Request) {
	t.Helper()
	want, got := s.Decide(r), s.Check(r)
	if got.Status != want.Status || got.Granted != want.Granted || got.Rule != want.Rule || got.Desired != want.Desired {
		t.Errorf("%s: Check %v %s 0x%X (desired 0x%X), Decide %v %s 0x%X (desired 0x%X)", name,
			got.Status, got.Rule, got.Granted, got.Desired, want.Status, want.Rule, want.Granted, want.Desired)
	}
	if got.Reason != "" || got.Steps != nil || got.Fixes != nil || got.Fix != "" {
		t.Errorf("%s: Check explained: %+v", name, got)
	}
	if why := got.Why(); why != want.Reason || why == "" {
		t.Errorf("%s: Why %q, Decide's Reason %q", name, why, want.Reason)
	}
	if want.Why() != want.Reason {
		t.Errorf("%s: Why of Decide's decision %q", name, want.Why())
	}
}

// TestCheckIsDecide: Check is Decide without the explanation, on the
// server's requests and on every cell of the decision matrix; Why writes
// Decide's Reason.
func TestCheckIsDecide(t *testing.T) {
	s := serverSnap(t)
	rules := map[string]string{
		"anonymous": policy.RuleGranted, "user": policy.RuleGranted, "user upper-case": policy.RuleGranted,
		"guest": policy.RuleDACL, "unknown user": policy.RuleUnknownUser,
		"not in NullSessPipes": policy.RuleNullSessionPipes, "non-ASCII name": policy.RuleNullSessionPipes,
		"delegate": policy.RuleImpersonation, "not found": policy.RuleNotFound, "DACL too narrow": policy.RuleDACL,
		"DACL maximum allowed": policy.RuleGranted, "system security": policy.RuleDACL, "Go pipe": policy.RuleGranted,
		"Go pipe deny ACE": policy.RuleDACL, "Go pipe bad SDDL": policy.RuleDACL, "inbound": policy.RuleDirection,
		"outbound": policy.RuleDirection, "no instance": policy.RuleInstances, "execute adds read": policy.RuleGranted,
		"FSCTL_PIPE_WAIT shape": policy.RuleNotFound,
	}
	for name, r := range checkRequests(s) {
		if d := s.Check(r); d.Rule != rules[name] {
			t.Errorf("%s: rule %s, want %s", name, d.Rule, rules[name])
		}
		sameDecision(t, name, s, r)
	}
	snaps := map[string]*policy.Snapshot{}
	for _, c := range policytest.Cells() {
		text := policytest.ConfigTOML(c, "127.0.0.1:4450")
		if snaps[text] == nil {
			snaps[text] = mustSnap(t, text)
		}
		name := c.Pipe.Name()
		sameDecision(t, fmt.Sprint(c), snaps[text], policy.Request{Identity: identity(c.Session), PipeName: name,
			DesiredAccess: c.Access.Mask(), ImpersonationLevel: policy.ImpersonationImpersonation, Pipe: snaps[text].PipeInfo(name)})
	}
	if why := (&policy.Decision{Reason: "set"}).Why(); why != "set" {
		t.Errorf("Why of a decision made by hand: %q", why)
	}
}

// TestDecideAllocs pins the server's decision at zero allocations, granted
// or denied at any gate, for every kind of session.
func TestDecideAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := serverSnap(t)
	reqs := checkRequests(s)
	names := make([]string, 0, len(reqs))
	for name := range reqs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		r := reqs[name]
		if name == "Go pipe bad SDDL" {
			continue // the parse error is built on each call, as the pipe is never opened
		}
		s.Check(r) // a Go pipe's descriptor is parsed at its first open
		if n := testing.AllocsPerRun(100, func() { s.Check(r) }); n != 0 {
			t.Errorf("%s: %v allocations per Check, want 0", name, n)
		}
	}
}

// TestDescriptorConcurrent: Go pipes' descriptors are parsed once and
// shared by every connection; concurrent first uses do not race.
func TestDescriptorConcurrent(t *testing.T) {
	s := serverSnap(t)
	const texts = 40
	var wg sync.WaitGroup
	got := make([][texts]any, 8)
	for g := range got {
		wg.Go(func() {
			for i := range texts {
				sd, err := s.Descriptor(fmt.Sprintf("D:(A;;FA;;;S-1-5-21-1-2-3-%d)", 1000+i))
				if err != nil {
					t.Error(err)
				}
				got[g][i] = sd
			}
		})
	}
	wg.Wait()
	for g := range got {
		for i := range texts {
			if want, _ := s.Descriptor(fmt.Sprintf("D:(A;;FA;;;S-1-5-21-1-2-3-%d)", 1000+i)); got[g][i] != want {
				t.Fatalf("goroutine %d, text %d: a descriptor other than the cached one", g, i)
			}
		}
	}
	// Past the cache's bound a text is still parsed right.
	for i := range 300 {
		text := fmt.Sprintf("D:(A;;FR;;;S-1-5-21-1-2-3-%d)", 5000+i)
		if sd, err := s.Descriptor(text); err != nil || sd.SDDL(nil) != "O:SYG:SY"+text {
			t.Fatalf("%s: %v %v", text, sd.SDDL(nil), err)
		}
	}
}

// BenchmarkCheck is the server's decision of a CREATE of echo (a DACL of
// 4 ACEs), granted, for an anonymous and a user session.
func BenchmarkCheck(b *testing.B) {
	benchRequests(b, []string{"anonymous", "user"}, func(s *policy.Snapshot, r policy.Request) { s.Check(r) })
}

// benchRequests runs a sub-benchmark of decide for each of the named
// checkRequests on serverSnap.
func benchRequests(b *testing.B, names []string, decide func(*policy.Snapshot, policy.Request)) {
	s := serverSnap(b)
	reqs := checkRequests(s)
	for _, name := range names {
		r := reqs[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				decide(s, r)
			}
		})
	}
}

// BenchmarkCheckWhy is Check plus the reason the audit log records.
func BenchmarkCheckWhy(b *testing.B) {
	benchRequests(b, []string{"anonymous", "user", "DACL too narrow"}, func(s *policy.Snapshot, r policy.Request) {
		d := s.Check(r)
		_ = d.Why()
	})
}

// BenchmarkExplain is the same decision explained, as `smbpipe explain`
// prints it.
func BenchmarkExplain(b *testing.B) {
	benchRequests(b, []string{"anonymous", "user"}, func(s *policy.Snapshot, r policy.Request) { s.Decide(r) })
}
