package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/smbpipe/smbpipe/internal/sockio"
)

// EchoServer is the TCP floor: it writes back whatever each connection
// sends, with one goroutine and one 64 KiB buffer per connection, reading
// and writing as smbpipe's server does (package sockio). The zero
// value is ready to Serve.
type EchoServer struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	ls     []net.Listener
	closed bool
	wg     sync.WaitGroup
}

// Serve accepts connections on l until l is closed or Close is called, and
// then returns nil; other accept errors are returned (after closing l).
// Temporary accept errors back off and retry.
func (s *EchoServer) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.ls = append(s.ls, l)
	s.mu.Unlock()
	defer l.Close()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("bench: echo server accept: %w", err)
		}
		delay = 0
		if !s.track(nc) {
			nc.Close()
			return nil
		}
		s.wg.Go(func() {
			defer s.untrack(nc)
			sc := sock(nc)
			buf := make([]byte, 64<<10)
			for {
				n, err := sc.Read(buf)
				if n > 0 {
					if _, werr := sc.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	}
}

func (s *EchoServer) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[nc] = struct{}{}
	return true
}

func (s *EchoServer) untrack(nc net.Conn) {
	nc.Close()
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
}

// Close closes the listeners and every connection, and waits for the
// connection goroutines to end.
func (s *EchoServer) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, l := range s.ls {
		l.Close()
	}
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// startEchoServer serves an EchoServer on a loopback port.
func startEchoServer() (*EchoServer, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("bench: echo server: %w", err)
	}
	s := new(EchoServer)
	go s.Serve(l)
	return s, l.Addr().String(), nil
}

// sock reads and writes nc with the socket calls smbpipe's server and
// client use (package sockio), so that the floor pays no more than they
// do for the same bytes.
func sock(nc net.Conn) *sockio.Conn {
	var sc sockio.Conn
	sc.Init(nc)
	return &sc
}

func dialTCP(ctx context.Context, o *Options) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", o.Addr, err)
	}
	return nc, nil
}

// setupTCP prepares a ping-pong worker: write the message, read it back.
func setupTCP(ctx context.Context, o *Options) (*worker, error) {
	nc, err := dialTCP(ctx, o)
	if err != nil {
		return nil, err
	}
	sc := sock(nc)
	msg := message(o)
	out := make([]byte, len(msg))
	op := func(context.Context) (int64, error) {
		if _, err := sc.Write(msg); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(sc, out); err != nil {
			return 0, err
		}
		// The same check as the transact op's (setupTransact): the
		// client's work per op is the same, floor or not.
		if !bytes.Equal(out, msg) {
			return 0, errShortReply
		}
		return int64(len(msg)), nil
	}
	return &worker{op: op, close: func() { nc.Close() }, persistent: true}, nil
}

// setupTCPStream prepares a stream worker over TCP.
func setupTCPStream(ctx context.Context, o *Options) (*worker, error) {
	nc, err := dialTCP(ctx, o)
	if err != nil {
		return nil, err
	}
	sc := sock(nc)
	s := newStreamer(o.StreamChunk, sc.Read)
	chunk := message(&Options{Size: o.StreamChunk})
	op := func(ctx context.Context) (int64, error) {
		if err := s.acquire(ctx); err != nil {
			return 0, err
		}
		n, err := sc.Write(chunk)
		return int64(n), err
	}
	return &worker{op: op, close: func() { nc.Close(); s.wait() }, persistent: true}, nil
}

// connectRoundTrips is the number of request round trips of a Connect op:
// NEGOTIATE, SESSION_SETUP (anonymous NTLM: two legs), TREE_CONNECT,
// CREATE, CLOSE, LOGOFF (the default Options.RoundTrips of TCPConnect).
const connectRoundTrips = 7

// isTCP reports whether w runs against a raw TCP echo server.
func (w Workload) isTCP() bool { return w == TCP || w == TCPStream || w == TCPConnect }

// setupTCPConnect prepares a TCPConnect worker: each op dials, does
// o.RoundTrips ping-pongs of the message and closes the connection.
func setupTCPConnect(ctx context.Context, o *Options) (*worker, error) {
	msg := message(o)
	out := make([]byte, len(msg))
	op := func(ctx context.Context) (int64, error) {
		nc, err := dialTCP(ctx, o)
		if err != nil {
			return 0, err
		}
		defer nc.Close()
		sc := sock(nc)
		for range o.RoundTrips {
			if _, err := sc.Write(msg); err != nil {
				return 0, err
			}
			if _, err := io.ReadFull(sc, out); err != nil {
				return 0, err
			}
		}
		return int64(len(msg) * o.RoundTrips), nil
	}
	return &worker{op: op, close: func() {}}, nil
}
