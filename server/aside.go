package server

import (
	"sync"
	"sync/atomic"
)

// maxIdleAside is the most aside workers kept waiting for work.
const maxIdleAside = 8

// asidePool runs the connections' deep frames (conn.handleAside) on a few
// goroutines that keep their grown stacks between frames, so a handshake
// neither grows a fresh stack from 2 KiB (copying it at each doubling) nor
// leaves one grown on its reader. When every worker is busy, a frame gets
// a goroutine of its own, which then stays as a worker if fewer than
// maxIdleAside wait; a frame that blocks therefore never holds up another
// connection's. The zero asidePool runs each frame on a goroutine of its
// own; stop ends the idle workers (Close and Shutdown).
type asidePool struct {
	work chan asideJob // unbuffered: a send succeeds when a worker waits
	quit chan struct{}
	idle atomic.Int32
	once sync.Once
}

type asideJob struct {
	f    func() error
	done chan error
}

func (p *asidePool) init() {
	p.work = make(chan asideJob)
	p.quit = make(chan struct{})
}

// run runs f on a worker and returns its error. f must not panic.
func (p *asidePool) run(f func() error) error {
	j := asideJob{f: f, done: make(chan error, 1)}
	select {
	case p.work <- j:
	default:
		go p.worker(j)
	}
	return <-j.done
}

func (p *asidePool) worker(j asideJob) {
	for {
		j.done <- j.f()
		if p.work == nil || p.idle.Add(1) > maxIdleAside {
			if p.work != nil {
				p.idle.Add(-1)
			}
			return
		}
		select {
		case j = <-p.work:
			p.idle.Add(-1)
		case <-p.quit:
			p.idle.Add(-1)
			return
		}
	}
}

// stop ends the idle workers; busy ones end after their frame.
func (p *asidePool) stop() {
	if p.quit != nil {
		p.once.Do(func() { close(p.quit) })
	}
}
