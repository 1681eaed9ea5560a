package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testkdc"
	"github.com/smbpipe/smbpipe/internal/testserver"
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
