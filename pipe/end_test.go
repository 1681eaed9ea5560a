package pipe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	msgDuplex  = Config{Mode: MessageMode, Direction: Duplex}
	byteDuplex = Config{Mode: ByteMode, Direction: Duplex}
)

// Ends are net.Conns and Listeners are net.Listeners.
var (
	_ net.Conn     = (*End)(nil)
	_ net.Listener = (*Listener)(nil)
)

type readStep struct {
	size int
	want string
	more bool
}

func TestReads(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		byteRead bool
		writes   []string
		reads    []readStep
	}{
		{
			name:   "message whole",
			cfg:    msgDuplex,
			writes: []string{"hello", "world"},
			reads:  []readStep{{10, "hello", false}, {10, "world", false}},
		},
		{
			name:   "message partial",
			cfg:    msgDuplex,
			writes: []string{"abcdefgh", "xy"},
			reads:  []readStep{{3, "abc", true}, {3, "def", true}, {3, "gh", false}, {3, "xy", false}},
		},
		{
			name:   "message exact",
			cfg:    msgDuplex,
			writes: []string{"abc", "d"},
			reads:  []readStep{{3, "abc", false}, {3, "d", false}},
		},
		{
			name:   "zero-length messages",
			cfg:    msgDuplex,
			writes: []string{"", "a", ""},
			reads:  []readStep{{4, "", false}, {4, "a", false}, {4, "", false}},
		},
		{
			name:   "zero-size buffer on a message",
			cfg:    msgDuplex,
			writes: []string{"abc"},
			reads:  []readStep{{0, "", true}, {5, "abc", false}},
		},
		{
			name:   "byte pipe crosses writes",
			cfg:    byteDuplex,
			writes: []string{"abc", "def", "g"},
			reads:  []readStep{{4, "abcd", false}, {10, "efg", false}},
		},
		{
			name:     "byte read mode on message pipe",
			cfg:      msgDuplex,
			byteRead: true,
			writes:   []string{"abc", "", "def", "gh"},
			reads:    []readStep{{4, "abcd", false}, {3, "efg", false}, {9, "h", false}},
		},
		{
			name:     "byte read mode drops empty messages",
			cfg:      msgDuplex,
			byteRead: true,
			writes:   []string{"", ""},
			reads:    []readStep{{4, "", false}},
		},
	}
	for _, tt := range tests {
		for _, dir := range []string{"client to server", "server to client"} {
			t.Run(tt.name+"/"+dir, func(t *testing.T) {
				ns, l := newPipe(t, tt.cfg)
				c, s := connect(t, ns, l)
				w, r := c, s
				if dir == "server to client" {
					w, r = s, c
				}
				if tt.byteRead {
					if err := r.SetReadMode(ByteMode); err != nil {
						t.Fatal(err)
					}
				}
				for _, m := range tt.writes {
					if n, err := w.Write([]byte(m)); err != nil || n != len(m) {
						t.Fatalf("Write(%q) = %d, %v", m, n, err)
					}
				}
				for i, st := range tt.reads {
					buf := make([]byte, st.size)
					n, more, err := r.TryRead(buf)
					if err != nil || string(buf[:n]) != st.want || more != st.more {
						t.Fatalf("read %d: %q more=%v err=%v, want %q more=%v", i, buf[:n], more, err, st.want, st.more)
					}
				}
				if _, _, err := r.TryRead(make([]byte, 8)); !errors.Is(err, ErrWouldBlock) {
					t.Fatalf("TryRead on empty: %v, want ErrWouldBlock", err)
				}
			})
		}
	}
}

func TestNetConnReadPartial(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	c.Write([]byte("0123456789"))
	c.Write([]byte("next"))
	buf := make([]byte, 4)
	var got []string
	for range 4 {
		n, err := s.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
	if want := "0123|4567|89|next"; strings.Join(got, "|") != want {
		t.Fatalf("Reads = %q, want %q", got, want)
	}
}

func TestAppendMessage(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	long := bytes.Repeat([]byte("xyz"), 1000)
	c.Write(long)
	c.Write([]byte("b"))
	got, err := s.AppendMessage(context.Background(), []byte("pre:"))
	if err != nil || !bytes.Equal(got, append([]byte("pre:"), long...)) {
		t.Fatalf("AppendMessage = %d bytes, %v", len(got), err)
	}
	got, err = s.AppendMessage(context.Background(), nil)
	if err != nil || string(got) != "b" {
		t.Fatalf("second AppendMessage = %q, %v", got, err)
	}
}

func TestReadBlocksUntilWrite(t *testing.T) {
	for _, cfg := range []Config{msgDuplex, byteDuplex} {
		ns, l := newPipe(t, cfg)
		c, s := connect(t, ns, l)
		go func() {
			time.Sleep(5 * time.Millisecond)
			s.Write([]byte("late"))
		}()
		buf := make([]byte, 8)
		n, _, err := c.ReadMsg(context.Background(), buf)
		if err != nil || string(buf[:n]) != "late" {
			t.Fatalf("ReadMsg = %q, %v", buf[:n], err)
		}
	}
}

func TestWaitReadable(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if err := s.WaitReadable(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReadable on empty: %v", err)
	}
	go func() {
		time.Sleep(5 * time.Millisecond)
		c.Write([]byte("x"))
	}()
	if err := s.WaitReadable(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.TryRead(make([]byte, 1)); n != 1 || err != nil {
		t.Fatalf("TryRead after WaitReadable = %d, %v", n, err)
	}
	c.Close()
	if err := s.WaitReadable(context.Background()); err != nil {
		t.Fatalf("WaitReadable with peer closed: %v", err)
	}
	s.Close()
	if err := s.WaitReadable(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("WaitReadable on closed end: %v", err)
	}
}

func TestQuotaBackpressure(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		first  int // bytes written before the blocked write
		second int // the write that must block
	}{
		{"message fills quota", Config{Mode: MessageMode, Direction: Duplex, InQuota: 100}, 100, 1},
		{"message does not fit", Config{Mode: MessageMode, Direction: Duplex, InQuota: 100}, 60, 50},
		{"byte mode full", Config{Direction: Duplex, InQuota: 100}, 100, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, l := newPipe(t, tt.cfg)
			c, s := connect(t, ns, l)
			if _, err := c.Write(make([]byte, tt.first)); err != nil {
				t.Fatal(err)
			}
			if li := c.LocalInfo(); li.WriteQuotaAvailable != 100-tt.first {
				t.Errorf("WriteQuotaAvailable = %d", li.WriteQuotaAvailable)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			n, err := c.WriteContext(ctx, make([]byte, tt.second))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("WriteContext over quota = %d, %v; want it to block", n, err)
			}
			if tt.cfg.Mode == ByteMode {
				if n != 0 {
					t.Fatalf("byte write into a full pipe wrote %d", n)
				}
			}
			done := make(chan error, 1)
			go func() {
				_, err := c.Write(make([]byte, tt.second))
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("Write returned %v before the reader read", err)
			case <-time.After(10 * time.Millisecond):
			}
			buf := make([]byte, 1000)
			if _, err := s.Read(buf); err != nil { // drains the first write
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("Write after drain: %v", err)
			}
			if n, err := s.Read(buf); err != nil || n != tt.second {
				t.Fatalf("Read = %d, %v; want %d", n, err, tt.second)
			}
		})
	}
}

func TestBytePipeLargeWriteStreams(t *testing.T) {
	ns, l := newPipe(t, Config{Direction: Duplex, InQuota: 64})
	c, s := connect(t, ns, l)
	data := make([]byte, 10000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		c.Close()
		errc <- err
	}()
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll = %d bytes, %v", len(got), err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestClose(t *testing.T) {
	tests := []struct {
		name      string
		closeSide string // which end closes
		wantErr   error  // the other end's read once drained
	}{
		{"server closes", "server", ErrBroken},
		{"client closes", "client", io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, l := newPipe(t, msgDuplex)
			c, s := connect(t, ns, l)
			closer, other := s, c
			if tt.closeSide == "client" {
				closer, other = c, s
			}
			closer.Write([]byte("one"))
			closer.Write([]byte("two"))
			other.Write([]byte("unread")) // dropped when closer closes
			if err := closer.Close(); err != nil {
				t.Fatal(err)
			}
			if err := closer.Close(); err != nil {
				t.Fatalf("Close is not idempotent: %v", err)
			}
			if st := other.State(); st != StateClosing {
				t.Errorf("State = %d, want closing", st)
			}
			if st := closer.State(); st != StateDisconnected {
				t.Errorf("closed State = %d", st)
			}
			buf := make([]byte, 8)
			for _, want := range []string{"one", "two"} {
				n, _, err := other.ReadMsg(context.Background(), buf)
				if err != nil || string(buf[:n]) != want {
					t.Fatalf("drain = %q, %v; want %q", buf[:n], err, want)
				}
			}
			for range 2 {
				if _, _, err := other.ReadMsg(context.Background(), buf); !errors.Is(err, tt.wantErr) {
					t.Fatalf("read after drain: %v, want %v", err, tt.wantErr)
				}
			}
			if _, err := other.Write([]byte("x")); !errors.Is(err, ErrBroken) {
				t.Fatalf("write to closed peer: %v, want ErrBroken", err)
			}
			if _, _, err := other.Transceive(context.Background(), []byte("x"), buf); !errors.Is(err, ErrBroken) {
				t.Fatalf("transceive to closed peer: %v, want ErrBroken", err)
			}
			// Operations on the closed end.
			if _, err := closer.Read(buf); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Read on closed: %v", err)
			}
			if _, err := closer.Write(buf); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Write on closed: %v", err)
			}
			if _, _, err := closer.TryRead(buf); !errors.Is(err, net.ErrClosed) {
				t.Errorf("TryRead on closed: %v", err)
			}
			if _, _, err := closer.Transceive(context.Background(), buf, buf); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Transceive on closed: %v", err)
			}
			if pi, n := closer.Peek(buf); pi.State != StateDisconnected || n != 0 {
				t.Errorf("Peek on closed: %+v %d", pi, n)
			}
			if err := closer.SetReadMode(ByteMode); !errors.Is(err, net.ErrClosed) {
				t.Errorf("SetReadMode on closed: %v", err)
			}
			other.Close()
			if n := l.Pipe().Instances(); n != 0 {
				t.Errorf("Instances after both closed = %d", n)
			}
		})
	}
}

func TestCloseWakesBlocked(t *testing.T) {
	tests := []struct {
		name    string
		op      func(c *End) error
		closeBy string // "self" or "peer"
		want    error
	}{
		{"read, own close", readOp, "self", ErrClosed},
		{"read, peer close", readOp, "peer", ErrBroken},
		{"write, own close", writeOp, "self", ErrClosed},
		{"write, peer close", writeOp, "peer", ErrBroken},
		{"transceive, peer close", transceiveOp, "peer", ErrBroken},
		{"flush, peer close", flushOp, "peer", ErrBroken},
		{"flush, own close", flushOp, "self", ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 10})
			c, s := connect(t, ns, l)
			if _, err := c.Write(make([]byte, 10)); err != nil { // fill the quota
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- tt.op(c) }()
			time.Sleep(5 * time.Millisecond)
			if tt.closeBy == "self" {
				c.Close()
			} else {
				s.Close()
			}
			select {
			case err := <-errc:
				if !errors.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("close did not wake the blocked operation")
			}
		})
	}
}

func readOp(c *End) error {
	_, err := c.Read(make([]byte, 4))
	return err
}

func writeOp(c *End) error {
	_, err := c.Write(make([]byte, 4))
	return err
}

func transceiveOp(c *End) error {
	_, _, err := c.Transceive(context.Background(), []byte("q"), make([]byte, 4))
	return err
}

func flushOp(c *End) error { return c.Flush(context.Background()) }

func TestFlush(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	if err := c.Flush(context.Background()); err != nil {
		t.Fatalf("Flush on empty: %v", err)
	}
	c.Write([]byte("abc"))
	go func() {
		time.Sleep(5 * time.Millisecond)
		s.Read(make([]byte, 1)) // partial: the rest is still queued
		time.Sleep(5 * time.Millisecond)
		s.Read(make([]byte, 8))
	}()
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pi, _ := s.Peek(nil); pi.Available != 0 {
		t.Fatalf("Flush returned with %d bytes queued", pi.Available)
	}
}

// echo serves s: every message back as one message, until s fails.
func echo(s *End) {
	defer s.Close()
	buf := make([]byte, 0, 1<<10)
	for {
		msg, err := s.AppendMessage(context.Background(), buf[:0])
		if err != nil {
			return
		}
		buf = msg
		if _, err := s.Write(msg); err != nil {
			return
		}
	}
}

func TestTransceive(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	done := make(chan struct{})
	go func() { echo(s); close(done) }()
	defer func() { c.Close(); <-done }()

	out := make([]byte, 16)
	n, more, err := c.Transceive(context.Background(), []byte("ping"), out)
	if err != nil || more || string(out[:n]) != "ping" {
		t.Fatalf("Transceive = %q %v %v", out[:n], more, err)
	}
	// A reply longer than out: first part, more, the rest with ReadMsg.
	long := []byte("0123456789abcdefghij")
	n, more, err = c.Transceive(context.Background(), long, out[:8])
	if err != nil || !more || string(out[:n]) != "01234567" {
		t.Fatalf("long Transceive = %q %v %v", out[:n], more, err)
	}
	if _, _, err := c.Transceive(context.Background(), []byte("x"), out); !errors.Is(err, ErrBusy) {
		t.Fatalf("Transceive with unread data: %v, want ErrBusy", err)
	}
	n, more, err = c.ReadMsg(context.Background(), out)
	if err != nil || more || string(out[:n]) != "89abcdefghij" {
		t.Fatalf("rest = %q %v %v", out[:n], more, err)
	}
	// Zero-length request and reply.
	if n, more, err := c.Transceive(context.Background(), nil, out); err != nil || more || n != 0 {
		t.Fatalf("empty Transceive = %d %v %v", n, more, err)
	}
}

func TestTransceiveBadState(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		readMode Mode
	}{
		{"byte pipe", byteDuplex, ByteMode},
		{"inbound", Config{Mode: MessageMode, Direction: Inbound}, MessageMode},
		{"outbound", Config{Mode: MessageMode, Direction: Outbound}, MessageMode},
		{"byte read mode", msgDuplex, ByteMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, l := newPipe(t, tt.cfg)
			c, _ := connect(t, ns, l)
			if err := c.SetReadMode(tt.readMode); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Transceive(context.Background(), []byte("x"), nil); !errors.Is(err, ErrBadState) {
				t.Fatalf("Transceive: %v, want ErrBadState", err)
			}
		})
	}
}

func TestPeek(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		writes  []string
		bufSize int
		want    PeekInfo
		data    string
	}{
		{"empty message pipe", msgDuplex, nil, 8, PeekInfo{State: StateConnected}, ""},
		{"messages", msgDuplex, []string{"hello", "xy"}, 16, PeekInfo{StateConnected, 7, 2, 5}, "hello"},
		{"message larger than buffer", msgDuplex, []string{"hello"}, 3, PeekInfo{StateConnected, 5, 1, 5}, "hel"},
		{"zero-length message", msgDuplex, []string{""}, 3, PeekInfo{StateConnected, 0, 1, 0}, ""},
		{"byte pipe", byteDuplex, []string{"abc", "def"}, 5, PeekInfo{StateConnected, 6, 0, 0}, "abcde"},
		{"header only", byteDuplex, []string{"abc"}, 0, PeekInfo{StateConnected, 3, 0, 0}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, l := newPipe(t, tt.cfg)
			c, s := connect(t, ns, l)
			for _, w := range tt.writes {
				s.Write([]byte(w))
			}
			buf := make([]byte, tt.bufSize)
			for range 2 { // peeking consumes nothing
				pi, n := c.Peek(buf)
				if pi != tt.want || string(buf[:n]) != tt.data {
					t.Fatalf("Peek = %+v %q, want %+v %q", pi, buf[:n], tt.want, tt.data)
				}
			}
			s.Close()
			if pi, _ := c.Peek(nil); pi.State != StateClosing {
				t.Fatalf("Peek after peer close: state %d", pi.State)
			}
		})
	}
}

func TestPeekWrappedRing(t *testing.T) {
	ns, l := newPipe(t, Config{Direction: Duplex, OutQuota: 1024})
	c, s := connect(t, ns, l)
	buf := make([]byte, 1024)
	for i := range 50 { // push the ring head around the buffer
		s.Write(bytes.Repeat([]byte{byte(i)}, 300))
		if n, err := c.Read(buf); n != 300 || err != nil {
			t.Fatal(n, err)
		}
	}
	s.Write([]byte("0123456789"))
	pi, n := c.Peek(buf)
	if pi.Available != 10 || string(buf[:n]) != "0123456789" {
		t.Fatalf("Peek = %+v %q", pi, buf[:n])
	}
}

func TestDeadlines(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 4})
	c, s := connect(t, ns, l)
	isTimeout := func(err error) bool {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
	}
	s.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
	if _, err := s.Read(make([]byte, 4)); !isTimeout(err) {
		t.Fatalf("Read past deadline: %v", err)
	}
	if err := s.WaitReadable(context.Background()); !isTimeout(err) {
		t.Fatalf("WaitReadable past deadline: %v", err)
	}
	s.SetReadDeadline(time.Time{})
	c.Write([]byte("abcd"))
	if n, err := s.Read(make([]byte, 4)); n != 4 || err != nil {
		t.Fatalf("Read after clearing deadline: %d %v", n, err)
	}
	c.Write([]byte("abcd"))
	c.SetWriteDeadline(time.Now().Add(5 * time.Millisecond))
	if _, err := c.Write([]byte("more")); !isTimeout(err) {
		t.Fatalf("Write past deadline: %v", err)
	}
	c.SetDeadline(time.Now().Add(-time.Second)) // already passed
	if _, err := c.Write([]byte("x")); !isTimeout(err) {
		t.Fatalf("Write with passed deadline: %v", err)
	}
	if _, err := c.Read(nil); !isTimeout(err) {
		t.Fatalf("Read with passed deadline: %v", err)
	}
	c.SetDeadline(time.Now().Add(time.Hour))
	c.SetDeadline(time.Time{})
	s.Read(make([]byte, 4))
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("Write after reset: %v", err)
	}
	// A deadline set while a read is blocked wakes it.
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		errc <- err
	}()
	time.Sleep(5 * time.Millisecond)
	c.SetReadDeadline(time.Now())
	if err := <-errc; !isTimeout(err) {
		t.Fatalf("blocked Read after SetReadDeadline: %v", err)
	}
}

func TestDirection(t *testing.T) {
	tests := []struct {
		dir             Direction
		clientReads     bool
		clientWrites    bool
		serverReads     bool
		serverWrites    bool
		clientQuotaFree int
	}{
		{Inbound, false, true, true, false, DefaultQuota},
		{Outbound, true, false, false, true, 0},
		{Duplex, true, true, true, true, DefaultQuota},
	}
	for _, tt := range tests {
		ns, l := newPipe(t, Config{Direction: tt.dir})
		c, s := connect(t, ns, l)
		check := func(e *End, canRead, canWrite bool) {
			t.Helper()
			_, _, rerr := e.TryRead(make([]byte, 1))
			_, werr := e.Write([]byte("x"))
			if errors.Is(rerr, ErrDirection) == canRead || errors.Is(werr, ErrDirection) == canWrite {
				t.Errorf("direction %d server=%v: read %v, write %v", tt.dir, e.IsServer(), rerr, werr)
			}
		}
		check(c, tt.clientReads, tt.clientWrites)
		check(s, tt.serverReads, tt.serverWrites)
		if li := c.LocalInfo(); li.Configuration != tt.dir {
			t.Errorf("LocalInfo.Configuration = %d", li.Configuration)
		}
	}
}

func TestCompletionMode(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 4})
	c, s := connect(t, ns, l)
	if err := s.SetCompletionMode(CompleteOperation); err != nil {
		t.Fatal(err)
	}
	if s.CompletionMode() != CompleteOperation {
		t.Fatal("CompletionMode not kept")
	}
	if _, err := s.Read(make([]byte, 4)); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("non-blocking Read on empty: %v", err)
	}
	c.SetCompletionMode(CompleteOperation)
	c.Write([]byte("abcd"))
	if n, err := c.Write([]byte("e")); !errors.Is(err, ErrWouldBlock) || n != 0 {
		t.Fatalf("non-blocking Write over quota: %d %v", n, err)
	}
	if err := c.SetCompletionMode(7); !errors.Is(err, ErrBadState) {
		t.Fatalf("SetCompletionMode(7): %v", err)
	}
}

func TestReadModes(t *testing.T) {
	ns, l := newPipe(t, byteDuplex)
	c, _ := connect(t, ns, l)
	if err := c.SetReadMode(MessageMode); !errors.Is(err, ErrBadState) {
		t.Fatalf("message read mode on byte pipe: %v", err)
	}
	ns2, l2 := newPipe(t, msgDuplex)
	c2, s2 := connect(t, ns2, l2)
	if c2.ReadMode() != MessageMode || s2.ReadMode() != MessageMode {
		t.Fatal("initial read mode is not the pipe's mode")
	}
	if err := c2.SetReadMode(ByteMode); err != nil || c2.ReadMode() != ByteMode {
		t.Fatalf("SetReadMode(Byte): %v", err)
	}
	if err := c2.SetReadMode(9); !errors.Is(err, ErrBadState) {
		t.Fatalf("SetReadMode(9): %v", err)
	}
}

func TestLocalInfo(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, MaxInstances: 3, InQuota: 100, OutQuota: 200})
	c, s := connect(t, ns, l)
	c.Write([]byte("12345"))
	got := s.LocalInfo()
	want := LocalInfo{
		Type: MessageMode, Configuration: Duplex, MaxInstances: 3, CurrentInstances: 1,
		InboundQuota: 100, OutboundQuota: 200, ReadDataAvailable: 5, WriteQuotaAvailable: 200,
		State: StateConnected, ServerEnd: true,
	}
	if got != want {
		t.Fatalf("LocalInfo = %+v\nwant %+v", got, want)
	}
	if li := c.LocalInfo(); li.WriteQuotaAvailable != 95 || li.ServerEnd {
		t.Fatalf("client LocalInfo = %+v", li)
	}
}

func TestCaller(t *testing.T) {
	var ns Namespace
	l, _ := ns.Create("p", msgDuplex)
	defer l.Close()
	who := &Caller{User: "alice", Domain: "WORKGROUP", SIDs: []string{"S-1-5-21-1-2-3-1000", "S-1-1-0"}, ClientAddr: "127.0.0.1:5000", SessionID: 7}
	c, _ := ns.Open("p", who)
	defer c.Close()
	s, _ := l.AcceptEnd(context.Background())
	defer s.Close()
	got, ok := s.Caller()
	if !ok || got.User != "alice" {
		t.Fatalf("Caller() = %+v, %v", got, ok)
	}
	env := strings.Join(got.Env(), "\n")
	for _, want := range []string{"SMBPIPE_USER=alice", "SMBPIPE_DOMAIN=WORKGROUP", "SMBPIPE_SIDS=S-1-5-21-1-2-3-1000,S-1-1-0", "SMBPIPE_ANONYMOUS=0", "SMBPIPE_CLIENT_ADDR=127.0.0.1:5000", "SMBPIPE_SESSION_ID=7"} {
		if !strings.Contains(env, want) {
			t.Errorf("Env lacks %s:\n%s", want, env)
		}
	}
	c2, _ := ns.Open("p", "not a caller")
	defer c2.Close()
	if _, ok := c2.Caller(); ok {
		t.Error("Caller() ok for a string info")
	}
}

// TestConcurrentStress runs reader, writer and a late Close from different
// goroutines on many instances; run with -race.
func TestConcurrentStress(t *testing.T) {
	for _, cfg := range []Config{
		{Mode: MessageMode, Direction: Duplex, InQuota: 64, OutQuota: 64},
		{Direction: Duplex, InQuota: 64, OutQuota: 64},
	} {
		ns, l := newPipe(t, cfg)
		var wg sync.WaitGroup
		for range 8 {
			c, s := connect(t, ns, l)
			wg.Add(3)
			go func() { defer wg.Done(); echoBytes(s) }()
			go func() {
				defer wg.Done()
				for i := range 200 {
					if _, err := c.Write(bytes.Repeat([]byte{byte(i)}, i%100)); err != nil {
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				buf := make([]byte, 37)
				total := 0
				for total < 9900 {
					n, err := c.Read(buf)
					if err != nil {
						break
					}
					total += n
				}
				c.Close()
			}()
		}
		wg.Wait()
	}
}

// echoBytes copies everything s reads back to s.
func echoBytes(s *End) {
	defer s.Close()
	buf := make([]byte, 50)
	for {
		n, err := s.Read(buf)
		if err != nil {
			return
		}
		if _, err := s.Write(buf[:n]); err != nil {
			return
		}
	}
}
