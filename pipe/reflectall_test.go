package pipe

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// TestReflectAllModel: the client writes messages of assorted sizes,
// without blocking (a message that does not fit now is not written), and
// reads some back, in a random order that makes both the storage swap and
// the copy happen and fills the server's queue so that reflected messages
// wait there for the client to make room. Every message must come back
// whole and in order.
func TestReflectAllModel(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 4 << 10, OutQuota: 2 << 10})
	c, s := connect(t, ns, l)
	if err := s.ReflectAll(); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	rng := rand.New(rand.NewPCG(3, 4))
	var sent [][]byte
	back := 0
	seq := byte(0)
	for step := 0; step < 20000; step++ {
		if rng.IntN(2) == 0 {
			m := make([]byte, rng.IntN(1500))
			for i := range m {
				m[i] = seq + byte(i)
			}
			n, err := c.WriteContext(done, m)
			switch {
			case err == nil && n == len(m):
				sent = append(sent, m)
				seq++
			case errors.Is(err, context.Canceled) && n == 0: // both queues full
			default:
				t.Fatalf("step %d: write of %d bytes: %d, %v", step, len(m), n, err)
			}
			continue
		}
		buf := make([]byte, 2048)
		n, more, err := c.TryRead(buf)
		if errors.Is(err, ErrWouldBlock) {
			if back != len(sent) {
				t.Fatalf("step %d: nothing to read with %d messages sent and %d back", step, len(sent), back)
			}
			continue
		}
		if err != nil || more || back >= len(sent) || !bytes.Equal(buf[:n], sent[back]) {
			t.Fatalf("step %d: read %d bytes (more %v, %v), want message %d of %d", step, n, more, err, back, len(sent))
		}
		back++
	}
	if back < 2000 {
		t.Fatalf("only %d messages made the round trip", back)
	}
}

// TestReflectAllLong: messages longer than the quotas are read by the
// client in place, from its own write, both by Transceive and by a Write
// with a reader beside it; shorter messages queued behind them follow in
// order.
func TestReflectAllLong(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 1 << 10, OutQuota: 512})
	c, s := connect(t, ns, l)
	if err := s.ReflectAll(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, size := range []int{0, 1, 512, 513, 1024, 1025, 10000} {
		in := bytes.Repeat([]byte{byte(size)}, size)
		out := make([]byte, size+1)
		n, more, err := c.Transceive(ctx, in, out)
		if err != nil || more || !bytes.Equal(out[:n], in) {
			t.Fatalf("Transceive of %d bytes: %d (more %v), %v", size, n, more, err)
		}
	}

	// A writer and a reader: long and short messages interleaved.
	sizes := []int{3000, 10, 600, 5000, 0, 511, 1500, 7}
	errc := make(chan error, 1)
	go func() {
		for i, size := range sizes {
			if _, err := c.Write(bytes.Repeat([]byte{byte(i)}, size)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, 8192)
	for i, size := range sizes {
		var got []byte
		for {
			n, more, err := c.ReadMsg(ctx, buf[:700]) // long messages in parts
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			got = append(got, buf[:n]...)
			if !more {
				break
			}
		}
		if !bytes.Equal(got, bytes.Repeat([]byte{byte(i)}, size)) {
			t.Fatalf("message %d: %d bytes back, want %d", i, len(got), size)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestReflectAllQueued: messages written before ReflectAll are reflected
// by it; a writer blocked on a full queue goes on once the client reads.
func TestReflectAllQueued(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 8, OutQuota: 8})
	c, s := connect(t, ns, l)
	c.Write([]byte("12345678"))
	if err := s.ReflectAll(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("abcdefgh")) // waits in the server's queue: the client's is full
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("ABCDEFGH")) // blocks: both queues are full
		wrote <- err
	}()
	select {
	case err := <-wrote:
		t.Fatalf("Write returned %v with both queues full", err)
	case <-time.After(20 * time.Millisecond):
	}
	buf := make([]byte, 16)
	for _, want := range []string{"12345678", "abcdefgh", "ABCDEFGH"} {
		n, _, err := c.ReadMsg(context.Background(), buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, want)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
}

// TestReflectAllClose: the reflecting end closes when the client does,
// and the instance is released; ReflectAll refuses what Reflect refuses.
func TestReflectAllClose(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	if err := s.ReflectAll(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("left behind"))
	c.Close()
	if st := s.State(); st != StateDisconnected {
		t.Fatalf("server end state %d after the client closed, want %d", st, StateDisconnected)
	}
	if n := l.Pipe().Instances(); n != 0 {
		t.Fatalf("%d instances after both ends closed", n)
	}

	// The client gone before ReflectAll: the end closes at once.
	c2, s2 := connect(t, ns, l)
	c2.Close()
	if err := s2.ReflectAll(); err != nil || s2.State() != StateDisconnected {
		t.Fatalf("ReflectAll after the client closed: %v, state %d", err, s2.State())
	}

	for _, tt := range []struct {
		name  string
		cfg   Config
		setup func(s *End)
		want  error
	}{
		{"byte pipe", byteDuplex, nil, ErrBadState},
		{"inbound", Config{Mode: MessageMode, Direction: Inbound}, nil, ErrBadState},
		{"byte read mode", msgDuplex, func(s *End) { s.SetReadMode(ByteMode) }, ErrBadState},
		{"closed end", msgDuplex, func(s *End) { s.Close() }, ErrClosed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns, l := newPipe(t, tt.cfg)
			_, s := connect(t, ns, l)
			if tt.setup != nil {
				tt.setup(s)
			}
			if err := s.ReflectAll(); !errors.Is(err, tt.want) {
				t.Fatalf("ReflectAll: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestReflectAllAbort: a long write given up before the client read it
// all ends where the client is, and the next message comes back whole.
func TestReflectAllAbort(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 16, OutQuota: 16})
	c, s := connect(t, ns, l)
	if err := s.ReflectAll(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	long := bytes.Repeat([]byte("x"), 100)
	res := make(chan int, 1)
	go func() {
		n, _ := c.WriteContext(ctx, long)
		res <- n
	}()
	buf := make([]byte, 10)
	if n, more, err := c.ReadMsg(context.Background(), buf); err != nil || !more || n != 10 {
		t.Fatalf("first part of the long message: %d (more %v), %v", n, more, err)
	}
	if n := <-res; n != 10 {
		t.Fatalf("the given-up write reports %d bytes read, want 10", n)
	}
	if n, more, err := c.ReadMsg(context.Background(), buf); err != nil || more || n != 0 {
		t.Fatalf("rest of the given-up message: %d (more %v), %v; want its end", n, more, err)
	}
	c.Write([]byte("next"))
	if n, _, err := c.ReadMsg(context.Background(), buf); err != nil || string(buf[:n]) != "next" {
		t.Fatalf("after the given-up message: %q, %v", buf[:n], err)
	}
}

func TestReflectAllAllocs(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	if err := s.ReflectAll(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, size := range []int{64, 64 << 10} {
		msg := make([]byte, size)
		buf := make([]byte, size)
		round := func() {
			if n, _, err := c.Transceive(ctx, msg, buf); err != nil || n != size {
				t.Fatalf("Transceive: %d, %v", n, err)
			}
		}
		round()
		if a := testing.AllocsPerRun(100, round); a != 0 {
			t.Errorf("Transceive of %d bytes: %v allocs per run", size, a)
		}
	}
}
