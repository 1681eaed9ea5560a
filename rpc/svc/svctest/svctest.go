// Package svctest runs an RPC service in process for tests: a dcerpc
// Server with the interface on a message-mode pipe of its own namespace,
// and a bound client for a given caller.
package svctest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// Config is the policy the tests run under: alice (a user), root (an
// administrator), guest sessions on.
const Config = `
server_name = "TESTSRV"
domain = "TESTDOM"
machine_sid = "S-1-5-21-1-2-3"
guest = true

[[account]]
name = "alice"
password = "Passw0rd!"
rid = 1001

[[account]]
name = "root"
password = "Passw0rd!"
rid = 1002
groups = ["Administrators"]
`

// Snapshot compiles text (Config when empty) and fails the test on error.
func Snapshot(t testing.TB, text string) *policy.Snapshot {
	t.Helper()
	if text == "" {
		text = Config
	}
	var snap *policy.Snapshot
	cfg, err := policy.Parse([]byte(text), "svctest.toml")
	if err == nil {
		snap, err = policy.Compile(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// Env returns an Env on snap whose audit records land in *audit.
func Env(snap *policy.Snapshot, audit *Audit) svc.Env {
	e := svc.Env{Policy: func() *policy.Snapshot { return snap }}
	if audit != nil {
		e.Audit = audit.record
	}
	return e
}

// Audit collects refused decisions.
type Audit struct {
	mu    sync.Mutex
	Rules []string
}

func (a *Audit) record(_ *dcerpc.Call, r policy.RPCRequest, d *policy.RPCDecision) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Rules = append(a.Rules, r.Interface+"."+r.Op+":"+d.Rule)
}

// Snapshot returns the rules recorded so far.
func (a *Audit) Snapshot() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.Rules...)
}

// Callers of the tests.
var (
	Anonymous = dcerpc.Caller{Anonymous: true, SIDs: []string{"S-1-5-7"}}
	Alice     = dcerpc.Caller{User: "alice", Domain: "TESTSRV"}
	Root      = dcerpc.Caller{User: "root", Domain: "TESTSRV"}
	Guest     = dcerpc.Caller{User: "nobody", Guest: true}
)

// Dial serves iface on a fresh pipe and returns a client bound to it
// as caller. Everything stops at the end of the test.
func Dial(t testing.TB, iface dcerpc.Interface, caller dcerpc.Caller) *dcerpc.Client {
	t.Helper()
	srv := &dcerpc.Server{}
	if err := srv.Register(iface); err != nil {
		t.Fatal(err)
	}
	var ns pipe.Namespace
	l, err := ns.Create(iface.Name, pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex, InQuota: 1 << 20, OutQuota: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	c, err := ns.Open(iface.Name, pipe.Caller{User: caller.User})
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.AcceptEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer s.Close()
		srv.ServeConn(ctx, s, caller)
	}()
	t.Cleanup(func() {
		c.Close()
		cancel()
		l.Close()
		wg.Wait()
	})
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer bcancel()
	cl, err := dcerpc.Bind(bctx, c, iface.Syntax, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// Call makes a call with a 10 s bound.
func Call(t testing.TB, c *dcerpc.Client, opnum uint16, stub []byte) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Call(ctx, opnum, stub)
}

// Replies serves, as the interface name with syntax, a server whose every
// opnum (below 128) answers with the stub last given to set, and returns
// a client bound to it: a hostile server for fuzzing the client side's
// reply decoding.
func Replies(t testing.TB, name string, syntax dcerpc.SyntaxID) (c *dcerpc.Client, set func(stub []byte)) {
	t.Helper()
	var cur atomic.Pointer[[]byte]
	cur.Store(new([]byte))
	ops := make([]dcerpc.Op, 128)
	for i := range ops {
		ops[i] = dcerpc.Op{Name: "reply", Func: func(_ *dcerpc.Call, _ *ndr.Reader, w *ndr.Writer) error {
			w.Octets(*cur.Load())
			return nil
		}}
	}
	c = Dial(t, dcerpc.Interface{Name: name, Syntax: syntax, Ops: ops, AllowConnect: true}, Root)
	return c, func(stub []byte) { cur.Store(&stub) }
}
