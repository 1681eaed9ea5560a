package server

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/smbpipe/smbpipe/internal/ntname"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
)

// registry is the server's table of the pipes it knows the security of:
// the Go pipes made with Listen (their SDDL) and the running [[pipe]]
// entries of the policy (whose SDDL is read from the snapshot in force at
// each open). A pipe of the namespace that is not in it (created directly
// with Namespace().Create) gets Windows' default named-pipe DACL. Readers
// (every CREATE) load the table without a lock; writers copy it.
type registry struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[string]regPipe]
}

// regPipe is one registered pipe. An entry whose p is no longer the
// namespace's pipe of that name (its listener closed) is stale: lookup
// ignores it and the next write drops it.
type regPipe struct {
	p      *pipe.Pipe
	sddl   string // a Go pipe's descriptor; "" is the default DACL
	config bool   // a [[pipe]] entry: the SDDL is the snapshot's
}

// add registers p; entries of pipes gone from ns are dropped.
func (r *registry) add(ns *pipe.Namespace, e regPipe) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	m := make(map[string]regPipe, len(old)+1)
	for k, v := range old {
		if cur, ok := ns.Lookup(v.p.Name()); ok && cur == v.p {
			m[k] = v
		}
	}
	m[ntname.Upcase(e.p.Name())] = e
	r.m.Store(&m)
}

func (r *registry) load() map[string]regPipe {
	if m := r.m.Load(); m != nil {
		return *m
	}
	return nil
}

// sddl is the security descriptor of p under snap: a config pipe's sddl
// from the snapshot's [[pipe]] table, a Go pipe's own, or "" (Windows'
// default named-pipe DACL) for a pipe the registry does not know.
func (r *registry) sddl(snap *policy.Snapshot, p *pipe.Pipe) string {
	e, ok := r.load()[ntname.Upcase(p.Name())]
	if !ok || e.p != p {
		return ""
	}
	if e.config {
		if info := snap.PipeInfo(p.Name()); info != nil {
			return info.SDDL
		}
	}
	return e.sddl
}

// Listen creates the pipe name in the server's namespace, served by Go
// code through the returned listener, with the security descriptor sddl
// ("" is Windows' default named-pipe DACL: full control for SY, BA and
// the owner, read for Everyone and ANONYMOUS LOGON). sddl is checked
// against the policy in force now and kept in the server's registry of
// pipes; its descriptor is parsed once per policy. Closing the listener
// removes the pipe.
func (s *Server) Listen(name string, cfg pipe.Config, sddl string) (*pipe.Listener, error) {
	if _, err := s.snapshot().Descriptor(sddl); err != nil {
		return nil, fmt.Errorf("server: pipe %q: security descriptor: %w", name, err)
	}
	l, err := s.ns.Create(name, cfg)
	if err != nil {
		return nil, err
	}
	s.reg.add(s.ns, regPipe{p: l.Pipe(), sddl: sddl})
	return l, nil
}
