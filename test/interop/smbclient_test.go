package interop

import (
	"strings"
	"testing"
	"time"
)

const smbclientPath = "/usr/bin/smbclient"

// smbclient tree-connects to IPC$ and exits.
func smbclient(t *testing.T, s *server, protocol string, extra ...string) (string, error) {
	t.Helper()
	args := []string{"//127.0.0.1/IPC$", "-p", s.port, "-c", "exit",
		"--option=client min protocol=" + protocol, "--option=client max protocol=" + protocol}
	return run(t, 30*time.Second, smbclientPath, append(args, extra...)...)
}

// TestSmbclient: Samba's smbclient connects to IPC$ at every dialect it
// can pin, anonymously and as alice with signing required by the client;
// a wrong password fails with NT_STATUS_LOGON_FAILURE.
func TestSmbclient(t *testing.T) {
	need(t, smbclientPath, "--version")
	s := startServer(t, testConfig)
	for _, proto := range []string{"SMB2_02", "SMB2_10", "SMB3_00", "SMB3_02", "SMB3_11"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			t.Run("anonymous", func(t *testing.T) {
				if out, err := smbclient(t, s, proto, "-U%"); err != nil {
					t.Fatalf("smbclient -U%%: %v\n%s", err, out)
				}
			})
			t.Run("alice-signed", func(t *testing.T) {
				out, err := smbclient(t, s, proto, "-U", "alice%Passw0rd!", "-W", "WORKGROUP", "--client-protection=sign")
				if err != nil {
					t.Fatalf("smbclient as alice, signed: %v\n%s", err, out)
				}
			})
			t.Run("wrong-password", func(t *testing.T) {
				out, err := smbclient(t, s, proto, "-U", "alice%nope", "-W", "WORKGROUP")
				if err == nil || !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
					t.Fatalf("smbclient with a wrong password: err %v, want NT_STATUS_LOGON_FAILURE in\n%s", err, out)
				}
			})
		})
	}
}
