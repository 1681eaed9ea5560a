package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// reauthDialects are the dialects re-authentication is tested at: the
// first SMB2 one, the first SMB3 one and the one with a preauth hash.
var reauthDialects = []smb2.Dialect{smb2.Dialect202, smb2.Dialect300, smb2.Dialect311}

// TestE2EReauthenticate re-authenticates alice on her session, signed and
// unsigned, and keeps using the open made before it.
func TestE2EReauthenticate(t *testing.T) {
	addr := startServer(t, "enabled")
	eachDialect(t, reauthDialects, signingConfigs(aliceCfg), func(t *testing.T, ctx context.Context, cfg Config) {
		signed := cfg.RequireSigning
		c := dialT(t, addr, cfg)
		sid, tid := c.SessionID(), c.TreeID()
		p := openT(t, c, "echo")
		roundTrips(t, ctx, p, 1)
		for i := range 2 {
			var creds *Config
			if i == 1 { // explicit credentials, by NT hash
				creds = &Config{User: "alice", NTHash: ntHashOf("Passw0rd!")}
			}
			if err := c.Reauthenticate(ctx, creds); err != nil {
				t.Fatalf("reauthenticate %d: %v", i, err)
			}
			if c.SessionID() != sid || c.TreeID() != tid || c.Signed() != signed {
				t.Fatalf("after reauth: session %#x tree %d signed %v, want %#x %d %v",
					c.SessionID(), c.TreeID(), c.Signed(), sid, tid, signed)
			}
			roundTrips(t, ctx, p, 2) // the same open, signed with the same key
		}
		p2 := openT(t, c, "echo") // new opens too
		roundTrips(t, ctx, p2, 1)
		if err := p2.CloseContext(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.CloseContext(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestE2EReauthenticateWrongPassword: a failed re-authentication removes
// the session with its trees and opens (MS-SMB2 3.3.5.5.3); the
// connection stays and can log on again.
func TestE2EReauthenticateWrongPassword(t *testing.T) {
	addr := startServer(t, "enabled")
	for _, d := range reauthDialects {
		t.Run(DialectString(d), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			cfg := aliceCfg
			cfg.MinDialect, cfg.MaxDialect, cfg.RequireSigning = d, d, true
			c := dialT(t, addr, cfg)
			sid, tid := c.SessionID(), c.TreeID()
			p := openT(t, c, "echo")
			roundTrips(t, ctx, p, 1)
			err := c.Reauthenticate(ctx, &Config{User: "alice", Password: "wrong"})
			if !errors.Is(err, ntstatus.LogonFailure) {
				t.Fatalf("reauthenticate with a wrong password: %v, want STATUS_LOGON_FAILURE", err)
			}
			checkSessionGone(t, ctx, c, sid, tid, p)
			// The connection logs on again.
			if err := c.SessionSetup(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.TreeConnect(ctx); err != nil {
				t.Fatal(err)
			}
			roundTrips(t, ctx, openT(t, c, "echo"), 1)
		})
	}
}

// checkSessionGone checks the state after a failed re-authentication: the
// Conn has no session, the old SessionId is unknown to the server, the
// connection still answers ECHO.
func checkSessionGone(t *testing.T, ctx context.Context, c *Conn, sid uint64, tid uint32, p *Pipe) {
	t.Helper()
	if c.SessionID() != 0 || c.TreeID() != 0 {
		t.Errorf("after a failed reauth: session %#x tree %d, want none", c.SessionID(), c.TreeID())
	}
	if err := c.Echo(ctx); err != nil {
		t.Fatalf("echo after a failed reauth: %v", err)
	}
	// The old open, by the old SessionId: the server deleted the session.
	bp := newRequest()
	*bp = (&smb2.FlushRequest{FileID: p.fid}).Append(*bp)
	cl, err := c.roundTrip(ctx, &request{hdr: smb2.Header{Command: smb2.CmdFlush, SessionID: sid, TreeID: tid}, buf: bp})
	if err != nil {
		t.Fatal(err)
	}
	st := cl.hdr.Status
	c.release(cl)
	if st != ntstatus.UserSessionDeleted {
		t.Errorf("FLUSH on the old session: %v, want STATUS_USER_SESSION_DELETED", st)
	}
}

func TestReauthenticateRefused(t *testing.T) {
	addr := startServer(t, "enabled")
	ctx := t.Context()
	anon := dialT(t, addr, anonCfg)
	if err := anon.Reauthenticate(ctx, &aliceCfg); err == nil {
		t.Error("re-authentication of a null session succeeded")
	}
	c := dialT(t, addr, aliceCfg)
	if err := c.Reauthenticate(ctx, &Config{}); err == nil {
		t.Error("re-authentication with anonymous credentials succeeded")
	}
	if err := c.Logoff(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Reauthenticate(ctx, nil); err == nil {
		t.Error("re-authentication without a session succeeded")
	}
}

// TestSmbdReauthenticate re-authenticates alice against Samba's smbd and
// keeps using the srvsvc pipe opened before; then a wrong password, whose
// outcome must match our server's (the session is removed).
func TestSmbdReauthenticate(t *testing.T) {
	addr := startSmbd(t)
	eachDialect(t, []smb2.Dialect{smb2.Dialect202, smb2.Dialect311}, signingConfigs(Config{User: testUser, Password: testPassword, Domain: "WORKGROUP"}),
		func(t *testing.T, ctx context.Context, cfg Config) {
			c := dialT(t, addr, cfg)
			sid, tid := c.SessionID(), c.TreeID()
			p, err := c.OpenPipe(ctx, "srvsvc")
			if err != nil {
				t.Fatal(err)
			}
			out := make([]byte, 4280)
			if err := c.Reauthenticate(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if c.SessionID() != sid || c.TreeID() != tid {
				t.Fatalf("after reauth: session %#x tree %d", c.SessionID(), c.TreeID())
			}
			n, _, err := p.Transact(ctx, dceBind(), out)
			if err != nil {
				t.Fatal(err)
			}
			checkBindAck(t, out[:n])
			if err := c.Reauthenticate(ctx, &Config{User: testUser, NTHash: ntHashOf(testPassword)}); err != nil {
				t.Fatal(err)
			}
			if err := c.Echo(ctx); err != nil {
				t.Fatal(err)
			}
			p2, err := c.OpenPipe(ctx, "srvsvc")
			if err != nil {
				t.Fatal(err)
			}
			n, _, err = p2.Transact(ctx, dceBind(), out)
			if err != nil {
				t.Fatal(err)
			}
			checkBindAck(t, out[:n])
			if err := p2.CloseContext(ctx); err != nil {
				t.Fatal(err)
			}

			err = c.Reauthenticate(ctx, &Config{User: testUser, Password: "wrong"})
			if !errors.Is(err, ntstatus.LogonFailure) {
				t.Fatalf("reauthenticate with a wrong password: %v, want STATUS_LOGON_FAILURE", err)
			}
			checkSessionGone(t, ctx, c, sid, tid, p)
		})
}
