package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/smbpipe/smbpipe/internal/ntname"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
)

// configPipe is one running [[pipe]] of the policy.
type configPipe struct {
	spec   policy.Pipe
	l      *pipe.Listener
	cancel context.CancelFunc
}

// pipeConfig translates a [[pipe]] entry.
func pipeConfig(p policy.Pipe) pipe.Config {
	cfg := pipe.Config{
		Mode:         pipe.MessageMode, // "message"; anything else is byte
		Direction:    pipe.Duplex,
		MaxInstances: p.MaxInstances,
	}
	if !strings.EqualFold(p.Mode, "message") {
		cfg.Mode = pipe.ByteMode
	}
	return cfg
}

// sameRuntime reports whether two entries can share one running pipe (only
// the SDDL, which is read at each open, differs).
func sameRuntime(a, b policy.Pipe) bool {
	return ntname.Equal(a.Name, b.Name) && a.Backend == b.Backend &&
		strings.EqualFold(a.Mode, b.Mode) && a.MaxInstances == b.MaxInstances
}

// syncPipes makes the running config pipes match snap's [[pipe]] table.
func (s *Server) syncPipes(snap *policy.Snapshot) error {
	cfg := snap.Config()
	if cfg == nil {
		return errors.New("server: snapshot without config")
	}
	want := make(map[string]policy.Pipe, len(cfg.Pipes)) // by name as the namespace compares it
	for _, p := range cfg.Pipes {
		want[ntname.Upcase(p.Name)] = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, cp := range s.pipes {
		if p, ok := want[key]; ok && sameRuntime(p, cp.spec) {
			cp.spec = p
			continue
		}
		cp.stop()
		delete(s.pipes, key)
	}
	var errs []error
	for key, p := range want {
		if _, ok := s.pipes[key]; ok {
			continue
		}
		cp, err := s.startPipe(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.pipes[key] = cp
	}
	return errors.Join(errs...)
}

// startPipe creates the pipe and runs its backend. Called with s.mu held.
func (s *Server) startPipe(p policy.Pipe) (*configPipe, error) {
	h, err := s.handlerFor(p)
	if err != nil {
		return nil, err
	}
	l, err := s.ns.Create(p.Name, pipeConfig(p))
	if err != nil {
		return nil, fmt.Errorf("server: pipe %q: %w", p.Name, err)
	}
	s.reg.add(s.ns, regPipe{p: l.Pipe(), config: true})
	ctx, cancel := context.WithCancel(context.Background())
	cp := &configPipe{spec: p, l: l, cancel: cancel}
	s.backendWG.Add(1)
	go func() {
		defer s.backendWG.Done()
		s.serveBackend(ctx, l, h)
	}()
	return cp, nil
}

func (cp *configPipe) stop() {
	cp.cancel()
	cp.l.Close()
}

func (s *Server) closePipes() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, cp := range s.pipes {
		cp.stop()
		delete(s.pipes, key)
	}
}

// pipeInfo builds the policy's view of the pipe named name at this moment
// (nil when it does not exist).
func (s *Server) pipeInfo(snap *policy.Snapshot, name string) *policy.PipeInfo {
	p, ok := s.ns.Lookup(name)
	if !ok {
		return nil
	}
	cfg := p.Config()
	info := &policy.PipeInfo{
		Name:         p.Name(),
		Direction:    uint8(cfg.Direction),
		FreeInstance: cfg.MaxInstances <= 0 || p.Instances() < cfg.MaxInstances,
	}
	info.SDDL = s.reg.sddl(snap, p)
	return info
}
