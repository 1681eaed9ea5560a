package robust

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// signingDialects are the dialects whose signing rules differ: HMAC-SHA256
// keyed by the session key (2.1), AES-CMAC with derived keys (3.0.2), and
// derived keys bound to the preauth hash (3.1.1).
var signingDialects = []smb2.Dialect{smb2.Dialect210, smb2.Dialect302, smb2.Dialect311}

// privatePipe is a pipe only authenticated users may open.
const privatePipe = `
[[pipe]]
name = "private"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AU)(A;;FA;;;SY)"
`

// anonymousAuthenticate returns an anonymous AUTHENTICATE_MESSAGE made for
// a challenge obtained on another connection (an attacker on the path
// cannot get one on the victim's session once NEGOTIATE is refused).
func anonymousAuthenticate(t *testing.T, addr string, d smb2.Dialect) []byte {
	t.Helper()
	other := negotiated(t, addr, client.Config{MinDialect: d, MaxDialect: d})
	nc := &ntlm.Client{}
	_, chal := challenge(t, other, nc)
	auth, _, err := nc.Authenticate(chal)
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// TestSigningStripByReauth: a man in the middle injects an unsigned
// re-authentication (NTLM NEGOTIATE, then an anonymous AUTHENTICATE) on a
// session that requires signing. Both are refused with
// STATUS_ACCESS_DENIED, the session keeps its key and identity, unsigned
// requests stay refused and the signed client goes on.
func TestSigningStripByReauth(t *testing.T) {
	ts := start(t, `signing = "required"`)
	for _, d := range signingDialects {
		t.Run(client.DialectString(d), func(t *testing.T) {
			c := dial(t, ts.addr, client.Config{User: "alice", Password: "Passw0rd!", MinDialect: d, MaxDialect: d})
			p := testclient.Open(t, c, "echo")
			transact(t, p, 1)
			sid := c.SessionID()
			ss := func(tok []byte) ntstatus.Status {
				return raw(t, c, &client.RawRequest{NoSign: true, Header: smb2.Header{Command: smb2.CmdSessionSetup, SessionID: sid},
					Body: (&smb2.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: tok}).Append(nil)})
			}
			neg, err := (&ntlm.Client{}).Negotiate()
			if err != nil {
				t.Fatal(err)
			}
			if st := ss(neg); st != ntstatus.AccessDenied {
				t.Fatalf("unsigned re-authentication NEGOTIATE: %v, want STATUS_ACCESS_DENIED", st)
			}
			if st := ss(anonymousAuthenticate(t, ts.addr, d)); st != ntstatus.AccessDenied {
				t.Fatalf("unsigned anonymous AUTHENTICATE: %v, want STATUS_ACCESS_DENIED", st)
			}
			// Unsigned requests on the session's open are still refused.
			fid := p.FileID()
			write := (&smb2.WriteRequest{FileID: fid, Data: []byte("forged")}).Append(nil)
			if st := raw(t, c, &client.RawRequest{NoSign: true, Header: smb2.Header{Command: smb2.CmdWrite, SessionID: sid, TreeID: c.TreeID()}, Body: write}); st != ntstatus.AccessDenied {
				t.Fatalf("unsigned WRITE after the injected re-authentication: %v, want STATUS_ACCESS_DENIED", st)
			}
			read := (&smb2.ReadRequest{FileID: fid, Length: 64}).Append(nil)
			if st := raw(t, c, &client.RawRequest{NoSign: true, Header: smb2.Header{Command: smb2.CmdRead, SessionID: sid, TreeID: c.TreeID()}, Body: read}); st != ntstatus.AccessDenied {
				t.Fatalf("unsigned READ after the injected re-authentication: %v, want STATUS_ACCESS_DENIED", st)
			}
			create := (&smb2.CreateRequest{DesiredAccess: 0x12019F, ShareAccess: 3, CreateDisposition: 1, Name: smb2.AppendUTF16(nil, "echo")}).Append(nil)
			if st := raw(t, c, &client.RawRequest{NoSign: true, Header: smb2.Header{Command: smb2.CmdCreate, SessionID: sid, TreeID: c.TreeID()}, Body: create}); st != ntstatus.AccessDenied {
				t.Fatalf("unsigned CREATE after the injected re-authentication: %v, want STATUS_ACCESS_DENIED", st)
			}
			// The genuine client is unaffected, still as alice.
			if !c.Signed() {
				t.Fatal("the session no longer signs")
			}
			transact(t, p, 2)
			q := testclient.Open(t, c, "echo")
			transact(t, q, 3)
		})
	}
}

// TestUnsignedCancelIgnored: on a session that requires signing, a CANCEL
// that is unsigned or badly signed does not end a pending READ; a signed
// one does (MS-SMB2 3.3.5.2.4 applies to CANCEL too).
func TestUnsignedCancelIgnored(t *testing.T) {
	ts := start(t, `signing = "required"`)
	c := dial(t, ts.addr, client.Config{User: "alice", Password: "Passw0rd!", MinDialect: smb2.Dialect302, MaxDialect: smb2.Dialect302})
	p := testclient.Open(t, c, "echo")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := p.ReadMsg(ctx, make([]byte, 64))
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // the READ goes async (nothing to read)
	for _, sig := range []struct {
		flags uint32
		sig   [16]byte
	}{{0, [16]byte{}}, {smb2.FlagSigned, [16]byte{1, 2, 3}}} {
		// The READ's MessageId is not known here; a CANCEL by AsyncId
		// needs it too. Cancel every id the client may have used.
		for mid := uint64(0); mid < 16; mid++ {
			h := smb2.Header{Command: smb2.CmdCancel, MessageID: mid, SessionID: c.SessionID(), Flags: sig.flags, Signature: sig.sig}
			if err := c.WriteFrame(message(h, (&smb2.CancelRequest{}).Append(nil))); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case err := <-done:
		t.Fatalf("a forged CANCEL ended the pending READ: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	cancel() // the client's own, signed CANCEL
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled READ returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a signed CANCEL did not end the READ")
	}
	transact(t, p, 1)
}

// TestReauthChangesIdentity: a signed re-authentication as anonymous on a
// signing session of alice succeeds (SEMANTICS-2 §2.3, smbtorture
// reauth2): the key and the signing rule stay, the open handle keeps what
// it was granted, new CREATEs are checked as anonymous, and a
// re-authentication as alice restores her access.
func TestReauthChangesIdentity(t *testing.T) {
	ts := start(t, `signing = "required"`+privatePipe)
	for _, d := range signingDialects {
		t.Run(client.DialectString(d), func(t *testing.T) {
			aliceCfg := client.Config{User: "alice", Password: "Passw0rd!", MinDialect: d, MaxDialect: d}
			c := dial(t, ts.addr, aliceCfg)
			priv := testclient.Open(t, c, "private")
			transact(t, priv, 1)
			sid := c.SessionID()

			// Re-authenticate as anonymous with signed requests.
			nc := &ntlm.Client{}
			neg, err := nc.Negotiate()
			if err != nil {
				t.Fatal(err)
			}
			resp := sessionSetup(t, c, sid, neg)
			if resp.Header.Status != ntstatus.MoreProcessingRequired {
				t.Fatalf("signed re-authentication NEGOTIATE: %v", resp.Header.Status)
			}
			// Its MORE_PROCESSING_REQUIRED response is signed too
			// (MS-SMB2 3.3.4.1.1).
			if resp.Header.Flags&smb2.FlagSigned == 0 {
				t.Fatal("the response to a signed re-authentication NEGOTIATE is not signed")
			}
			var ss smb2.SessionSetupResponse
			if err := ss.Decode(resp.Msg); err != nil {
				t.Fatal(err)
			}
			chal := ss.SecurityBuffer
			auth, _, err := nc.Authenticate(chal)
			if err != nil {
				t.Fatal(err)
			}
			if st, _, _ := ntlmRound(t, c, sid, auth); st != ntstatus.Success {
				t.Fatalf("signed re-authentication as anonymous: %v, want STATUS_SUCCESS", st)
			}
			// The handle keeps alice's grant; a new open is anonymous.
			transact(t, priv, 2)
			if _, err := c.OpenPipe(t.Context(), "private"); !isStatus(err, ntstatus.AccessDenied) {
				t.Fatalf("CREATE of private as the re-authenticated anonymous session: %v, want STATUS_ACCESS_DENIED", err)
			}
			transact(t, testclient.Open(t, c, "echo"), 3) // listed, and its DACL lets AN in
			// The key and the signing rule are kept.
			if st := raw(t, c, &client.RawRequest{NoSign: true, Header: smb2.Header{Command: smb2.CmdEcho, SessionID: sid}, Body: (&smb2.EchoRequest{}).Append(nil)}); st != ntstatus.AccessDenied {
				t.Fatalf("unsigned ECHO after re-authentication as anonymous: %v, want STATUS_ACCESS_DENIED", st)
			}
			// Back to alice.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := c.Reauthenticate(ctx, &aliceCfg); err != nil {
				t.Fatalf("re-authentication as alice: %v", err)
			}
			transact(t, testclient.Open(t, c, "private"), 4)
		})
	}
}

// rawSession is a connection driven frame by frame: NEGOTIATE of one
// dialect and a raw-NTLMSSP SESSION_SETUP as cfg's user (anonymous when
// empty), with no signing of its own.
type rawSession struct {
	nc     net.Conn
	sid    uint64
	mid    uint64
	credit uint16 // credits asked per request (0: 8)
}

func (rs *rawSession) round(t *testing.T, h smb2.Header, body []byte, sign func([]byte)) (smb2.Header, []byte) {
	t.Helper()
	h.MessageID = rs.mid
	rs.mid++
	h.CreditCharge, h.Credit = 1, 8
	if rs.credit != 0 {
		h.Credit = rs.credit
	}
	if h.Command != smb2.CmdNegotiate && h.SessionID == 0 {
		h.SessionID = rs.sid
	}
	msg := message(h, body)
	if sign != nil {
		sign(msg)
	}
	if _, err := rs.nc.Write(frame(msg)); err != nil {
		t.Fatal(err)
	}
	b := readFrame(t, rs.nc, h.Command.String())
	var rh smb2.Header
	if err := rh.Decode(b); err != nil {
		t.Fatal(err)
	}
	return rh, b
}

func dialRaw(t *testing.T, addr string, d smb2.Dialect, nc *ntlm.Client) *rawSession {
	t.Helper()
	rs := &rawSession{nc: rawDial(t, addr)}
	neg := (&smb2.NegotiateRequest{SecurityMode: 1, Dialects: []smb2.Dialect{d}}).Append(nil)
	if h, _ := rs.round(t, smb2.Header{Command: smb2.CmdNegotiate}, neg, nil); h.Status != ntstatus.Success {
		t.Fatalf("NEGOTIATE: %v", h.Status)
	}
	tok, err := nc.Negotiate()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		h, msg := rs.round(t, smb2.Header{Command: smb2.CmdSessionSetup},
			(&smb2.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: tok}).Append(nil), nil)
		rs.sid = h.SessionID
		if h.Status == ntstatus.Success {
			return rs
		}
		var ss smb2.SessionSetupResponse
		if h.Status != ntstatus.MoreProcessingRequired || ss.Decode(msg) != nil {
			t.Fatalf("SESSION_SETUP: %v", h.Status)
		}
		if tok, _, err = nc.Authenticate(ss.SecurityBuffer); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("SESSION_SETUP did not complete")
	return nil
}

// TestSignedRequestOnKeylessSession: SMB2_FLAGS_SIGNED on an anonymous
// session is verified with the key derived from an all-zero session key
// (Windows Server 2022; SEMANTICS-2 §2.2): a correct signature is served
// and the response signed, a wrong one is STATUS_ACCESS_DENIED with the
// connection kept, unsigned requests stay valid. A guest session has no
// key: a signed request is STATUS_NOT_SUPPORTED. Before, either was
// accepted with any signature.
func TestSignedRequestOnKeylessSession(t *testing.T) {
	ts := start(t, "guest = true")
	echo := (&smb2.EchoRequest{}).Append(nil)
	forged := smb2.Header{Command: smb2.CmdEcho, Flags: smb2.FlagSigned, Signature: [16]byte{1, 2, 3}}
	for _, d := range []smb2.Dialect{smb2.Dialect210, smb2.Dialect302} {
		t.Run("anonymous/"+client.DialectString(d), func(t *testing.T) {
			rs := dialRaw(t, ts.addr, d, &ntlm.Client{})
			keys := smbcrypto.DeriveKeys(uint16(d), make([]byte, 16), nil)
			signer := smbcrypto.NewSigner(uint16(d), smb2.SigningAESCMAC, keys.Signing)
			if h, _ := rs.round(t, forged, echo, nil); h.Status != ntstatus.AccessDenied {
				t.Fatalf("badly signed ECHO: %v, want STATUS_ACCESS_DENIED", h.Status)
			}
			h, msg := rs.round(t, smb2.Header{Command: smb2.CmdEcho}, echo, signer.Sign)
			if h.Status != ntstatus.Success {
				t.Fatalf("ECHO signed with the zero-key signing key: %v", h.Status)
			}
			if h.Flags&smb2.FlagSigned == 0 || !signer.Verify(msg) {
				t.Fatalf("response to a signed ECHO not signed with the zero-key signing key (flags %#x)", h.Flags)
			}
			if h, _ := rs.round(t, smb2.Header{Command: smb2.CmdEcho}, echo, nil); h.Status != ntstatus.Success {
				t.Fatalf("unsigned ECHO: %v", h.Status)
			}
		})
	}
	t.Run("guest", func(t *testing.T) {
		rs := dialRaw(t, ts.addr, smb2.Dialect302, &ntlm.Client{User: "nobody", Password: "x"})
		if h, _ := rs.round(t, forged, echo, nil); h.Status != ntstatus.NotSupported {
			t.Fatalf("signed ECHO on a guest session: %v, want STATUS_NOT_SUPPORTED", h.Status)
		}
		if h, _ := rs.round(t, smb2.Header{Command: smb2.CmdEcho}, echo, nil); h.Status != ntstatus.Success {
			t.Fatalf("unsigned ECHO on a guest session: %v", h.Status)
		}
	})
}

// isStatus reports whether err carries the NTSTATUS st.
func isStatus(err error, st ntstatus.Status) bool {
	var se *client.Error
	return errors.As(err, &se) && se.Status == st
}

// TestMaxCredits: [limits] max_credits bounds the credits a client holds
// (8192 by default, as Windows); asking for more gets the rest of the
// bound only.
func TestMaxCredits(t *testing.T) {
	for _, tc := range []struct {
		extra string
		want  int
	}{{"", 8192}, {"[limits]\nmax_credits = 100", 100}} {
		ts := start(t, tc.extra)
		rs := dialRaw(t, ts.addr, smb2.Dialect302, &ntlm.Client{})
		rs.credit = 65535
		h, _ := rs.round(t, smb2.Header{Command: smb2.CmdEcho}, (&smb2.EchoRequest{}).Append(nil), nil)
		if h.Status != ntstatus.Success {
			t.Fatalf("ECHO: %v", h.Status)
		}
		// NEGOTIATE and the first SESSION_SETUP leg grant their charge
		// only; the successful leg grants the 8 asked: the client held 8,
		// spent one on the ECHO, and is brought up to the bound.
		if int(h.Credit) != tc.want-7 {
			t.Fatalf("%q: granted %d asking 65535 while holding 7, want %d (a bound of %d)", tc.extra, h.Credit, tc.want-7, tc.want)
		}
	}
}
