package sockio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testbin"
)

func tcpPair(t *testing.T) (a, b net.Conn) {
	return testbin.ConnPair(t, "tcp", "127.0.0.1:0")
}

func unixPair(t *testing.T) (a, b net.Conn) {
	if !fdCalls {
		t.Skip("no unix sockets here")
	}
	return testbin.ConnPair(t, "unix", filepath.Join(t.TempDir(), "s"))
}

// wrapped embeds a *net.TCPConn (and so has its SyscallConn) but reads
// through its own method: Conn must use that method.
type wrapped struct {
	*net.TCPConn
	reads int
}

func (w *wrapped) Read(p []byte) (int, error) {
	w.reads++
	return w.TCPConn.Read(p)
}

func TestRawOnlyForSockets(t *testing.T) {
	a, _ := tcpPair(t)
	var c Conn
	c.Init(a)
	if (c.RawConn() != nil) != fdCalls {
		t.Errorf("TCP socket: through RawConn = %v on %s", c.RawConn() != nil, runtime.GOOS)
	}
	w := &wrapped{TCPConn: a.(*net.TCPConn)}
	c.Init(w)
	if c.RawConn() != nil {
		t.Error("a type wrapping a TCP socket is read raw, bypassing its Read")
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	c.Init(p1)
	if c.RawConn() != nil {
		t.Error("net.Pipe is read raw")
	}
}

// eachPair runs f on a connected TCP pair and a connected Unix pair.
func eachPair(t *testing.T, f func(t *testing.T, a, b net.Conn)) {
	for _, pair := range []struct {
		name string
		mk   func(*testing.T) (net.Conn, net.Conn)
	}{{"tcp", tcpPair}, {"unix", unixPair}} {
		t.Run(pair.name, func(t *testing.T) {
			a, b := pair.mk(t)
			f(t, a, b)
		})
	}
}

// transfer runs write (which must write want) in a goroutine while r
// reads len(want) bytes, and fails the test unless they arrive intact.
func transfer(t *testing.T, what string, write func() (int, error), r *Conn, want []byte) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		n, err := write()
		if err == nil && n != len(want) {
			err = fmt.Errorf("wrote %d of %d", n, len(want))
		}
		errc <- err
	}()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("%s: read: %v", what, err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("%s: write: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: data differs", what)
	}
}

// TestRoundTrip sends messages of many sizes each way through Conn, the
// largest above MaxChunk (written through net.Conn, read in chunks).
func TestRoundTrip(t *testing.T) {
	eachPair(t, func(t *testing.T, a, b net.Conn) {
		var ca, cb Conn
		ca.Init(a)
		cb.Init(b)
		for _, n := range []int{1, 68, 4096, 65536 + 200, MaxChunk, MaxChunk + 1, 3<<20 + 7} {
			msg := bytes.Repeat([]byte{byte(n)}, n)
			msg[0], msg[n-1] = 'a', 'z'
			transfer(t, fmt.Sprintf("%d bytes", n), func() (int, error) { return ca.Write(msg) }, &cb, msg)
			transfer(t, fmt.Sprintf("%d bytes back", n), func() (int, error) { return cb.Write(msg) }, &ca, msg)
		}
	})
}

func TestOneReadAtMostMaxChunk(t *testing.T) {
	a, b := tcpPair(t)
	var cb Conn
	cb.Init(b)
	if cb.RawConn() == nil {
		t.Skip("not raw here")
	}
	go a.Write(make([]byte, 2*MaxChunk))
	time.Sleep(50 * time.Millisecond)
	n, err := cb.Read(make([]byte, 4*MaxChunk))
	if err != nil || n > MaxChunk || n == 0 {
		t.Fatalf("read %d, %v: want 1..%d bytes", n, err, MaxChunk)
	}
}

func TestEOFDeadlineClose(t *testing.T) {
	a, b := tcpPair(t)
	var cb Conn
	cb.Init(b)
	buf := make([]byte, 100)

	// A read deadline ends a waiting Read with a timeout.
	b.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	start := time.Now()
	if _, err := cb.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("deadline error %v is not a net.Error timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("deadline read took %v", d)
	}
	b.SetReadDeadline(time.Time{})

	// Data, then EOF when the peer closes.
	a.Write([]byte("hi"))
	a.Close()
	got, err := io.ReadAll(&cb)
	if err != nil || string(got) != "hi" {
		t.Fatalf("read to EOF: %q, %v", got, err)
	}

	// Close wakes a waiting Read.
	c2, d2 := tcpPair(t)
	var cd Conn
	cd.Init(d2)
	errc := make(chan error, 1)
	go func() {
		_, err := cd.Read(buf)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	d2.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake Read")
	}
	_ = c2
}

// TestWriteWaitsForRoom: a Write the socket has no room for waits in the
// poller until the peer reads (not in the kernel), and a write deadline
// ends the wait.
func TestWriteWaitsForRoom(t *testing.T) {
	a, b := tcpPair(t)
	a.(*net.TCPConn).SetWriteBuffer(16 << 10)
	b.(*net.TCPConn).SetReadBuffer(16 << 10)
	var ca Conn
	ca.Init(a)
	chunk := make([]byte, 64<<10)
	a.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
	var sent int
	var err error
	for range 1000 {
		var n int
		n, err = ca.Write(chunk)
		sent += n
		if err != nil {
			break
		}
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("writing with nobody reading: %v after %d bytes, want a deadline error", err, sent)
	}
	a.SetWriteDeadline(time.Time{})
	// The peer reads everything, then the next Write completes.
	done := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, b)
		done <- n
	}()
	if _, err := ca.Write(chunk); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if n := <-done; n != int64(sent+len(chunk)) {
		t.Errorf("peer read %d bytes, want %d", n, sent+len(chunk))
	}
}

// TestWriteTwo: a and b arrive in order, whole, for every split (either
// empty, either large, more than MaxChunk together), over TCP with small
// socket buffers (so that writev writes part and waits for room) and
// over a Unix socket.
func TestWriteTwo(t *testing.T) {
	eachPair(t, func(t *testing.T, a, b net.Conn) {
		if tc, ok := a.(*net.TCPConn); ok {
			tc.SetWriteBuffer(8 << 10)
			b.(*net.TCPConn).SetReadBuffer(8 << 10)
		}
		var ca, cb Conn
		ca.Init(a)
		cb.Init(b)
		for _, sz := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {64, 1}, {68, 65536}, {1, 300 << 10},
			{100 << 10, 100 << 10}, {MaxChunk - 64, 64}, {MaxChunk - 64, 65}} {
			msg := make([]byte, sz[0]+sz[1])
			for i := range msg {
				msg[i] = byte(i*7 + i>>8)
			}
			transfer(t, fmt.Sprint(sz), func() (int, error) { return ca.WriteTwo(msg[:sz[0]:sz[0]], msg[sz[0]:]) }, &cb, msg)
		}
	})
}

func TestNoAllocations(t *testing.T) {
	a, b := tcpPair(t)
	var ca, cb Conn
	ca.Init(a)
	cb.Init(b)
	msg := make([]byte, 200)
	buf := make([]byte, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := ca.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(&cb, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per write and read, want 0", allocs)
	}
	hdr, body := msg[:64], make([]byte, 16<<10)
	allocs = testing.AllocsPerRun(200, func() {
		if _, err := ca.WriteTwo(hdr, body); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(&cb, buf[:len(hdr)]); err != nil {
			t.Fatal(err)
		}
		for n := len(body); n > 0; {
			m, err := cb.Read(buf[:min(n, len(buf))])
			if err != nil {
				t.Fatal(err)
			}
			n -= m
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per WriteTwo and read, want 0", allocs)
	}
}

// BenchmarkPingPong is a 68-byte TCP ping-pong through Conn (raw: true)
// and through net.Conn.
func BenchmarkPingPong(b *testing.B) {
	for _, raw := range []bool{true, false} {
		name := "net.Conn"
		if raw {
			name = "sockio"
		}
		b.Run(name, func(b *testing.B) {
			cn, sn := testbin.ConnPair(b, "tcp", "127.0.0.1:0")
			// conn reads and writes nc through Conn's raw calls (raw) or
			// through nc's own methods.
			conn := func(nc net.Conn) *Conn {
				c := new(Conn)
				if raw {
					c.Init(nc)
				} else {
					c.nc = nc
				}
				return c
			}
			go func() {
				s := conn(sn)
				p := make([]byte, 68)
				for {
					if _, err := io.ReadFull(s, p); err != nil {
						return
					}
					if _, err := s.Write(p); err != nil {
						return
					}
				}
			}()
			c := conn(cn)
			p := make([]byte, 68)
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Write(p); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
