// Package testserver runs smbpipe's server in a test's own process on a
// loopback port, for the tests of several packages.
package testserver

import (
	_ "embed"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
)

// AliceEcho is the alice/echo test config, testdata/alice_echo.toml:
// the account alice (password "Passw0rd!") and the message pipe "echo"
// (its descriptor is EchoSDDL), which null sessions, authenticated users
// and guests may read and write. It sets no top-level key: a test puts the
// ones it changes in front of it and appends the tables it adds.
//
//go:embed testdata/alice_echo.toml
var AliceEcho string

// EchoSDDL is the descriptor of AliceEcho's echo pipe.
const EchoSDDL = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;0x12019B;;;WD)(A;;FA;;;SY)(A;;FA;;;BA)"

// OpenEchoPipes returns [[pipe]] tables, one a name, of echo pipes any
// caller may open (D:NO_ACCESS_CONTROL), for a test to append to a config.
func OpenEchoPipes(names ...string) string {
	var b strings.Builder
	for _, name := range names {
		b.WriteString("\n[[pipe]]\nname = " + strconv.Quote(name) + "\nbackend = \"echo\"\nsddl = \"D:NO_ACCESS_CONTROL\"\n")
	}
	return b.String()
}

// Snapshot parses and compiles configTOML; name is the file name shown in
// errors. It fails tb on an error.
func Snapshot(tb testing.TB, configTOML, name string) *policy.Snapshot {
	tb.Helper()
	cfg, err := policy.Parse([]byte(configTOML), name)
	if err != nil {
		tb.Fatal(err)
	}
	snap, err := policy.Compile(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

// Start runs a server with configTOML and a discarding logger until the
// test ends and returns its address.
func Start(tb testing.TB, configTOML string) (addr string) {
	tb.Helper()
	_, addr = StartWith(tb, server.Options{Snapshot: Snapshot(tb, configTOML, "test.toml")})
	return addr
}

// StartWith runs a server with opts (a discarding logger if opts.Logger is
// nil) until the test ends and returns it and its address.
func StartWith(tb testing.TB, opts server.Options) (*server.Server, string) {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return srv, Serve(tb, srv)
}

// Serve runs srv on a new loopback listener and returns its address. At
// cleanup it closes srv and waits up to 10 s for Serve to return, which
// must be with server.ErrServerClosed.
func Serve(tb testing.TB, srv *server.Server) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	tb.Cleanup(func() {
		srv.Close()
		l.Close()
		select {
		case err := <-done:
			if !errors.Is(err, server.ErrServerClosed) {
				tb.Errorf("Serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Error("Serve did not return after Close")
		}
	})
	return l.Addr().String()
}
