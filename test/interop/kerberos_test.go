package interop

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testkdc"
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

var _ = filepath.Join
