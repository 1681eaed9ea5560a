package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/smbpipe/smbpipe/auth/kerberos"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/server"
)

// TestKerberosSessionListed: a Kerberos session is in the administrator's
// view (Sessions) as the account its principal maps to, like an NTLM
// session, and leaves it at logoff. No KDC: the keytab comes from a
// password and the ticket is minted with it.
func TestKerberosSessionListed(t *testing.T) {
	const realm = "SMBPIPE.TEST"
	kt := keytab.New()
	if err := kt.AddEntry("cifs/localhost", realm, "server test service password", time.Now(), 2, kerberos.ETypeAES256); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ktPath := filepath.Join(t.TempDir(), "smbpipe.keytab")
	if err := os.WriteFile(ktPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	snap := testserver.Snapshot(t, fmt.Sprintf(`
[[account]]
name = "bob"
password = "B0b-Passw0rd!"
kerberos_principal = "bob@SMBPIPE.TEST"

[kerberos]
keytab = %q
realm = "SMBPIPE.TEST"
service_names = ["localhost"]
`, ktPath)+testserver.AliceEcho, "kerberos.toml")
	srv, addr := testserver.StartWith(t, server.Options{Snapshot: snap})

	now := time.Now().UTC()
	cname := types.NewPrincipalName(1, "bob")
	tkt, key, err := messages.NewTicket(cname, realm, types.NewPrincipalName(2, "cifs/localhost"), realm,
		types.NewKrbFlags(), kt, kerberos.ETypeAES256, 2, now, now, now.Add(time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, &client.Config{ServerName: "localhost",
		Kerberos: &client.Kerberos{Ticket: &kerberos.ServiceTicket{Ticket: tkt, SessionKey: key, CName: cname, CRealm: realm}}})
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
