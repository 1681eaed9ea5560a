package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testkdc"
	"github.com/smbpipe/smbpipe/ntstatus"
)

// The Kerberos interop tests share one MIT KDC (internal/testkdc: realm
// SMBPIPE.TEST on 127.0.0.88:88) for the whole package and run in parallel.

// kerberosConfig is testConfig with [kerberos] on the KDC's keytab, alice
// mapped by principal (MIT's PAC carries no logon information), a pipe
// only Domain Admins of the PAC domain may open, and extra appended.
func kerberosConfig(k *testkdc.KDC, extra string) string {
	c := strings.Replace(testConfig, "name = \"alice\"\npassword = \"Passw0rd!\"",
		"name = \"alice\"\npassword = \"Passw0rd!\"\nkerberos_principal = \"alice@SMBPIPE.TEST\"", 1)
	return c + fmt.Sprintf(`
[[pipe]]
name = "admins"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;%s-512)"

[kerberos]
keytab = %q
realm = "SMBPIPE.TEST"
service_names = ["localhost", "smbpipe.smbpipe.test"]
%s
`, pacDomainSID, k.Keytab, extra)
}

// pacDomainSID is the domain of the PACs ticketer.py mints.
const pacDomainSID = "S-1-5-21-1111111111-2222222222-3333333333"

// runEnv runs a client with env and a timeout, returning its output.
func runEnv(t *testing.T, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("%s timed out after %v", name, timeout)
	}
}

// waitLogLine waits up to 10 s for a line of s's log containing every part.
func waitLogLine(t *testing.T, s *server, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, l := range strings.Split(s.Log(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(l, p)
			}
			if ok {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", parts, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKerberosSmbclient: smbclient --use-kerberos=required, after kinit
// alice, connects to IPC$ on every SMB3 dialect (the name smbpipe.smbpipe.test:
// Samba refuses Kerberos to "localhost"), signed and encrypted; the audit
// record says auth kerberos, the principal and the enctype.
func TestKerberosSmbclient(t *testing.T) {
	t.Parallel()
	need(t, smbclientPath, "--version")
	k := testkdc.Shared(t)
	s := startServer(t, kerberosConfig(k, ""))
	cc := k.Kinit(t, t.TempDir(), testkdc.Alice, testkdc.AlicePassword)
	for _, proto := range []string{"SMB2_10", "SMB3_00", "SMB3_11"} {
		for _, mode := range []string{"sign", "encrypt"} {
			if proto == "SMB2_10" && mode == "encrypt" {
				continue
			}
			t.Run(proto+"/"+mode, func(t *testing.T) {
				out, err := runEnv(t, 30*time.Second, k.Env(cc), smbclientPath,
					"//"+testkdc.ServiceHost+"/IPC$", "-I", "127.0.0.1", "-p", s.port, "--use-kerberos=required",
					"--client-protection="+mode, "--option=client min protocol="+proto, "--option=client max protocol="+proto,
					"-c", "exit")
				if err != nil {
					t.Fatalf("smbclient: %v\n%s", err, out)
				}
			})
		}
	}
	// The whole AES-256 subkey keys AES-256-GCM on 3.1.1 (MS-SMB2
	// 3.3.5.5.3 FullSessionKey); a truncated key would fail the first
	// encrypted request.
	t.Run("SMB3_11/aes-256-gcm", func(t *testing.T) {
		out, err := runEnv(t, 30*time.Second, k.Env(cc), smbclientPath,
			"//"+testkdc.ServiceHost+"/IPC$", "-I", "127.0.0.1", "-p", s.port, "--use-kerberos=required",
			"--client-protection=encrypt", "--option=client smb3 encryption algorithms=AES-256-GCM",
			"--option=client min protocol=SMB3_11", "-c", "exit")
		if err != nil {
			t.Fatalf("smbclient: %v\n%s", err, out)
		}
		waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "cipher=AES-256-GCM")
	})
	l := waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "status=STATUS_SUCCESS")
	for _, want := range []string{"principal=alice@SMBPIPE.TEST", "enctype=aes256-cts-hmac-sha1-96", "service=cifs/smbpipe.smbpipe.test"} {
		if !strings.Contains(l, want) {
			t.Errorf("audit record lacks %s: %s", want, l)
		}
	}
}

// cifsTicket fills a credential cache in dir with alice's TGT and a
// ticket for spn (kinit, kvno).
func cifsTicket(t *testing.T, k *testkdc.KDC, dir, spn string) string {
	return k.Kinit(t, dir, testkdc.Alice, testkdc.AlicePassword, spn)
}

// kerberosImpacket runs testdata/kerberos_impacket.py with KRB5CCNAME=cc
// and returns its step lines.
func kerberosImpacket(t *testing.T, k *testkdc.KDC, cc string, args ...string) []string {
	t.Helper()
	out, err := runEnv(t, 60*time.Second, k.Env(cc), python, append([]string{"testdata/kerberos_impacket.py"}, args...)...)
	if err != nil {
		t.Fatalf("impacket: %v\n%s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "OK ") || strings.HasPrefix(l, "FAIL ") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("impacket printed no steps:\n%s", out)
	}
	return lines
}

// TestKerberosImpacket: impacket's SMBConnection.kerberosLogin with the
// cifs/localhost ticket kinit and kvno put in a cache opens the echo pipe
// and exchanges data (WRITE/READ, TRANSCEIVE), signed as impacket signs.
func TestKerberosImpacket(t *testing.T) {
	t.Parallel()
	need(t, python, "-c", "import impacket")
	k := testkdc.Shared(t)
	s := startServer(t, kerberosConfig(k, ""))
	cc := cifsTicket(t, k, t.TempDir(), "cifs/localhost")
	for _, d := range []string{"2.1", "3.0"} {
		t.Run(d, func(t *testing.T) {
			lines := kerberosImpacket(t, k, cc, s.port, "localhost", testkdc.Alice, testkdc.Realm, "echo", d)
			if last := lines[len(lines)-1]; last != "OK logoff" {
				t.Fatalf("impacket stopped at %q (%v)", last, lines)
			}
		})
	}
	waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "principal=alice@SMBPIPE.TEST", "status=STATUS_SUCCESS")
}

const ticketerPath = "/usr/share/doc/python3-impacket/examples/ticketer.py"

// ticketer mints a service ticket for cifs/localhost as alice (RID 1105)
// in the domain pacDomainSID with groups, signed and encrypted with key
// ("-keytab PATH" or "-nthash HEX"), and returns the cache it wrote.
func ticketer(t *testing.T, groups string, key ...string) string {
	t.Helper()
	need(t, ticketerPath)
	dir := t.TempDir()
	args := append([]string{ticketerPath, "-spn", "cifs/localhost", "-domain", testkdc.Realm, "-domain-sid", pacDomainSID,
		"-groups", groups, "-user-id", "1105", "-extra-sid", "S-1-18-1"}, key...)
	cmd := exec.Command(python, append(args, testkdc.Alice)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ticketer.py: %v\n%s", err, out)
	}
	return filepath.Join(dir, testkdc.Alice+".ccache")
}

// TestKerberosPAC: tickets whose PAC impacket's ticketer.py minted with the
// keytab's key carry the domain's groups into the token: the pipe granted
// only to S-1-5-21-<domain>-512 opens with group 512 and not without it,
// over impacket and the Go client; AES and RC4 service keys.
func TestKerberosPAC(t *testing.T) {
	t.Parallel()
	need(t, python, "-c", "import impacket")
	k := testkdc.Shared(t)
	s := startServer(t, kerberosConfig(k, ""))
	rc4 := keytabKeyHex(t, k.Keytab, "cifs/localhost", 23)
	for _, tc := range []struct {
		name string
		key  []string
	}{
		{"keytab", []string{"-keytab", k.Keytab}},
		{"rc4", []string{"-nthash", rc4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			admin := ticketer(t, "512,513,1105", tc.key...)
			user := ticketer(t, "513,1105", tc.key...)
			lines := kerberosImpacket(t, k, admin, s.port, "localhost", testkdc.Alice, testkdc.Realm, "admins")
			if last := lines[len(lines)-1]; last != "OK logoff" {
				t.Fatalf("Domain Admins ticket: impacket stopped at %q (%v)", last, lines)
			}
			lines = kerberosImpacket(t, k, user, s.port, "localhost", testkdc.Alice, testkdc.Realm, "admins")
			if last := lines[len(lines)-1]; last != "FAIL open STATUS_ACCESS_DENIED" {
				t.Fatalf("ticket without 512: impacket stopped at %q (%v)", last, lines)
			}
			// The Go client from the same caches.
			if err := goClientOpen(t, s, &client.Kerberos{CCache: admin}, "admins"); err != nil {
				t.Fatalf("Go client, Domain Admins ticket: %v", err)
			}
			if err := goClientOpen(t, s, &client.Kerberos{CCache: user}, "admins"); !isStatus(err, ntstatus.AccessDenied) {
				t.Fatalf("Go client, ticket without 512: %v", err)
			}
		})
	}
	l := waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "user_sid="+pacDomainSID+"-1105")
	if !strings.Contains(l, "status=STATUS_SUCCESS") {
		t.Errorf("PAC logon record: %s", l)
	}
	waitLogLine(t, s, `msg="pipe open"`, "pipe=admins", "status=STATUS_ACCESS_DENIED")
}

// keytabKeyHex returns the hex key of spn with etype from a keytab.
func keytabKeyHex(t *testing.T, path, spn string, etype int32) string {
	t.Helper()
	kt, err := keytab.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := kt.GetEncryptionKey(types.NewPrincipalName(2, spn), testkdc.Realm, 0, etype)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(key.KeyValue)
}

// goClientOpen logs on with krb and opens pipe.
func goClientOpen(t *testing.T, s *server, krb *client.Kerberos, pipe string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, s.addr, &client.Config{Kerberos: krb, ServerName: "localhost"})
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.OpenPipe(ctx, pipe)
	if err != nil {
		return err
	}
	return p.Close()
}

func isStatus(err error, st ntstatus.Status) bool {
	var se *client.Error
	return errors.As(err, &se) && se.Status == st
}
