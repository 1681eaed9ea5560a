// Package mitm is a man in the middle for tests: a loopback TCP proxy
// between an SMB2 client and a server that passes what the client sends
// unchanged and hands every frame the server sends to a function, which
// passes it, rewrites it or drops it. Mutate draws one random hostile
// change. Test support only.
package mitm

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/smbpipe/smbpipe/smb2"
)

// Frame is one server-to-client frame.
type Frame struct {
	Conn  int    // the proxied connection, numbered from 0 in accept order
	Index int    // the frame's position on its connection, from 0
	Data  []byte // the payload after the 4-byte transport header; it may be changed in place
	// Sent holds the frames already passed on this connection (as sent,
	// payloads only), for replays.
	Sent [][]byte
}

// Header decodes the header of the frame's first message; ok is false
// when it does not decode.
func (f *Frame) Header() (h smb2.Header, ok bool) {
	return h, h.Decode(f.Data) == nil
}

// Pass returns the frame as it now is, with a transport header that fits.
func (f *Frame) Pass() []byte { return Wire(f.Data) }

// Wire prefixes payload with a 4-byte transport header.
func Wire(payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload))
	binary.BigEndian.PutUint32(b, uint32(len(payload))&0xFFFFFF)
	return append(b, payload...)
}

// Func decides the fate of one frame: it returns the bytes to send to the
// client in its place (transport header included: f.Pass() for the frame
// as it now is), or nil to drop it. Calls are serialised.
type Func func(f *Frame) []byte

// Proxy is a running man in the middle.
type Proxy struct {
	Addr string // host:port to dial instead of the server

	l      net.Listener
	target string
	fn     Func

	mu    sync.Mutex // serialises fn and guards what follows
	conns int
	open  []net.Conn
	hold  bool // drop every later frame without closing (a dead server)
	wg    sync.WaitGroup
	close sync.Once
}

// Start runs a proxy to target until the test ends. fn nil passes every
// frame.
func Start(tb testing.TB, target string, fn Func) *Proxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if fn == nil {
		fn = func(f *Frame) []byte { return f.Pass() }
	}
	p := &Proxy{Addr: l.Addr().String(), l: l, target: target, fn: fn}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.Close)
	return p
}

// Blackhole makes the proxy drop every frame from the server from now on,
// keeping the connections open: to the client, the server has died
// without a word.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	p.hold = true
	p.mu.Unlock()
}

// Close stops the proxy, closes every proxied connection and waits for
// its goroutines.
func (p *Proxy) Close() {
	p.close.Do(func() {
		p.l.Close()
		p.mu.Lock()
		for _, c := range p.open {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		cc, err := p.l.Accept()
		if err != nil {
			return
		}
		sc, err := net.Dial("tcp", p.target)
		if err != nil {
			cc.Close()
			continue
		}
		p.mu.Lock()
		id := p.conns
		p.conns++
		p.open = append(p.open, cc, sc)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			io.Copy(sc, cc)
			sc.Close()
			cc.Close()
		}()
		go func() {
			defer p.wg.Done()
			p.serverToClient(id, sc, cc)
			sc.Close()
			cc.Close()
		}()
	}
}

// serverToClient reads frames from the server and sends the client what fn
// decides.
func (p *Proxy) serverToClient(id int, sc, cc net.Conn) {
	var sent [][]byte
	for i := 0; ; i++ {
		var pfx [4]byte
		if _, err := io.ReadFull(sc, pfx[:]); err != nil {
			return
		}
		n, err := smb2.FrameLength(pfx)
		if err != nil {
			return
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(sc, data); err != nil {
			return
		}
		p.mu.Lock()
		var out []byte
		if !p.hold {
			out = p.fn(&Frame{Conn: id, Index: i, Data: data, Sent: sent})
		}
		p.mu.Unlock()
		if out == nil {
			continue
		}
		if len(out) > 4 {
			sent = append(sent, out[4:])
		}
		if _, err := cc.Write(out); err != nil && !errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// Header field offsets (MS-SMB2 2.2.1), for rewriting.
const (
	OffStructureSize = 4
	OffStatus        = 8
	OffCommand       = 12
	OffCredit        = 14
	OffFlags         = 16
	OffNextCommand   = 20
	OffMessageID     = 24
	OffAsyncID       = 32
	OffTreeID        = 36
	OffSessionID     = 40
	OffSignature     = 48
)

// Unsign clears SMB2_FLAGS_SIGNED and zeroes the signature of the message
// at the start of b.
func Unsign(b []byte) {
	if len(b) < smb2.HeaderSize {
		return
	}
	le := binary.LittleEndian
	le.PutUint32(b[OffFlags:], le.Uint32(b[OffFlags:])&^smb2.FlagSigned)
	clear(b[OffSignature:smb2.HeaderSize])
}

// Put16, Put32 and Put64 write a little-endian field of the header at the
// start of b, when b holds a header.
func Put16(b []byte, off int, v uint16) {
	if len(b) >= smb2.HeaderSize {
		binary.LittleEndian.PutUint16(b[off:], v)
	}
}

// Put32: see Put16.
func Put32(b []byte, off int, v uint32) {
	if len(b) >= smb2.HeaderSize {
		binary.LittleEndian.PutUint32(b[off:], v)
	}
}

// Put64: see Put16.
func Put64(b []byte, off int, v uint64) {
	if len(b) >= smb2.HeaderSize {
		binary.LittleEndian.PutUint64(b[off:], v)
	}
}
