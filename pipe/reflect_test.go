package pipe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestReflectModel drives Reflect against a model: the client writes
// messages of assorted sizes, the server reflects some of them and the
// client reads some back, in a random order that makes both the storage
// swap (one message in, nothing out) and the copy (ring wrapped or not)
// happen. Every message must come back whole and in order.
func TestReflectModel(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 1 << 20, OutQuota: 1 << 20})
	c, s := connect(t, ns, l)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var sent, reflected, back [][]byte
	seq := byte(0)
	for step := 0; step < 5000; step++ {
		switch op := rng.IntN(3); {
		case op == 0 && len(sent)-len(reflected) < 8:
			m := make([]byte, rng.IntN(700))
			for i := range m {
				m[i] = seq + byte(i)
			}
			seq++
			if _, err := c.Write(m); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, m)
		case op == 1 && len(reflected) < len(sent):
			n, err := s.Reflect(ctx)
			if err != nil || n != len(sent[len(reflected)]) {
				t.Fatalf("step %d: Reflect = %d, %v; want %d", step, n, err, len(sent[len(reflected)]))
			}
			reflected = append(reflected, sent[len(reflected)])
		case op == 2 && len(back) < len(reflected):
			buf := make([]byte, 1024)
			n, more, err := c.TryRead(buf)
			want := reflected[len(back)]
			if err != nil || more || !bytes.Equal(buf[:n], want) {
				t.Fatalf("step %d: read %d bytes (more %v, %v), want message %d of %d bytes", step, n, more, err, len(back), len(want))
			}
			back = append(back, want)
		}
	}
	if len(back) < 500 {
		t.Fatalf("only %d messages made the round trip", len(back))
	}
}

func TestReflectErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		setup func(c, s *End)
		want  error
	}{
		{"byte pipe", byteDuplex, nil, ErrBadState},
		{"inbound", Config{Mode: MessageMode, Direction: Inbound}, nil, ErrBadState},
		{"byte read mode", msgDuplex, func(c, s *End) { s.SetReadMode(ByteMode) }, ErrBadState},
		{"closed end", msgDuplex, func(c, s *End) { s.Close() }, ErrClosed},
		{"peer closed, drained", msgDuplex, func(c, s *End) { c.Close() }, io.EOF},
		{"peer closed, message left", msgDuplex, func(c, s *End) { c.Write([]byte("x")); c.Close() }, ErrBroken},
		{"complete operation, empty", msgDuplex, func(c, s *End) { s.SetCompletionMode(CompleteOperation) }, ErrWouldBlock},
		{"complete operation, no quota", Config{Mode: MessageMode, Direction: Duplex, OutQuota: 4}, func(c, s *End) {
			s.Write([]byte("full"))
			c.Write([]byte("x"))
			s.SetCompletionMode(CompleteOperation)
		}, ErrWouldBlock},
		{"read deadline", msgDuplex, func(c, s *End) { s.SetReadDeadline(time.Now().Add(10 * time.Millisecond)) }, os.ErrDeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, l := newPipe(t, tt.cfg)
			c, s := connect(t, ns, l)
			if tt.setup != nil {
				tt.setup(c, s)
			}
			if _, err := s.Reflect(context.Background()); !errors.Is(err, tt.want) {
				t.Fatalf("Reflect: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestReflectWaitsForQuota: a message that does not fit the peer's queue
// stays queued until the peer reads; then it is reflected.
func TestReflectWaitsForQuota(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, OutQuota: 8})
	c, s := connect(t, ns, l)
	s.Write([]byte("12345678"))
	c.Write([]byte("ping"))
	res := make(chan error, 1)
	go func() {
		_, err := s.Reflect(context.Background())
		res <- err
	}()
	select {
	case err := <-res:
		t.Fatalf("Reflect returned %v with the peer's queue full", err)
	case <-time.After(20 * time.Millisecond):
	}
	buf := make([]byte, 16)
	if n, _, err := c.ReadMsg(context.Background(), buf); err != nil || string(buf[:n]) != "12345678" {
		t.Fatalf("first read %q %v", buf[:n], err)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if n, _, err := c.ReadMsg(context.Background(), buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("reflected %q %v", buf[:n], err)
	}
	// ctx ends a Reflect waiting for a message.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.Reflect(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Reflect on an empty pipe: %v, want context.DeadlineExceeded", err)
	}
}

// TestReflectBlocksUntilWrite: Reflect waits for the message and wakes.
func TestReflectBlocksUntilWrite(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	go func() {
		time.Sleep(10 * time.Millisecond)
		c.Write([]byte("late"))
	}()
	if n, err := s.Reflect(context.Background()); err != nil || n != 4 {
		t.Fatalf("Reflect = %d, %v", n, err)
	}
	buf := make([]byte, 8)
	if n, _, err := c.ReadMsg(context.Background(), buf); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
}

func TestReflectAllocs(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	ctx := context.Background()
	msg := make([]byte, 64<<10)
	buf := make([]byte, len(msg))
	round := func() {
		c.Write(msg)
		s.Reflect(ctx)
		c.ReadMsg(ctx, buf)
	}
	round()
	round()
	if a := testing.AllocsPerRun(100, round); a != 0 {
		t.Errorf("Write+Reflect+ReadMsg: %v allocs per run", a)
	}
}
