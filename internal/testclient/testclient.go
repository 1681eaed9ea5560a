// Package testclient dials smbpipe's client for the tests of several
// packages: each helper waits at most Timeout and fails the test on an
// error. Test support only.
package testclient

import (
	"context"
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
