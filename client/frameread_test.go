package client

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/smbpipe/smbpipe/smb2"
)

// frameOf is a transport frame of n payload bytes, each b.
func frameOf(n int, b byte) []byte {
	f := make([]byte, 4+n)
	f[1], f[2], f[3] = byte(n>>16), byte(n>>8), byte(n)
	for i := 4; i < len(f); i++ {
		f[i] = b
	}
	return f
}

// chunkReader returns the stream in pieces of at most max bytes (at
// random when rng is set) and records the size of each Read's buffer.
type chunkReader struct {
	data  []byte
	max   int
	rng   *rand.Rand
	asked []int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	r.asked = append(r.asked, len(p))
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), len(r.data))
	if r.max > 0 {
		k = min(k, r.max)
	}
	if r.rng != nil {
		k = 1 + r.rng.IntN(k)
	}
	n := copy(p, r.data[:k])
	r.data = r.data[n:]
	return n, nil
}

func TestFrameReader(t *testing.T) {
	sizes := []int{100, 70000, 70000, 64, 300, 65600, 65600, smb2.HeaderSize, 300 << 10, 70000, 9000, 200}
	var stream []byte
	for i, n := range sizes {
		stream = append(stream, frameOf(n, byte(i+1))...)
	}
	for _, tc := range []struct {
		name string
		src  *chunkReader
	}{
		{"whole", &chunkReader{data: stream}},
		{"one frame at a time", nil}, // see below
		{"4 KiB pieces", &chunkReader{data: stream, max: 4096}},
		{"byte at a time", &chunkReader{data: stream, max: 1}},
		{"random pieces", &chunkReader{data: stream, rng: rand.New(rand.NewPCG(1, 2))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			var feed func(i int)
			if src == nil {
				// each frame only once the previous one was read, so
				// every read starts with nothing buffered
				src = &chunkReader{}
				feed = func(i int) { src.data = frameOf(sizes[i], byte(i+1)) }
			}
			fr := frameReader{src: src, buf: make([]byte, readBufSize)}
			for i, n := range sizes {
				if feed != nil {
					feed(i)
				}
				frame, bp, err := fr.readFrame(8 << 20)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(frame, bytes.Repeat([]byte{byte(i + 1)}, n)) {
					t.Fatalf("frame %d: got %d bytes, want %d bytes of %d", i, len(frame), n, i+1)
				}
				if bp == nil || len(*bp) < len(frame) {
					t.Fatalf("frame %d: no pooled buffer behind it", i)
				}
				putBuf(bp)
			}
			if _, _, err := fr.readFrame(8 << 20); err != io.EOF {
				t.Errorf("after the last frame: %v, want io.EOF", err)
			}
			if feed != nil {
				// After a 70000-byte frame, the next read (of the second
				// one) asked for a buffer with room for it.
				var big int
				for _, a := range src.asked {
					if a >= 4+70000 {
						big++
					}
				}
				if big == 0 {
					t.Errorf("no read straight into a frame buffer after a large frame; reads asked for %v", src.asked)
				}
			}
		})
	}
}

func TestFrameReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  []byte
		limit int64
		want  error
		bad   bool // errFrame
	}{
		{"nothing", nil, 1 << 20, io.EOF, false},
		{"half a header", []byte{0, 0}, 1 << 20, io.ErrUnexpectedEOF, false},
		{"truncated frame", frameOf(100, 1)[:50], 1 << 20, io.ErrUnexpectedEOF, false},
		{"shorter than an SMB2 header", frameOf(10, 1), 1 << 20, ErrProtocol, true},
		{"not a session message", append([]byte{0x85}, frameOf(100, 1)[1:]...), 1 << 20, ErrProtocol, true},
		{"over the limit", frameOf(70000, 1), 65536, ErrProtocol, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr := frameReader{src: &chunkReader{data: tc.data}, buf: make([]byte, readBufSize)}
			_, _, err := fr.readFrame(tc.limit)
			var bad errFrame
			if !errors.Is(err, tc.want) || errors.As(err, &bad) != tc.bad {
				t.Errorf("err %v (frame error %v), want %v (frame error %v)", err, errors.As(err, &bad), tc.want, tc.bad)
			}
		})
	}
	// The same errors on the predicted path (after a large frame).
	for _, tc := range []struct {
		name string
		next []byte
		want error
	}{
		{"EOF", nil, io.EOF},
		{"truncated", frameOf(70000, 2)[:3000], io.ErrUnexpectedEOF},
		{"over the limit", frameOf(100000, 2), ErrProtocol},
	} {
		t.Run("predicted/"+tc.name, func(t *testing.T) {
			src := &chunkReader{data: frameOf(70000, 1)}
			fr := frameReader{src: src, buf: make([]byte, readBufSize)}
			if _, bp, err := fr.readFrame(80000); err != nil {
				t.Fatal(err)
			} else {
				putBuf(bp)
			}
			src.data = tc.next
			if _, _, err := fr.readFrame(80000); !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzFrameReader: any byte stream, cut at any sizes, gives frames within
// the limit whose bytes are the stream's, or an error; never a panic.
func FuzzFrameReader(f *testing.F) {
	f.Add(append(frameOf(70000, 1), frameOf(100, 2)...), uint16(0), uint64(1))
	f.Add(append(frameOf(70000, 1), frameOf(70000, 2)...), uint16(4096), uint64(2))
	f.Add([]byte{0, 0, 0, 64}, uint16(1), uint64(3))
	f.Fuzz(func(t *testing.T, data []byte, max uint16, seed uint64) {
		const limit = 100000
		src := &chunkReader{data: data, max: int(max), rng: rand.New(rand.NewPCG(seed, 0))}
		fr := frameReader{src: src, buf: make([]byte, 64)} // a tiny buf reaches every path
		off := 0
		for {
			frame, bp, err := fr.readFrame(limit)
			if err != nil {
				return
			}
			if len(frame) > limit || len(frame) < smb2.HeaderSize {
				t.Fatalf("frame of %d bytes, limit %d", len(frame), limit)
			}
			off += 4
			if off+len(frame) > len(data) || !bytes.Equal(frame, data[off:off+len(frame)]) {
				t.Fatalf("frame at %d differs from the stream", off)
			}
			off += len(frame)
			putBuf(bp)
		}
	})
}
