package smbpipe_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
)

func parse(t *testing.T, text string) *policy.Config {
	t.Helper()
	c, err := policy.Parse([]byte(text), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNullSessionDefaults: a Config built in Go reads as the TOML file
// with those keys left out (null sessions accepted, RestrictNullSessAccess
// 1: only the NullSessionPipes), a parsed Config as the file says, and
// RefuseNullSessions and UnrestrictedNullSessions say otherwise, also
// across SetConfig. An anonymous client tries the pipe "p", whose
// descriptor admits ANONYMOUS LOGON.
func TestNullSessionDefaults(t *testing.T) {
	accounts := []policy.Account{{Name: "alice", Password: "Passw0rd!"}}
	const (
		refused  = "session refused"
		denied   = "open denied"
		accepted = "open accepted"
	)
	for _, tc := range []struct {
		name      string
		srv       *smbpipe.Server
		setConfig *policy.Config
		want      string
	}{
		{name: "nil Config", srv: &smbpipe.Server{}, want: denied},
		{name: "Go, keys left out", srv: &smbpipe.Server{Config: &policy.Config{Accounts: accounts}}, want: denied},
		{name: "Go, NullSessionPipes", srv: &smbpipe.Server{Config: &policy.Config{
			Accounts: accounts, LanmanServer: policy.LanmanServer{NullSessionPipes: []string{"P"}}}}, want: accepted},
		{name: "Go, RefuseNullSessions", srv: &smbpipe.Server{Config: &policy.Config{Accounts: accounts}, RefuseNullSessions: true}, want: refused},
		{name: "Go, UnrestrictedNullSessions", srv: &smbpipe.Server{Config: &policy.Config{Accounts: accounts}, UnrestrictedNullSessions: true}, want: accepted},
		{name: "TOML, keys left out", srv: &smbpipe.Server{Config: parse(t, "")}, want: denied},
		{name: "TOML, allow_anonymous = false", srv: &smbpipe.Server{Config: parse(t, "allow_anonymous = false\n")}, want: refused},
		{name: "TOML, RestrictNullSessAccess = 0", srv: &smbpipe.Server{Config: parse(t, "[LanmanServer]\nRestrictNullSessAccess = 0\n")}, want: accepted},
		{name: "RefuseNullSessions across SetConfig", srv: &smbpipe.Server{RefuseNullSessions: true},
			setConfig: parse(t, "allow_anonymous = true\n[LanmanServer]\nRestrictNullSessAccess = 0\n"), want: refused},
		{name: "Go Config by SetConfig", srv: &smbpipe.Server{Config: parse(t, "allow_anonymous = false\n")},
			setConfig: &policy.Config{LanmanServer: policy.LanmanServer{NullSessionPipes: []string{"p"}}}, want: accepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv
			addr := start(t, srv)
			listen(t, srv, "p", &smbpipe.PipeConfig{SecurityDescriptor: rw}, echo)
			if tc.setConfig != nil {
				if err := srv.SetConfig(tc.setConfig); err != nil {
					t.Fatal(err)
				}
			}
			ctx := ctxT(t)
			got := accepted
			c, err := client.Dial(ctx, addr, &anon)
			var ce *client.Error
			switch {
			case errors.As(err, &ce) && ce.Op == "session setup":
				got = refused
			case err != nil:
				t.Fatal(err)
			default:
				defer c.Close()
				if _, err := c.OpenPipe(ctx, "p"); errors.Is(err, ntstatus.AccessDenied) {
					got = denied
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if got != tc.want {
				t.Errorf("anonymous: %s (%v), want %s", got, err, tc.want)
			}
			if srv.Config != nil && len(srv.Config.Accounts) > 0 { // a user is never affected
				a := dialConn(t, addr, alice)
				if _, err := a.OpenPipe(ctx, "p"); err != nil {
					t.Errorf("alice: %v", err)
				}
			}
		})
	}
}

// TestQuietSessions: with QuietSessions the log keeps the server's own
// records (here the administrator's CloseSession) and none about single
// clients (connections, session setups, pipe opens, denials); without it
// those are there.
func TestQuietSessions(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		var buf testlog.Buffer
		srv := &smbpipe.Server{
			Config: &policy.Config{Accounts: []policy.Account{{Name: "alice", Password: "Passw0rd!"}}},
			Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), QuietSessions: quiet,
		}
		addr := start(t, srv)
		listen(t, srv, "p", &smbpipe.PipeConfig{SecurityDescriptor: rw}, echo)
		ctx := ctxT(t)
		a := dialConn(t, addr, alice)
		if _, err := a.OpenPipe(ctx, "p"); err != nil {
			t.Fatal(err)
		}
		n := dialConn(t, addr, anon)
		if _, err := n.OpenPipe(ctx, "p"); !errors.Is(err, ntstatus.AccessDenied) {
			t.Fatalf("anonymous open: %v", err)
		}
		for _, s := range srv.Sessions() {
			if s.User == "alice" {
				if err := srv.CloseSession(s.ID, "test"); err != nil {
					t.Fatal(err)
				}
			}
		}
		if a.Echo(ctx) == nil {
			t.Error("alice's connection survived CloseSession")
		}
		log := buf.String()
		if !strings.Contains(log, `msg="admin close session" by=test`) {
			t.Errorf("quiet=%v: no record of the close:\n%s", quiet, log)
		}
		for _, m := range []string{`msg="session setup"`, `msg="pipe open"`, `msg="smb connection open"`, "status=STATUS_ACCESS_DENIED"} {
			if in := strings.Contains(log, m); in == quiet {
				t.Errorf("quiet=%v: %s in the log: %v, want %v:\n%s", quiet, m, in, !quiet, log)
			}
		}
	}
}
