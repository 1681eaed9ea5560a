package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/smbpipe/smbpipe/smb2"
)

const (
	// readBufSize is the read buffer (see readFrame): one read system
	// call takes in a whole frame up to this size (a 4 KiB payload with
	// its headers) and any requests pipelined behind it; larger frames are
	// read straight into a pooled frame buffer. On a socket with raw reads
	// (Unix) it is taken from a pool for the read system call that fills
	// it and returned once everything in it is consumed, so an idle
	// connection holds none; other connections keep one.
	readBufSize = 4<<10 + 512

	// deadlineSlack: waiting for a frame keeps the read deadline set
	// before unless the new one is later by more than this (setting it
	// costs a timer update per frame); see readDeadline.
	deadlineSlack = time.Second
)

// frameReader is the transport side of a connection: it owns the read
// buffers, the raw socket reads and the read deadline, and hands out one
// transport frame at a time (readFrame). It belongs to the connection's
// reader goroutine. Encryption will sit on top of it: a TRANSFORM_HEADER
// frame is decrypted into the plain frame that dispatch sees.
type frameReader struct {
	nc      net.Conn
	rbufs   *readPool    // the server's pool of read buffers
	closing *atomic.Bool // the connection's: set when it is being closed
	// rd[rr:rw] is read from nc and not yet consumed (see readFrame).
	rd     []byte
	rr, rw int
	rdp    *[]byte // pooled storage of rd (raw reads)
	rdBig  bool    // rdp is a frame buffer (bufs), not a read buffer (rbufs)
	// next is the size of the read buffer the next raw read takes: more
	// than readBufSize after a frame too large for the read buffer (see
	// predictNext), else 0.
	next int
	bufs *bufPool // the server's pool of frame buffers
	raw  rawReader
	// big holds the last frame too large for rd (pooled; released by the
	// next readFrame).
	big *[]byte
	// readDL is the read deadline last set by readFrame.
	readDL time.Time
}

// init sets fr up to read nc.
func (fr *frameReader) init(nc net.Conn, rc syscall.RawConn, rbufs *readPool, bufs *bufPool, closing *atomic.Bool) {
	fr.nc, fr.rbufs, fr.bufs, fr.closing = nc, rbufs, bufs, closing
	fr.raw.init(rc)
}

// readFrame reads one transport frame. Waiting for a frame's first byte is
// bounded by the handshake deadline until a session is established, then
// by the idle timeout (which does not apply while a pipe is open); the rest
// of the frame must follow within HandshakeTimeout. The returned payload is
// valid until the next call.
//
// A frame that fits the read buffer usually costs one read system call
// (none when it was read along with the previous one); a larger one is
// read into a pooled buffer, its bulk straight from the socket.
func (c *conn) readFrame() ([]byte, error) {
	if c.big != nil {
		c.srv.bufs.put(c.big)
		c.big = nil
	}
	if c.rr == c.rw {
		c.releaseRead()
		if err := c.awaitFrame(); err != nil {
			return nil, err
		}
	}
	if c.rw-c.rr < 4 {
		if err := c.frameDeadline(); err != nil {
			return nil, err
		}
		if err := c.fill(4); err != nil {
			return nil, c.frameErr(err)
		}
	}
	n, err := smb2.FrameLength([4]byte(c.rd[c.rr:]))
	if err != nil {
		return nil, err
	}
	if n > c.lim.MaxMessageSize {
		c.limitHit(limMessageSize, "length", n, "max", c.lim.MaxMessageSize)
		return nil, fmt.Errorf("server: frame of %d bytes exceeds max_message_size %d", n, c.lim.MaxMessageSize)
	}
	c.predictNext(n)
	if 4+n <= len(c.rd) {
		if c.rw-c.rr < 4+n {
			if err := c.frameDeadline(); err != nil {
				return nil, err
			}
			if err := c.fill(4 + n); err != nil {
				return nil, c.frameErr(err)
			}
		}
		p := c.rd[c.rr+4 : c.rr+4+n]
		c.rr += 4 + n
		return p, nil
	}
	bp := c.srv.bufs.get()
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	c.big = bp
	p := (*bp)[:n]
	have := copy(p, c.rd[c.rr+4:c.rw]) // the frame is longer than what is buffered
	c.rr, c.rw = 0, 0
	if err := c.frameDeadline(); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(&c.sock, p[have:]); err != nil {
		return nil, c.frameErr(err)
	}
	return p, nil
}

// awaitFrame waits for the first bytes of a frame into the empty read
// buffer, under the handshake deadline or the idle timeout (see
// readFrame).
func (c *conn) awaitFrame() error {
	var dl time.Time
	if c.established {
		dl = time.Now().Add(c.lim.IdleTimeout)
	} else {
		dl = c.handshakeDeadline
	}
	for {
		if err := c.readDeadline(dl); err != nil {
			return err
		}
		err := c.fill(1)
		if err == nil {
			return nil
		}
		if !isTimeout(err) || c.closing.Load() {
			return err
		}
		if time.Now().Before(dl) {
			// readDeadline kept an earlier deadline: wait until dl itself.
			c.readDL = time.Time{}
			continue
		}
		if !c.established {
			c.limitHit(limHandshake, "timeout", c.lim.HandshakeTimeout)
			return err
		}
		if len(c.opens) == 0 {
			c.limitHit(limIdle, "timeout", c.lim.IdleTimeout)
			return err
		}
		dl = time.Now().Add(c.lim.IdleTimeout) // not idle: a pipe is open
	}
}

// readDeadline sets the read deadline to dl for awaitFrame. Setting it
// costs a timer update, so a deadline set earlier and at most
// deadlineSlack before dl is kept; awaitFrame waits on when it expires
// before dl.
func (c *conn) readDeadline(dl time.Time) error {
	if d := dl.Sub(c.readDL); d < 0 || d > deadlineSlack {
		if err := c.setReadDeadline(dl); err != nil {
			return err
		}
		c.readDL = dl
	}
	if c.closing.Load() {
		return net.ErrClosed
	}
	return nil
}

// frameDeadline bounds the rest of a frame begun by HandshakeTimeout.
func (c *conn) frameDeadline() error {
	fdl := time.Now().Add(c.lim.HandshakeTimeout)
	if !c.established && c.handshakeDeadline.Before(fdl) {
		fdl = c.handshakeDeadline
	}
	c.readDL = fdl
	return c.setReadDeadline(fdl)
}

// fill reads until rd[rr:rw] holds at least n <= len(rd) bytes (n <= 4
// when rd is not there yet), first moving the unread bytes to the front
// when n would not fit behind rr. It returns io.EOF only at a frame
// boundary.
func (fr *frameReader) fill(n int) error {
	for fr.rw-fr.rr < n {
		if fr.rd != nil && (fr.rr+n > len(fr.rd) || fr.rr == fr.rw) {
			fr.rw = copy(fr.rd, fr.rd[fr.rr:fr.rw])
			fr.rr = 0
		}
		k, err := fr.readSome()
		fr.rw += k
		if err != nil {
			if err == io.EOF && fr.rw > fr.rr {
				err = io.ErrUnexpectedEOF // the stream ended inside a frame
			}
			return err
		}
	}
	return nil
}

// readSome reads once into rd[rw:], taking the read buffer first if the
// connection has none.
func (fr *frameReader) readSome() (int, error) {
	if fr.raw.rc != nil {
		return fr.raw.read(fr)
	}
	if fr.rd == nil {
		fr.rd = make([]byte, readBufSize)
	}
	n, err := fr.nc.Read(fr.rd[fr.rw:])
	if n == 0 && err == nil {
		err = io.ErrNoProgress
	}
	return n, err
}

// maxPredicted bounds the read buffer predictNext asks for: larger frames
// (1 MiB WRITEs) keep their own pooled buffer, which an async operation can
// take over without copying.
const maxPredicted = 256 << 10

// predictNext sizes the read buffer of the next raw read after a frame of
// n bytes: a client that sent a frame too large for the read buffer
// usually sends more like it, and with room for one (and a small frame
// behind it) the next is read with one system call into a pooled frame
// buffer, not a first read into the read buffer, a copy and a second read.
func (fr *frameReader) predictNext(n int) {
	if want := 4 + n + readBufSize; 4+n > readBufSize && want <= maxPredicted {
		fr.next = want
	} else {
		fr.next = 0
	}
}

// takeRead gives the connection a pooled read buffer, or a frame buffer
// of fr.next bytes after a large frame (predictNext).
func (fr *frameReader) takeRead() {
	if fr.next > readBufSize && fr.bufs != nil {
		bp := fr.bufs.get()
		if cap(*bp) < fr.next {
			*bp = make([]byte, fr.next)
		}
		fr.rdp, fr.rdBig = bp, true
		fr.rd = (*bp)[:fr.next]
	} else {
		fr.rdp, fr.rdBig = fr.rbufs.get(), false
		fr.rd = (*fr.rdp)[:readBufSize]
	}
	fr.rr, fr.rw = 0, 0
}

// releaseRead returns an empty pooled read buffer to the pool.
func (fr *frameReader) releaseRead() {
	if fr.rdp != nil {
		if fr.rdBig {
			fr.bufs.put(fr.rdp)
		} else {
			fr.rbufs.put(fr.rdp)
		}
		fr.rdp, fr.rd = nil, nil
		fr.rr, fr.rw = 0, 0
	}
}

// setReadDeadline sets the socket's read deadline unless the connection
// is closing (drain sets closing before its own deadline, so a drain is
// never overwritten).
func (fr *frameReader) setReadDeadline(t time.Time) error {
	fr.nc.SetReadDeadline(t)
	if fr.closing.Load() {
		return net.ErrClosed
	}
	return nil
}

// frameErr accounts a read error in the middle of a frame.
func (c *conn) frameErr(err error) error {
	if isTimeout(err) && !c.closing.Load() {
		c.limitHit(limHandshake, "what", "a frame begun was not finished in time", "timeout", c.lim.HandshakeTimeout)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
