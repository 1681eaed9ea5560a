// Package testserver runs smbpipe's server in a test's own process on a
// loopback port, for the tests of several packages.
package testserver

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
)

// AliceEcho is a config with anonymous access, the account alice
// (password "Passw0rd!") and the message pipe "echo", which null
// sessions and authenticated users may read and write. Signing is
// "enabled".
const AliceEcho = `
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
