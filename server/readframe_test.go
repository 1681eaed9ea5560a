package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

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
			for i, n := range tt.sizes {
				p, err := c.readFrame()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if want := bytes.Repeat([]byte{byte(i + 1)}, n); !bytes.Equal(p, want) {
					t.Fatalf("frame %d: got %d bytes, want %d bytes of %d", i, len(p), n, i+1)
				}
				if (c.big != nil) != (n > small) {
					t.Errorf("frame %d (%d B): pooled buffer in use = %v", i, n, c.big != nil)
				}
			}
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
