package dcerpc_test

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/rpc/echo"
)

var (
	_ dcerpc.MessageConn = (*pipe.End)(nil)
)

// fixture serves a Server on the server ends of a message-mode pipe; each
// dial opens an instance.
type fixture struct {
	t   testing.TB
	srv *dcerpc.Server
	ns  pipe.Namespace
	l   *pipe.Listener
	wg  sync.WaitGroup

	mu     sync.Mutex
	events []dcerpc.Event
	errs   []error
}

func ntlmClient(user, password string) *ntlm.Client {
	return &ntlm.Client{User: user, Password: password}
}

const alicePassword = "Secret#1"

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t}
	f.srv = &dcerpc.Server{
		SecondaryAddr: `\PIPE\rpcecho`,
		NTLM: func() ntlm.ServerConfig {
			return ntlm.ServerConfig{Lookup: func(user, _ string) ([16]byte, bool) {
				if user == "alice" {
					return ntlm.NTHash(alicePassword), true
				}
				return [16]byte{}, false
			}}
		},
		Audit: func(e dcerpc.Event) {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		},
	}
	if err := f.srv.Register(echo.Interface()); err != nil {
		t.Fatal(err)
	}
	l, err := f.ns.Create("rpcecho", pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex, InQuota: 1 << 20, OutQuota: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	f.l = l
	t.Cleanup(func() {
		l.Close()
		f.wg.Wait()
	})
	return f
}

// dial opens a pipe instance served by the fixture's Server.
func (f *fixture) dial() *pipe.End {
	f.t.Helper()
	c, err := f.ns.Open("rpcecho", pipe.Caller{User: "bob", Domain: "SMB"})
	if err != nil {
		f.t.Fatal(err)
	}
	s, err := f.l.AcceptEnd(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer s.Close()
		who, _ := s.Caller()
		err := f.srv.ServeConn(context.Background(), s, dcerpc.Caller{User: who.User, Domain: who.Domain})
		f.mu.Lock()
		f.errs = append(f.errs, err)
		f.mu.Unlock()
	}()
	f.t.Cleanup(func() { c.Close() })
	return c
}

func (f *fixture) eventsOf(kind string) []dcerpc.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dcerpc.Event
	for _, e := range f.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// faultOf returns the fault status of err, or 0.
func faultOf(err error) uint32 {
	var f dcerpc.Fault
	if errors.As(err, &f) {
		return uint32(f)
	}
	return 0
}

// readPDU reads one PDU from a raw client end.
func readPDU(t testing.TB, c *pipe.End) dcerpc.Packet {
	t.Helper()
	buf := make([]byte, 70000)
	n := 0
	for {
		m, _, err := c.ReadMsg(ctx(t), buf[n:])
		n += m
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if n >= 16 {
			if p, err := dcerpc.Decode(buf[:n]); err == nil {
				return p
			}
		}
	}
}
