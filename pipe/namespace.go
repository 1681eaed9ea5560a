package pipe

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"

	"github.com/smbpipe/smbpipe/internal/ntname"
)

// DefaultQuota is the quota used for InQuota and OutQuota when they are 0.
const DefaultQuota = 64 << 10

// Namespace is the set of pipes. The zero value is an empty namespace ready
// to use; a Namespace is safe for concurrent use and must not be copied
// after first use.
//
// Lock order: Namespace.mu before Pipe.mu before instance.mu.
type Namespace struct {
	mu    sync.Mutex
	pipes map[string]*Pipe // key: fold(name)
}

// Pipe is one named pipe (all its instances). A Pipe is safe for concurrent
// use.
type Pipe struct {
	ns   *Namespace
	name string
	key  string
	cfg  Config // defaulted copy, read-only

	mu        sync.Mutex
	instances int
	closed    bool
	backlog   []*End        // server ends not yet accepted
	changed   chan struct{} // closed and replaced when instances, backlog or closed change
}

// Listener accepts server ends of new instances. It implements
// net.Listener. Closing it removes the pipe from the namespace: new opens
// get ErrNotFound, server ends not yet accepted are closed (their clients
// see ErrBroken), and ends already accepted carry on.
type Listener struct {
	p *Pipe
}

// fold is the key of a pipe name: upcased as Windows compares object
// names (each UTF-16 code unit through the NT upcase table), so that two
// names open the same pipe exactly when they would on Windows.
func fold(name string) string { return ntname.Upcase(name) }

// Create registers a pipe; its server ends arrive on the returned Listener.
// cfg is copied; zero quotas become DefaultQuota. It fails with ErrExists
// when a pipe of that name (compared case-insensitively as Windows does,
// see Lookup) exists, and with
// an error wrapping ErrInvalidConfig when the name is empty or cfg is out
// of range.
func (ns *Namespace) Create(name string, cfg Config) (*Listener, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty pipe name", ErrInvalidConfig)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.InQuota == 0 {
		cfg.InQuota = DefaultQuota
	}
	if cfg.OutQuota == 0 {
		cfg.OutQuota = DefaultQuota
	}
	p := &Pipe{ns: ns, name: name, key: fold(name), cfg: cfg, changed: make(chan struct{})}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if _, ok := ns.pipes[p.key]; ok {
		return nil, fmt.Errorf("%w: %q", ErrExists, name)
	}
	if ns.pipes == nil {
		ns.pipes = make(map[string]*Pipe)
	}
	ns.pipes[p.key] = p
	return &Listener{p: p}, nil
}

func (c *Config) validate() error {
	switch {
	case c.Mode > MessageMode:
		return fmt.Errorf("%w: mode %d", ErrInvalidConfig, c.Mode)
	case c.Direction > Duplex:
		return fmt.Errorf("%w: direction %d", ErrInvalidConfig, c.Direction)
	case c.MaxInstances < 0:
		return fmt.Errorf("%w: max instances %d", ErrInvalidConfig, c.MaxInstances)
	case c.InQuota < 0 || c.OutQuota < 0:
		return fmt.Errorf("%w: negative quota", ErrInvalidConfig)
	}
	return nil
}

// Lookup finds a pipe by name, case-insensitively as Windows compares
// names: each UTF-16 code unit upcased through the NT upcase table, no
// case folding (ı, ſ and the KELVIN SIGN are not i, s and K).
func (ns *Namespace) Lookup(name string) (*Pipe, bool) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	p, ok := ns.pipes[fold(name)]
	return p, ok
}

// Open creates an instance of the named pipe and returns its client end;
// the server end is queued on the pipe's Listener. info is attached to both
// ends (the caller's identity, see Caller) and returned by End.Info.
// Errors: ErrNotFound (no such pipe, or its listener closed),
// ErrNotAvailable (MaxInstances instances are open).
func (ns *Namespace) Open(name string, info any) (*End, error) {
	p, ok := ns.Lookup(name)
	if !ok {
		return nil, ErrNotFound
	}
	return p.open(info)
}

// Wait blocks until the named pipe has a free instance (an Open would not
// fail with ErrNotAvailable) and returns nil. It returns ErrNotFound when
// there is no such pipe or the pipe is removed while waiting, and
// ctx.Err() when ctx ends first. This is FSCTL_PIPE_WAIT; instances are
// created on demand, so a pipe under MaxInstances always has one free.
func (ns *Namespace) Wait(ctx context.Context, name string) error {
	p, ok := ns.Lookup(name)
	if !ok {
		return ErrNotFound
	}
	for {
		p.mu.Lock()
		closed, free, ch := p.closed, p.freeLocked(), p.changed
		p.mu.Unlock()
		switch {
		case closed:
			return ErrNotFound
		case free:
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Names lists pipe names as created, sorted case-insensitively.
func (ns *Namespace) Names() []string {
	ns.mu.Lock()
	keys := make([]string, 0, len(ns.pipes))
	for k := range ns.pipes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = ns.pipes[k].name
	}
	ns.mu.Unlock()
	return names
}

// Name returns the pipe's name as created.
func (p *Pipe) Name() string { return p.name }

// Config returns the pipe's effective config (a copy, quotas defaulted).
func (p *Pipe) Config() Config { return p.cfg }

// Instances returns the number of open instances: instances count from
// Open until both of their ends are closed.
func (p *Pipe) Instances() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.instances
}

// broadcastLocked wakes every Accept and Wait blocked on p.
func (p *Pipe) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Pipe) freeLocked() bool {
	return p.cfg.MaxInstances == 0 || p.instances < p.cfg.MaxInstances
}

func (p *Pipe) open(info any) (*End, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrNotFound
	}
	if !p.freeLocked() {
		return nil, ErrNotAvailable
	}
	client, server := newInstance(p, info)
	p.instances++
	p.backlog = append(p.backlog, server)
	p.broadcastLocked()
	return client, nil
}

// release is called once per instance, when its second end closes.
func (p *Pipe) release() {
	p.mu.Lock()
	p.instances--
	p.broadcastLocked()
	p.mu.Unlock()
}

// Accept waits for the next server end. It implements net.Listener; the
// net.Conn is an *End.
func (l *Listener) Accept() (net.Conn, error) {
	e, err := l.AcceptEnd(context.Background())
	if err != nil {
		return nil, err
	}
	return e, nil
}

// AcceptEnd waits for the next server end, in the order the instances were
// opened. It returns ErrClosed once the listener is closed and ctx.Err()
// when ctx ends first.
func (l *Listener) AcceptEnd(ctx context.Context) (*End, error) {
	p := l.p
	for {
		p.mu.Lock()
		if len(p.backlog) > 0 {
			e := p.backlog[0]
			p.backlog[0] = nil
			p.backlog = p.backlog[1:]
			p.mu.Unlock()
			return e, nil
		}
		closed, ch := p.closed, p.changed
		p.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close removes the pipe from its namespace and closes the server ends not
// yet accepted. It is idempotent and returns nil.
func (l *Listener) Close() error {
	p := l.p
	p.ns.mu.Lock()
	if p.ns.pipes[p.key] == p {
		delete(p.ns.pipes, p.key)
	}
	p.ns.mu.Unlock()

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	backlog := p.backlog
	p.backlog = nil
	p.broadcastLocked()
	p.mu.Unlock()
	for _, e := range backlog {
		e.Close()
	}
	return nil
}

// Pipe returns the pipe this listener serves.
func (l *Listener) Pipe() *Pipe { return l.p }

// Addr returns the pipe's address (network "pipe", the name).
func (l *Listener) Addr() net.Addr { return Addr(l.p.name) }

// Addr is the address of a pipe: network "pipe", the pipe's name.
type Addr string

// Network returns "pipe".
func (Addr) Network() string { return "pipe" }

// String returns the pipe name.
func (a Addr) String() string { return string(a) }
