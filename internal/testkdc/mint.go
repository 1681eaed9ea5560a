package testkdc

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/smbpipe/smbpipe/auth/kerberos"
)

// Tests that need tickets but no KDC make the service's keytab from a
// password and mint the tickets with it.

// PasswordKeytab returns a keytab holding the AES-256 key of spn@realm
// with kvno, derived from password, and the path of a file in
// t.TempDir() it was written to.
func PasswordKeytab(t testing.TB, spn, realm, password string, kvno int) (*keytab.Keytab, string) {
	t.Helper()
	kt := keytab.New()
	if err := kt.AddEntry(spn, realm, password, time.Now(), uint8(kvno), kerberos.ETypeAES256); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "smbpipe.keytab")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return kt, path
}

// Mint returns a ticket without a PAC from cname@realm to spn@realm,
// encrypted with kt's AES-256 key of kvno, valid from start to end.
func Mint(t testing.TB, kt *keytab.Keytab, cname, spn, realm string, kvno int, start, end time.Time) *kerberos.ServiceTicket {
	t.Helper()
	return MintFrom(t, kt, cname, realm, spn, realm, kvno, start, end)
}

// MintFrom is Mint for a client of realm crealm: a cross-realm ticket, as
// the service's KDC issues one to a user of a realm it trusts.
func MintFrom(t testing.TB, kt *keytab.Keytab, cname, crealm, spn, realm string, kvno int, start, end time.Time) *kerberos.ServiceTicket {
	t.Helper()
	cn := types.NewPrincipalName(1, cname)
	tkt, key, err := messages.NewTicket(cn, crealm, types.NewPrincipalName(2, spn), realm,
		types.NewKrbFlags(), kt, kerberos.ETypeAES256, kvno, start, start, end, end)
	if err != nil {
		t.Fatal(err)
	}
	return &kerberos.ServiceTicket{Ticket: tkt, SessionKey: key, CName: cn, CRealm: crealm}
}

// BobConfig is a policy's account bob (password B0b-Passw0rd!, mapped
// from the principal bob@SMBPIPE.TEST) and its [kerberos] table on the
// keytab at path, for the service name localhost: the server side of
// PasswordKeytab's cifs/localhost key and Mint's tickets as bob.
func BobConfig(path string) string {
	return fmt.Sprintf(`
[[account]]
name = "bob"
password = "B0b-Passw0rd!"
kerberos_principal = "bob@%[1]s"

[kerberos]
keytab = %[2]q
realm = %[1]q
service_names = ["localhost"]
`, Realm, path)
}
