package dcerpc

import (
	"context"
	"sync"

	"github.com/smbpipe/smbpipe/ndr"
)

// Call is one RPC call as a handler sees it. It is valid until the
// handler returns; the engine reuses it for later calls.
type Call struct {
	conn    *conn
	iface   *Interface
	ctxID   uint16
	callID  uint32
	opnum   uint16
	drep    [4]byte
	object  UUID
	hasObj  bool
	in, out []byte
	r       ndr.Reader
	w       ndr.Writer

	mu        sync.Mutex
	ctx       context.Context // made on first use
	cancel    context.CancelFunc
	cancelled bool // CO_CANCEL or ORPHANED arrived
	orphaned  bool
}

// Context returns a context that ends when the client cancels the call
// (CO_CANCEL), orphans it (ORPHANED) or goes away, or the server stops.
// It is made on first use, so that calls that never ask for it do not
// pay for it.
func (c *Call) Context() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithCancel(c.conn.ctx)
		if c.cancelled {
			c.cancel()
		}
	}
	return c.ctx
}

// abort cancels the call (CO_CANCEL, ORPHANED).
func (c *Call) abort(orphaned bool) {
	c.mu.Lock()
	c.cancelled = true
	c.orphaned = c.orphaned || orphaned
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
}

// Cancelled reports whether the client cancelled or orphaned the call.
func (c *Call) Cancelled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelled
}

// Interface returns the interface called.
func (c *Call) Interface() *Interface { return c.iface }

// Opnum returns the operation number.
func (c *Call) Opnum() uint16 { return c.opnum }

// CallID returns the call_id of the request.
func (c *Call) CallID() uint32 { return c.callID }

// BigEndian reports whether the request stub's integers are big-endian.
// Responses are always little-endian.
func (c *Call) BigEndian() bool { return c.drep[0]&0x10 == 0 }

// Object returns the object UUID of the request, if it had one.
func (c *Call) Object() (UUID, bool) { return c.object, c.hasObj }

// Caller returns who calls: the RPC-authenticated identity when the
// association authenticated, else the transport's (the SMB session's).
func (c *Call) Caller() Caller { return c.conn.identity() }

// Transport returns the transport's identity, whatever the RPC auth.
func (c *Call) Transport() Caller { return c.conn.caller }

// AuthLevel returns the association's auth level (LevelNone without
// RPC-level authentication) and AuthType its security provider.
func (c *Call) AuthLevel() AuthLevel { return c.conn.authLevel() }

// AuthType returns the association's security provider (AuthNone without
// RPC-level authentication).
func (c *Call) AuthType() AuthType { return c.conn.authType() }

// AssocGroup returns the association group's id.
func (c *Call) AssocGroup() uint32 { return c.conn.group.id }

// NewHandle creates a context handle for v in the association group; it
// is valid on every connection of the group, for this interface only,
// until CloseHandle or until the group's last connection closes (then v
// is closed if it is an io.Closer).
func (c *Call) NewHandle(v any) Handle {
	return c.conn.srv.newHandle(c.conn.group, c.iface.Syntax.UUID, v)
}

// LookupHandle returns the value of h, or ErrContextMismatch when h is
// unknown, closed, of another association group or another interface.
func (c *Call) LookupHandle(h Handle) (any, error) {
	v, ok := c.conn.srv.handle(c.conn.group, c.iface.Syntax.UUID, h, false)
	if !ok {
		return nil, ErrContextMismatch
	}
	return v, nil
}

// CloseHandle removes h and returns its value, or ErrContextMismatch as
// LookupHandle.
func (c *Call) CloseHandle(h Handle) (any, error) {
	v, ok := c.conn.srv.handle(c.conn.group, c.iface.Syntax.UUID, h, true)
	if !ok {
		return nil, ErrContextMismatch
	}
	return v, nil
}

// HandleValue returns the value of h as a T: ErrContextMismatch when h is
// not a live handle of this group and interface, or holds another type.
func HandleValue[T any](c *Call, h Handle) (T, error) {
	var zero T
	v, err := c.LookupHandle(h)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, ErrContextMismatch
	}
	return t, nil
}
