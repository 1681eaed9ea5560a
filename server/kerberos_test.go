package server_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/smbpipe/smbpipe/auth/kerberos"
	"github.com/smbpipe/smbpipe/auth/spnego"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/internal/testkdc"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/server"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestKerberosSessionListed: a Kerberos session is in the administrator's
// view (Sessions) as the account its principal maps to, like an NTLM
// session, and leaves it at logoff. No KDC: the keytab comes from a
// password and the ticket is minted with it.
func TestKerberosSessionListed(t *testing.T) {
	kt, ktPath := testkdc.PasswordKeytab(t, "cifs/localhost", testkdc.Realm, "server test service password", 2)
	snap := testserver.Snapshot(t, testkdc.BobConfig(ktPath)+testserver.AliceEcho, "kerberos.toml")
	srv, addr := testserver.StartWith(t, server.Options{Snapshot: snap})

	now := time.Now().UTC()
	st := testkdc.Mint(t, kt, "bob", "cifs/localhost", testkdc.Realm, 2, now, now.Add(time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, &client.Config{ServerName: "localhost", Kerberos: &client.Kerberos{Ticket: st}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got server.SessionInfo
	eventually(t, "the Kerberos session listed", func() bool {
		for _, s := range srv.Sessions() {
			if s.SessionID == c.SessionID() {
				got = s
				return true
			}
		}
		return false
	})
	if got.Kind != "user" || got.User != "bob" {
		t.Fatalf("listed as %+v", got)
	}
	if err := c.Logoff(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the session gone after logoff", func() bool { return len(srv.Sessions()) == 0 })
}

// TestKerberosPrincipalCase: a ticket without a PAC for BOB@SMBPIPE.TEST,
// another principal of an MIT realm than bob@SMBPIPE.TEST, does not get
// the account that kerberos_principal = "bob@SMBPIPE.TEST" maps: the logon
// is refused with STATUS_LOGON_FAILURE, while bob's own ticket logs on.
func TestKerberosPrincipalCase(t *testing.T) {
	kt, ktPath := testkdc.PasswordKeytab(t, "cifs/localhost", testkdc.Realm, "server test service password", 2)
	snap := testserver.Snapshot(t, testkdc.BobConfig(ktPath)+testserver.AliceEcho, "kerberos.toml")
	_, addr := testserver.StartWith(t, server.Options{Snapshot: snap})
	now := time.Now().UTC()
	for _, tc := range []struct {
		cname string
		ok    bool
	}{{"bob", true}, {"BOB", false}, {"Bob", false}} {
		st := testkdc.Mint(t, kt, tc.cname, "cifs/localhost", testkdc.Realm, 2, now, now.Add(time.Hour))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		c, err := client.Dial(ctx, addr, &client.Config{ServerName: "localhost", Kerberos: &client.Kerberos{Ticket: st}})
		cancel()
		if err == nil {
			c.Close()
		}
		var ce *client.Error
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.cname, err)
		case !tc.ok && (!errors.As(err, &ce) || ce.Status != ntstatus.LogonFailure):
			t.Errorf("%s@%s logged on as bob or failed otherwise: %v", tc.cname, testkdc.Realm, err)
		}
	}
}

// TestKerberosCrossRealmClient: a ticket for our service whose client is
// of another realm (the KDCs trust each other) is accepted like any other,
// as Windows accepts a trusted realm's user: without a PAC it logs on as
// the account whose kerberos_principal names that exact principal, and a
// principal no account names is refused. smbpipe explain decides the same
// (cmd/smbpipe TestExplainKerberos other-realm).
func TestKerberosCrossRealmClient(t *testing.T) {
	kt, ktPath := testkdc.PasswordKeytab(t, "cifs/localhost", testkdc.Realm, "server test service password", 2)
	snap := testserver.Snapshot(t, testkdc.BobConfig(ktPath)+testserver.AliceEcho+`
[[account]]
name = "carol"
password = "C4rol-Passw0rd!"
kerberos_principal = "carol@OTHER.TEST"
`, "kerberos.toml")
	srv, addr := testserver.StartWith(t, server.Options{Snapshot: snap})
	now := time.Now().UTC()
	for _, tc := range []struct {
		cname, crealm, user string // user "": refused
	}{{"carol", "OTHER.TEST", "carol"}, {"bob", "OTHER.TEST", ""}, {"bob", testkdc.Realm, "bob"}} {
		st := testkdc.MintFrom(t, kt, tc.cname, tc.crealm, "cifs/localhost", testkdc.Realm, 2, now, now.Add(time.Hour))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		c, err := client.Dial(ctx, addr, &client.Config{ServerName: "localhost", Kerberos: &client.Kerberos{Ticket: st}})
		cancel()
		var ce *client.Error
		switch {
		case tc.user == "" && (!errors.As(err, &ce) || ce.Status != ntstatus.LogonFailure):
			t.Errorf("%s@%s: %v, want STATUS_LOGON_FAILURE", tc.cname, tc.crealm, err)
		case tc.user != "" && err != nil:
			t.Errorf("%s@%s: %v", tc.cname, tc.crealm, err)
		case tc.user != "":
			var got string
			eventually(t, "the session listed", func() bool {
				for _, s := range srv.Sessions() {
					if s.SessionID == c.SessionID() {
						got = s.User
						return true
					}
				}
				return false
			})
			if got != tc.user {
				t.Errorf("%s@%s logged on as %q, want %q", tc.cname, tc.crealm, got, tc.user)
			}
		}
		if err == nil {
			c.Close()
		}
	}
}

// TestKerberosSkewRecovery: an AP-REQ outside the clock skew is answered
// as Windows and Samba (Heimdal) answer it (MS-KILE 3.4.5):
// MORE_PROCESSING_REQUIRED with KRB_AP_ERR_SKEW and the server's time in
// the SPNEGO reply. A client that corrects its clock (CorrectSkew, as
// Windows and Heimdal) logs on with its second AP-REQ, with working signing
// and encryption keys on 3.0.2 and 3.1.1 (whose preauth hash covers the
// extra round); one that does not gets STATUS_TIME_DIFFERENCE_AT_DC; and
// the recovery is offered once: a client whose second AP-REQ is skewed
// too is refused.
func TestKerberosSkewRecovery(t *testing.T) {
	kt, ktPath := testkdc.PasswordKeytab(t, "cifs/localhost", testkdc.Realm, "server test service password", 2)
	snap := testserver.Snapshot(t, "encryption = \"required\"\n"+testkdc.BobConfig(ktPath)+testserver.AliceEcho, "kerberos.toml")
	srv, addr := testserver.StartWith(t, server.Options{Snapshot: snap})
	now := time.Now().UTC()
	st := testkdc.Mint(t, kt, "bob", "cifs/localhost", testkdc.Realm, 2, now.Add(-time.Hour), now.Add(time.Hour))
	behind := func() time.Time { return time.Now().Add(-20 * time.Minute) }
	dial := func(krb client.Kerberos, max smb2.Dialect) (*client.Conn, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		return client.Dial(ctx, addr, &client.Config{ServerName: "localhost", MaxDialect: max, Kerberos: &krb})
	}
	for _, d := range []smb2.Dialect{smb2.Dialect302, smb2.Dialect311} {
		c, err := dial(client.Kerberos{Ticket: st, Now: behind, CorrectSkew: true}, d)
		if err != nil {
			t.Fatalf("%v: CorrectSkew: %v", d, err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		p, err := c.OpenPipe(ctx, "echo") // encrypted: the keys are right
		if err == nil {
			out := make([]byte, 16)
			var n int
			n, _, err = p.Transact(ctx, []byte("after the skew"), out)
			if err == nil && string(out[:n]) != "after the skew" {
				t.Errorf("%v: echo %q", d, out[:n])
			}
			p.Close()
		}
		cancel()
		c.Close()
		if err != nil {
			t.Fatalf("%v: pipe after the skew recovery: %v", d, err)
		}
	}
	var ce *client.Error
	if _, err := dial(client.Kerberos{Ticket: st, Now: behind}, 0); !errors.As(err, &ce) || ce.Status != ntstatus.TimeDifferenceAtDC {
		t.Fatalf("without CorrectSkew: %v", err)
	}
	// The skewed AP-REQ is among the administrator's decisions, whether
	// or not the client retried.
	eventually(t, "the skew listed", func() bool {
		for _, d := range srv.Decisions() {
			if d.Denied && d.User == "bob" && d.Status == ntstatus.TimeDifferenceAtDC.String() && strings.Contains(d.Reason, "KRB_AP_ERR_SKEW") {
				return true
			}
		}
		return false
	})
	// A clock that stays wrong: the second AP-REQ, skewed too, is
	// refused; there is no third round.
	c := testclient.Negotiated(t, addr, client.Config{ServerName: "localhost"})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var sid uint64
	for i, want := range []ntstatus.Status{ntstatus.MoreProcessingRequired, ntstatus.TimeDifferenceAtDC} {
		tok, _, err := kerberos.NewAPReq(st, kerberos.InitOptions{Mutual: true, Now: behind})
		if err != nil {
			t.Fatal(err)
		}
		buf := spnego.EncodeInit(&spnego.Init{MechTypes: []string{spnego.OIDMSKRB5, spnego.OIDKRB5}, MechToken: tok})
		if i > 0 {
			buf = spnego.EncodeResp(&spnego.Resp{NegState: spnego.NoState, ResponseToken: tok})
		}
		resp, err := c.RoundTrip(ctx, &client.RawRequest{Header: smb2.Header{Command: smb2.CmdSessionSetup, SessionID: sid},
			Body: (&smb2.SessionSetupRequest{SecurityMode: uint8(smb2.SigningEnabled), SecurityBuffer: buf}).Append(nil)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Status != want {
			t.Fatalf("skewed AP-REQ %d: %v, want %v", i+1, resp.Header.Status, want)
		}
		sid = resp.Header.SessionID
	}

	// The three legs of a recovery with a mechListMIC that does not
	// verify in the last: refused, and the session is not established.
	c2 := testclient.Negotiated(t, addr, client.Config{ServerName: "localhost"})
	sid = 0
	var serverTime time.Time
	for i, want := range []ntstatus.Status{ntstatus.MoreProcessingRequired, ntstatus.MoreProcessingRequired, ntstatus.LogonFailure} {
		var buf []byte
		switch i {
		case 0:
			tok, _, _ := kerberos.NewAPReq(st, kerberos.InitOptions{Mutual: true, Now: behind})
			buf = spnego.EncodeInit(&spnego.Init{MechTypes: []string{spnego.OIDMSKRB5, spnego.OIDKRB5}, MechToken: tok})
		case 1:
			tok, _, _ := kerberos.NewAPReq(st, kerberos.InitOptions{Mutual: true, Now: func() time.Time { return serverTime }})
			buf = spnego.EncodeResp(&spnego.Resp{NegState: spnego.NoState, ResponseToken: tok})
		case 2:
			buf = spnego.EncodeResp(&spnego.Resp{NegState: spnego.NoState, MechListMIC: make([]byte, 28)})
		}
		resp, err := c2.RoundTrip(ctx, &client.RawRequest{Header: smb2.Header{Command: smb2.CmdSessionSetup, SessionID: sid},
			Body: (&smb2.SessionSetupRequest{SecurityMode: uint8(smb2.SigningEnabled), SecurityBuffer: buf}).Append(nil)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Status != want {
			t.Fatalf("leg %d: %v, want %v", i+1, resp.Header.Status, want)
		}
		sid = resp.Header.SessionID
		if i == 0 {
			var r smb2.SessionSetupResponse
			if err := r.Decode(resp.Msg); err != nil {
				t.Fatal(err)
			}
			_, nr, err := spnego.Decode(r.SecurityBuffer)
			if err != nil || nr == nil {
				t.Fatalf("leg 1 reply: %v", err)
			}
			se, ok := kerberos.ParseServerError(nr.ResponseToken)
			if !ok || se.Code != kerberos.ErrCodeSkew {
				t.Fatalf("leg 1: no KRB_AP_ERR_SKEW: %+v", se)
			}
			serverTime = se.ServerTime
		}
	}
}

// TestKerberosKeytabRotatedOnDisk: a key added to the keytab file while
// the server runs (kadmin ktadd, msktutil, net ads keytab: a new kvno, the
// config untouched) is used at once, as MIT's and Samba's acceptors use
// it, while tickets under the old key go on working as long as the file
// keeps it; once the old key is removed from the file, its tickets are
// refused.
func TestKerberosKeytabRotatedOnDisk(t *testing.T) {
	const spn = "cifs/localhost"
	old, ktPath := testkdc.PasswordKeytab(t, spn, testkdc.Realm, "the old service password", 2)
	snap := testserver.Snapshot(t, testkdc.BobConfig(ktPath)+testserver.AliceEcho, "kerberos.toml")
	_, addr := testserver.StartWith(t, server.Options{Snapshot: snap})
	now := time.Now().UTC()
	logon := func(kt *keytab.Keytab, kvno int) error {
		st := testkdc.Mint(t, kt, "bob", spn, testkdc.Realm, kvno, now.Add(-time.Minute), now.Add(time.Hour))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, addr, &client.Config{ServerName: "localhost", Kerberos: &client.Kerberos{Ticket: st}})
		if err == nil {
			c.Close()
		}
		return err
	}
	write := func(kvnos ...int) *keytab.Keytab {
		kt := keytab.New()
		for _, v := range kvnos {
			pw := map[int]string{2: "the old service password", 3: "the new service password"}[v]
			if err := kt.AddEntry(spn, testkdc.Realm, pw, time.Now(), uint8(v), kerberos.ETypeAES256); err != nil {
				t.Fatal(err)
			}
		}
		b, err := kt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ktPath, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return kt
	}
	if err := logon(old, 2); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	both := write(2, 3)
	if err := logon(both, 3); err != nil {
		t.Fatalf("a ticket under the key added to the file (kvno 3): %v", err)
	}
	if err := logon(old, 2); err != nil {
		t.Fatalf("a ticket under the old key still in the file: %v", err)
	}
	newOnly := write(3)
	if err := logon(newOnly, 3); err != nil {
		t.Fatalf("kvno 3 after the old key left the file: %v", err)
	}
	var ce *client.Error
	if err := logon(old, 2); !errors.As(err, &ce) || ce.Status != ntstatus.LogonFailure {
		t.Fatalf("a ticket under the key removed from the file: %v", err)
	}
}

// TestKerberosDenialsListed: Kerberos logon refusals reach the
// administrator's decisions (Decisions, Explain: the admin API and UI) as
// NTLM's do, with the principal, the rule and the reason: an unmapped
// principal, an expired ticket, and NTLM under ntlm = false.
func TestKerberosDenialsListed(t *testing.T) {
	kt, ktPath := testkdc.PasswordKeytab(t, "cifs/localhost", testkdc.Realm, "server test service password", 2)
	cfg := strings.Replace(testkdc.BobConfig(ktPath), `service_names = ["localhost"]`, "service_names = [\"localhost\"]\nntlm = false", 1)
	snap := testserver.Snapshot(t, cfg+testserver.AliceEcho, "kerberos.toml")
	srv, addr := testserver.StartWith(t, server.Options{Snapshot: snap})
	now := time.Now().UTC()
	dial := func(cfg *client.Config) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		cfg.ServerName = "localhost"
		c, err := client.Dial(ctx, addr, cfg)
		if err == nil {
			c.Close()
			t.Fatalf("%+v logged on", cfg)
		}
	}
	dial(&client.Config{Kerberos: &client.Kerberos{Ticket: testkdc.Mint(t, kt, "carol", "cifs/localhost", testkdc.Realm, 2, now, now.Add(time.Hour))}})
	dial(&client.Config{Kerberos: &client.Kerberos{Ticket: testkdc.Mint(t, kt, "bob", "cifs/localhost", testkdc.Realm, 2, now.Add(-3*time.Hour), now.Add(-time.Hour))}})
	dial(&client.Config{User: "alice", Password: "Passw0rd!"})
	for _, want := range []struct{ user, rule, reason string }{
		{"carol", "kerberos-principal", `kerberos_principal = "carol@SMBPIPE.TEST"`},
		{"bob", "kerberos", "expired at"},
		{"", "ntlm-disabled", "ntlm = false"},
	} {
		found := false
		eventually(t, "the "+want.rule+" denial listed", func() bool {
			for _, d := range srv.Decisions() {
				if d.Message == "session setup" && d.Denied && d.User == want.user && d.Rule == want.rule && strings.Contains(d.Reason, want.reason) {
					e, ok := srv.Explain(d.Seq)
					found = ok && e.Decision.Status == ntstatus.LogonFailure.String()
					return true
				}
			}
			return false
		})
		if !found {
			t.Errorf("%s: not explained", want.rule)
		}
	}
}
