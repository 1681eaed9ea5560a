package client

import (
	"errors"
	"io"

	"github.com/smbpipe/smbpipe/smb2"
)

// maxPredicted bounds the frame buffer a read goes straight into after a
// large frame (see frameReader); larger replies are read as before.
const maxPredicted = 256 << 10

// frameReader cuts the byte stream of a connection into transport frames
// for readLoop. Small frames are read into buf, several pipelined ones
// with one system call, and copied into a pooled frame buffer each; the
// bulk of a larger frame goes straight into its frame buffer. After a
// frame too large for buf, a read with nothing buffered goes straight
// into a frame buffer with room for one like it (a caller receiving
// large replies usually receives more of them): one system call and no
// copy per 64 KiB reply instead of a read into buf, a copy and a second
// read.
type frameReader struct {
	src io.Reader
	// buf[r:w] is read and not yet consumed.
	buf  []byte
	r, w int
	// predict is the size of the frame buffer a read with nothing
	// buffered goes into; 0: into buf.
	predict int
}

// errFrame marks an error in the stream itself (a bad length), after
// which the connection is closed; other errors are the transport's.
type errFrame struct{ error }

func (e errFrame) Unwrap() error { return e.error }

// readFrame returns the next frame (without its 4-byte header) and the
// pooled buffer holding it. limit bounds the frame's length. An error
// that is not an errFrame comes from src; io.EOF only between frames.
func (fr *frameReader) readFrame(limit int64) ([]byte, *[]byte, error) {
	if fr.r == fr.w && fr.predict > 0 {
		return fr.readDirect(limit)
	}
	if err := fr.fill(4); err != nil {
		return nil, nil, err
	}
	n, err := frameLen(fr.buf[fr.r:fr.r+4], limit)
	if err != nil {
		return nil, nil, err
	}
	fr.r += 4
	bp := getBuf(n) // refused above before anything is allocated for it
	got := copy(*bp, fr.buf[fr.r:fr.w])
	fr.r += got
	if got < n {
		if _, err := io.ReadFull(fr.src, (*bp)[got:]); err != nil {
			putBuf(bp)
			return nil, nil, midFrame(err)
		}
	}
	fr.learn(n)
	return *bp, bp, nil
}

// readDirect reads a frame straight into a frame buffer of fr.predict
// bytes; what follows the frame in that read moves to buf.
func (fr *frameReader) readDirect(limit int64) ([]byte, *[]byte, error) {
	bp := getBuf(fr.predict)
	b := *bp
	got := 0
	for got < 4 {
		k, err := fr.src.Read(b[got:])
		got += k
		if err != nil {
			putBuf(bp)
			if got > 0 {
				err = midFrame(err)
			}
			return nil, nil, err
		}
	}
	n, err := frameLen(b[:4], limit)
	if err != nil {
		putBuf(bp)
		return nil, nil, err
	}
	if 4+n > len(b) {
		// Larger than predicted: a frame buffer of its own.
		nbp := getBuf(n)
		have := copy(*nbp, b[4:got])
		putBuf(bp)
		if _, err := io.ReadFull(fr.src, (*nbp)[have:]); err != nil {
			putBuf(nbp)
			return nil, nil, midFrame(err)
		}
		fr.learn(n)
		return *nbp, nbp, nil
	}
	for got < 4+n {
		k, err := fr.src.Read(b[got:])
		got += k
		if err != nil && got < 4+n {
			putBuf(bp)
			return nil, nil, midFrame(err)
		}
	}
	if extra := got - (4 + n); extra > 0 {
		// The start of the next frames (a frame much smaller than
		// predicted with more behind it may need a larger buf, rarely).
		if extra > len(fr.buf) {
			fr.buf = make([]byte, extra)
		}
		fr.r, fr.w = 0, copy(fr.buf, b[4+n:got])
	}
	fr.learn(n)
	return b[4 : 4+n], bp, nil
}

// learn sets the prediction after a frame of n bytes.
func (fr *frameReader) learn(n int) {
	if want := 4 + n + readBufSize; 4+n > len(fr.buf) && want <= maxPredicted {
		fr.predict = want
	} else {
		fr.predict = 0
	}
}

// fill reads until buf[r:w] holds at least k bytes (k <= len(buf)).
func (fr *frameReader) fill(k int) error {
	if fr.r == fr.w {
		fr.r, fr.w = 0, 0
	}
	if fr.r+k > len(fr.buf) {
		fr.w = copy(fr.buf, fr.buf[fr.r:fr.w])
		fr.r = 0
	}
	for fr.w-fr.r < k {
		n, err := fr.src.Read(fr.buf[fr.w:])
		fr.w += n
		if err != nil {
			if fr.w-fr.r >= k {
				return nil
			}
			if fr.w > fr.r {
				err = midFrame(err)
			}
			return err
		}
		if n == 0 {
			return io.ErrNoProgress
		}
	}
	return nil
}

// frameLen checks a transport header against limit.
func frameLen(hdr []byte, limit int64) (int, error) {
	n, err := smb2.FrameLength([4]byte(hdr))
	if err != nil || n < smb2.HeaderSize {
		return 0, errFrame{protocolErrorf("bad frame header % x", hdr)}
	}
	if int64(n) > limit {
		return 0, errFrame{protocolErrorf("frame of %d bytes, more than the %d the negotiated sizes allow", n, limit)}
	}
	return n, nil
}

// midFrame: the stream ending inside a frame is an unexpected EOF.
func midFrame(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
