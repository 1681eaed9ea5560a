package server

import (
	"io"
	"sync"
	"syscall"

	"github.com/smbpipe/smbpipe/internal/sockio"
)

// readPool holds read buffers of readBufSize bytes (one pool per server).
type readPool struct{ p sync.Pool }

func (rp *readPool) get() *[]byte {
	if b, ok := rp.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, readBufSize)
	return &b
}

func (rp *readPool) put(b *[]byte) { rp.p.Put(b) }

// rawReader reads a socket through syscall.RawConn so that the read
// buffer is taken only when the socket has data (see readBufSize): the
// read system call runs inside the callback, and when it finds nothing
// the buffer goes back to the pool before the goroutine parks in the
// poller. Read deadlines and Close interrupt it as they do Read.
type rawReader struct {
	rc syscall.RawConn // nil: read through net.Conn.Read
	fn func(fd uintptr) bool
	fr *frameReader
	n  int
	// err is the result of the last read system call.
	err error
}

// init sets r up to read through rc, the socket's RawConn (nil: read
// through net.Conn.Read; see sockio.Conn.RawConn).
func (r *rawReader) init(rc syscall.RawConn) {
	if rc == nil {
		return
	}
	r.rc = rc
	r.fn = r.readFD // one closure per connection, not per read
}

// read reads once into fr.rd[fr.rw:], taking a pooled read buffer when
// fr has none; it returns io.EOF at the end of the stream.
func (r *rawReader) read(fr *frameReader) (int, error) {
	r.fr = fr
	if err := r.rc.Read(r.fn); err != nil {
		return 0, err
	}
	if r.err != nil {
		return 0, r.err
	}
	if r.n == 0 {
		return 0, io.EOF
	}
	return r.n, nil
}

// readFD is the RawConn callback; false means "wait until readable".
func (r *rawReader) readFD(fd uintptr) bool {
	fr := r.fr
	if fr.rd == nil {
		fr.takeRead()
	}
	n, err := sockio.ReadFD(fd, fr.rd[fr.rw:])
	if err == syscall.EAGAIN {
		if fr.rr == fr.rw {
			fr.releaseRead() // nothing buffered: hold no buffer while waiting
		}
		return false
	}
	r.n, r.err = n, err
	return true
}
