package bench

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/rpc/srvsvc"
)

// Srvsvc is the workload RunSrvsvc reports: NetrServerGetInfo through a
// bound DCE/RPC association.
const Srvsvc Workload = "srvsvc"

// errSrvsvcReply is an op whose NetrServerGetInfo reply is not a server's
// SERVER_INFO_101.
var errSrvsvcReply = errors.New("bench: NetrServerGetInfo answered without SERVER_INFO_101")

// RunSrvsvc calls srvsvc's NetrServerGetInfo at level 101 again and again
// through the DCE/RPC client (package dcerpc) on one bound pipe per
// worker, as an RPC client of a Windows service does: each call is one
// FSCTL_PIPE_TRANSCEIVE (TransactNamedPipe), its reply decoded and
// checked (result 0, platform 500, a server name). An op is one call.
// opts is as for Run (Addr, Client, Concurrency, Duration or Count,
// Progress); the pipe is "srvsvc" unless opts.Pipe names another; RPC,
// RPCEcho, Size and Workload are ignored.
func RunSrvsvc(ctx context.Context, opts Options) (*Result, error) {
	opts.Workload, opts.RPC, opts.RPCEcho = Transact, false, false
	if opts.Pipe == "" {
		opts.Pipe = "srvsvc"
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	server := serverOf(o.Addr)
	// The request PDU: a 24-byte header, the ServerName pointer and
	// conformant string (\\server and its NUL, 4-aligned), the level.
	o.Workload, o.Size = Srvsvc, 24+4+12+(2*(len(server)+3)+3)&^3+4
	res := &Result{Workload: Srvsvc, Target: o.Addr, Pipe: o.Pipe, RPC: true, Concurrency: o.Concurrency, Size: o.Size}
	return res, runWorkers(ctx, &o, res, setupSrvsvc)
}

func setupSrvsvc(ctx context.Context, o *Options) (*worker, error) {
	c, err := dial(ctx, o)
	if err != nil {
		return nil, err
	}
	p, err := c.OpenPipe(ctx, o.Pipe)
	if err != nil {
		c.Close()
		return nil, err
	}
	cl, err := dcerpc.Bind(ctx, &transceiver{p: p}, srvsvc.Syntax, nil)
	if err != nil {
		p.Close()
		c.Close()
		return nil, fmt.Errorf("DCE/RPC bind of srvsvc on %s: %w", o.Pipe, err)
	}
	server := serverOf(o.Addr)
	op := func(ctx context.Context) (int64, error) {
		i, err := srvsvc.GetServerInfo(ctx, cl, server, 101)
		if err != nil {
			return 0, err
		}
		if i == nil || i.PlatformID != srvsvc.PlatformIDNT || i.Name == "" {
			return 0, errSrvsvcReply
		}
		return 0, nil
	}
	return describeConn(&worker{op: op, persistent: true, close: func() { p.Close(); c.Close() }}, c), nil
}

// serverOf is the host part of addr, the ServerName the calls send.
func serverOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// transceiver is the pipe as the DCE/RPC client sees it, each request
// and its reply one FSCTL_PIPE_TRANSCEIVE: Write keeps the PDU, the next
// ReadMsg sends it and reads the reply (its rest, when it did not fit,
// with READs). A request of several fragments is written as it comes,
// but for its last, which is transacted.
type transceiver struct {
	p       *client.Pipe
	pending []byte
}

// Write keeps b for the transceive of the next ReadMsg; a fragment that is
// not the last of its PDU (PFC_LAST_FRAG clear) is written at once.
func (t *transceiver) Write(b []byte) (int, error) {
	if len(b) > 3 && b[3]&0x02 == 0 {
		return t.p.Write(b)
	}
	t.pending = append(t.pending[:0], b...)
	return len(b), nil
}

// ReadMsg transacts the kept request, or reads when there is none.
func (t *transceiver) ReadMsg(ctx context.Context, b []byte) (int, bool, error) {
	if len(t.pending) == 0 {
		return t.p.ReadMsg(ctx, b)
	}
	req := t.pending
	t.pending = t.pending[:0]
	return t.p.Transact(ctx, req, b)
}
