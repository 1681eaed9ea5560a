package dcerpc

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/ndr"
)

// OpFunc runs one call: it reads the [in] parameters from in (the request
// stub, in the client's byte order) and writes the [out] parameters to out
// (little-endian), calling Flush after each top-level parameter as NDR
// requires. in and out are valid until the function returns.
//
// A returned Fault answers with that status, an error wrapping
// ErrStubData or ndr.ErrMalformed with bad stub data, any other error with
// FaultOther. When in recorded a decoding error (in.Err() != nil) the call
// faults with bad stub data whatever the function returns: a function may
// read all its parameters and check once, but must check in.Err() before
// acting on them.
type OpFunc func(c *Call, in *ndr.Reader, out *ndr.Writer) error

// Op is one operation of an interface.
type Op struct {
	Name string
	Func OpFunc // nil: not used on the wire (nca_s_op_rng_error)
}

// Interface is an RPC interface: its syntax (UUID and version) and its
// operations indexed by opnum.
type Interface struct {
	Name   string
	Syntax SyntaxID
	Ops    []Op
	// AllowConnect lets clients bound at auth level CONNECT call the
	// interface; otherwise their calls fault with access denied
	// (Windows and Samba refuse CONNECT for lsarpc, samr, netlogon).
	AllowConnect bool
}

// Caller is who calls: the transport's identity (the SMB session's user),
// or the RPC-authenticated one.
type Caller struct {
	User       string
	Domain     string
	SIDs       []string // user SID first, then groups (S-1-...)
	Anonymous  bool
	Guest      bool
	ClientAddr string
}

// Event is an audit record: one per BIND or ALTER_CONTEXT (Kind "bind",
// "alter_context"), per completed RPC authentication ("auth") and per call
// the engine refuses ("refused": unknown context or opnum, auth level,
// protocol errors, oversized requests, a request stub that does not
// decode).
type Event struct {
	Kind       string
	Interface  SyntaxID // the context's abstract syntax, when known
	Name       string   // interface name, when registered
	AssocGroup uint32
	AuthType   AuthType
	AuthLevel  AuthLevel
	CallID     uint32
	Opnum      uint16
	// Accepted reports a bind result of acceptance, or a successful auth.
	Accepted bool
	Nak      bool   // bind: answered with a BIND_NAK
	Result   uint16 // bind: the context result; bind_nak: the reject reason
	Reason   uint16 // bind: the provider reason
	Fault    uint32 // refused: the fault status
	Detail   string
	Caller   Caller
}

// Server serves DCE/RPC associations. The zero value serves no interface;
// Register interfaces before serving. Its association groups (and the
// context handles they own) are shared by every connection served by the
// same Server, as Windows shares them across the instances of a pipe.
type Server struct {
	// MaxFrag is the largest fragment the server receives and sends;
	// 0 means 4280, as Windows and Samba use over SMB (5840 over TCP).
	MaxFrag int
	// MaxRequest bounds the reassembled stub of one request; 0 means 4 MiB.
	MaxRequest int
	// SecondaryAddr is the BIND_ACK's secondary address, e.g.
	// `\PIPE\rpcecho`; empty sends none.
	SecondaryAddr string
	// NTLM returns the NTLM configuration (accounts and names) for an
	// RPC-level authentication, consulted at each one; nil refuses
	// RPC-level authentication (BIND_NAK).
	NTLM func() ntlm.ServerConfig
	// Identity maps an RPC-level NTLM logon to a caller (the account as
	// configured, its SIDs); an error refuses the logon (the
	// authentication fails with access denied). nil gives the user and
	// domain of the logon (Anonymous for a null logon).
	Identity func(r *ntlm.Result) (Caller, error)
	// Audit receives the audit events; nil discards them. It is called
	// from the connection's goroutines.
	Audit func(Event)

	mu     sync.Mutex
	ifaces []*Interface
	groups map[uint32]*group
}

// Register adds an interface. It fails when an interface with the same
// UUID and major version is registered.
func (s *Server) Register(iface Interface) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range s.ifaces {
		if i.Syntax.UUID == iface.Syntax.UUID && i.Syntax.Major == iface.Syntax.Major {
			return fmt.Errorf("dcerpc: interface %v registered twice", iface.Syntax)
		}
	}
	c := iface
	c.Ops = append([]Op(nil), iface.Ops...)
	s.ifaces = append(s.ifaces, &c)
	return nil
}

// Interfaces returns the registered interfaces' syntaxes, mgmt excluded.
func (s *Server) Interfaces() []SyntaxID {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SyntaxID, 0, len(s.ifaces))
	for _, i := range s.ifaces {
		out = append(out, i.Syntax)
	}
	return out
}

// lookup finds the interface for an abstract syntax: same UUID and major
// version, a minor version at most the registered one. The mgmt
// interface is answered on every association.
func (s *Server) lookup(a SyntaxID) *Interface {
	if a.UUID == mgmtInterface.Syntax.UUID && a.Major == mgmtInterface.Syntax.Major && a.Minor <= mgmtInterface.Syntax.Minor {
		return &mgmtInterface
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range s.ifaces {
		if i.Syntax.UUID == a.UUID && i.Syntax.Major == a.Major && a.Minor <= i.Syntax.Minor {
			return i
		}
	}
	return nil
}

func (s *Server) maxFrag() int {
	if s.MaxFrag <= 0 {
		return 4280
	}
	return min(max(s.MaxFrag, 2048), maxFragLength) &^ 7
}

func (s *Server) maxRequest() int {
	if s.MaxRequest <= 0 {
		return 4 << 20
	}
	return s.MaxRequest
}

func (s *Server) audit(e Event) {
	if s.Audit != nil {
		s.Audit(e)
	}
}

// ServeConn serves one association on conn (a pipe instance's server
// end, or a stream through StreamConn) for caller, the transport's
// identity. It returns when the client goes away (nil), ctx ends
// (ctx.Err()), or after a protocol error was answered with a fault (the
// error says which). It does not close conn. Calls still running are
// cancelled and waited for.
func (s *Server) ServeConn(ctx context.Context, conn MessageConn, caller Caller) error {
	c := newConn(s, conn, caller)
	err := c.serve(ctx)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return err
}

// group is an association group: connections that share context handles.
type group struct {
	id      uint32
	refs    int // connections in the group
	handles map[Handle]*handleEntry
}

type handleEntry struct {
	iface UUID
	value any
}

// joinGroup returns the group id names, creating one for id 0; nil when
// id names no group of this server.
func (s *Server) joinGroup(id uint32) *group {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups == nil {
		s.groups = make(map[uint32]*group)
	}
	if id != 0 {
		g := s.groups[id]
		if g != nil {
			g.refs++
		}
		return g
	}
	for {
		var b [4]byte
		rand.Read(b[:])
		id = binary.LittleEndian.Uint32(b[:])
		if id != 0 && s.groups[id] == nil {
			break
		}
	}
	g := &group{id: id, refs: 1, handles: make(map[Handle]*handleEntry)}
	s.groups[id] = g
	return g
}

// leaveGroup drops a connection from g; the last one takes the group and
// its handles away, closing the values that are io.Closers (rundown).
func (s *Server) leaveGroup(g *group) {
	s.mu.Lock()
	g.refs--
	var rundown []*handleEntry
	if g.refs == 0 {
		delete(s.groups, g.id)
		for _, e := range g.handles {
			rundown = append(rundown, e)
		}
		g.handles = nil
	}
	s.mu.Unlock()
	for _, e := range rundown {
		if c, ok := e.value.(io.Closer); ok {
			c.Close()
		}
	}
}

// Handle is a context handle (ndr.ContextHandle): 20 bytes on the wire,
// an attribute word and a UUID. The zero Handle is the NULL handle.
type Handle = ndr.ContextHandle

// ErrContextMismatch is the fault for an unknown, closed or foreign
// context handle (nca_s_fault_context_mismatch).
const ErrContextMismatch = Fault(FaultContextMismatch)

func (s *Server) newHandle(g *group, iface UUID, v any) Handle {
	var h Handle
	for {
		rand.Read(h.UUID[:])
		s.mu.Lock()
		if g.handles != nil && g.handles[h] == nil && !h.IsZero() {
			g.handles[h] = &handleEntry{iface: iface, value: v}
			s.mu.Unlock()
			return h
		}
		s.mu.Unlock()
	}
}

func (s *Server) handle(g *group, iface UUID, h Handle, remove bool) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := g.handles[h]
	if e == nil || e.iface != iface {
		return nil, false
	}
	if remove {
		delete(g.handles, h)
	}
	return e.value, true
}
