package pipe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// TestLendModel: the client lends or writes messages, the server reads
// some of a lent message before Settle, none or all of it, with buffers of
// assorted sizes; after Settle the lent buffer is overwritten. The server
// must read every message whole, in order and with its boundaries.
func TestLendModel(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 4 << 10, OutQuota: 4 << 10})
	c, s := connect(t, ns, l)
	rng := rand.New(rand.NewPCG(5, 6))
	var want [][]byte // messages not yet read whole, in order
	var part []byte   // what was read of want[0]
	read := func(k int) {
		buf := make([]byte, k)
		n, more, err := s.TryRead(buf)
		if errors.Is(err, ErrWouldBlock) {
			if len(want) > 0 {
				t.Fatalf("nothing to read with %d messages queued", len(want))
			}
			return
		}
		if err != nil || len(want) == 0 {
			t.Fatalf("read: %d bytes, %v, with %d messages queued", n, err, len(want))
		}
		part = append(part, buf[:n]...)
		m := want[0]
		if !bytes.Equal(part, m[:min(len(part), len(m))]) || len(part) > len(m) || more != (len(part) < len(m)) {
			t.Fatalf("read %d bytes (more %v) of a %d-byte message: wrong bytes or boundary", len(part), more, len(m))
		}
		if !more {
			want, part = want[1:], nil
		}
	}
	seq := byte(0)
	for step := 0; step < 5000; step++ {
		m := make([]byte, rng.IntN(1200))
		for i := range m {
			m[i] = seq ^ byte(i*7)
		}
		seq++
		lend := rng.IntN(3) != 0
		var lseq uint64
		var err error
		if lend {
			lseq, err = c.Lend(m)
		} else {
			done, cancel := context.WithCancel(context.Background())
			cancel()
			_, err = c.WriteContext(done, m)
			if errors.Is(err, context.Canceled) {
				err = ErrWouldBlock
			}
		}
		switch {
		case errors.Is(err, ErrWouldBlock): // full: drain a little
			read(1 + rng.IntN(2000))
			continue
		case err != nil:
			t.Fatalf("step %d: %v", step, err)
		}
		kept := bytes.Clone(m)
		want = append(want, kept)
		for range rng.IntN(3) { // before Settle: in place
			read(1 + rng.IntN(1500))
		}
		if lend {
			c.Settle(lseq)
			for i := range m {
				m[i] = 0xEE // the lender reuses its buffer
			}
		}
		for range rng.IntN(3) {
			read(1 + rng.IntN(1500))
		}
	}
	for len(want) > 0 {
		read(2000)
	}
}

// TestLendReflect: a lent message reflected by ReflectAll or by a Reflect
// goroutine is read back in place; a reply read in part before Settle is
// read on after it, from the queue.
func TestLendReflect(t *testing.T) {
	for _, inline := range []bool{true, false} {
		ns, l := newPipe(t, msgDuplex)
		c, s := connect(t, ns, l)
		if inline {
			if err := s.ReflectAll(); err != nil {
				t.Fatal(err)
			}
		} else {
			go func() {
				for {
					if _, err := s.Reflect(context.Background()); err != nil {
						return
					}
				}
			}()
		}
		ctx := context.Background()
		for _, size := range []int{1, 100, 64 << 10} {
			m := bytes.Repeat([]byte{byte(size)}, size)
			orig := bytes.Clone(m)
			seq, err := c.Lend(m)
			if err != nil {
				t.Fatal(err)
			}
			half := make([]byte, (size+1)/2)
			n, more, err := c.ReadMsg(ctx, half)
			if err != nil || n != len(half) || more != (size > 1) {
				t.Fatalf("inline %v, %d bytes: first read %d (more %v), %v", inline, size, n, more, err)
			}
			c.Settle(seq)
			clear(m)
			rest := make([]byte, size)
			k := 0
			if more {
				k, more, err = c.ReadMsg(ctx, rest)
			}
			if err != nil || more || !bytes.Equal(append(half[:n:n], rest[:k]...), orig) {
				t.Fatalf("inline %v, %d bytes: the reply read across Settle differs (%d+%d bytes, more %v, %v)", inline, size, n, k, more, err)
			}
		}
		c.Close()
	}
}

func TestLendErrors(t *testing.T) {
	ns, l := newPipe(t, Config{Mode: MessageMode, Direction: Duplex, InQuota: 8})
	c, s := connect(t, ns, l)
	if _, err := c.Lend(make([]byte, 9)); !errors.Is(err, ErrWouldBlock) {
		t.Errorf("Lend over the quota: %v, want ErrWouldBlock", err)
	}
	seq, err := c.Lend(nil)
	if err != nil || seq != 0 {
		t.Errorf("Lend of an empty message: %d, %v; want 0, nil", seq, err)
	}
	if n, more, err := s.TryRead(make([]byte, 4)); err != nil || n != 0 || more {
		t.Errorf("the empty message: %d (more %v), %v", n, more, err)
	}
	// The lender closing before Settle drops the message; Settle is then
	// a no-op.
	seq, err = c.Lend([]byte("abc"))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Settle(seq)
	if _, err := c.Lend([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Lend on a closed end: %v, want ErrClosed", err)
	}
	if _, _, err := s.TryRead(make([]byte, 4)); !errors.Is(err, io.EOF) {
		t.Errorf("server read after the client closed: %v, want io.EOF", err)
	}

	ns2, l2 := newPipe(t, byteDuplex)
	c2, _ := connect(t, ns2, l2)
	if _, err := c2.Lend([]byte("x")); !errors.Is(err, ErrBadState) {
		t.Errorf("Lend on a byte pipe: %v, want ErrBadState", err)
	}
	ns3, l3 := newPipe(t, msgDuplex)
	c3, s3 := connect(t, ns3, l3)
	s3.Close()
	if _, err := c3.Lend([]byte("x")); !errors.Is(err, ErrBroken) {
		t.Errorf("Lend to a closed peer: %v, want ErrBroken", err)
	}
}

func TestLendAllocs(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	if err := s.ReflectAll(); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 64<<10)
	buf := make([]byte, len(msg))
	round := func() {
		seq, err := c.Lend(msg)
		if err != nil {
			t.Fatal(err)
		}
		n, _, err := c.TryRead(buf)
		c.Settle(seq)
		if err != nil || n != len(msg) {
			t.Fatalf("TryRead: %d, %v", n, err)
		}
	}
	round()
	if a := testing.AllocsPerRun(100, round); a != 0 {
		t.Errorf("Lend+TryRead+Settle: %v allocs per run", a)
	}
}
