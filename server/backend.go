package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbpipe/smbpipe/backend"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
)

// handlerFor returns the handler that serves a [[pipe]]'s backend: a
// backend of package backend, or a built-in RPC interface served in
// process (rpcecho; see NewRPC).
func (s *Server) handlerFor(p policy.Pipe) (backend.Handler, error) {
	if b, err := policy.ParseBackend(p.Backend); err == nil && b.RPC() {
		rpc, err := s.NewRPC(p.Name, s.rpcInterfaces(p.Name, b)...)
		if err != nil {
			return nil, fmt.Errorf("server: pipe %q: %w", p.Name, err)
		}
		return rpcHandler(rpc), nil
	}
	h, err := backend.FromSpec(p.Backend, s.log.With("pipe", p.Name))
	if err != nil {
		return nil, fmt.Errorf("server: pipe %q: %w", p.Name, err)
	}
	return h, nil
}

// startsProcesses reports whether h starts a process per pipe instance.
func startsProcesses(h backend.Handler) bool {
	_, ok := h.(*backend.Exec)
	return ok
}

// serveBackend accepts server ends from l until ctx ends or l is closed and
// runs h on each; every goroutine is counted on s.backendWG, so Close and
// Shutdown can wait for them. When h starts a process per instance, each
// instance takes a max_processes slot (reserved by its CREATE, see
// reserveProcess, or taken here for an instance opened by Go code) until
// its process is reaped; an instance without a slot is closed at once.
func (s *Server) serveBackend(ctx context.Context, l *pipe.Listener, h backend.Handler) {
	procs := startsProcesses(h)
	if procs {
		s.procs.addPipe(l.Pipe())
		defer s.procs.removePipe(l.Pipe())
	}
	for {
		e, err := l.AcceptEnd(ctx)
		if err != nil {
			return
		}
		if procs && !s.startProcess(e) {
			e.Close()
			continue
		}
		s.backendWG.Add(1)
		go func() {
			defer s.backendWG.Done()
			if procs {
				defer s.endProcess()
			}
			h.ServeEnd(e)
		}()
	}
}

// procTable counts the backend processes of a server against
// max_processes. A CREATE of a pipe whose backend starts processes
// reserves a slot before the instance exists, so a refusal is the
// CREATE's status; the slot passes to the process when the backend
// accepts the instance and is freed when the process is reaped (or when
// the handle closes before the backend accepted it). Its zero value is
// ready; the lock is held only for a few map operations.
type procTable struct {
	mu      sync.Mutex
	n       int                       // slots taken: processes running or reserved
	pipes   map[*pipe.Pipe]struct{}   // pipes whose backend starts a process per instance
	pending map[*pipe.Caller]struct{} // reserved by a CREATE, by the instance's info; not accepted yet
	lastLog atomic.Int64              // unix nanoseconds of the last refusal logged by serveBackend
}

func (t *procTable) addPipe(p *pipe.Pipe) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pipes == nil {
		t.pipes = make(map[*pipe.Pipe]struct{})
	}
	t.pipes[p] = struct{}{}
}

func (t *procTable) removePipe(p *pipe.Pipe) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pipes, p)
}

// maxProcesses is max_processes in force now.
func (s *Server) maxProcesses() int {
	return s.snapshot().Config().Limits.WithDefaults().MaxProcesses
}

// reserveProcess reserves a process slot for an instance of p about to
// be opened with info, when p's backend starts a process per instance.
// reserved reports whether it did (the caller then calls cancelProcess
// unless the instance is opened); ok is false when p starts processes
// and max_processes are taken.
func (s *Server) reserveProcess(p *pipe.Pipe, info *pipe.Caller) (reserved, ok bool) {
	t := &s.procs
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, procs := t.pipes[p]; !procs {
		return false, true
	}
	if t.n >= s.maxProcesses() {
		return false, false
	}
	if t.pending == nil {
		t.pending = make(map[*pipe.Caller]struct{})
	}
	t.pending[info] = struct{}{}
	t.n++
	s.metrics.set(MetricProcesses, float64(t.n))
	return true, true
}

// cancelProcess frees the slot reserved for info if the backend has not
// taken it (the open failed or its handle closed first).
func (s *Server) cancelProcess(info *pipe.Caller) {
	t := &s.procs
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.pending[info]; ok {
		delete(t.pending, info)
		t.n--
		s.metrics.set(MetricProcesses, float64(t.n))
	}
}

// startProcess takes the slot for the process of server end e: the one
// its CREATE reserved, or a free one. It reports false when there is
// none (counted and logged) or when the client already closed an
// instance with nothing queued (no process is started for it).
func (s *Server) startProcess(e *pipe.End) bool {
	info, _ := e.Info().(*pipe.Caller)
	t := &s.procs
	t.mu.Lock()
	if _, ok := t.pending[info]; ok && info != nil {
		delete(t.pending, info)
		t.mu.Unlock()
		return true
	}
	if pi, _ := e.Peek(nil); pi.State != pipe.StateConnected && pi.Available == 0 && pi.Messages == 0 {
		t.mu.Unlock()
		return false
	}
	max := s.maxProcesses()
	if t.n < max {
		t.n++
		s.metrics.set(MetricProcesses, float64(t.n))
		t.mu.Unlock()
		return true
	}
	t.mu.Unlock()
	s.metrics.inc(MetricLimitHits, limitNames[limProcesses])
	now := time.Now().UnixNano()
	if last := t.lastLog.Load(); now-last >= int64(time.Second) && t.lastLog.CompareAndSwap(last, now) {
		s.log.Warn("smb limit reached; pipe instance closed (logged at most once a second)",
			"limit", limitNames[limProcesses], "max", max, "pipe", e.Pipe().Name())
	}
	return false
}

// endProcess frees a process's slot once it is reaped.
func (s *Server) endProcess() {
	t := &s.procs
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	s.metrics.set(MetricProcesses, float64(t.n))
}
