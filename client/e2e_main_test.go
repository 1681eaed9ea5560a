package client

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/smb2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ntHashOf(password string) []byte {
	h := ntlm.NTHash(password)
	return h[:]
}

// e2eConfig is the alice/echo test config (testserver.AliceEcho) with
// signing %s, no guest, EveryoneIncludesAnonymous 0, and a pipe anonymous
// callers may not open (not in NullSessionPipes). It is a format: a %
// of AliceEcho is doubled.
var e2eConfig = "guest = false\nsigning = \"%s\"\n" + strings.ReplaceAll(testserver.AliceEcho, "%", "%%") + `
[Lsa]
EveryoneIncludesAnonymous = 0

[[pipe]]
name = "private"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)"
`

// startServer runs our server in-process on a loopback port with the e2e
// config (signing "enabled" or "required") and returns its address. It is
// closed at cleanup.
func startServer(t *testing.T, signing string) string {
	t.Helper()
	return testserver.Start(t, fmt.Sprintf(e2eConfig, signing))
}

var (
	anonCfg  = Config{}
	aliceCfg = Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP"}
)

// namedConfig is a client configuration a test runs under, by name.
type namedConfig struct {
	name string
	cfg  Config
}

// signingConfigs are cfg unsigned and with RequireSigning.
func signingConfigs(cfg Config) []namedConfig {
	signed := cfg
	signed.RequireSigning = true
	return []namedConfig{{"unsigned", cfg}, {"signed", signed}}
}

// eachDialect runs f in a subtest DIALECT/NAME for each of dialects and
// each of cfgs, with the configuration pinned to the dialect and a context
// of 20 s.
func eachDialect(t *testing.T, dialects []smb2.Dialect, cfgs []namedConfig, f func(t *testing.T, ctx context.Context, cfg Config)) {
	t.Helper()
	for _, d := range dialects {
		for _, nc := range cfgs {
			t.Run(DialectString(d)+"/"+nc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				cfg := nc.cfg
				cfg.MinDialect, cfg.MaxDialect = d, d
				f(t, ctx, cfg)
			})
		}
	}
}

// dialT dials with a test timeout and closes the Conn at cleanup.
func dialT(t *testing.T, addr string, cfg Config) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// openT opens a pipe with a test timeout.
func openT(t *testing.T, c *Conn, name string) *Pipe {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p, err := c.OpenPipe(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitPending waits until n requests on c have had an interim response.
func waitPending(t *testing.T, c *Conn, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		var async int
		for _, cl := range c.pending {
			if cl.asyncID != 0 {
				async++
			}
		}
		c.mu.Unlock()
		if async >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests went async, want %d", async, n)
		}
		time.Sleep(time.Millisecond)
	}
}
