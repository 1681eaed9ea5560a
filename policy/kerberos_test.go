package policy_test

import (
	"testing"

	"github.com/smbpipe/smbpipe/policy"
)

// TestKerberosAccountExact: a ticket without a PAC maps to the account
// whose kerberos_principal is exactly its principal. MIT and Heimdal
// principals are case-sensitive (alice and ALICE are two principals of the
// realm), so neither the name nor the realm in another case maps.
func TestKerberosAccountExact(t *testing.T) {
	cfg := policy.Default()
	cfg.Accounts = append(cfg.Accounts, policy.Account{Name: "alice", Password: "Passw0rd!", KerberosPrincipal: "alice@SMBPIPE.TEST"})
	s, err := policy.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := s.KerberosAccount("alice@SMBPIPE.TEST"); !ok || id.User != "alice" {
		t.Fatalf("alice@SMBPIPE.TEST: %v %+v", ok, id)
	}
	for _, p := range []string{"ALICE@SMBPIPE.TEST", "Alice@SMBPIPE.TEST", "alice@smbpipe.test", "alice", "alice@", "@SMBPIPE.TEST", "bob@SMBPIPE.TEST"} {
		if id, ok := s.KerberosAccount(p); ok {
			t.Errorf("%q maps to %+v", p, id)
		}
	}
}
