package client

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// scripted is a fake server whose answers a test writes: NEGOTIATE is
// answered (3.0.2, 1 MiB sizes, negCredit credits), every other request
// goes to handle, which may reply any number of times, or not at all.
type scripted struct {
	nc        net.Conn
	negCredit uint16
	handle    func(s *scripted, h smb2.Header)
	mu        sync.Mutex
	wbuf      []byte
}

// newScripted starts c on a net.Pipe to a scripted server and negotiates.
func newScripted(t *testing.T, cfg Config, negCredit uint16, handle func(s *scripted, h smb2.Header)) (*Conn, *scripted) {
	t.Helper()
	cn, sn := net.Pipe()
	s := &scripted{nc: sn, negCredit: negCredit, handle: handle}
	return negotiatedFake(t, cn, sn, &cfg, s.serve), s
}

func (s *scripted) serve() {
	var pfx [4]byte
	for {
		if _, err := io.ReadFull(s.nc, pfx[:]); err != nil {
			return
		}
		n, err := smb2.FrameLength(pfx)
		if err != nil {
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(s.nc, buf); err != nil {
			return
		}
		var h smb2.Header
		if h.Decode(buf) != nil {
			return
		}
		if h.Command == smb2.CmdNegotiate {
			rh := smb2.Header{Command: h.Command, MessageID: h.MessageID, Credit: s.negCredit, Flags: smb2.FlagServerToRedir}
			s.raw((&smb2.NegotiateResponse{
				DialectRevision: smb2.Dialect302, Capabilities: smb2.CapLargeMTU,
				MaxReadSize: 1 << 20, MaxWriteSize: 1 << 20, MaxTransactSize: 1 << 20,
			}).Append(rh.Append(nil)))
			continue
		}
		s.handle(s, h)
	}
}

// reply sends one response (SERVER_TO_REDIR set; a zero Credit grants 8).
func (s *scripted) reply(h smb2.Header, body smb2.Body) {
	h.Flags |= smb2.FlagServerToRedir
	if h.Credit == 0 {
		h.Credit = 8
	}
	s.raw(body.Append(h.Append(nil)))
}

// raw sends msg as one frame.
func (s *scripted) raw(msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := append(append(s.wbuf[:0], 0, 0, 0, 0), msg...)
	smb2.PutFrameLength(b)
	s.wbuf = b
	s.nc.Write(b)
}

func TestRequestTimeoutDefault(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{{0, 60 * time.Second}, {time.Second, time.Second}, {-1, -1}} {
		c, err := (&Config{RequestTimeout: tc.in}).withDefaults()
		if err != nil || c.RequestTimeout != tc.want {
			t.Errorf("RequestTimeout %v: got %v, %v; want %v", tc.in, c.RequestTimeout, err, tc.want)
		}
	}
}

// TestRequestExpires: a request with neither a reply nor an interim
// response fails after RequestTimeout with an error naming it, although
// its context has no deadline; the connection is closed, so every request
// on it fails the same way.
func TestRequestExpires(t *testing.T) {
	const rt = 200 * time.Millisecond
	c, _ := newScripted(t, Config{RequestTimeout: rt}, 8, func(*scripted, smb2.Header) {}) // never answers
	start := time.Now()
	errc := make(chan error, 2)
	go func() { errc <- c.Echo(context.Background()) }()
	go func() {
		_, err := c.RoundTrip(context.Background(), &RawRequest{Header: smb2.Header{Command: smb2.CmdFlush}, Body: (&smb2.FlushRequest{}).Append(nil)})
		errc <- err
	}()
	for range 2 {
		select {
		case err := <-errc:
			var te *RequestTimeoutError
			if !errors.As(err, &te) || !errors.Is(err, ErrRequestTimeout) || te.Timeout != rt {
				t.Fatalf("got %v; want a *RequestTimeoutError", err)
			}
			if !strings.Contains(err.Error(), te.Command.String()) || !strings.Contains(err.Error(), "200ms") {
				t.Fatalf("%q does not name the command and the limit", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no expiration")
		}
	}
	if took := time.Since(start); took < rt || took > rt+rt/expiryTicks+time.Second {
		t.Fatalf("expired after %v; want %v to %v", took, rt, rt+rt/expiryTicks)
	}
	if err := c.Echo(context.Background()); !errors.Is(err, ErrRequestTimeout) {
		t.Fatalf("a later request: %v", err)
	}
}

// TestInterimEndsExpiry: after an interim response a request waits as
// long as its context allows, well past RequestTimeout.
func TestInterimEndsExpiry(t *testing.T) {
	const rt = 100 * time.Millisecond
	var mu sync.Mutex
	held := map[uint64]uint64{} // AsyncId -> MessageId
	c, _ := newScripted(t, Config{RequestTimeout: rt}, 8, func(s *scripted, h smb2.Header) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case h.Command == smb2.CmdCancel:
			if mid, ok := held[h.AsyncID]; ok {
				s.reply(smb2.Header{Command: smb2.CmdFlush, MessageID: mid, Status: ntstatus.Cancelled, Flags: smb2.FlagAsyncCommand, AsyncID: h.AsyncID}, &smb2.ErrorResponse{})
			}
		case h.Command == smb2.CmdFlush:
			held[h.MessageID+100] = h.MessageID
			s.reply(smb2.Header{Command: h.Command, MessageID: h.MessageID, Status: ntstatus.Pending, Flags: smb2.FlagAsyncCommand, AsyncID: h.MessageID + 100}, &smb2.ErrorResponse{})
		default: // ECHO, the keepalive
			s.reply(smb2.Header{Command: h.Command, MessageID: h.MessageID}, &smb2.EchoResponse{})
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 8*rt)
	defer cancel()
	start := time.Now()
	_, err := c.RoundTrip(ctx, &RawRequest{Header: smb2.Header{Command: smb2.CmdFlush}, Body: (&smb2.FlushRequest{}).Append(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 8*rt {
		t.Fatalf("ended after %v, before its context", took)
	}
	if err := c.Echo(t.Context()); err != nil {
		t.Fatalf("the connection failed: %v", err)
	}
}

// TestAbandonedReplyChecked: a request abandoned after CANCEL keeps its
// MessageId registered, so its late reply is checked and dropped instead of
// failing the connection as an unknown one.
func TestAbandonedReplyChecked(t *testing.T) {
	late := make(chan smb2.Header, 1)
	c, s := newScripted(t, Config{CancelTimeout: 50 * time.Millisecond}, 8, func(s *scripted, h smb2.Header) {
		switch h.Command {
		case smb2.CmdFlush:
			late <- h // answered later, by the test
		case smb2.CmdEcho:
			s.reply(smb2.Header{Command: h.Command, MessageID: h.MessageID}, &smb2.EchoResponse{})
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.RoundTrip(ctx, &RawRequest{Header: smb2.Header{Command: smb2.CmdFlush}, Body: (&smb2.FlushRequest{}).Append(nil)})
	if !errors.Is(err, ErrAbandoned) {
		t.Fatalf("got %v; want ErrAbandoned", err)
	}
	h := <-late
	s.reply(smb2.Header{Command: smb2.CmdFlush, MessageID: h.MessageID}, &smb2.FlushResponse{})
	if err := c.Echo(t.Context()); err != nil {
		t.Fatalf("after the late reply: %v", err)
	}
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d requests still registered", n)
	}
}

// TestReaderRefuses: replies the client cannot accept fail the connection
// and the request waiting on it, at once, with ErrProtocol.
func TestReaderRefuses(t *testing.T) {
	echoBody := (&smb2.EchoResponse{}).Append(nil)
	msg := func(h smb2.Header, body []byte) []byte {
		h.Flags |= smb2.FlagServerToRedir
		h.Credit = 8
		return append(h.Append(nil), body...)
	}
	for _, tc := range []struct {
		name  string
		reply func(s *scripted, h smb2.Header)
		want  string
	}{
		{"wrong command", func(s *scripted, h smb2.Header) {
			s.raw(msg(smb2.Header{Command: smb2.CmdFlush, MessageID: h.MessageID}, echoBody))
		}, "carries Command FLUSH"},
		{"wrong SessionId", func(s *scripted, h smb2.Header) {
			s.raw(msg(smb2.Header{Command: h.Command, MessageID: h.MessageID, SessionID: 5}, echoBody))
		}, "carries SessionId 0x5"},
		{"unknown MessageId", func(s *scripted, h smb2.Header) {
			s.raw(msg(smb2.Header{Command: h.Command, MessageID: h.MessageID + 7}, echoBody))
		}, "no request in flight"},
		{"unsolicited oplock break", func(s *scripted, h smb2.Header) {
			s.raw(msg(smb2.Header{Command: smb2.CmdOplockBreak, MessageID: ^uint64(0)}, make([]byte, 24)))
		}, "no request in flight"},
		{"not a response", func(s *scripted, h smb2.Header) {
			b := msg(smb2.Header{Command: h.Command, MessageID: h.MessageID}, echoBody)
			smb2.PutFlags(b, 0)
			s.raw(b)
		}, "not a response"},
		{"header StructureSize", func(s *scripted, h smb2.Header) {
			b := msg(smb2.Header{Command: h.Command, MessageID: h.MessageID}, echoBody)
			b[4] = 65
			s.raw(b)
		}, "StructureSize"},
		{"body StructureSize", func(s *scripted, h smb2.Header) {
			s.raw(msg(smb2.Header{Command: h.Command, MessageID: h.MessageID}, []byte{5, 0, 0, 0}))
		}, "StructureSize"},
		{"sync STATUS_PENDING", func(s *scripted, h smb2.Header) {
			s.raw(msg(smb2.Header{Command: h.Command, MessageID: h.MessageID, Status: ntstatus.Pending}, (&smb2.ErrorResponse{}).Append(nil)))
		}, "without SMB2_FLAGS_ASYNC_COMMAND"},
		{"final AsyncId differs from the interim's", func(s *scripted, h smb2.Header) {
			s.raw(msg(smb2.Header{Command: h.Command, MessageID: h.MessageID, Status: ntstatus.Pending, Flags: smb2.FlagAsyncCommand, AsyncID: 3}, (&smb2.ErrorResponse{}).Append(nil)))
			s.raw(msg(smb2.Header{Command: h.Command, MessageID: h.MessageID, Flags: smb2.FlagAsyncCommand, AsyncID: 4}, echoBody))
		}, "AsyncId 0x4"},
		{"frame over the negotiated size", func(s *scripted, h smb2.Header) {
			s.nc.Write([]byte{0, 0x40, 0, 0}) // 4 MiB, over 1 MiB plus slack; no body follows
		}, "frame of 4194304 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newScripted(t, Config{}, 8, tc.reply)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := c.Echo(ctx)
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want ErrProtocol and %q", err, tc.want)
			}
			if err2 := c.Echo(ctx); !errors.Is(err2, ErrProtocol) {
				t.Fatalf("the next request: %v; want the connection failed", err2)
			}
		})
	}
}

// TestNoCreditsNoHang: a server that grants no credits, with nothing
// outstanding that could grant some, fails the request at once instead of
// leaving it waiting.
func TestNoCreditsNoHang(t *testing.T) {
	c, _ := newScripted(t, Config{}, 0, func(*scripted, smb2.Header) {})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Echo(ctx); !errors.Is(err, ErrProtocol) || ctx.Err() != nil {
		t.Fatalf("got %v; want ErrProtocol at once", err)
	}
}
