package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/internal/testkdc"
)

// TestExplainKerberos: explain takes a Kerberos identity, NAME@REALM with
// the PAC's groups (--groups, --sid) or without (the account whose
// kerberos_principal names it), builds the token the server builds, and
// shows the ACE each SID of it matched.
func TestExplainKerberos(t *testing.T) {
	const dom = "S-1-5-21-1111111111-2222222222-3333333333"
	cfg := filepath.Join(t.TempDir(), "smbpipe.toml")
	body := `
[[account]]
name = "alice"
password = "Passw0rd!"
kerberos_principal = "alice@SMBPIPE.TEST"

[[pipe]]
name = "admins"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;BA)(A;;0x12019B;;;` + dom + `-512)"

[[pipe]]
name = "users"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AU)"

[kerberos]
keytab = "smbpipe.keytab"
realm = "SMBPIPE.TEST"
service_names = ["localhost"]
`
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	noKrb := filepath.Join(t.TempDir(), "smbpipe.toml")
	if err := os.WriteFile(noKrb, []byte(body[:strings.Index(body, "[kerberos]")]), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"pac-domain-admins", []string{"--user", "alice@SMBPIPE.TEST", "--sid", dom + "-1105", "--groups", dom + "-512," + dom + "-513,S-1-18-1", "--pipe", "admins"}, 0, []string{
			"session setup: a Kerberos ticket whose PAC",
			"token [" + dom + "-1105",
			"ACE 1 (A;;0x12019b;;;BA) BUILTIN\\Administrators: SID not in token",
			"ACE 2 (A;;0x12019b;;;" + dom + "-512) " + dom + "-512: in token, grants 0x0012019B",
			"result: STATUS_SUCCESS",
		}},
		{"pac-without-512", []string{"--user", "alice@SMBPIPE.TEST", "--sid", dom + "-1105", "--groups", dom + "-513", "--pipe", "admins"}, 1, []string{
			"ACE 2 (A;;0x12019b;;;" + dom + "-512) " + dom + "-512: SID not in token",
			"result: STATUS_ACCESS_DENIED",
		}},
		{"pac-sid-from-account", []string{"--user", "alice@SMBPIPE.TEST", "--groups", dom + "-512", "--pipe", "admins"}, 0, []string{
			"token [S-1-5-21-", "SMBPIPE\\alice", "-512: in token, grants",
		}},
		// The Kerberos logon set: Authenticated Users, no NTLM SID.
		{"no-pac-mapped", []string{"--user", "alice@SMBPIPE.TEST", "--pipe", "users"}, 0, []string{
			"session setup: a Kerberos ticket without a PAC, mapped to account alice (kerberos_principal)",
			"(A;;0x12019b;;;AU) NT AUTHORITY\\Authenticated Users: in token, grants",
		}},
		{"no-pac-unmapped", []string{"--user", "bob@SMBPIPE.TEST", "--pipe", "users"}, 1, []string{
			"no [[account]] has kerberos_principal = \"bob@SMBPIPE.TEST\"", "rule:     kerberos-principal",
			"fix:      set kerberos_principal = \"bob@SMBPIPE.TEST\"",
		}},
		// A user of another realm (a cross-realm ticket with a PAC) logs
		// on as the server lets it: the server checks only the ticket's
		// service realm. Without a PAC only an exact kerberos_principal
		// maps one.
		{"other-realm", []string{"--user", "alice@OTHER.TEST", "--groups", dom + "-512", "--sid", dom + "-1105", "--pipe", "admins"}, 0, []string{
			"PAC (server signature verified) names user " + dom + "-1105", "-512: in token, grants", "result: STATUS_SUCCESS",
		}},
		{"other-realm-no-pac", []string{"--user", "alice@OTHER.TEST", "--pipe", "users"}, 1, []string{
			"no [[account]] has kerberos_principal = \"alice@OTHER.TEST\"", "rule:     kerberos-principal",
		}},
		{"groups-need-a-sid", []string{"--user", "bob@SMBPIPE.TEST", "--groups", dom + "-512", "--pipe", "admins"}, 2, nil},
		{"bad-group", []string{"--user", "alice@SMBPIPE.TEST", "--groups", "S-1-x", "--pipe", "admins"}, 2, nil},
		{"groups-need-a-principal", []string{"--user", "alice", "--groups", dom + "-512", "--pipe", "admins"}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := explain(append([]string{"--config", cfg}, tc.args...), &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	t.Run("kerberos-off", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := explain([]string{"--config", noKrb, "--user", "alice@SMBPIPE.TEST", "--pipe", "users"}, &out, &errb); code != 1 ||
			!strings.Contains(out.String(), "Kerberos is off") || !strings.Contains(out.String(), "fix:      configure [kerberos] keytab") {
			t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
		}
	})
}

// TestSIDKerberosToken: smbpipe sid --token NAME@REALM prints the token of
// a Kerberos logon: the mapped account's without the NTLM SID, or the one
// built from the PAC's SIDs.
func TestSIDKerberosToken(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "smbpipe.toml")
	if err := os.WriteFile(cfg, []byte(`
[[account]]
name = "alice"
password = "Passw0rd!"
kerberos_principal = "alice@SMBPIPE.TEST"

[kerberos]
keytab = "smbpipe.keytab"
realm = "SMBPIPE.TEST"
service_names = ["localhost"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := sidCmd([]string{"--config", cfg, "--token", "alice@SMBPIPE.TEST"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "alice@SMBPIPE.TEST (Kerberos)\n") || !strings.Contains(out.String(), "S-1-5-11 Authenticated Users") ||
		strings.Contains(out.String(), "S-1-5-64-10") {
		t.Fatalf("mapped principal:\n%s", out.String())
	}
	out.Reset()
	const dom = "S-1-5-21-1-2-3"
	if code := sidCmd([]string{"--config", cfg, "--token", "--sid", dom + "-1105", "--groups", dom + "-512,S-1-18-1", "alice@SMBPIPE.TEST"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := dom + "-1105 alice@SMBPIPE.TEST (Kerberos)\n  " + dom + "-1105 " + dom + "-1105\n  " + dom + "-512 " + dom + "-512\n  S-1-18-1 S-1-18-1\n  S-1-1-0 Everyone\n"
	if !strings.HasPrefix(out.String(), want) {
		t.Fatalf("PAC token:\n%s\nwant prefix\n%s", out.String(), want)
	}
	out.Reset()
	errb.Reset()
	if code := sidCmd([]string{"--config", cfg, "--token", "bob@SMBPIPE.TEST"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "kerberos_principal") {
		t.Fatalf("unmapped principal: exit %d: %s", code, errb.String())
	}
}

// TestKerberosFlags: dial -k (and so rpc -k) takes the cache KRB5CCNAME
// names, FILE: or a plain path, refuses other cache types and -U with it;
// bench --krb-keytab mints a ticket for cifs/HOST from a service keytab.
func TestKerberosFlags(t *testing.T) {
	t.Setenv("KRB5CCNAME", "FILE:/run/user/1000/krb5cc")
	t.Setenv("KRB5_CONFIG", "/etc/krb5-test.conf")
	o, err := parseDialArgs([]string{"-k", "//server/pipe/echo"}, os.Getenv)
	if err != nil || o.cfg.Kerberos == nil || o.cfg.Kerberos.CCache != "/run/user/1000/krb5cc" || o.cfg.Kerberos.Config != "/etc/krb5-test.conf" {
		t.Fatalf("-k: %v %+v", err, o)
	}
	if !o.cfg.Kerberos.CorrectSkew {
		t.Error("-k does not take up a server's clock skew recovery, as smbclient -k does")
	}
	if _, err := parseDialArgs([]string{"-k", "-U", "alice%x", "//server/pipe/echo"}, os.Getenv); err == nil {
		t.Fatal("-k with -U accepted")
	}
	t.Setenv("KRB5CCNAME", "KEYRING:persistent:1000")
	if _, err := parseDialArgs([]string{"-k", "//server/pipe/echo"}, os.Getenv); err == nil {
		t.Fatal("a KEYRING cache accepted")
	}
	t.Setenv("KRB5CCNAME", "FILE:/tmp/cc")
	r, err := parseRPCArgs([]string{"-k", "//server", "srvinfo"}, os.Getenv)
	if err != nil || r.dial.cfg.Kerberos == nil || r.dial.cfg.Kerberos.CCache != "/tmp/cc" {
		t.Fatalf("rpc -k: %v", err)
	}

	_, path := testkdc.PasswordKeytab(t, "cifs/srv.example.com", "EXAMPLE.COM", "pw", 3)
	bo, err := parseBenchArgs([]string{"-w", "setup", "--addr", "127.0.0.1:4450", "--krb-keytab", path, "--krb-host", "srv.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	k := bo.run.Client.Kerberos
	if k == nil || k.Ticket == nil || bo.run.Client.ServerName != "srv.example.com" || !bo.run.Client.RequireSigning ||
		k.Ticket.CRealm != "EXAMPLE.COM" || strings.Join(k.Ticket.CName.NameString, "/") != "alice" ||
		strings.Join(k.Ticket.Ticket.SName.NameString, "/") != "cifs/srv.example.com" {
		t.Fatalf("bench --krb-keytab: %+v", bo.run.Client)
	}
	if _, err := parseBenchArgs([]string{"-w", "setup", "--krb-keytab", path, "--krb-host", "other"}); err == nil {
		t.Fatal("a ticket for a service the keytab has no key for")
	}
	if _, err := parseBenchArgs([]string{"-w", "setup", "-k", "-U", "alice%x"}); err == nil {
		t.Fatal("bench -k with -U accepted")
	}
}
