package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("server: closed")

// Server serves SMB2 connections. It is safe for concurrent use: Serve may
// run on several listeners at once, and SetPolicy, Shutdown and Close may be
// called from any goroutine.
type Server struct {
	log   *slog.Logger
	ns    *pipe.Namespace
	snap  atomic.Pointer[policy.Snapshot]
	guid  [16]byte
	start time.Time

	metrics        meter
	lastRefusalLog atomic.Int64 // unix nanoseconds; see refuseConn
	asyncBytes     atomic.Int64 // held by every connection's async operations (max_async_bytes)
	procs          procTable    // backend processes (max_processes)
	reg            registry     // the security of the pipes served
	krb            krbState     // Kerberos acceptor and replay cache (kerberos.go)
	admin          adminState   // sessions, opens and decisions listed (admin.go)
	aside          asidePool    // runs the deep frames (aside.go)
	// done is an already cancelled context, every connection's conn.done.
	done context.Context

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	pipes     map[string]*configPipe // config pipes by lower-case name
	bufs      bufPool
	rbufs     readPool // connections' read buffers while data is buffered
	connWG    sync.WaitGroup
	backendWG sync.WaitGroup
}

// New builds a server and creates the snapshot's configured pipes in the
// namespace. opts is copied; opts.Snapshot is required.
func New(opts Options) (*Server, error) {
	if opts.Snapshot == nil {
		return nil, errors.New("server: Options.Snapshot is required")
	}
	s := &Server{
		log:       opts.Logger,
		ns:        opts.Namespace,
		start:     time.Now(),
		metrics:   meter{opts.Metrics},
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		pipes:     make(map[string]*configPipe),
	}
	s.aside.init()
	done, stop := context.WithCancel(context.Background())
	stop()
	s.done = done
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.ns == nil {
		s.ns = new(pipe.Namespace)
	}
	_, _ = rand.Read(s.guid[:])
	s.snap.Store(opts.Snapshot)
	if err := s.syncPipes(opts.Snapshot); err != nil {
		s.closePipes()
		return nil, err
	}
	return s, nil
}

// Namespace returns the pipe namespace served.
func (s *Server) Namespace() *pipe.Namespace { return s.ns }

// snapshot returns the policy in force now.
func (s *Server) snapshot() *policy.Snapshot { return s.snap.Load() }

// SetPolicy swaps the policy snapshot (hot reload). Pipes added to the
// [[pipe]] table are created, removed ones are closed (instances already
// open carry on), changed ones are re-created. Security descriptors are read
// from the snapshot at each CREATE, so SDDL changes apply at once.
func (s *Server) SetPolicy(snap *policy.Snapshot) error {
	if snap == nil {
		return errors.New("server: nil snapshot")
	}
	s.snap.Store(snap)
	s.admin.policySet.Store(time.Now().UnixNano())
	s.metrics.inc(MetricReloads, "")
	return s.syncPipes(snap)
}

// Serve accepts connections on l until Shutdown or Close; it always returns
// a non-nil error (ErrServerClosed after Shutdown or Close). Temporary
// accept errors are retried with a back-off.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()

	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("smb accept error; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.metrics.inc(MetricConnectionsTotal, "")
		lim := s.snapshot().Config().Limits.WithDefaults()
		c := newConn(s, nc, lim)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		if len(s.conns) >= lim.MaxConnections {
			s.mu.Unlock()
			// Count and log before closing: whoever sees the close may
			// read the counter next.
			s.refuseConn(c.remote, lim.MaxConnections)
			nc.Close()
			c.cancel()
			continue
		}
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		s.metrics.inc(MetricConnections, "")
		go func() {
			defer s.connWG.Done()
			defer s.metrics.dec(MetricConnections)
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// stopAccepting marks the server closed, closes its listeners and returns
// the connections open at that moment.
func (s *Server) stopAccepting() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}

// Shutdown stops accepting, lets requests being processed finish (bounded
// by ctx), closes every connection and the configured pipes' backends. It
// returns ctx.Err() if ctx ended first (the connections are then closed at
// once).
func (s *Server) Shutdown(ctx context.Context) error {
	for _, c := range s.stopAccepting() {
		c.drain()
	}
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.closeConns()
		<-done
	}
	s.closePipes()
	s.backendWG.Wait()
	s.aside.stop()
	return err
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.stopAccepting()
	s.closeConns()
	s.connWG.Wait()
	s.closePipes()
	s.backendWG.Wait()
	s.aside.stop()
	return nil
}

func (s *Server) closeConns() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// String is used in logs.
func (s *Server) String() string { return fmt.Sprintf("smbpipe server %x", s.guid[:4]) }
