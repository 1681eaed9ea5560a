package testetcd

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from a loopback port to a target (an
// etcd member), and can be cut: while cut, every connection through it is
// closed and new ones are closed at once, as if the network between one
// server and etcd failed while the rest of the fleet still reaches it.
type Proxy struct {
	l      net.Listener
	target string

	mu       sync.Mutex
	cut      bool
	conns    map[net.Conn]struct{}
	accepted int
	wg       sync.WaitGroup
}

// Conns returns how many client connections are open through the proxy
// now, and how many it has forwarded in all: what a test counts to find
// a client that leaks or keeps redialling connections.
func (p *Proxy) Conns() (open, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns) / 2, p.accepted
}

// NewProxy listens on a free loopback port and forwards to target; it is
// closed at cleanup.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{l: l, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's HOST:PORT.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// Cut closes every connection through the proxy and refuses new ones
// until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Restore lets connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() {
	p.l.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.accepted++
		p.wg.Add(2)
		p.mu.Unlock()
		go p.copy(up, c)
		go p.copy(c, up)
	}
}

// copy copies src to dst, then closes both (the other direction's copy
// ends when its read fails).
func (p *Proxy) copy(dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}
