package bench

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
	"github.com/smbpipe/smbpipe/smb2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is the default demo config plus the account alice, so that
// signed sessions can be measured too.
const testConfig = `
listen = "127.0.0.1:0"
server_name = "SMBPIPE"
domain = "WORKGROUP"
allow_anonymous = true
signing = "enabled"

[LanmanServer]
RestrictNullSessAccess = 1
NullSessionPipes = ["echo"]

[[account]]
name = "alice"
password = "Passw0rd!"

[[pipe]]
name = "echo"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)(A;;FA;;;BA)"
`

var aliceConfig = client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP", RequireSigning: true}

// aliceCMAC is aliceConfig offering only AES-CMAC (the signing
// target is stated for it).
var aliceCMAC = client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP", RequireSigning: true,
	SigningAlgorithms: []uint16{smb2.SigningAESCMAC}}

// startServer runs smbpipe's server in this process on a loopback port and
// returns its address; it is closed at cleanup.
func startServer(tb testing.TB) string {
	tb.Helper()
	cfg, err := policy.Parse([]byte(testConfig), "bench.toml")
	if err != nil {
		tb.Fatal(err)
	}
	snap, err := policy.Compile(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := server.New(server.Options{Snapshot: snap, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	tb.Cleanup(func() {
		srv.Close()
		l.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			tb.Error("Serve did not return after Close")
		}
	})
	return l.Addr().String()
}
