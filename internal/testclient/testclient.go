// Package testclient dials smbpipe's client for the tests of several
// packages: each helper waits at most Timeout and fails the test on an
// error. Test support only.
package testclient

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
)

// Timeout bounds each helper's wait (generous: the machine may be loaded).
const Timeout = 10 * time.Second

// Dial connects to addr with cfg (negotiate, session setup, IPC$) and
// closes the Conn at cleanup.
func Dial(tb testing.TB, addr string, cfg client.Config) *client.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), Timeout)
	defer cancel()
	c, err := client.Dial(ctx, addr, &cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Negotiated connects to addr with cfg and negotiates, nothing more (for
// tests that send their own SESSION_SETUP); the Conn is closed at
// cleanup.
func Negotiated(tb testing.TB, addr string, cfg client.Config) *client.Conn {
	tb.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := client.NewConn(nc, &cfg)
	if err != nil {
		nc.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(tb.Context(), Timeout)
	defer cancel()
	if err := c.Negotiate(ctx); err != nil {
		tb.Fatal(err)
	}
	return c
}

// Open opens the pipe name on c.
func Open(tb testing.TB, c *client.Conn, name string) *client.Pipe {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), Timeout)
	defer cancel()
	p, err := c.OpenPipe(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
