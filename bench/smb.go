package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/smb2"
)

// errShortReply is returned when an echoed message comes back changed.
var errShortReply = errors.New("bench: reply differs from the echoed message")

// dial connects, logs on and connects IPC$.
func dial(ctx context.Context, o *Options) (*client.Conn, error) {
	return dialFrom(ctx, o, nil)
}

// dialFrom is dial from the local address local (nil: any).
func dialFrom(ctx context.Context, o *Options, local net.Addr) (*client.Conn, error) {
	cfg := o.Client
	d := net.Dialer{LocalAddr: local}
	c, err := client.DialWith(ctx, &d, o.Addr, &cfg)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", o.Addr, err)
	}
	return c, nil
}

// dialPipe dials o.Addr and opens o.Pipe on the new connection (see
// openPipe); on an error it closes the connection.
func dialPipe(ctx context.Context, o *Options) (*client.Conn, *client.Pipe, error) {
	c, err := dial(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	p, err := openPipe(ctx, o, c)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, p, nil
}

// openPipe opens o.Pipe on c and, with o.RPC, binds srvsvc on it.
func openPipe(ctx context.Context, o *Options, c *client.Conn) (*client.Pipe, error) {
	p, err := c.OpenPipe(ctx, o.Pipe)
	if err != nil {
		return nil, err
	}
	if o.RPC || o.RPCEcho {
		bind := SrvsvcBind()
		if o.RPCEcho {
			bind = EchoBind()
		}
		out := make([]byte, 4280)
		n, _, err := p.Transact(ctx, bind, out)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("DCE/RPC bind on %s: %w", o.Pipe, err)
		}
		// Samba answers bind_ack; an echo pipe returns the bind itself.
		if pt, ok := dcePacketType(out[:n]); !ok || pt == dceBindNak || pt == dceFault || o.RPCEcho && pt != dceBindAck {
			p.Close()
			return nil, fmt.Errorf("DCE/RPC bind on %s: answer is not a bind_ack (% x)", o.Pipe, out[:min(n, 16)])
		}
	}
	return p, nil
}

func describeConn(w *worker, c *client.Conn) *worker {
	w.dialect = client.DialectString(c.Dialect())
	w.signed = c.Signed()
	if c.Encrypted() {
		w.cipher = cipherName(c.Cipher())
	}
	return w
}

// cipherName names an SMB3 cipher as the config and smbclient do.
func cipherName(id uint16) string {
	switch id {
	case smb2.CipherAES128CCM:
		return "AES-128-CCM"
	case smb2.CipherAES128GCM:
		return "AES-128-GCM"
	case smb2.CipherAES256CCM:
		return "AES-256-CCM"
	case smb2.CipherAES256GCM:
		return "AES-256-GCM"
	}
	return fmt.Sprintf("cipher %#x", id)
}

func setupConnect(ctx context.Context, o *Options) (*worker, error) {
	op := func(ctx context.Context) (int64, error) {
		c, err := dial(ctx, o)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		p, err := c.OpenPipe(ctx, o.Pipe)
		if err != nil {
			return 0, err
		}
		if err := p.CloseContext(ctx); err != nil {
			return 0, err
		}
		if err := c.Logoff(ctx); err != nil {
			return 0, err
		}
		return 0, c.Close()
	}
	// One connection up front, to fail early and learn the dialect.
	c, err := dial(ctx, o)
	if err != nil {
		return nil, err
	}
	w := describeConn(&worker{op: op, close: func() {}}, c)
	c.Close()
	return w, nil
}

func setupEcho(ctx context.Context, o *Options) (*worker, error) {
	c, err := dial(ctx, o)
	if err != nil {
		return nil, err
	}
	op := func(ctx context.Context) (int64, error) { return 0, c.Echo(ctx) }
	return describeConn(&worker{op: op, close: func() { c.Close() }, persistent: true}, c), nil
}

// message returns the request a transact or writeread op sends.
func message(o *Options) []byte {
	if o.RPC {
		return SrvsvcGetInfo()
	}
	msg := make([]byte, o.Size)
	for i := range msg {
		msg[i] = byte(i)
	}
	if o.RPCEcho {
		msg, _ = EchoData(msg)
	}
	return msg
}

// setupTransact prepares a Transact or WriteRead worker on its own
// connection and pipe.
func setupTransact(ctx context.Context, o *Options) (*worker, error) {
	c, p, err := dialPipe(ctx, o)
	if err != nil {
		return nil, err
	}
	msg := message(o)
	out := make([]byte, max(len(msg), 64<<10))
	// check validates the first n bytes of a reply: any DCE/RPC PDU for
	// RPC (Samba answers, the echo pipe echoes), else the message itself.
	var wantEcho []byte // RPCEcho: the RESPONSE's stub
	if o.RPCEcho {
		wantEcho = append(binary.LittleEndian.AppendUint32(nil, uint32(o.Size)), msg[32:]...)
	}
	check := func(n int) error {
		if o.RPCEcho {
			if pt, ok := dcePacketType(out[:n]); !ok || pt != dceResponse || n != 24+len(wantEcho) || !bytes.Equal(out[24:n], wantEcho) {
				return errShortReply
			}
			return nil
		}
		if o.RPC {
			if _, ok := dcePacketType(out[:n]); !ok && n < len(out) {
				return errShortReply
			}
			return nil
		}
		if n != len(msg) || !bytes.Equal(out[:n], msg) {
			return errShortReply
		}
		return nil
	}
	// reply ends an op given the first read of its reply (n bytes in out,
	// more, err): it checks them and reads the rest of a reply longer than
	// out (RPC replies only).
	reply := func(ctx context.Context, n int, more bool, err error) (int64, error) {
		if err != nil {
			return 0, err
		}
		if err := check(n); err != nil {
			return 0, err
		}
		for more && err == nil {
			_, more, err = p.ReadMsg(ctx, out)
		}
		return int64(len(msg)), err
	}
	w := &worker{persistent: true, close: func() { p.Close(); c.Close() }}
	switch o.Workload {
	case Transact:
		w.op = func(ctx context.Context) (int64, error) {
			n, more, err := p.Transact(ctx, msg, out)
			return reply(ctx, n, more, err)
		}
	case WriteRead:
		w.op = func(ctx context.Context) (int64, error) {
			if _, err := p.WriteMsg(ctx, msg); err != nil {
				return 0, err
			}
			n, more, err := p.ReadMsg(ctx, out)
			return reply(ctx, n, more, err)
		}
	}
	return describeConn(w, c), nil
}

// window bounds how far a stream writer may run ahead of its reader, in
// chunks: enough to keep both directions busy, small enough that the
// server's queue does not grow without bound.
const window = 4

// setupStream prepares a Stream worker: op writes one chunk, a reader
// goroutine reads the echoed bytes and gives back window credits.
func setupStream(ctx context.Context, o *Options) (*worker, error) {
	c, p, err := dialPipe(ctx, o)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	s := newStreamer(o.StreamChunk, func(b []byte) (int, error) {
		n, _, err := p.ReadMsg(rctx, b)
		return n, err
	})
	chunk := message(&Options{Size: o.StreamChunk})
	w := &worker{persistent: true}
	w.op = func(ctx context.Context) (int64, error) {
		if err := s.acquire(ctx); err != nil {
			return 0, err
		}
		n, err := p.WriteMsg(ctx, chunk)
		return int64(n), err
	}
	w.close = func() {
		cancel()
		p.Close()
		c.Close()
		s.wait()
	}
	return describeConn(w, c), nil
}

// streamer runs the read side of a stream: it reads until read fails and
// returns one credit to the writer per chunk received.
type streamer struct {
	credits chan struct{}
	done    chan struct{}
	err     error // read error that ended the reader; valid after done
}

func newStreamer(chunk int, read func([]byte) (int, error)) *streamer {
	s := &streamer{credits: make(chan struct{}, window), done: make(chan struct{})}
	for range window {
		s.credits <- struct{}{}
	}
	go func() {
		defer close(s.done)
		buf := make([]byte, chunk)
		var got int
		for {
			n, err := read(buf)
			if err != nil {
				s.err = err
				return
			}
			for got += n; got >= chunk; got -= chunk {
				s.credits <- struct{}{}
			}
		}
	}()
	return s
}

// acquire waits for a credit to write one chunk.
func (s *streamer) acquire(ctx context.Context) error {
	select {
	case <-s.credits:
		return nil
	case <-s.done:
		return fmt.Errorf("bench: stream reader ended: %w", s.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait waits for the reader to end (after its transport was closed).
func (s *streamer) wait() { <-s.done }

// closeAll closes pipes and connections in parallel.
func closeAll(ps []*client.Pipe, cs []*client.Conn) {
	var wg sync.WaitGroup
	for i := range cs {
		wg.Go(func() {
			if ps[i] != nil {
				ps[i].Close()
			}
			if cs[i] != nil {
				cs[i].Close()
			}
		})
	}
	wg.Wait()
}
