package pipe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// pattern is n bytes that differ from their neighbours.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i*3)
	}
	return p
}

// waitAvailable waits until e has a message and want bytes to read.
func waitAvailable(t *testing.T, e *End, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pi, _ := e.Peek(nil)
		if pi.Messages > 0 && pi.Available == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Peek = %+v; want %d bytes to read", pi, want)
		}
		time.Sleep(time.Millisecond)
	}
}

type writeResult struct {
	n   int
	err error
}

// goWrite writes each of msgs to e from a new goroutine, one after the
// other, and reports every result.
func goWrite(ctx context.Context, e *End, msgs ...[]byte) <-chan writeResult {
	res := make(chan writeResult, len(msgs))
	go func() {
		for _, m := range msgs {
			n, err := e.WriteContext(ctx, m)
			res <- writeResult{n, err}
		}
	}()
	return res
}

// readExact reads the message want from e with reads of size bytes: each
// read must return what a read of a queued message returns (the buffer
// full, or the rest of the message), and the queue must hold no more
// than its quota.
func readExact(t *testing.T, e *End, want []byte, size int) {
	t.Helper()
	buf := make([]byte, size)
	got := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n, more, err := e.ReadMsg(ctx, buf)
		cancel()
		if err != nil {
			t.Fatalf("ReadMsg after %d bytes: %v", got, err)
		}
		left := len(want) - got
		if n != min(size, left) || more != (size < left) || !bytes.Equal(buf[:n], want[got:got+n]) {
			t.Fatalf("read of %d at %d of %d: %d bytes, more %v", size, got, len(want), n, more)
		}
		if e.inst.mu.Lock(); e.in.n > e.in.quota {
			t.Fatalf("%d bytes queued, quota %d", e.in.n, e.in.quota)
		}
		e.inst.mu.Unlock()
		got += n
		if !more {
			return
		}
	}
}

// TestLongMessage: a message longer than the quota is read in place from
// its writer's buffer; reads fill their buffers as for a queued message,
// the next message follows it, and the writer returns once it is read.
func TestLongMessage(t *testing.T) {
	long := pattern(1000, 1)
	for _, size := range []int{1, 7, 16, 100, 999, 1000, 2000} {
		ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, OutQuota: 16})
		c, s := connect(t, ns, l)
		s.Write([]byte("before"))
		res := goWrite(context.Background(), s, long, []byte("tail"), long[:16])
		readExact(t, c, []byte("before"), size)
		waitAvailable(t, c, len(long))
		if pi, n := c.Peek(make([]byte, 10)); pi.FirstMessageLen != len(long) || pi.Messages != 1 || n != 10 {
			t.Fatalf("Peek = %+v, %d", pi, n)
		}
		select {
		case r := <-res:
			t.Fatalf("Write of the long message returned %d, %v before it was read", r.n, r.err)
		default:
		}
		readExact(t, c, long, size)
		if r := <-res; r.n != len(long) || r.err != nil {
			t.Fatalf("Write of the long message = %d, %v", r.n, r.err)
		}
		for _, want := range [][]byte{[]byte("tail"), long[:16]} {
			readExact(t, c, want, size)
			if r := <-res; r.n != len(want) || r.err != nil {
				t.Fatalf("Write = %d, %v", r.n, r.err)
			}
		}
	}

	// Byte read mode reads the same bytes as a stream.
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, OutQuota: 16})
	c, s := connect(t, ns, l)
	c.SetReadMode(ByteMode)
	s.Write([]byte("head"))
	res := goWrite(context.Background(), s, long, []byte("tail"))
	waitAvailable(t, c, 4+len(long))
	var got []byte
	buf := make([]byte, 50)
	for len(got) < len(long)+8 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if want := append(append([]byte("head"), long...), "tail"...); !bytes.Equal(got, want) {
		t.Fatal("byte read mode: not the bytes written")
	}
	<-res
	<-res
}

// TestLongMessageNotBlocking: a write that cannot wait writes a message
// whole or not at all.
func TestLongMessageNotBlocking(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 16})
	c, s := connect(t, ns, l)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	long := pattern(100, 2)
	if n, err := c.WriteContext(done, long); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteContext(done) of a long message = %d, %v; want 0, context.Canceled", n, err)
	}
	c.SetCompletionMode(CompleteOperation)
	if n, err := c.Write(long); n != 0 || !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("non-blocking Write of a long message = %d, %v; want 0, ErrWouldBlock", n, err)
	}
	if pi, _ := s.Peek(nil); pi.Available != 0 || pi.Messages != 0 {
		t.Fatalf("Peek = %+v after writes that did not fit; want nothing queued", pi)
	}
	if n, err := c.WriteContext(done, long[:16]); n != 16 || err != nil {
		t.Fatalf("WriteContext(done) of a message that fits = %d, %v", n, err)
	}
	if n, err := c.Write(long[:1]); n != 0 || !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("non-blocking Write to a full pipe = %d, %v", n, err)
	}
}

// TestLongMessageNotMerged: while a long message is read in place nothing
// is queued behind it, even where the quota has room: other writes wait
// (or, when they cannot wait, write nothing) and follow it.
func TestLongMessageNotMerged(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 16})
	c, s := connect(t, ns, l)
	long := pattern(100, 3)
	first := goWrite(context.Background(), c, long)
	waitAvailable(t, s, len(long))
	// Another writer's message waits behind it (the server writes from
	// several goroutines).
	second := goWrite(context.Background(), c, []byte("after"))
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := c.WriteContext(done, []byte("x")); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteContext(done) behind a long message = %d, %v; want 0, context.Canceled", n, err)
	}
	readExact(t, s, long, 7)
	readExact(t, s, []byte("after"), 64)
	for _, res := range []<-chan writeResult{first, second} {
		if r := <-res; r.err != nil {
			t.Fatal(r.err)
		}
	}
}

// TestLongMessageAbort: a long write that fails removes its message when
// the reader has not started it, and otherwise ends the message where the
// reader is (a last read of no bytes).
func TestLongMessageAbort(t *testing.T) {
	long := pattern(100, 4)
	cfg := Config{Mode: MessageMode, Direction: Duplex, InQuota: 16}
	// started reads 10 bytes of the long message being written to s.
	started := func(t *testing.T, s *End) []byte {
		t.Helper()
		waitAvailable(t, s, len(long))
		buf := make([]byte, 10)
		if n, more, err := s.ReadMsg(context.Background(), buf); n != 10 || !more || err != nil {
			t.Fatalf("ReadMsg = %d, %v, %v", n, more, err)
		}
		return buf
	}
	// ended checks that the message read from s ends now.
	ended := func(t *testing.T, s *End) {
		t.Helper()
		if n, more, err := s.ReadMsg(context.Background(), make([]byte, 64)); n != 0 || more || err != nil {
			t.Fatalf("read after the write failed = %d, %v, %v; want the end of the message", n, more, err)
		}
	}
	// writing starts writing long from a new pipe's client end.
	writing := func(t *testing.T) (c, s *End, res <-chan writeResult) {
		t.Helper()
		ns, l := newPipe(t, cfg)
		c, s = connect(t, ns, l)
		return c, s, goWrite(context.Background(), c, long)
	}
	t.Run("not started", func(t *testing.T) {
		ns, l := newPipe(t, cfg)
		c, s := connect(t, ns, l)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if n, err := c.WriteContext(ctx, long); n != 0 || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WriteContext = %d, %v; want 0, context.DeadlineExceeded", n, err)
		}
		if pi, _ := s.Peek(nil); pi.Available != 0 || pi.Messages != 0 {
			t.Fatalf("Peek = %+v; want the message removed", pi)
		}
		c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		if n, err := c.Write(long); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write past the deadline = %d, %v", n, err)
		}
		c.SetWriteDeadline(time.Time{})
		c.Write([]byte("next"))
		readExact(t, s, []byte("next"), 64)
	})
	t.Run("started", func(t *testing.T) {
		ns, l := newPipe(t, cfg)
		c, s := connect(t, ns, l)
		ctx, cancel := context.WithCancel(context.Background())
		res := goWrite(ctx, c, long)
		started(t, s)
		cancel()
		if r := <-res; r.n != 10 || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("WriteContext = %d, %v; want 10 (what was read), context.Canceled", r.n, r.err)
		}
		ended(t, s)
		if _, _, err := s.TryRead(make([]byte, 1)); !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("after the message: %v, want ErrWouldBlock", err)
		}
	})
	t.Run("writer closes", func(t *testing.T) {
		c, s, res := writing(t)
		started(t, s)
		c.Close()
		if r := <-res; !errors.Is(r.err, ErrClosed) {
			t.Fatalf("Write after its end closed: %d, %v", r.n, r.err)
		}
		ended(t, s)
		if _, _, err := s.ReadMsg(context.Background(), make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("then %v, want io.EOF", err)
		}
	})
	t.Run("writer closes before the reader starts", func(t *testing.T) {
		c, s, res := writing(t)
		waitAvailable(t, s, len(long))
		c.Close()
		<-res
		if _, _, err := s.ReadMsg(context.Background(), make([]byte, 64)); !errors.Is(err, io.EOF) {
			t.Fatalf("read: %v, want io.EOF (the message removed)", err)
		}
	})
	t.Run("reader closes", func(t *testing.T) {
		_, s, res := writing(t)
		waitAvailable(t, s, len(long))
		s.Close()
		if r := <-res; !errors.Is(r.err, ErrBroken) {
			t.Fatalf("Write after the reader closed: %d, %v", r.n, r.err)
		}
	})
}

// reflectAll runs Reflect on s until it fails and reports the error.
func reflectAll(s *End) <-chan error {
	res := make(chan error, 1)
	go func() {
		for {
			if _, err := s.Reflect(context.Background()); err != nil {
				res <- err
				return
			}
		}
	}()
	return res
}

// TestReflectLongMessage: a message longer than either quota comes back
// whole and in order, read in place through the server end's queue.
func TestReflectLongMessage(t *testing.T) {
	msgs := [][]byte{pattern(1000, 5), []byte("x"), pattern(17, 6), nil, pattern(16, 7), pattern(64, 8), pattern(65, 9), pattern(300, 10)}
	for _, q := range []struct{ in, out int }{{16, 16}, {16, 64}, {64, 16}} {
		ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: q.in, OutQuota: q.out})
		c, s := connect(t, ns, l)
		echoed := reflectAll(s)
		res := goWrite(context.Background(), c, msgs...)
		for _, want := range msgs {
			readExact(t, c, want, 10)
			if s.inst.mu.Lock(); s.in.n > q.in {
				t.Fatalf("%d bytes queued for the server end, quota %d", s.in.n, q.in)
			}
			s.inst.mu.Unlock()
		}
		for range msgs {
			if r := <-res; r.err != nil {
				t.Fatal(r.err)
			}
		}
		// Transceive of a long request: the reply is the request, read in
		// place while the request is written.
		long := pattern(5000, 11)
		out := make([]byte, len(long))
		if n, more, err := c.Transceive(context.Background(), long, out); n != len(long) || more || err != nil || !bytes.Equal(out, long) {
			t.Fatalf("Transceive of %d bytes = %d, %v, %v", len(long), n, more, err)
		}
		c.Close()
		if err := <-echoed; !errors.Is(err, io.EOF) {
			t.Fatalf("Reflect after the client closed: %v", err)
		}
	}
}

// TestReflectLongMessageFails: a Reflect that cannot wait does not reflect
// a long message; one that fails while the peer reads it ends the peer's
// message where the peer is, and the rest stays queued for this end.
func TestReflectLongMessageFails(t *testing.T) {
	cfg := Config{Mode: MessageMode, Direction: Duplex, InQuota: 16, OutQuota: 16}
	long := pattern(100, 12)
	ns, l := newPipe(t, cfg)
	c, s := connect(t, ns, l)
	res := goWrite(context.Background(), c, long)
	waitAvailable(t, s, len(long))
	s.SetCompletionMode(CompleteOperation)
	if n, err := s.Reflect(context.Background()); n != 0 || !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("non-blocking Reflect of a long message = %d, %v", n, err)
	}
	s.SetCompletionMode(QueueOperation)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if n, err := s.Reflect(ctx); n != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Reflect nobody reads = %d, %v; want 0, context.DeadlineExceeded", n, err)
	}
	if pi, _ := c.Peek(nil); pi.Messages != 0 {
		t.Fatalf("the client has %+v; want the reflected message removed", pi)
	}
	// The client reads part of the reflected message, then Reflect fails.
	ctx, cancel = context.WithCancel(context.Background())
	reflected := make(chan writeResult, 1)
	go func() {
		n, err := s.Reflect(ctx)
		reflected <- writeResult{n, err}
	}()
	waitAvailable(t, c, len(long))
	buf := make([]byte, 10)
	if n, more, err := c.ReadMsg(context.Background(), buf); n != 10 || !more || err != nil || !bytes.Equal(buf, long[:10]) {
		t.Fatalf("client read = %d, %v, %v", n, more, err)
	}
	cancel()
	if r := <-reflected; r.n != 10 || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Reflect = %d, %v; want 10, context.Canceled", r.n, r.err)
	}
	if n, more, err := c.ReadMsg(context.Background(), buf); n != 0 || more || err != nil {
		t.Fatalf("client read after Reflect failed = %d, %v, %v; want the end of the message", n, more, err)
	}
	readExact(t, s, long[10:], 64)
	if r := <-res; r.err != nil {
		t.Fatal(r.err)
	}
}

// TestFlushLongMessage: Flush waits until the long message is all read.
func TestFlushLongMessage(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 16})
	c, s := connect(t, ns, l)
	long := pattern(100, 13)
	res := goWrite(context.Background(), c, long)
	waitAvailable(t, s, len(long))
	flushed := make(chan error, 1)
	go func() { flushed <- c.Flush(context.Background()) }()
	buf := make([]byte, 99)
	if n, more, err := s.ReadMsg(context.Background(), buf); n != 99 || !more || err != nil {
		t.Fatalf("read = %d, %v, %v", n, more, err)
	}
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned %v with a byte left", err)
	case <-time.After(20 * time.Millisecond):
	}
	if n, more, err := s.ReadMsg(context.Background(), buf); n != 1 || more || err != nil {
		t.Fatalf("last read = %d, %v, %v", n, more, err)
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	<-res
}

// TestQueueStorage: storage grows up to the quota and no further, a long
// message takes none, and a drained queue keeps storage up to the quota
// and drops a grown length ring.
func TestQueueStorage(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 1000})
	c, s := connect(t, ns, l)
	q := s.in
	for range 3 {
		c.Write(make([]byte, 1000))
		if len(q.buf) != 1000 {
			t.Fatalf("storage %d bytes for a quota of 1000", len(q.buf))
		}
		s.Read(make([]byte, 1000))
	}
	res := goWrite(context.Background(), c, pattern(5000, 14))
	readExact(t, s, pattern(5000, 14), 300)
	<-res
	if len(q.buf) != 1000 {
		t.Fatalf("storage %d bytes after a long message, want 1000", len(q.buf))
	}
	for range 1000 {
		c.Write(nil)
	}
	for range 1000 {
		s.Read(nil)
	}
	if len(q.lens) > maxKeptLens {
		t.Fatalf("length ring of %d kept", len(q.lens))
	}
}

// TestReflectSecondReader: reading the server end while Reflect lets the
// client read a long message in place breaks the one-reader rule; the
// client's message then ends early, and nothing panics.
func TestReflectSecondReader(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 16, OutQuota: 16})
	c, s := connect(t, ns, l)
	long := pattern(100, 15)
	res := goWrite(context.Background(), c, long)
	waitAvailable(t, s, len(long))
	reflected := make(chan error, 1)
	go func() {
		_, err := s.Reflect(context.Background())
		reflected <- err
	}()
	waitAvailable(t, c, len(long))
	if got := readMessageAll(t, s); !bytes.Equal(got, long) {
		t.Fatalf("the second reader read %d bytes", len(got))
	}
	<-res
	pi, _ := c.Peek(make([]byte, 10))
	n, more, err := c.ReadMsg(context.Background(), make([]byte, 10))
	if n != 0 || more || err != nil {
		t.Fatalf("client read = %d, %v, %v (Peek %+v); want the end of the message", n, more, err, pi)
	}
	c.Close()
	<-reflected
}

// readMessageAll reads one message from e, whatever its length.
func readMessageAll(t *testing.T, e *End) []byte {
	t.Helper()
	got, err := e.AppendMessage(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
