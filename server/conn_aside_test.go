package server

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestDeepFrame: the handshake and policy commands run aside (on a
// goroutine of their own), the transact path and anything not a plain
// SMB2 message on the reader.
func TestDeepFrame(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"negotiate", msg(reqHeader(smb2.CmdNegotiate, 0), &smb2.NegotiateRequest{Dialects: []smb2.Dialect{smb2.Dialect311}}), true},
		{"session setup", msg(reqHeader(smb2.CmdSessionSetup, 1), &smb2.SessionSetupRequest{SecurityBuffer: []byte("x")}), true},
		{"tree connect", msg(reqHeader(smb2.CmdTreeConnect, 1), &smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, `\\h\IPC$`)}), true},
		{"create", msg(reqHeader(smb2.CmdCreate, 1), &smb2.CreateRequest{DesiredAccess: 3, ImpersonationLevel: 2, Name: smb2.AppendUTF16(nil, "echo")}), true},
		{"ioctl", msg(reqHeader(smb2.CmdIoctl, 1), &smb2.IoctlRequest{CtlCode: smb2.FsctlPipeTransceive, FileID: hotFID, Input: []byte("x"), MaxOutputResponse: 100, Flags: 1}), false},
		{"read", msg(reqHeader(smb2.CmdRead, 1), &smb2.ReadRequest{FileID: hotFID, Length: 100}), false},
		{"write", msg(reqHeader(smb2.CmdWrite, 1), &smb2.WriteRequest{FileID: hotFID, Data: []byte("hi")}), false},
		{"echo", msg(reqHeader(smb2.CmdEcho, 1), &smb2.EchoRequest{}), false},
		{"short", []byte{0xFE, 'S', 'M', 'B', 0}, false},
		{"smb1", []byte{0xFF, 'S', 'M', 'B', 0x72}, false},
		{"transform", append([]byte{0xFD, 'S', 'M', 'B'}, make([]byte, 80)...), false},
		{"empty", nil, false},
	} {
		if got := deepFrame(tc.p); got != tc.want {
			t.Errorf("%s: deepFrame %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAside: aside returns what f returns, runs f before it returns, and
// turns a panic of f into an error that ends the connection (counted).
func TestAside(t *testing.T) {
	srv, _ := newTestServer(t)
	c, _ := newTestConn(t, srv, "echo")
	defer c.teardown()
	ran := false
	if err := c.aside(func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("aside: ran %v, err %v", ran, err)
	}
	if err := c.aside(func() error { return errDisconnect }); err != errDisconnect {
		t.Fatalf("aside: err %v, want errDisconnect", err)
	}
	if err := c.aside(func() error { panic("boom") }); err != errPanicked {
		t.Fatalf("aside of a panic: err %v, want errPanicked", err)
	}
	// A frame handled aside is handled: NEGOTIATE gets its response.
	fc := &fakeConn{}
	nc := newConn(srv, fc, policy.Limits{}.WithDefaults())
	defer nc.teardown()
	neg := msg(reqHeader(smb2.CmdNegotiate, 0), &smb2.NegotiateRequest{Dialects: []smb2.Dialect{smb2.Dialect210}, SecurityMode: 1})
	if !deepFrame(neg) {
		t.Fatal("NEGOTIATE is not handled aside")
	}
	if err := nc.handleAside(neg); err != nil {
		t.Fatal(err)
	}
	var resp smb2.NegotiateResponse
	if f := fc.lastFrame(); len(f) < 4 || resp.Decode(f[4:]) != nil || resp.DialectRevision != smb2.Dialect210 || !nc.negotiated {
		t.Fatalf("NEGOTIATE handled aside: response %x, negotiated %v", f, nc.negotiated)
	}
}

// TestAsidePool: a frame that blocks does not hold up another's (a busy
// pool starts a goroutine), at most maxIdleAside workers stay, and stop
// ends them.
func TestAsidePool(t *testing.T) {
	var p asidePool
	p.init()
	release := make(chan struct{})
	var wg sync.WaitGroup
	const n = 3 * maxIdleAside
	var blocked atomic.Int32
	for range n {
		wg.Go(func() { p.run(func() error { blocked.Add(1); <-release; return nil }) })
	}
	// All n jobs wait at once (so n workers exist) before one more runs.
	for blocked.Load() < n {
		time.Sleep(time.Millisecond)
	}
	// Every blocked job runs at once, so one more finishes now.
	if err := p.run(func() error { return errDisconnect }); err != errDisconnect {
		t.Fatalf("run: %v, want errDisconnect", err)
	}
	close(release)
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for p.idle.Load() != maxIdleAside && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := p.idle.Load(); got != maxIdleAside {
		t.Fatalf("%d idle workers after %d jobs, want %d", got, n+1, maxIdleAside)
	}
	// An idle worker takes the next job.
	if err := p.run(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	p.stop()
	for p.idle.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := p.idle.Load(); got != 0 {
		t.Fatalf("%d idle workers after stop", got)
	}
	// The zero pool runs each job on a goroutine of its own.
	var z asidePool
	if err := z.run(func() error { return errDisconnect }); err != errDisconnect {
		t.Fatalf("zero pool: %v", err)
	}
}
