package backend

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/smbpipe/smbpipe/pipe"
)

// copyBuf is the size of the copy buffers, and so the largest message a
// stream backend turns one read into.
const copyBuf = 64 << 10

// Stream connects each pipe instance to a new stream connection (tcp or
// unix) and copies bytes both ways; either side closing closes the other.
type Stream struct {
	Network string // "tcp" or "unix"
	Address string
	// DialTimeout bounds the connection attempt; 0 means 10s.
	DialTimeout time.Duration
	Logger      *slog.Logger // nil: slog.Default()
}

// String returns the spec form, e.g. "tcp:127.0.0.1:9000".
func (s *Stream) String() string { return s.Network + ":" + s.Address }

// ServeEnd dials the backend and joins it to e; it closes e when done, and
// at once when the dial fails (the client then sees ErrBroken).
func (s *Stream) ServeEnd(e *pipe.End) {
	defer e.Close()
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	timeout := s.DialTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	var d net.Dialer
	conn, err := d.DialContext(ctx, s.Network, s.Address)
	cancel()
	if err != nil {
		log.Warn("backend: dial failed", "pipe", e.Pipe().Name(), "backend", s.String(), "err", err)
		return
	}
	join(e, conn, conn)
}

// stallCheck is how long a write to a backend that takes nothing may
// block before join checks whether the client is still there: once the
// client has closed the pipe, a backend that does not read (a process
// that never reads its stdin) is given up on, closed and, for exec,
// killed, so it does not outlive its client and keep its max_processes
// slot.
const stallCheck = time.Second

// errClientGone ends a write to a stalled backend whose client closed.
var errClientGone = errors.New("backend: client closed and backend not reading")

// writeDeadliner is a backend connection whose writes can time out
// (net.Conn, a process's stdin pipe).
type writeDeadliner interface {
	SetWriteDeadline(t time.Time) error
}

// writeBackend writes p to w. When w supports write deadlines, a write
// that makes no progress for stallCheck while e's client has closed
// fails with errClientGone.
func writeBackend(e *pipe.End, w io.Writer, p []byte) error {
	dw, ok := w.(writeDeadliner)
	for len(p) > 0 {
		if ok && dw.SetWriteDeadline(time.Now().Add(stallCheck)) != nil {
			ok = false // no deadlines: plain blocking writes
		}
		n, err := w.Write(p)
		p = p[n:]
		switch {
		case err == nil:
		case !ok || !errors.Is(err, os.ErrDeadlineExceeded):
			return err
		case n == 0 && e.State() != pipe.StateConnected:
			return errClientGone
		}
	}
	return nil
}

// join copies e to w and r to e (each read from r one write, so one
// message) until either side ends. When e's reads end, w is closed; when
// r's reads end, e is closed. Closing w must make r's reads end (for a
// net.Conn both are the connection). A backend that stops reading while
// the client is gone is closed too (see stallCheck). join returns once
// both copies are done.
func join(e *pipe.End, r io.Reader, w io.WriteCloser) {
	done := make(chan struct{})
	go func() { // backend -> pipe: one read, one message
		defer close(done)
		buf := make([]byte, copyBuf)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := e.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		e.Close()
	}()
	buf := make([]byte, copyBuf)
	for {
		n, err := e.Read(buf)
		if n > 0 {
			if werr := writeBackend(e, w, buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	w.Close()
	<-done
}
