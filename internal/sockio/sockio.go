// Package sockio reads and writes a connection's socket for the SMB
// reader and writer loops of the server and the client.
//
// On Linux a read or write of a TCP or Unix socket goes through
// syscall.RawConn and a raw system call. Go's net.Conn.Read and Write
// announce every system call to the scheduler (entersyscall), which wakes
// the runtime's monitor thread (sysmon) whenever it is asleep, and it
// sleeps whenever the process was idle; in a request-reply exchange that
// is once or more per round trip: a futex wake and a context switch on
// the CPU that serves the request. The socket is non-blocking, so a read
// or write never waits in the kernel; when it would (EAGAIN) the
// goroutine parks in the runtime's poller exactly as net.Conn does, and
// deadlines and Close interrupt it the same way.
//
// Skipping the announcement costs two things. The runtime cannot hand
// the processor to another goroutine during the call, so one call is kept
// short: reads take at most MaxChunk bytes, and writes larger than
// MaxChunk go through net.Conn.Write. And sysmon, asleep since the process
// was last idle, stays asleep until its next timer (the connections' read
// deadlines are timers) or another goroutine's system call: until then a
// goroutine that computes without yielding while others wait for its
// processor is preempted later than the usual 10 ms. Measured on loopback
// with the server and client each pinned to one CPU, this package doubles
// the rate of 68-byte transacts (bench/README.md).
//
// Only a *net.TCPConn or *net.UnixConn is read through RawConn: a type
// that wraps one (and may count, throttle or decrypt in its Read) is used
// through its own methods, as is every connection on a system without
// Unix file descriptors. On other Unix systems, and under the race
// detector, the calls are the ordinary syscall.Read and Write.
package sockio

import (
	"io"
	"net"
	"os"
	"syscall"
)

// MaxChunk bounds one raw read and the writes that go raw.
const MaxChunk = 128 << 10

// Conn reads and writes nc. One goroutine may Read while another Writes;
// Reads (and Writes) must not overlap each other.
type Conn struct {
	nc net.Conn
	rc syscall.RawConn // nil: through nc
	r  op
	w  op
}

// op is one direction's state for the RawConn callback, kept in Conn so
// that a read or write allocates nothing.
type op struct {
	p   []byte
	q   []byte // a write's second buffer, after p (WriteTwo)
	n   int
	err error
	fn  func(fd uintptr) bool
}

// Init sets c up for nc.
func (c *Conn) Init(nc net.Conn) {
	*c = Conn{nc: nc}
	if rc := rawConn(nc); rc != nil {
		c.rc = rc
		c.r.fn = c.readFD
		c.w.fn = c.writeFD
	}
}

// RawConn is the socket's syscall.RawConn (for ReadFD in a callback of
// one's own), or nil when c goes through the net.Conn.
func (c *Conn) RawConn() syscall.RawConn { return c.rc }

// rawConn is the syscall.RawConn of a *net.TCPConn or *net.UnixConn on
// a Unix system; nil for anything else.
func rawConn(nc net.Conn) syscall.RawConn {
	if !fdCalls {
		return nil
	}
	var sc syscall.Conn
	switch t := nc.(type) {
	case *net.TCPConn:
		sc = t
	case *net.UnixConn:
		sc = t
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// Read reads up to len(p) bytes (at most MaxChunk when raw); it returns
// io.EOF at the end of the stream.
func (c *Conn) Read(p []byte) (int, error) {
	if c.rc == nil {
		return c.nc.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.r.p = p[:min(len(p), MaxChunk)]
	err := c.rc.Read(c.r.fn)
	c.r.p = nil
	if err != nil {
		return 0, err
	}
	if c.r.err != nil {
		return 0, c.r.err
	}
	if c.r.n == 0 {
		return 0, io.EOF
	}
	return c.r.n, nil
}

// Write writes all of p.
func (c *Conn) Write(p []byte) (int, error) {
	if c.rc == nil || len(p) > MaxChunk {
		return c.nc.Write(p)
	}
	c.w.p, c.w.n, c.w.err = p, 0, nil
	err := c.rc.Write(c.w.fn)
	c.w.p = nil
	if err == nil {
		err = c.w.err
	}
	return c.w.n, err
}

// WriteTwo writes all of a and then all of b, as one write(v) system call
// when the socket takes it: the bytes of a message whose header and
// payload are in different buffers go out without being copied together.
// It returns the bytes of both written.
func (c *Conn) WriteTwo(a, b []byte) (int, error) {
	if c.rc == nil || len(a)+len(b) > MaxChunk {
		n, err := c.nc.Write(a)
		if err != nil {
			return n, err
		}
		m, err := c.nc.Write(b)
		return n + m, err
	}
	c.w.p, c.w.q, c.w.n, c.w.err = a, b, 0, nil
	err := c.rc.Write(c.w.fn)
	c.w.p, c.w.q = nil, nil
	if err == nil {
		err = c.w.err
	}
	return c.w.n, err
}

// readFD is the RawConn read callback; false means "wait until readable".
func (c *Conn) readFD(fd uintptr) bool {
	n, err := ReadFD(fd, c.r.p)
	if err == syscall.EAGAIN {
		return false
	}
	c.r.n, c.r.err = n, err
	return true
}

// writeFD is the RawConn write callback: it writes until p is done,
// and returns false to wait until writable.
func (c *Conn) writeFD(fd uintptr) bool {
	for c.w.n < len(c.w.p)+len(c.w.q) {
		var n int
		var err error
		switch {
		case c.w.n >= len(c.w.p):
			n, err = sysWrite(fd, c.w.q[c.w.n-len(c.w.p):])
		case len(c.w.q) == 0:
			n, err = sysWrite(fd, c.w.p[c.w.n:])
		default:
			n, err = sysWritev(fd, c.w.p[c.w.n:], c.w.q)
		}
		switch err {
		case nil:
			c.w.n += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.w.err = os.NewSyscallError("write", err)
			return true
		}
	}
	return true
}

// ReadFD reads fd once, retrying EINTR. It returns syscall.EAGAIN when
// nothing is there; other errors come as *os.SyscallError and the end of
// the stream as (0, nil).
func ReadFD(fd uintptr, p []byte) (int, error) {
	for {
		n, err := sysRead(fd, p)
		switch err {
		case nil:
			return n, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, err
		default:
			return 0, os.NewSyscallError("read", err)
		}
	}
}
