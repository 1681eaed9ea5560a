package pipe

import (
	"bytes"
	"context"
	"testing"
)

// modelQueue is the obvious slice-of-messages queue the ring is checked
// against.
type modelQueue struct {
	msgs [][]byte // message mode: one entry per message; byte mode: one entry per write
}

func (m *modelQueue) bytes() int {
	n := 0
	for _, b := range m.msgs {
		n += len(b)
	}
	return n
}

func (m *modelQueue) readMsg(p []byte) (int, bool) {
	first := m.msgs[0]
	n := copy(p, first)
	if n == len(first) {
		m.msgs = m.msgs[1:]
		return n, false
	}
	m.msgs[0] = first[n:]
	return n, true
}

func (m *modelQueue) readBytes(p []byte) int {
	n := 0
	for len(m.msgs) > 0 {
		c := copy(p[n:], m.msgs[0])
		n += c
		if c < len(m.msgs[0]) {
			m.msgs[0] = m.msgs[0][c:]
			break
		}
		m.msgs = m.msgs[1:]
	}
	return n
}

// FuzzQueue drives the ring queue with operations decoded from the input
// and compares every result with modelQueue.
func FuzzQueue(f *testing.F) {
	f.Add(true, []byte{0, 10, 1, 3, 0, 200, 2, 50, 3, 7, 1, 1})
	f.Add(false, []byte{0, 255, 0, 255, 0, 255, 1, 100, 2, 250, 0, 30, 3, 9})
	f.Add(true, []byte{0, 0, 0, 0, 2, 0, 1, 0, 3, 0})
	f.Fuzz(func(t *testing.T, message bool, ops []byte) {
		q := newQueue(message, 300)
		var m modelQueue
		next := byte(0)
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%4, int(ops[i+1])
			switch op {
			case 0: // write arg bytes
				if !message && arg == 0 {
					continue
				}
				p := make([]byte, arg)
				for j := range p {
					p[j] = next
					next++
				}
				if message {
					if !q.fits(len(p)) {
						continue
					}
					q.pushMsg(p)
				} else {
					q.pushBytes(p)
				}
				m.msgs = append(m.msgs, p)
			case 1, 2: // read up to arg bytes: message / byte read mode
				if q.empty() != (len(m.msgs) == 0) {
					t.Fatalf("empty() = %v, model has %d entries", q.empty(), len(m.msgs))
				}
				if q.empty() {
					continue
				}
				got := make([]byte, arg)
				want := make([]byte, arg)
				var n, wn int
				var more, wmore bool
				if op == 1 && message {
					n, more = q.readMsg(got)
					wn, wmore = m.readMsg(want)
				} else {
					n = q.readBytes(got)
					wn = m.readBytes(want)
				}
				if n != wn || more != wmore || !bytes.Equal(got[:n], want[:wn]) {
					t.Fatalf("read %d: ring %d %v %x, model %d %v %x", arg, n, more, got[:n], wn, wmore, want[:wn])
				}
			case 3: // peek
				got := make([]byte, arg)
				n := q.peekAt(got, 0)
				want := make([]byte, 0, arg)
				for _, b := range m.msgs {
					want = append(want, b...)
				}
				want = want[:min(arg, len(want))]
				if !bytes.Equal(got[:n], want) {
					t.Fatalf("peek %d: %x, want %x", arg, got[:n], want)
				}
			}
			if q.n != m.bytes() {
				t.Fatalf("queued %d bytes, model %d", q.n, m.bytes())
			}
			if message && q.lcount != len(m.msgs) {
				t.Fatalf("queued %d messages, model %d", q.lcount, len(m.msgs))
			}
		}
	})
}

// TestAllocs pins the hot path at zero allocations once the queues have
// grown to their working size.
func TestAllocs(t *testing.T) {
	ns, l := newPipe(t, msgDuplex)
	c, s := connect(t, ns, l)
	ctx := context.Background()
	msg := make([]byte, 4096)
	buf := make([]byte, 4096)
	warm := func() {
		c.Write(msg)
		s.TryRead(buf)
		s.Write(msg)
		c.ReadMsg(ctx, buf)
	}
	warm()
	tests := []struct {
		name string
		f    func()
	}{
		{"Write+TryRead", func() {
			c.Write(msg)
			s.TryRead(buf)
		}},
		{"WriteContext+ReadMsg", func() {
			s.WriteContext(ctx, msg)
			c.ReadMsg(ctx, buf)
		}},
		{"partial reads", func() {
			c.Write(msg)
			for {
				if _, more, _ := s.TryRead(buf[:1000]); !more {
					break
				}
			}
		}},
		{"Peek", func() { c.Peek(buf) }},
		{"TryRead empty", func() { s.TryRead(buf) }},
	}
	for _, tt := range tests {
		if a := testing.AllocsPerRun(100, tt.f); a != 0 {
			t.Errorf("%s: %v allocs per run", tt.name, a)
		}
	}

	// Transceive against a server end answered by a goroutine.
	done := make(chan struct{})
	go func() { echo(s); close(done) }()
	defer func() { c.Close(); <-done }()
	c.Transceive(ctx, msg, buf) // warm up the echo buffer and both queues
	if a := testing.AllocsPerRun(100, func() { c.Transceive(ctx, msg, buf) }); a != 0 {
		t.Errorf("Transceive: %v allocs per run", a)
	}
}

func benchmarkTransceive(b *testing.B, size int) {
	ns, l := newPipe(b, msgDuplex)
	c, s := connect(b, ns, l)
	done := make(chan struct{})
	go func() { echo(s); close(done) }()
	defer func() { c.Close(); <-done }()
	ctx := context.Background()
	in := make([]byte, size)
	out := make([]byte, size)
	if _, _, err := c.Transceive(ctx, in, out); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(2 * size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if n, more, err := c.Transceive(ctx, in, out); err != nil || more || n != size {
			b.Fatal(n, more, err)
		}
	}
}

func BenchmarkTransceive64(b *testing.B)  { benchmarkTransceive(b, 64) }
func BenchmarkTransceive64K(b *testing.B) { benchmarkTransceive(b, 64<<10) }

func BenchmarkWriteRead64(b *testing.B) {
	ns, l := newPipe(b, byteDuplex)
	c, s := connect(b, ns, l)
	msg := make([]byte, 64)
	buf := make([]byte, 64)
	b.SetBytes(64)
	b.ReportAllocs()
	for b.Loop() {
		c.Write(msg)
		s.TryRead(buf)
	}
}

// openModel is a message queue whose last message may be open: its
// bytes are read in place from its writer's buffer.
type openModel struct {
	msgs []openMsg
}

type openMsg struct {
	data []byte // unread bytes
	open bool   // read in place
	read int    // bytes read of it
}

func (m *openModel) queued() int {
	n := 0
	for _, x := range m.msgs {
		if !x.open {
			n += len(x.data)
		}
	}
	return n
}

func (m *openModel) open() bool { return len(m.msgs) > 0 && m.msgs[len(m.msgs)-1].open }

// FuzzQueueOpen drives a message queue with whole and open (long)
// messages, aborts and reads in both read modes, and compares every
// result with openModel.
func FuzzQueueOpen(f *testing.F) {
	f.Add([]byte{1, 10, 3, 5, 2, 20, 3, 50, 0, 5, 2, 200, 3, 200, 3, 200})
	f.Add([]byte{0, 30, 1, 0, 4, 7, 2, 9, 5, 0, 3, 100})
	f.Add([]byte{1, 0, 3, 3, 5, 0, 3, 255, 1, 1, 5, 0, 0, 0, 4, 255})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const quota = 64
		q := newQueue(true, quota)
		var m openModel
		next := byte(0)
		fill := func(n int) []byte {
			p := make([]byte, n)
			for i := range p {
				p[i] = next
				next++
			}
			return p
		}
		var seq uint64
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%6, int(ops[i+1])
			switch op {
			case 0, 2: // a whole message
				if !q.fits(arg) {
					if !m.open() && m.queued()+arg <= quota && len(m.msgs) < q.maxMsgs {
						t.Fatalf("fits(%d) false with %d queued and no open message", arg, m.queued())
					}
					continue
				}
				p := fill(arg)
				q.pushMsg(p)
				m.msgs = append(m.msgs, openMsg{data: p})
			case 1: // a long message, read in place
				if !q.canOpen() {
					continue
				}
				p := fill(quota + 1 + arg)
				seq = q.openPend(p)
				m.msgs = append(m.msgs, openMsg{data: p, open: true})
			case 3, 4: // read up to arg bytes: message / byte read mode
				if q.empty() != (len(m.msgs) == 0) {
					t.Fatalf("empty() = %v, model has %d messages", q.empty(), len(m.msgs))
				}
				if q.empty() {
					continue
				}
				got := make([]byte, arg)
				var n int
				var more, wmore bool
				var want []byte
				wasOpen := m.open()
				if op == 3 {
					n, more = q.readMsg(got)
					first := &m.msgs[0]
					k := min(arg, len(first.data))
					want = first.data[:k]
					first.data = first.data[k:]
					first.read += k
					if len(first.data) == 0 {
						m.msgs = m.msgs[1:]
					} else {
						wmore = true
					}
				} else {
					n = q.readBytes(got)
					for len(m.msgs) > 0 {
						first := &m.msgs[0]
						k := min(arg-len(want), len(first.data))
						want = append(want, first.data[:k]...)
						first.data = first.data[k:]
						first.read += k
						if len(first.data) > 0 {
							break
						}
						m.msgs = m.msgs[1:]
					}
				}
				if n != len(want) || more != wmore || !bytes.Equal(got[:n], want) {
					t.Fatalf("read %d (mode %d): queue %d %v %x, model %d %v %x", arg, op, n, more, got[:n], len(want), wmore, want)
				}
				if wasOpen && !m.open() && q.doneSeq != seq {
					t.Fatalf("doneSeq %d, want %d once the open message is read", q.doneSeq, seq)
				}
			case 5: // the writer gives up
				if !m.open() {
					continue
				}
				last := &m.msgs[len(m.msgs)-1]
				if n := q.abort(); n != last.read {
					t.Fatalf("abort = %d, the reader read %d", n, last.read)
				}
				if last.read == 0 {
					m.msgs = m.msgs[:len(m.msgs)-1]
				} else {
					last.data, last.open = nil, false // ends with an empty read
				}
			}
			if q.n != m.queued() || q.lcount != len(m.msgs) || q.isOpen != m.open() {
				t.Fatalf("queued %d bytes in %d messages (open %v), model %d in %d (%v)", q.n, q.lcount, q.isOpen, m.queued(), len(m.msgs), m.open())
			}
			if q.n > quota || len(q.buf) > quota {
				t.Fatalf("%d bytes queued, storage %d, quota %d", q.n, len(q.buf), quota)
			}
			avail := 0
			for _, x := range m.msgs {
				avail += len(x.data)
			}
			if q.available() != avail {
				t.Fatalf("available %d, model %d", q.available(), avail)
			}
		}
	})
}
