package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testkdc"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/server"
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
