package bench

import (
	"context"
	"testing"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testkdc"
	"github.com/smbpipe/smbpipe/internal/testserver"
)

// kerberosServer runs the server with [kerberos] on a keytab made from a
// password (cifs/localhost@SMBPIPE.TEST, AES-256), alice mapped by
// kerberos_principal, and returns its address and the keytab's path.
func kerberosServer(tb testing.TB) (string, string) {
	tb.Helper()
	_, path := testkdc.PasswordKeytab(tb, "cifs/localhost", testkdc.Realm, "bench service password", 2)
	return testserver.Start(tb, testkdc.BobConfig(path)+testserver.AliceEcho), path
}

// TestRunSetupKerberos: the setup workload logs on with Kerberos once per
// op from a ticket minted once with the service keytab (every op a new
// authenticator, none a replay), and with NTLM for comparison.
func TestRunSetupKerberos(t *testing.T) {
	addr, kt := kerberosServer(t)
	tkt, err := MintTicket(kt, "bob@SMBPIPE.TEST", "cifs/localhost")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  client.Config
	}{
		{"kerberos", client.Config{Kerberos: &client.Kerberos{Ticket: tkt}, ServerName: "localhost", RequireSigning: true}},
		{"ntlm", aliceConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Workload: Setup, Addr: addr, Client: tc.cfg, Concurrency: 2, Count: 200})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ops != 200 || res.Errors != 0 || !res.Signed || res.Pipe != "" {
				t.Fatalf("result %+v", res)
			}
		})
	}
	// A ticket for another service fails the run at its first logon.
	other, err := MintTicket(kt, "bob@SMBPIPE.TEST", "cifs/localhost")
	if err != nil {
		t.Fatal(err)
	}
	other.Ticket.SName.NameString = []string{"cifs", "elsewhere"}
	if _, err := Run(context.Background(), Options{Workload: Setup, Addr: addr, Count: 1,
		Client: client.Config{Kerberos: &client.Kerberos{Ticket: other}, ServerName: "localhost"}}); err == nil {
		t.Fatal("a ticket for another service logged on")
	}
	if _, err := MintTicket(kt, "bob", "cifs/localhost"); err == nil {
		t.Fatal("a principal without a realm accepted")
	}
	if _, err := MintTicket(kt, "bob@SMBPIPE.TEST", "cifs/nosuch"); err == nil {
		t.Fatal("a ticket minted for a service the keytab has no key for")
	}
}

// BenchmarkKerberosSetup is one Kerberos logon (and the LOGOFF before it)
// per op against the in-process server.
func BenchmarkKerberosSetup(b *testing.B) {
	addr, kt := kerberosServer(b)
	tkt, err := MintTicket(kt, "bob@SMBPIPE.TEST", "cifs/localhost")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	c, err := client.Dial(ctx, addr, &client.Config{Kerberos: &client.Kerberos{Ticket: tkt}, ServerName: "localhost"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	for b.Loop() {
		if err := c.Logoff(ctx); err != nil {
			b.Fatal(err)
		}
		if err := c.SessionSetup(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
