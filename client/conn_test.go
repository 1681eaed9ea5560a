package client

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// fakeServer speaks just enough SMB2 to exercise the Conn machinery:
// NEGOTIATE (3.0.2, multi-credit), ECHO answered at once or held pending
// (interim STATUS_PENDING, completed by CANCEL), and a strict credit
// window: a request outside the granted MessageIds fails the test.
type fakeServer struct {
	t      *testing.T
	nc     net.Conn
	grant  uint16 // credits granted per response
	hold   bool   // ECHO goes async and waits for CANCEL
	mu     sync.Mutex
	high   uint64 // MessageIds below high are granted
	seen   map[uint64]bool
	held   map[uint64]uint64 // asyncID -> messageID
	cancel int
	wbuf   []byte
}

func newFake(t *testing.T, grant uint16, hold bool) (*Conn, *fakeServer) {
	cn, sn := net.Pipe()
	f := &fakeServer{t: t, nc: sn, grant: grant, hold: hold, high: 1, seen: map[uint64]bool{}, held: map[uint64]uint64{}}
	return negotiatedFake(t, cn, sn, &Config{MinDialect: smb2.Dialect302, MaxDialect: smb2.Dialect302}, f.serve), f
}

// negotiatedFake runs serve, a fake server on sn, and returns a Conn with cfg
// on cn, past NEGOTIATE. At cleanup both ends close and serve is waited for.
func negotiatedFake(t *testing.T, cn, sn net.Conn, cfg *Config, serve func()) *Conn {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); serve() }()
	c, err := NewConn(cn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); sn.Close(); <-done })
	if err := c.Negotiate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeServer) serve() {
	var pfx [4]byte
	buf := make([]byte, 0, 1<<16)
	for {
		if _, err := io.ReadFull(f.nc, pfx[:]); err != nil {
			return
		}
		n, err := smb2.FrameLength(pfx)
		if err != nil {
			f.t.Errorf("fake: %v", err)
			return
		}
		buf = buf[:n]
		if _, err := io.ReadFull(f.nc, buf); err != nil {
			return
		}
		var h smb2.Header
		if err := h.Decode(buf); err != nil {
			f.t.Errorf("fake: %v", err)
			return
		}
		f.handle(&h)
	}
}

func (f *fakeServer) handle(h *smb2.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h.Command == smb2.CmdCancel {
		f.cancel++
		mid, ok := h.MessageID, true
		if h.IsAsync() {
			mid, ok = f.held[h.AsyncID]
			delete(f.held, h.AsyncID)
		} else {
			for a, m := range f.held {
				if m == mid {
					delete(f.held, a)
				}
			}
		}
		if ok {
			f.reply(smb2.Header{Command: smb2.CmdEcho, MessageID: mid, Status: ntstatus.Cancelled, Flags: smb2.FlagAsyncCommand, AsyncID: mid + 1000}, &smb2.ErrorResponse{})
		}
		return
	}
	charge := uint64(max(h.CreditCharge, 1))
	for m := h.MessageID; m < h.MessageID+charge; m++ {
		if m >= f.high || f.seen[m] {
			f.t.Errorf("fake: MessageId %d outside the window (high %d) or reused", m, f.high)
		}
		f.seen[m] = true
	}
	switch h.Command {
	case smb2.CmdNegotiate:
		f.reply(smb2.Header{Command: h.Command, MessageID: h.MessageID, Credit: f.grant}, &smb2.NegotiateResponse{
			DialectRevision: smb2.Dialect302, Capabilities: smb2.CapLargeMTU,
			MaxReadSize: 1 << 20, MaxWriteSize: 1 << 20, MaxTransactSize: 1 << 20,
		})
	case smb2.CmdEcho:
		if f.hold {
			a := h.MessageID + 1000
			f.held[a] = h.MessageID
			f.reply(smb2.Header{Command: h.Command, MessageID: h.MessageID, Status: ntstatus.Pending, Flags: smb2.FlagAsyncCommand, AsyncID: a, Credit: f.grant}, &smb2.ErrorResponse{})
			return
		}
		f.reply(smb2.Header{Command: h.Command, MessageID: h.MessageID, Credit: f.grant}, &smb2.EchoResponse{})
	default:
		f.reply(smb2.Header{Command: h.Command, MessageID: h.MessageID, Credit: f.grant, Status: ntstatus.NotSupported}, &smb2.ErrorResponse{})
	}
}

// reply sends one response; called with f.mu held.
func (f *fakeServer) reply(h smb2.Header, body smb2.Body) {
	h.Flags |= smb2.FlagServerToRedir
	f.high += uint64(h.Credit)
	b := h.Append(append(f.wbuf[:0], 0, 0, 0, 0))
	b = body.Append(b)
	smb2.PutFrameLength(b)
	f.wbuf = b
	f.nc.Write(b)
}

func TestConnCreditsAndConcurrency(t *testing.T) {
	for _, grant := range []uint16{1, 3, 64} {
		c, _ := newFake(t, grant, false)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 100 {
					if err := c.Echo(t.Context()); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}

func TestConnCancelPending(t *testing.T) {
	c, f := newFake(t, 8, true)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- c.Echo(ctx) }()
	waitPending(t, c, 1)
	cancel()
	err := <-errc
	if !errors.Is(err, ntstatus.Cancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != 1 {
		t.Fatalf("%d CANCELs sent", f.cancel)
	}
}

func TestConnCancelAbandoned(t *testing.T) {
	cn, sn := net.Pipe()
	defer sn.Close()
	go io.Copy(io.Discard, sn) // a server that never answers
	c, err := NewConn(cn, &Config{CancelTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := c.Negotiate(ctx); !errors.Is(err, ErrAbandoned) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestConnClosedFailsPending(t *testing.T) {
	c, _ := newFake(t, 8, true)
	errc := make(chan error, 1)
	go func() { errc <- c.Echo(context.Background()) }()
	waitPending(t, c, 1)
	c.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("got %v", err)
	}
	if err := c.Echo(t.Context()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("echo after close: %v", err)
	}
}

func TestConnMalformedFrame(t *testing.T) {
	cn, sn := net.Pipe()
	defer sn.Close()
	c, err := NewConn(cn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		io.ReadFull(sn, make([]byte, 4)) // whatever arrives, answer garbage
		sn.Write([]byte{0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8})
	}()
	if err := c.Negotiate(t.Context()); !errors.Is(err, ErrProtocol) {
		t.Fatalf("got %v", err)
	}
}

func TestEchoAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are meaningless under -race or -short")
	}
	c, _ := newFake(t, 1, false)
	ctx := context.Background()
	for range 10 { // warm the pools
		c.Echo(ctx)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if err := c.Echo(ctx); err != nil {
			t.Fatal(err)
		}
	})
	// The client and the fake server together; both reuse their buffers.
	if allocs > 0 {
		t.Errorf("%.1f allocations per ECHO round trip, want 0", allocs)
	}
}

func TestCreditCharge(t *testing.T) {
	multi := &Conn{neg: negotiated{multiCredit: true}}
	single := &Conn{}
	for _, tc := range []struct {
		c    *Conn
		size int
		want uint16
	}{
		{single, 0, 0}, {single, 65536, 0}, {multi, 0, 1}, {multi, 65536, 1},
		{multi, 65537, 2}, {multi, 1 << 20, 16}, {multi, 1<<20 + 1, 17},
	} {
		if got := tc.c.creditCharge(tc.size); got != tc.want {
			t.Errorf("multi=%v size %d: charge %d, want %d", tc.c.neg.multiCredit, tc.size, got, tc.want)
		}
	}
}

// TestSignedReadAllocs pins the signed READ path at 0 allocations: the
// reply is matched to its request, its signature verified and its data
// copied without allocating (client and fake server together).
func TestSignedReadAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are meaningless under -race or -short")
	}
	cn, sn := net.Pipe()
	c := newSigningConn(t, cn)
	done := make(chan struct{})
	go func() { // a server answering every READ with fuzzReadData, signed
		defer close(done)
		signer := smbcrypto.NewSigner(uint16(smb2.Dialect302), smb2.SigningAESCMAC, fuzzKey)
		in := make([]byte, 4096)
		out := make([]byte, 0, 4096)
		var pfx [4]byte
		for {
			if _, err := io.ReadFull(sn, pfx[:]); err != nil {
				return
			}
			n, _ := smb2.FrameLength(pfx)
			if _, err := io.ReadFull(sn, in[:n]); err != nil {
				return
			}
			h := smb2.Header{Command: smb2.CmdRead, Flags: smb2.FlagServerToRedir, Credit: 1,
				MessageID: smb2.PeekMessageID(in[:n]), SessionID: fuzzSession, TreeID: fuzzTree}
			out = h.Append(append(out[:0], 0, 0, 0, 0))
			out = smb2.AppendReadResponseHeader(out, len(fuzzReadData), 0, 0)
			out = append(out, fuzzReadData...)
			signer.Sign(out[4:])
			smb2.PutFrameLength(out)
			sn.Write(out)
		}
	}()
	t.Cleanup(func() { c.Close(); sn.Close(); <-done })
	p := &Pipe{c: c, name: "fuzz", fid: fuzzFileID}
	ctx := context.Background()
	buf := make([]byte, 64)
	for range 10 { // warm the pools
		p.ReadMsg(ctx, buf)
	}
	allocs := testing.AllocsPerRun(200, func() {
		n, _, err := p.ReadMsg(ctx, buf)
		if err != nil || string(buf[:n]) != string(fuzzReadData) {
			t.Fatalf("%q %v", buf[:n], err)
		}
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per signed READ, want 0", allocs)
	}
}
