package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/smbpipe/smbpipe/ntstatus"
)

// ParsePipePath splits a pipe path into the server address and the pipe
// name. It accepts \\HOST\pipe\NAME and //HOST/pipe/NAME ("pipe" in any
// case); HOST may carry a port (HOST:PORT, [IPv6]:PORT). NAME may itself
// contain separators (sql\query); in the // form they are turned into
// backslashes. port is 0 when the path names none.
func ParsePipePath(path string) (host string, port int, name string, err error) {
	var sep byte
	switch {
	case strings.HasPrefix(path, `\\`):
		sep = '\\'
	case strings.HasPrefix(path, "//"):
		sep = '/'
	default:
		return "", 0, "", fmt.Errorf("client: pipe path %q: want \\\\HOST\\pipe\\NAME or //HOST/pipe/NAME", path)
	}
	parts := strings.SplitN(path[2:], string(sep), 3)
	if len(parts) != 3 || parts[0] == "" || !strings.EqualFold(parts[1], "pipe") || parts[2] == "" {
		return "", 0, "", fmt.Errorf("client: pipe path %q: want \\\\HOST\\pipe\\NAME or //HOST/pipe/NAME", path)
	}
	host, name = parts[0], parts[2]
	if sep == '/' {
		name = strings.ReplaceAll(name, "/", `\`)
	}
	if h, p, err := net.SplitHostPort(host); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return "", 0, "", fmt.Errorf("client: pipe path %q: bad port %q", path, p)
		}
		host, port = h, n
	} else {
		host = trimBrackets(host)
	}
	if host == "" || strings.ContainsAny(host, `\/`) {
		return "", 0, "", fmt.Errorf("client: pipe path %q: bad host", path)
	}
	return host, port, name, nil
}

// Dialer opens pipes by path. The zero value dials anonymously on port 445.
type Dialer struct {
	// Config holds credentials and protocol options (zero: anonymous).
	Config Config
	// Port is used when the path names none; 0 means 445.
	Port int
	// NetDialer makes the TCP connection; nil means a zero net.Dialer.
	NetDialer *net.Dialer
}

// DialContext connects to the server of path (\\host\pipe\name or
// //host/pipe/name), logs on, and opens the pipe. When every instance is
// busy (STATUS_PIPE_NOT_AVAILABLE) it waits with FSCTL_PIPE_WAIT and
// retries until ctx ends. The returned Pipe owns its connection: closing
// it logs off and closes the connection.
func (d *Dialer) DialContext(ctx context.Context, path string) (*Pipe, error) {
	host, port, name, err := ParsePipePath(path)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		port = d.Port
	}
	if port == 0 {
		port = 445
	}
	nd := d.NetDialer
	if nd == nil {
		nd = &net.Dialer{}
	}
	cfg := d.Config
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	c, err := dialWith(ctx, nd, net.JoinHostPort(host, strconv.Itoa(port)), &cfg)
	if err != nil {
		return nil, err
	}
	for {
		p, err := c.OpenPipe(ctx, name)
		if err == nil {
			p.owns = true
			return p, nil
		}
		if !errors.Is(err, ntstatus.PipeNotAvailable) && !errors.Is(err, ntstatus.PipeBusy) {
			c.Close()
			return nil, err
		}
		wait := 5 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = time.Until(dl)
		}
		if wait <= 0 {
			c.Close()
			return nil, err
		}
		if werr := c.WaitPipe(ctx, name, wait); werr != nil && !errors.Is(werr, ntstatus.IOTimeout) {
			c.Close()
			return nil, werr
		}
		if ctx.Err() != nil {
			c.Close()
			return nil, errors.Join(ctx.Err(), err)
		}
	}
}
