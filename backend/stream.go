package backend

import (
	"context"
	"io"
	"log/slog"
	"net"
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

// join copies e to w and r to e (each read from r one write, so one
// message) until either side ends. When e's reads end, w is closed; when
// r's reads end, e is closed. Closing w must make r's reads end (for a
// net.Conn both are the connection). join returns once both copies are
// done.
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
			if _, werr := w.Write(buf[:n]); werr != nil {
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
