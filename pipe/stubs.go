package pipe

import (
	"context"
	"net"
	"time"
)

// STUBS: replaced by the real implementation. Signatures are the contract.

// Namespace is the set of pipes. Zero value usable; safe for concurrent use.
type Namespace struct{}

// Pipe is one named pipe (all its instances).
type Pipe struct{}

// Listener accepts server ends of new instances. Closing it removes the
// pipe from the namespace; instances already opened carry on.
type Listener struct{}

// End is one end of a pipe instance. It is a net.Conn; Read in message mode
// returns at most one message (the rest on the next Read).
type End struct{}

// Create registers a pipe; its server ends arrive on the returned Listener.
func (ns *Namespace) Create(name string, cfg Config) (*Listener, error) { return nil, ErrExists }

// Lookup finds a pipe by name, case-insensitively.
func (ns *Namespace) Lookup(name string) (*Pipe, bool) { return nil, false }

// Open creates an instance of the named pipe and returns its client end;
// the server end is queued on the pipe's Listener. info is attached to both
// ends (the caller's identity) and returned by End.Info.
func (ns *Namespace) Open(name string, info any) (*End, error) { return nil, ErrNotFound }

// Names lists pipe names (as created).
func (ns *Namespace) Names() []string { return nil }

// Name returns the pipe's name as created.
func (p *Pipe) Name() string { return "" }

// Config returns the pipe's config.
func (p *Pipe) Config() Config { return Config{} }

// Instances returns the number of open instances.
func (p *Pipe) Instances() int { return 0 }

// Accept waits for the next server end.
func (l *Listener) Accept() (net.Conn, error) { return nil, ErrClosed }

// AcceptEnd is Accept returning the concrete type.
func (l *Listener) AcceptEnd(ctx context.Context) (*End, error) { return nil, ErrClosed }

// Close removes the pipe from its namespace.
func (l *Listener) Close() error { return nil }

// Addr returns the pipe's address (network "pipe", the name).
func (l *Listener) Addr() net.Addr { return nil }

// Read implements net.Conn.
func (e *End) Read(p []byte) (int, error) { return 0, ErrClosed }

// ReadMsg reads up to len(p) bytes of the next message (byte mode: whatever
// is queued). more reports that the message continues (BUFFER_OVERFLOW).
// Blocks until data arrives, ctx ends, or the peer closes (then ErrBroken
// once the queue is drained; io.EOF for the server end).
func (e *End) ReadMsg(ctx context.Context, p []byte) (n int, more bool, err error) {
	return 0, false, ErrClosed
}

// TryRead is ReadMsg that returns ErrWouldBlock instead of blocking.
func (e *End) TryRead(p []byte) (n int, more bool, err error) { return 0, false, ErrClosed }

// WaitReadable blocks until TryRead would not return ErrWouldBlock.
func (e *End) WaitReadable(ctx context.Context) error { return ErrClosed }

// Write implements net.Conn: in message mode p is one message. Blocks while
// the peer's queue is over quota.
func (e *End) Write(p []byte) (int, error) { return 0, ErrClosed }

// WriteContext is Write bounded by ctx.
func (e *End) WriteContext(ctx context.Context, p []byte) (int, error) { return 0, ErrClosed }

// Transceive writes in as one message and reads one reply message into out.
// ErrBusy if unread data is queued for this end; ErrBadState unless the
// pipe is duplex message mode.
func (e *End) Transceive(ctx context.Context, in, out []byte) (n int, more bool, err error) {
	return 0, false, ErrClosed
}

// Peek reports what is queued and copies up to len(p) bytes without consuming.
func (e *End) Peek(p []byte) (PeekInfo, int) { return PeekInfo{}, 0 }

// Info returns the value given to Namespace.Open.
func (e *End) Info() any { return nil }

// Pipe returns the pipe this end belongs to.
func (e *End) Pipe() *Pipe { return nil }

// Close closes this end; the peer drains what is queued, then sees the end.
func (e *End) Close() error { return nil }

// LocalAddr implements net.Conn.
func (e *End) LocalAddr() net.Addr { return nil }

// RemoteAddr implements net.Conn.
func (e *End) RemoteAddr() net.Addr { return nil }

// SetDeadline implements net.Conn.
func (e *End) SetDeadline(t time.Time) error { return nil }

// SetReadDeadline implements net.Conn.
func (e *End) SetReadDeadline(t time.Time) error { return nil }

// SetWriteDeadline implements net.Conn.
func (e *End) SetWriteDeadline(t time.Time) error { return nil }
