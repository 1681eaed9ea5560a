package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"

	"github.com/smbpipe/smbpipe/auth/kerberos"
	"github.com/smbpipe/smbpipe/internal/testkdc"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// kerberosServer runs the e2e config with [kerberos] on the test KDC's
// keytab, alice mapped by principal (MIT's PAC has no logon information),
// and a pipe only alice's account SID may open.
func kerberosServer(t *testing.T, k *testkdc.KDC, extra string) string {
	t.Helper()
	conf := fmt.Sprintf(e2eConfig, "enabled") + fmt.Sprintf(`
[kerberos]
keytab = %q
realm = "SMBPIPE.TEST"
service_names = ["localhost", "smbpipe.smbpipe.test"]
%s
`, k.Keytab, extra)
	conf = replaceOnce(conf, "name = \"alice\"\npassword = \"Passw0rd!\"", "name = \"alice\"\npassword = \"Passw0rd!\"\nkerberos_principal = \"alice@SMBPIPE.TEST\"")
	return testserver.Start(t, conf)
}

func replaceOnce(s, old, new string) string {
	i := bytes.Index([]byte(s), []byte(old))
	if i < 0 {
		panic("replaceOnce: " + old)
	}
	return s[:i] + new + s[i+len(old):]
}

// kerberosTransact opens the echo pipe and checks a transact round trip.
func kerberosTransact(t *testing.T, c *Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	p := openT(t, c, "echo")
	defer p.Close()
	out := make([]byte, 64)
	n, _, err := p.Transact(ctx, []byte("kerberos hello"), out)
	if err != nil || string(out[:n]) != "kerberos hello" {
		t.Fatalf("transact: %q %v", out[:n], err)
	}
}

func TestKerberosLogon(t *testing.T) {
	k := testkdc.Shared(t)
	addr := kerberosServer(t, k, "")
	cc := k.Kinit(t, t.TempDir(), testkdc.Alice, testkdc.AlicePassword, "cifs/localhost")
	for _, tc := range []struct {
		name string
		krb  Kerberos
	}{
		{"password", Kerberos{Principal: "alice@SMBPIPE.TEST", Password: testkdc.AlicePassword, Config: k.Config}},
		{"keytab", Kerberos{Principal: "alice@SMBPIPE.TEST", Keytab: k.ClientKeytab, Config: k.Config}},
		{"ccache", Kerberos{CCache: cc, Config: k.Config}},
		{"no-mutual", Kerberos{Principal: "alice@SMBPIPE.TEST", Password: testkdc.AlicePassword, Config: k.Config, NoMutual: true}},
	} {
		for _, d := range []smb2.Dialect{smb2.Dialect210, smb2.Dialect302, smb2.Dialect311} {
			t.Run(tc.name+"/"+DialectString(d), func(t *testing.T) {
				krb := tc.krb
				cfg := Config{Kerberos: &krb, RequireSigning: true, MinDialect: d, MaxDialect: d, ServerName: "localhost"}
				c := dialT(t, addr, cfg)
				if c.SessionID() == 0 {
					t.Fatal("no session")
				}
				kerberosTransact(t, c)
			})
		}
	}
	t.Run("encrypted", func(t *testing.T) {
		for _, cipher := range []uint16{smb2.CipherAES128GCM, smb2.CipherAES256GCM, smb2.CipherAES128CCM} {
			krb := Kerberos{CCache: cc, Config: k.Config}
			cfg := Config{Kerberos: &krb, Encryption: EncryptionRequired, Ciphers: []uint16{cipher}, ServerName: "localhost"}
			c := dialT(t, addr, cfg)
			kerberosTransact(t, c)
		}
	})
}

// TestKerberosRefusals: the server refuses each bad AP-REQ with the status
// Windows gives; the client sees it as an *Error.
func TestKerberosRefusals(t *testing.T) {
	k := testkdc.Shared(t)
	addr := kerberosServer(t, k, "")
	conf, err := krbconfig.Load(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	ticket := func(spn string) *kerberos.ServiceTicket {
		cl := krbclient.NewWithPassword(testkdc.Alice, testkdc.Realm, testkdc.AlicePassword, conf, krbclient.DisablePAFXFAST(true))
		defer cl.Destroy()
		if err := cl.Login(); err != nil {
			t.Fatal(err)
		}
		tk, key, err := cl.GetServiceTicket(spn)
		if err != nil {
			t.Fatal(err)
		}
		return &kerberos.ServiceTicket{Ticket: tk, SessionKey: key, CName: cl.Credentials.CName(), CRealm: testkdc.Realm}
	}
	good := ticket("cifs/localhost")
	dial := func(krb Kerberos) error {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		c, err := Dial(ctx, addr, &Config{Kerberos: &krb, ServerName: "localhost"})
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, tc := range []struct {
		name string
		krb  Kerberos
		want ntstatus.Status
	}{
		{"other-service", Kerberos{Ticket: ticket(testkdc.OtherService)}, ntstatus.LogonFailure},
		{"skewed-clock", Kerberos{Ticket: good, Now: func() time.Time { return time.Now().Add(-20 * time.Minute) }}, 0xC0000133},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dial(tc.krb)
			var se *Error
			if !errors.As(err, &se) || se.Status != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("mapped-account-required", func(t *testing.T) {
		// HOST1$ has no kerberos_principal and MIT's PAC no logon info.
		cl := krbclient.NewWithPassword(testkdc.Host1, testkdc.Realm, testkdc.Host1Password, conf, krbclient.DisablePAFXFAST(true))
		defer cl.Destroy()
		if err := cl.Login(); err != nil {
			t.Fatal(err)
		}
		tk, key, err := cl.GetServiceTicket("cifs/localhost")
		if err != nil {
			t.Fatal(err)
		}
		err = dial(Kerberos{Ticket: &kerberos.ServiceTicket{Ticket: tk, SessionKey: key, CName: cl.Credentials.CName(), CRealm: testkdc.Realm}})
		var se *Error
		if !errors.As(err, &se) || se.Status != ntstatus.LogonFailure {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ccache-from-env", func(t *testing.T) {
		cc := filepath.Join(t.TempDir(), "cc")
		t.Setenv("KRB5CCNAME", "FILE:"+cc)
		got, err := KerberosCCacheFromEnv()
		if err != nil || got != cc {
			t.Fatalf("%q %v", got, err)
		}
		t.Setenv("KRB5CCNAME", "KEYRING:persistent:0")
		if _, err := KerberosCCacheFromEnv(); err == nil {
			t.Fatal("KEYRING accepted")
		}
	})
}
