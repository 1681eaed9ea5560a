package robust

import (
	"context"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// sessionSetup sends one raw-NTLMSSP SESSION_SETUP of tok on session sid
// and returns the response.
func sessionSetup(t *testing.T, c *client.Conn, sid uint64, tok []byte) *client.RawResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := c.RoundTrip(ctx, &client.RawRequest{Header: smb2.Header{Command: smb2.CmdSessionSetup, SessionID: sid},
		Body: (&smb2.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: tok}).Append(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// ntlmRound sends one raw-NTLMSSP SESSION_SETUP and returns the status,
// the session id and the security buffer of the response.
func ntlmRound(t *testing.T, c *client.Conn, sid uint64, tok []byte) (ntstatus.Status, uint64, []byte) {
	t.Helper()
	resp := sessionSetup(t, c, sid, tok)
	var ss smb2.SessionSetupResponse
	_ = ss.Decode(resp.Msg)
	return resp.Header.Status, resp.Header.SessionID, ss.SecurityBuffer
}

// challenge runs NEGOTIATE_MESSAGE -> CHALLENGE_MESSAGE for nc on c.
func challenge(t *testing.T, c *client.Conn, nc *ntlm.Client) (uint64, []byte) {
	t.Helper()
	neg, err := nc.Negotiate()
	if err != nil {
		t.Fatal(err)
	}
	st, sid, chal := ntlmRound(t, c, 0, neg)
	if st != ntstatus.MoreProcessingRequired {
		t.Fatalf("NEGOTIATE_MESSAGE: %v", st)
	}
	return sid, chal
}

// TestAuthenticateReplay: an AUTHENTICATE_MESSAGE is bound to its
// challenge; replayed after use, or on another connection, it fails.
func TestAuthenticateReplay(t *testing.T) {
	ts := start(t, "")
	good := testclient.Open(t, dial(t, ts.addr, alice), "echo")
	for _, d := range []smb2.Dialect{smb2.Dialect302, smb2.Dialect311} {
		t.Run(client.DialectString(d), func(t *testing.T) {
			cfg := client.Config{MinDialect: d, MaxDialect: d}
			a := negotiated(t, ts.addr, cfg)
			nc := &ntlm.Client{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP"}
			sid, chal := challenge(t, a, nc)
			auth, _, err := nc.Authenticate(chal)
			if err != nil {
				t.Fatal(err)
			}
			if st, _, _ := ntlmRound(t, a, sid, auth); st != ntstatus.Success {
				t.Fatalf("genuine AUTHENTICATE: %v", st)
			}
			// The same message again on the same session: its challenge is spent.
			if st, _, _ := ntlmRound(t, a, sid, auth); st == ntstatus.Success {
				t.Fatal("AUTHENTICATE replayed on its session succeeded")
			}
			// In a new session of the same connection, without a NEGOTIATE.
			if st, _, _ := ntlmRound(t, a, 0, auth); st == ntstatus.Success {
				t.Fatal("AUTHENTICATE replayed in a new session succeeded")
			}
			// On another connection, after a fresh challenge.
			b := negotiated(t, ts.addr, cfg)
			sidB, _ := challenge(t, b, &ntlm.Client{User: "alice", Password: "Passw0rd!"})
			if st, _, _ := ntlmRound(t, b, sidB, auth); st != ntstatus.LogonFailure {
				t.Fatalf("AUTHENTICATE replayed on another connection: %v, want STATUS_LOGON_FAILURE", st)
			}
		})
	}
	transact(t, good, 1)
}

// TestAuthenticateMIC: a client that announces a MIC must send a valid
// one; a tampered MIC fails the logon at the server.
func TestAuthenticateMIC(t *testing.T) {
	ts := start(t, "")
	c := negotiated(t, ts.addr, client.Config{})
	nc := &ntlm.Client{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP"}
	sid, chal := challenge(t, c, nc)
	auth, _, err := nc.Authenticate(chal)
	if err != nil {
		t.Fatal(err)
	}
	auth[72] ^= 0x01 // the MIC (AUTHENTICATE_MESSAGE offset 72, after Version)
	if st, _, _ := ntlmRound(t, c, sid, auth); st != ntstatus.LogonFailure {
		t.Fatalf("tampered MIC: %v, want STATUS_LOGON_FAILURE", st)
	}
	if n := ts.metric(t, `smbpipe_denials_total{rule="logon-failure"}`); n != 1 {
		t.Fatalf("logon-failure denials %v, want 1", n)
	}
}

// TestNoKeysForAnonymousOrGuest: anonymous and guest sessions get no
// signing key: a request claiming a signature is answered unsigned, and
// the client sees no signing session.
func TestNoKeysForAnonymousOrGuest(t *testing.T) {
	ts := start(t, "guest = true")
	for name, cfg := range map[string]client.Config{
		"anonymous": anon,
		"guest":     {User: "nobody", Password: "x", Domain: "WORKGROUP"},
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, ts.addr, cfg)
			if c.Signed() || c.SessionFlags()&(smb2.SessionFlagIsNull|smb2.SessionFlagIsGuest) == 0 {
				t.Fatalf("signed %v flags %#x", c.Signed(), c.SessionFlags())
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			h := smb2.Header{Command: smb2.CmdEcho, SessionID: c.SessionID(), Flags: smb2.FlagSigned, Signature: [16]byte{1, 2, 3}}
			resp, err := c.RoundTrip(ctx, &client.RawRequest{Header: h, Body: (&smb2.EchoRequest{}).Append(nil)})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Header.Flags&smb2.FlagSigned != 0 || resp.Header.Signature != ([16]byte{}) {
				t.Fatalf("a %s session signed a response: flags %#x", name, resp.Header.Flags)
			}
		})
	}
}

// TestSigningEnforced: with signing required, unsigned requests of a user
// session are refused; on 3.1.1 an unsigned TREE_CONNECT of a user session
// drops the connection even when signing is only enabled (MS-SMB2
// 3.3.5.7), while an anonymous one is served.
func TestSigningEnforced(t *testing.T) {
	t.Run("required", func(t *testing.T) {
		ts := start(t, `signing = "required"`)
		c := dial(t, ts.addr, client.Config{User: "alice", Password: "Passw0rd!", MaxDialect: smb2.Dialect302})
		h := smb2.Header{Command: smb2.CmdTreeConnect, SessionID: c.SessionID()}
		body := (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, `\\SMBPIPE\IPC$`)}).Append(nil)
		if st := raw(t, c, &client.RawRequest{Header: h, Body: body, NoSign: true}); st != ntstatus.AccessDenied {
			t.Fatalf("unsigned TREE_CONNECT: %v, want STATUS_ACCESS_DENIED", st)
		}
		if st := raw(t, c, &client.RawRequest{Header: h, Body: body}); st != ntstatus.Success {
			t.Fatalf("signed TREE_CONNECT: %v", st)
		}
	})
	t.Run("3.1.1 unsigned TREE_CONNECT", func(t *testing.T) {
		ts := start(t, "")
		body := (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, `\\SMBPIPE\IPC$`)}).Append(nil)
		a := dial(t, ts.addr, anon)
		if st := raw(t, a, &client.RawRequest{Header: smb2.Header{Command: smb2.CmdTreeConnect, SessionID: a.SessionID()}, Body: body}); st != ntstatus.Success {
			t.Fatalf("anonymous unsigned TREE_CONNECT: %v", st)
		}
		u := dial(t, ts.addr, alice)
		if u.Dialect() != smb2.Dialect311 {
			t.Fatalf("dialect %v", u.Dialect())
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := u.RoundTrip(ctx, &client.RawRequest{Header: smb2.Header{Command: smb2.CmdTreeConnect, SessionID: u.SessionID()}, Body: body, NoSign: true})
		if err == nil {
			t.Fatal("unsigned TREE_CONNECT of a user on 3.1.1 answered; want a disconnect")
		}
	})
}
