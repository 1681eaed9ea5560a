package server_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/server"
)

// secretPipe is a pipe null sessions may not open (it is not in
// NullSessionPipes).
const secretPipe = `
[[pipe]]
name = "secret"
backend = "echo"
mode = "message"
`

// eventually retries cond for up to 10 s (the machine may be loaded).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAdminSessionsAndOpens lists the sessions and opens of real clients,
// counts their bytes, records their decisions, and closes them.
func TestAdminSessionsAndOpens(t *testing.T) {
	var logBuf testlog.Buffer
	srv, addr := testserver.StartWith(t, server.Options{
		Snapshot: snapshot(t, true, false, "enabled", secretPipe),
		Logger:   slog.New(slog.NewTextHandler(&logBuf, nil)),
	})
	if len(srv.Sessions()) != 0 || len(srv.Opens()) != 0 || len(srv.Decisions()) != 0 {
		t.Fatal("a new server lists sessions, opens or decisions")
	}
	ac, err := dial(t, addr, alice)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := dial(t, addr, anon)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ac.OpenPipe(t.Context(), "echo")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 64)
	if n, _, err := p.Transact(t.Context(), []byte("hello"), out); err != nil || n != 5 {
		t.Fatalf("Transact = %d, %v", n, err)
	}
	if _, err := p.WriteMsg(t.Context(), []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if n, _, err := p.ReadMsg(t.Context(), out); err != nil || n != 10 {
		t.Fatalf("ReadMsg = %d, %v", n, err)
	}
	if _, err := nc.OpenPipe(t.Context(), "secret"); !errors.Is(err, ntstatus.AccessDenied) {
		t.Fatalf("anonymous open of secret: %v, want STATUS_ACCESS_DENIED", err)
	}

	sessions := srv.Sessions()
	if len(sessions) != 2 {
		t.Fatalf("Sessions() = %+v, want 2", sessions)
	}
	sa, sn := sessions[0], sessions[1]
	if sa.Kind != "user" || sa.User != "alice" || sa.Domain != "WORKGROUP" || sa.Opens != 1 || sa.Dialect == "" ||
		sa.Client != ac.LocalAddr().String() || sa.SessionID != ac.SessionID() || sa.ID == 0 {
		t.Errorf("alice's session = %+v", sa)
	}
	if sn.Kind != "anonymous" || sn.User != "" || sn.Opens != 0 || sn.ID == sa.ID {
		t.Errorf("anonymous session = %+v", sn)
	}
	if sa.Started.IsZero() || sa.LastActive.Before(sa.Started) {
		t.Errorf("alice's session times: started %v, last active %v", sa.Started, sa.LastActive)
	}
	opens := srv.Opens()
	if len(opens) != 1 {
		t.Fatalf("Opens() = %+v, want 1", opens)
	}
	o := opens[0]
	if o.Pipe != "echo" || o.Session != sa.ID || o.User != "alice" || o.BytesIn != 15 || o.BytesOut != 15 ||
		o.Granted == 0 || o.Opened.IsZero() || o.ID == sa.ID || o.ID == sn.ID {
		t.Errorf("open = %+v, want echo of alice with 15 bytes in and out", o)
	}

	decisions := srv.Decisions()
	if len(decisions) != 2 {
		t.Fatalf("Decisions() = %+v, want 2", decisions)
	}
	deny, grant := decisions[0], decisions[1]
	if !deny.Denied || deny.Pipe != "secret" || deny.Kind != "anonymous" || deny.Status != ntstatus.AccessDenied.String() ||
		deny.Rule == "" || deny.Reason == "" || deny.Message != "pipe open" {
		t.Errorf("first decision = %+v, want the anonymous denial", deny)
	}
	if grant.Denied || grant.Pipe != "echo" || grant.User != "alice" || grant.Granted != o.Granted || grant.Seq >= deny.Seq {
		t.Errorf("second decision = %+v, want alice's open", grant)
	}
	e, ok := srv.Explain(deny.Seq)
	if !ok || e.Request == nil || e.Request.PipeName != "secret" || len(e.Explained.Steps) == 0 ||
		e.Explained.Rule != deny.Rule || e.Explained.Status != ntstatus.AccessDenied || len(e.Explained.Fixes) == 0 {
		t.Errorf("Explain(%d) = %+v, %v", deny.Seq, e, ok)
	}
	if _, ok := srv.Explain(deny.Seq + 1); ok {
		t.Error("Explain of a decision not made yet succeeded")
	}

	if err := srv.CloseOpen(o.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CloseOpen(o.ID, "test"); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("second CloseOpen: %v, want ErrNotFound", err)
	}
	if len(srv.Opens()) != 0 || srv.Sessions()[0].Opens != 0 {
		t.Errorf("after CloseOpen: opens %+v, sessions %+v", srv.Opens(), srv.Sessions())
	}
	if _, _, err := p.Transact(t.Context(), []byte("x"), out); !errors.Is(err, ntstatus.FileClosed) {
		t.Errorf("Transact on a closed open: %v, want STATUS_FILE_CLOSED", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("client CLOSE of a closed open: %v", err)
	}
	if !strings.Contains(logBuf.String(), `msg="admin close open" by=test`) {
		t.Errorf("no admin close open record in the log:\n%s", logBuf.String())
	}

	if err := srv.CloseSession(sn.ID, "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "closed session gone", func() bool { return len(srv.Sessions()) == 1 })
	if err := nc.Echo(t.Context()); err == nil {
		t.Error("the closed session's connection still answers")
	}
	if err := ac.Echo(t.Context()); err != nil {
		t.Errorf("alice's connection: %v", err)
	}
	if err := srv.CloseSession(sn.ID, "test"); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("second CloseSession: %v, want ErrNotFound", err)
	}
	if !strings.Contains(logBuf.String(), `msg="admin close session" by=test`) {
		t.Errorf("no admin close session record in the log:\n%s", logBuf.String())
	}

	// A session that logs off is no longer listed.
	if err := ac.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "no sessions", func() bool { return len(srv.Sessions()) == 0 })
}

// TestAdminDecisionRing: the ring keeps the last 256 decisions, denials
// first, and a refused logon is one of them.
func TestAdminDecisionRing(t *testing.T) {
	srv, addr := newServer(t, snapshot(t, true, false, "enabled", secretPipe))
	if _, err := dial(t, addr, bob); !errors.Is(err, ntstatus.LogonFailure) {
		t.Fatalf("bob: %v, want STATUS_LOGON_FAILURE", err)
	}
	nc, err := dial(t, addr, anon)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		name := "echo"
		if i == 299 {
			name = "secret"
		}
		p, err := nc.OpenPipe(t.Context(), name)
		if name == "secret" {
			if !errors.Is(err, ntstatus.AccessDenied) {
				t.Fatalf("open secret: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
	d := srv.Decisions()
	if len(d) != 256 {
		t.Fatalf("%d decisions kept, want 256", len(d))
	}
	if !d[0].Denied || d[0].Pipe != "secret" || d[0].Seq != 301 {
		t.Errorf("first = %+v, want the newest denial (seq 301)", d[0])
	}
	for i, x := range d[1:] {
		if x.Denied || x.Seq != uint64(300-i) {
			t.Fatalf("decision %d = %+v, want grant seq %d", i+1, x, 300-i)
		}
	}
	if _, ok := srv.Explain(1); ok {
		t.Error("Explain of a decision out of the ring succeeded")
	}
	if e, ok := srv.Explain(300); !ok || e.Explained.Status != ntstatus.Success || e.Request.PipeName != "echo" {
		t.Errorf("Explain(300) = %+v, %v", e, ok)
	}
}

// TestAdminLogonDenial: a refused logon is recorded with its rule.
func TestAdminLogonDenial(t *testing.T) {
	srv, addr := newServer(t, snapshot(t, true, false, "enabled", ""))
	if _, err := dial(t, addr, bob); !errors.Is(err, ntstatus.LogonFailure) {
		t.Fatalf("bob: %v, want STATUS_LOGON_FAILURE", err)
	}
	d := srv.Decisions()
	if len(d) != 1 || d[0].Message != "session setup" || !d[0].Denied || d[0].Rule == "" || d[0].Reason == "" ||
		d[0].Status != ntstatus.LogonFailure.String() {
		t.Fatalf("Decisions() = %+v", d)
	}
	if e, ok := srv.Explain(d[0].Seq); !ok || e.Request != nil || e.Decision.Rule != d[0].Rule {
		t.Errorf("Explain = %+v, %v", e, ok)
	}
}

// TestPolicyApplied: SetPolicy moves the reload time.
func TestPolicyApplied(t *testing.T) {
	snap := snapshot(t, true, false, "enabled", "")
	srv, _ := newServer(t, snap)
	t0 := srv.PolicyApplied()
	if t0.IsZero() || srv.Policy() != snap {
		t.Fatalf("PolicyApplied %v, Policy %p", t0, srv.Policy())
	}
	snap2 := snapshot(t, false, false, "enabled", "")
	if err := srv.SetPolicy(snap2); err != nil {
		t.Fatal(err)
	}
	if !srv.PolicyApplied().After(t0) || srv.Policy() != snap2 {
		t.Errorf("after SetPolicy: applied %v (was %v)", srv.PolicyApplied(), t0)
	}
}
