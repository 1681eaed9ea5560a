package bench

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/smb2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var aliceConfig = client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP", RequireSigning: true}

// aliceCMAC is aliceConfig offering only AES-CMAC (the signing
// target is stated for it).
var aliceCMAC = client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP", RequireSigning: true,
	SigningAlgorithms: []uint16{smb2.SigningAESCMAC}}

// startServer runs smbpipe's server in this process on a loopback port
// with testserver.AliceEcho (the default demo config plus the account
// alice, so that signed sessions can be measured too) and returns its
// address; it is closed at cleanup.
func startServer(tb testing.TB) string {
	return testserver.Start(tb, testserver.AliceEcho+`
[[pipe]]
name = "rpcecho"
backend = "rpcecho"
sddl = "D:(A;;0x12019B;;;AU)(A;;FA;;;SY)"
`)
}
