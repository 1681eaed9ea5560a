package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testbin"
	"github.com/smbpipe/smbpipe/policy"
)

// streamConn is a fakeConn whose reads return the bytes of a stream, at
// most chunk bytes per Read (0: as much as fits), and count the calls.
type streamConn struct {
	fakeConn
	data  []byte
	chunk int
	reads int
}

func (s *streamConn) Read(p []byte) (int, error) {
	s.reads++
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if s.chunk > 0 {
		n = min(n, s.chunk)
	}
	n = copy(p, s.data[:min(n, len(s.data))])
	s.data = s.data[n:]
	return n, nil
}

// frameOf returns a transport frame of n payload bytes, each byte set to
// tag.
func frameOf(n int, tag byte) []byte {
	f := make([]byte, 4+n)
	binary.BigEndian.PutUint32(f, uint32(n))
	for i := range n {
		f[4+i] = tag
	}
	return f
}

// TestReadFrame checks the buffered frame reader: frames come back whole
// and in order however the stream is cut, small frames cost one read (and
// pipelined ones none), larger ones go through a pooled buffer.
func TestReadFrame(t *testing.T) {
	small := readBufSize - 4 // the largest frame read through rd
	tests := []struct {
		name  string
		sizes []int
		chunk int
		reads int // Read calls including the final EOF; 0: not checked
	}{
		{"one small frame, one read", []int{120}, 0, 2},
		{"pipelined small frames, one read", []int{120, 64, 200, 8}, 0, 2},
		{"largest buffered frame", []int{small}, 0, 2},
		{"smallest pooled frame", []int{small + 1}, 0, 3},
		{"large then small", []int{100 << 10, 70}, 0, 0},
		{"byte at a time", []int{70, 300, small, small + 1, 5}, 1, 0},
		{"header across the buffer end", []int{small - 10, small - 3, 9, small, 1}, 0, 0},
		{"odd chunks", []int{1000, 3000, 17, small, 6000, 2}, 777, 0},
		{"empty frames", []int{0, 0, 64, 0}, 3, 0},
	}
	srv, _ := newTestServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stream []byte
			for i, n := range tt.sizes {
				stream = append(stream, frameOf(n, byte(i+1))...)
			}
			sc := &streamConn{data: stream, chunk: tt.chunk}
			c := newConn(srv, sc, policy.Limits{}.WithDefaults())
			defer c.teardown()
			if c.raw.rc != nil {
				t.Fatal("raw reads on a conn that is not a socket")
			}
			readFrames(t, c, tt.sizes, small)
			if _, err := c.readFrame(); err != io.EOF {
				t.Errorf("after the last frame: %v, want io.EOF", err)
			}
			if c.big != nil {
				t.Error("pooled frame buffer kept after the next read")
			}
			if tt.reads > 0 && sc.reads != tt.reads {
				t.Errorf("%d Read calls, want %d", sc.reads, tt.reads)
			}
		})
	}
}

// readFrames reads len(sizes) frames from c and checks them against
// frameOf(sizes[i], i+1); frames over small must be in a pooled frame
// buffer.
func readFrames(t *testing.T, c *conn, sizes []int, small int) {
	t.Helper()
	for i, n := range sizes {
		p, err := c.readFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if want := bytes.Repeat([]byte{byte(i + 1)}, n); !bytes.Equal(p, want) {
			t.Fatalf("frame %d: got %d bytes, want %d bytes of %d", i, len(p), n, i+1)
		}
		// A large frame is in a pooled frame buffer: its own (big) or,
		// after another large frame, the read buffer itself (predictNext).
		if n > small && c.big == nil && !c.rdBig {
			t.Errorf("frame %d (%d B): not in a pooled frame buffer", i, n)
		}
		if n <= small && c.big != nil {
			t.Errorf("frame %d (%d B): pooled frame buffer in use", i, n)
		}
	}
}

// TestReadFrameRaw runs the reader over a real loopback socket (raw reads
// on Unix): frames come back whole however the writer cuts them, and a
// connection waiting for data holds no read buffer.
func TestReadFrameRaw(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no raw reads on this platform")
	}
	small := readBufSize - 4
	tests := []struct {
		name  string
		sizes []int
		chunk int
	}{
		{"small frames", []int{120, 64, 200, 8, 0}, 0},
		{"largest buffered, smallest pooled", []int{small, 70, small + 1}, 0},
		{"large frames pooled", []int{65660, 5, 300 << 10, 9}, 0},
		{"odd chunks", []int{1000, 3000, 17, small, 6000, 2, 70000}, 777},
		{"byte at a time", []int{70, 3, 300}, 1},
	}
	srv, _ := newTestServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, sc := testbin.ConnPair(t, "tcp", "127.0.0.1:0")
			c := newConn(srv, sc, policy.Limits{}.WithDefaults())
			defer c.teardown()
			if c.raw.rc == nil {
				t.Fatal("no raw reads on a TCP socket")
			}
			var stream []byte
			for i, n := range tt.sizes {
				stream = append(stream, frameOf(n, byte(i+1))...)
			}
			go func() {
				for len(stream) > 0 {
					k := len(stream)
					if tt.chunk > 0 {
						k = min(k, tt.chunk)
					}
					if _, err := cli.Write(stream[:k]); err != nil {
						return
					}
					stream = stream[k:]
				}
			}()
			readFrames(t, c, tt.sizes, small)

			// Nothing more comes: the wait ends at the (handshake)
			// deadline with no buffer held.
			c.handshakeDeadline = time.Now().Add(20 * time.Millisecond)
			if _, err := c.readFrame(); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("idle read: %v, want a deadline error", err)
			}
			if c.rd != nil || c.rdp != nil || c.big != nil {
				t.Error("an idle connection holds a read buffer")
			}
			c.handshakeDeadline = time.Now().Add(time.Minute)
			cli.Close()
			if _, err := c.readFrame(); err != io.EOF {
				t.Errorf("after close: %v, want io.EOF", err)
			}
		})
	}
}

func TestReadFrameErrors(t *testing.T) {
	srv, _ := newTestServer(t)
	tooLarge := make([]byte, 4)
	binary.BigEndian.PutUint32(tooLarge, policy.DefaultMaxMessageSize+1)
	tests := []struct {
		name   string
		stream []byte
		want   error // nil: any error
	}{
		{"nothing", nil, io.EOF},
		{"half a header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"truncated small frame", frameOf(100, 1)[:50], io.ErrUnexpectedEOF},
		{"truncated large frame", frameOf(100<<10, 1)[:70<<10], io.ErrUnexpectedEOF},
		{"too large", tooLarge, nil},
		{"not a session message", []byte{0x85, 0, 0, 0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConn(srv, &streamConn{data: tt.stream}, policy.Limits{}.WithDefaults())
			defer c.teardown()
			_, err := c.readFrame()
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("readFrame: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestReadFrameAllocs pins the buffered path at zero allocations once the
// read buffer exists.
func TestReadFrameAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	srv, _ := newTestServer(t)
	frame := frameOf(150, 7)
	stream := bytes.Repeat(frame, 1000)
	sc := &streamConn{data: stream, chunk: 1000}
	c := newConn(srv, sc, policy.Limits{}.WithDefaults())
	defer c.teardown()
	if _, err := c.readFrame(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(500, func() {
		if _, err := c.readFrame(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%.1f allocations per frame, want 0", n)
	}
}

// TestReadFrameIdleTimeout: readFrame keeps an earlier read deadline to
// save timer updates (readDeadline), yet a connection sending more often
// than the idle timeout is never dropped, and an idle one is dropped no
// sooner than the timeout after its last frame.
func TestReadFrameIdleTimeout(t *testing.T) {
	const idle = 150 * time.Millisecond
	srv, _ := newTestServer(t)
	cli, sc := testbin.ConnPair(t, "tcp", "127.0.0.1:0")
	c := newConn(srv, sc, policy.Limits{IdleTimeout: idle}.WithDefaults())
	defer c.teardown()
	c.established = true
	frame := frameOf(64, 1)
	var last time.Time
	for i := range 8 {
		last = time.Now()
		if _, err := cli.Write(frame); err != nil {
			t.Fatal(err)
		}
		if _, err := c.readFrame(); err != nil {
			t.Fatalf("frame %d, sent every %v with an idle timeout of %v: %v", i, idle/2, idle, err)
		}
		time.Sleep(idle / 2)
	}
	_, err := c.readFrame()
	if !isTimeout(err) {
		t.Fatalf("idle connection: %v, want a timeout", err)
	}
	if d := time.Since(last); d < idle {
		t.Errorf("dropped %v after the last frame, before the idle timeout %v", d, idle)
	}
}

// TestReadFramePredictsLarge: after a frame too large for the read buffer,
// the next raw read takes a frame buffer with room for one like it, so
// back-to-back 64 KiB frames are read straight into it (one read system
// call each, no copy); a small frame resets the prediction, and frames
// over maxPredicted keep their own buffer.
func TestReadFramePredictsLarge(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no raw reads on this platform")
	}
	srv, _ := newTestServer(t)
	cli, sc := testbin.ConnPair(t, "tcp", "127.0.0.1:0")
	c := newConn(srv, sc, policy.Limits{}.WithDefaults())
	defer c.teardown()
	sizes := []int{70000, 70000, 65600, 100, 70000, maxPredicted, maxPredicted}
	// One frame at a time, each written once the previous one was read,
	// so that every read starts with an empty buffer.
	next := make(chan int)
	defer close(next)
	go func() {
		for i := range next {
			if _, err := cli.Write(frameOf(sizes[i], byte(i+1))); err != nil {
				return
			}
		}
	}()
	// frame i: read into the predicted buffer (true) or not. The 100 B
	// frame follows a large one (predicted, harmlessly); the 70000 B
	// after it does not; the first maxPredicted frame does not fit the
	// buffer predicted after 70000 B, and none is predicted after it.
	predicted := []bool{false, true, true, true, false, false, false}
	for i, n := range sizes {
		next <- i
		p, err := c.readFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if want := bytes.Repeat([]byte{byte(i + 1)}, n); !bytes.Equal(p, want) {
			t.Fatalf("frame %d: got %d bytes, want %d bytes of %d", i, len(p), n, i+1)
		}
		if got := c.big == nil && c.rdBig; got != predicted[i] {
			t.Errorf("frame %d (%d B): read into the predicted frame buffer = %v, want %v", i, n, got, predicted[i])
		}
	}
}
