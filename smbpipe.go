// Package smbpipe serves and opens Windows named pipes (\\host\pipe\name on
// the IPC$ share) over SMB2/SMB3, with the access rules of a Windows file
// server.
//
// It is the thin public face of the packages server, pipe and client, in
// the shape of go-winio's ListenPipe:
//
//	var srv smbpipe.Server                       // the zero value works
//	l, _ := srv.Listen("upper", &smbpipe.PipeConfig{MessageMode: true})
//	go srv.ListenAndServe()                      // SMB on srv.Addr
//	conn, _ := l.Accept()                        // one per client open
//	who := conn.(*smbpipe.Conn).Caller()         // user, SIDs, anonymous ...
//
// and, on the other side, a Dialer:
//
//	d := smbpipe.Dialer{Config: smbpipe.ClientConfig{User: "alice", Password: "..."}}
//	p, _ := d.DialContext(ctx, `\\host\pipe\upper`)
//
// Both ends are net.Conn values with a message view: ReadMsg reads up to
// len(p) bytes of the next message and reports whether the message
// continues (STATUS_BUFFER_OVERFLOW on the wire), and ReadMessage reads one
// whole message.
package smbpipe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close, and by Listen after them.
var ErrServerClosed = server.ErrServerClosed

// Caller is who opened a pipe instance: user, domain, SIDs, anonymous or
// guest, the client's address, the SMB session id, whether the session
// signs and whether it encrypts (SMB3 encryption required for it, or used
// by the client when the open was made).
type Caller = pipe.Caller

// Dialer opens pipes on SMB servers (smbpipe, Windows, Samba) by path,
// anonymously or with credentials; when every instance is busy it waits
// with FSCTL_PIPE_WAIT until its context ends. See client.Dialer.
type Dialer = client.Dialer

// ClientConfig is a Dialer's credentials and protocol options (the zero
// value dials anonymously). See client.Config.
type ClientConfig = client.Config

// ClientConn is what Dialer.DialContext returns: a net.Conn on the client
// end of a pipe with ReadMsg, Transact and Peek. See client.Pipe.
type ClientConn = client.Pipe

// Server serves named pipes over SMB2/SMB3. The zero value is ready to
// use: it accepts null sessions but, as Windows does by default, lets them
// open no pipe (set Config to add accounts, NullSessionPipes and so on).
// A Config built in Go keeps those defaults (see Config); RefuseNullSessions
// and UnrestrictedNullSessions say otherwise.
//
// Set the fields before the first call of a method; the Server copies them
// then and does not look at them again (SetConfig replaces Config later).
// A Server must not be copied after first use; its methods are safe for
// concurrent use.
type Server struct {
	// Addr is the TCP address ListenAndServe listens on; "" means ":445".
	Addr string
	// Config is the policy: server and domain name, accounts, signing,
	// the [LanmanServer] and [Lsa] parameters, [limits] (for example
	// Limits.MaxAsyncPerConnection, the operations one connection may have
	// pending before STATUS_INSUFFICIENT_RESOURCES), and [[pipe]] entries
	// served by backends (echo, tcp:, unix:, exec:). nil means the embedded
	// default without its pipes and its NullSessionPipes. It is copied.
	//
	// A Config built in Go reads as the TOML file would with the keys it
	// leaves out: empty Listen, ServerName, Domain and Signing take their
	// defaults, AllowAnonymous false still accepts null sessions
	// (allow_anonymous = true) and RestrictNullSessAccess 0 is 1 (null
	// sessions open only the NullSessionPipes), as on Windows. A Config
	// from policy.Load or policy.Parse (Config.Parsed) is taken as the
	// file says. Two zero values keep their Go meaning: Services nil
	// presents no RPC service, and the Lsa fields restrict nothing, so a
	// Config built in Go that turns services on sets them too (or starts
	// from policy.Parse(nil, "defaults"): every key at the file's default,
	// no pipe).
	Config *policy.Config
	// RefuseNullSessions refuses null (anonymous) sessions at SESSION_SETUP,
	// whatever Config says (allow_anonymous = false).
	RefuseNullSessions bool
	// UnrestrictedNullSessions lets null sessions open every pipe whose
	// security descriptor admits them, not only the NullSessionPipes
	// (RestrictNullSessAccess = 0), whatever Config says.
	UnrestrictedNullSessions bool
	// Logger receives connection and backend events and the audit records
	// (session setup, pipe open, RPC decisions); nil means slog.Default().
	Logger *slog.Logger
	// QuietSessions leaves out of Logger every record about one client:
	// its connection's events and its audit records (session setup, pipe
	// open, RPC decisions), successes and denials alike. The server's own
	// records stay: accept errors, server-wide limits, backends, Kerberos
	// keytabs and the administrator's CloseSession and CloseOpen. (A
	// program that wants no records at all sets Logger to
	// slog.New(slog.DiscardHandler).)
	QuietSessions bool

	// once builds srv on first use (init), or marks a Server shut down
	// before any use as closed, with nothing built.
	once sync.Once
	srv  *server.Server // the policy's one owner (Server.Policy)
	err  error
	// refuseNull and unrestrictedNull are the fields' values at init, for
	// SetConfig.
	refuseNull, unrestrictedNull bool

	mu        sync.Mutex
	closed    bool
	listeners map[*Listener]struct{}
}

// effectiveConfig returns a defaulted copy of cfg (nil: the default
// without pipes): a Config built in Go takes the file's defaults where it
// holds a zero value, then RefuseNullSessions and UnrestrictedNullSessions
// apply.
func (s *Server) effectiveConfig(cfg *policy.Config) *policy.Config {
	def := policy.Default()
	var c *policy.Config
	switch {
	case cfg == nil:
		c = def
		c.Pipes = nil
		c.Services = nil // the Windows RPC services are pipes too
		c.LanmanServer.NullSessionPipes = nil
	default:
		c = cfg.Clone()
		for _, f := range []struct {
			v   *string
			def string
		}{
			{&c.Listen, def.Listen}, {&c.ServerName, def.ServerName},
			{&c.Domain, def.Domain}, {&c.Signing, def.Signing},
		} {
			if *f.v == "" {
				*f.v = f.def
			}
		}
		if !cfg.Parsed() {
			// Go's zero values are not the file's: false and 0 here mean
			// the key was left out.
			c.AllowAnonymous = true
			if c.LanmanServer.RestrictNullSessAccess == 0 {
				c.LanmanServer.RestrictNullSessAccess = 1
			}
		}
	}
	if s.refuseNull {
		c.AllowAnonymous = false
	}
	if s.unrestrictedNull {
		c.LanmanServer.RestrictNullSessAccess = 0
	}
	return c
}

func (s *Server) compileConfig(cfg *policy.Config) (*policy.Snapshot, error) {
	snap, err := policy.Compile(s.effectiveConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("smbpipe: config: %w", err)
	}
	return snap, nil
}

// init builds the underlying server on first use.
func (s *Server) init() error {
	s.once.Do(func() {
		s.refuseNull, s.unrestrictedNull = s.RefuseNullSessions, s.UnrestrictedNullSessions
		snap, err := s.compileConfig(s.Config)
		if err != nil {
			s.err = err
			return
		}
		log := s.Logger
		if log == nil {
			log = slog.Default()
		}
		if s.QuietSessions {
			log = slog.New(quietHandler{h: log.Handler()})
		}
		s.srv, s.err = server.New(server.Options{Snapshot: snap, Logger: log})
	})
	return s.err
}

// Serve accepts SMB connections on l until Shutdown or Close and returns
// ErrServerClosed then (or another error of l.Accept, or of the Config).
// It may run on several listeners at once.
func (s *Server) Serve(l net.Listener) error {
	if err := s.init(); err != nil {
		l.Close()
		return err
	}
	return s.srv.Serve(l)
}

// ListenAndServe listens on s.Addr (":445" when empty) and calls Serve.
// It returns only when the server stops. A program that must know when
// clients can connect makes the listener itself and calls Serve: once
// net.Listen has returned, connections queue until Serve accepts them
// (see the example of Serve).
func (s *Server) ListenAndServe() error {
	if err := s.init(); err != nil {
		return err
	}
	addr := s.Addr
	if addr == "" {
		addr = ":445"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// SetConfig replaces the policy (hot reload): sessions and opens that
// exist keep their identity, new session setups and opens are decided by
// cfg, and [[pipe]] entries are started, stopped or restarted. An invalid
// cfg is an error and changes nothing.
func (s *Server) SetConfig(cfg *policy.Config) error {
	if err := s.init(); err != nil {
		return err
	}
	snap, err := s.compileConfig(cfg)
	if err != nil {
		return err
	}
	return s.srv.SetPolicy(snap)
}

// Shutdown stops accepting, closes the pipe listeners made by Listen, lets
// requests being processed finish (bounded by ctx), then closes every
// connection and backend. Connections already accepted from a Listener
// then see io.EOF once they have read what their client wrote.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	if !s.started() {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// Close closes the SMB listeners, the pipe listeners and every connection
// at once.
func (s *Server) Close() error {
	s.closeListeners()
	if !s.started() {
		return nil
	}
	return s.srv.Close()
}

// started reports whether the server was built; a Server that was never
// used is marked closed instead, without compiling its Config or starting
// its backends (later calls get ErrServerClosed).
func (s *Server) started() bool {
	s.once.Do(func() { s.err = ErrServerClosed })
	return s.srv != nil
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	s.closed = true
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	for l := range ls {
		l.l.Close()
	}
}

// Direction says which way data flows in a pipe. The zero value is
// Duplex.
type Direction uint8

// Directions. On the wire (FilePipeLocalInformation) they are 2, 0 and 1.
const (
	Duplex   Direction = iota // both ways (PIPE_ACCESS_DUPLEX)
	Inbound                   // client to server only (PIPE_ACCESS_INBOUND)
	Outbound                  // server to client only (PIPE_ACCESS_OUTBOUND)
)

func (d Direction) wire() (pipe.Direction, error) {
	switch d {
	case Duplex:
		return pipe.Duplex, nil
	case Inbound:
		return pipe.Inbound, nil
	case Outbound:
		return pipe.Outbound, nil
	}
	return 0, fmt.Errorf("smbpipe: unknown direction %d", d)
}

// PipeConfig describes a pipe made by Listen. The zero value (or a nil
// *PipeConfig) is a duplex byte-mode pipe with unlimited instances, 64 KiB
// buffers and Windows' default named-pipe DACL.
type PipeConfig struct {
	// SecurityDescriptor is the pipe's security descriptor in SDDL, for
	// example "D:(A;;0x12019B;;;AU)(A;;FA;;;SY)". "" is Windows' default:
	// full control for SY, BA and the owner; read for Everyone and
	// ANONYMOUS LOGON. Anonymous callers also need the pipe in the
	// config's NullSessionPipes (unless RestrictNullSessAccess is 0).
	SecurityDescriptor string
	// MessageMode makes a message-type pipe: each write is one message and
	// reads return at most one. Otherwise the pipe is a byte stream.
	MessageMode bool
	// MaxInstances caps the instances open at once; beyond it opens get
	// STATUS_PIPE_NOT_AVAILABLE. 0 is unlimited.
	MaxInstances int
	// InputBufferSize is the bytes queued from client to server before
	// the client's writes pend; 0 means 64 KiB.
	InputBufferSize int
	// OutputBufferSize is the bytes queued from server to client before
	// the server's writes block; 0 means 64 KiB.
	OutputBufferSize int
	// Direction is Duplex (the zero value), Inbound or Outbound.
	Direction Direction
}

// Listen creates the pipe name (no \pipe\ prefix; compared
// case-insensitively) and returns a listener whose Accept returns a *Conn
// for every client open. Closing the listener removes the pipe: new opens
// get STATUS_OBJECT_NAME_NOT_FOUND while connections already accepted
// carry on. cfg may be nil; it is copied. Errors: a bad SDDL or field, a
// pipe of that name exists (pipe.ErrExists), ErrServerClosed.
func (s *Server) Listen(name string, cfg *PipeConfig) (net.Listener, error) {
	if err := s.init(); err != nil {
		return nil, err
	}
	var pc PipeConfig
	if cfg != nil {
		pc = *cfg
	}
	dir, err := pc.Direction.wire()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrServerClosed
	}
	mode := pipe.ByteMode
	if pc.MessageMode {
		mode = pipe.MessageMode
	}
	pl, err := s.srv.Listen(name, pipe.Config{
		Mode:         mode,
		Direction:    dir,
		MaxInstances: pc.MaxInstances,
		InQuota:      pc.InputBufferSize,
		OutQuota:     pc.OutputBufferSize,
	}, pc.SecurityDescriptor)
	if err != nil {
		return nil, fmt.Errorf("smbpipe: %w", err)
	}
	l := &Listener{l: pl, srv: s}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		pl.Close()
		return nil, ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[*Listener]struct{})
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	return l, nil
}

// Listener accepts the server ends of a pipe's instances. It implements
// net.Listener; Accept returns a *Conn.
type Listener struct {
	l   *pipe.Listener
	srv *Server
}

// Accept waits for the next client open and returns its server end, a
// *Conn. After Close it returns net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	return l.AcceptConn(context.Background())
}

// AcceptConn is Accept bounded by ctx.
func (l *Listener) AcceptConn(ctx context.Context) (*Conn, error) {
	e, err := l.l.AcceptEnd(ctx)
	if err != nil {
		return nil, err
	}
	c := &Conn{End: e}
	c.caller, _ = e.Caller()
	return c, nil
}

// Close removes the pipe (see Listen). It is idempotent.
func (l *Listener) Close() error {
	l.srv.mu.Lock()
	delete(l.srv.listeners, l)
	l.srv.mu.Unlock()
	return l.l.Close()
}

// Addr returns the pipe's address: network "pipe", the pipe's name.
func (l *Listener) Addr() net.Addr { return l.l.Addr() }

// Conn is the server end of one pipe instance. It is a net.Conn (Read,
// Write, Close, deadlines) and a *pipe.End (ReadMsg, AppendMessage, Peek,
// Transceive, read and completion modes), plus Caller.
//
// In a message-mode pipe, Read returns at most one message and a short
// buffer gets the first part with the rest on the next Read; ReadMsg says
// whether the message continues and ReadMessage reads a whole one. Once
// the client has closed its handle and this end has read what it had
// written, reads return io.EOF; writes to a closed client fail with
// pipe.ErrBroken. Closing this end lets the client read what is queued,
// then STATUS_PIPE_BROKEN.
type Conn struct {
	*pipe.End
	caller Caller
}

// Caller returns the identity of the client that opened this instance.
func (c *Conn) Caller() Caller { return c.caller }

// MessageConn is the message view both ends of a pipe offer (*Conn and
// *ClientConn): a net.Conn whose ReadMsg reads up to len(p) bytes of the
// next message and reports, in more, that the message continues.
type MessageConn interface {
	net.Conn
	ReadMsg(ctx context.Context, p []byte) (n int, more bool, err error)
}

// MaxMessageSize bounds the messages ReadMessage reads.
const MaxMessageSize = 16 << 20

// ErrMessageTooLarge is returned by ReadMessage for a message longer than
// MaxMessageSize; what was read is returned and the rest stays queued.
var ErrMessageTooLarge = errors.New("smbpipe: message too large")

// ReadMessage reads one whole message from c (in byte mode: what one read
// returns) and appends it to dst, growing it as needed. A message longer
// than MaxMessageSize ends with ErrMessageTooLarge after MaxMessageSize
// bytes; its rest stays queued.
func ReadMessage(ctx context.Context, c MessageConn, dst []byte) ([]byte, error) {
	limit := len(dst) + MaxMessageSize
	for {
		if len(dst) == limit {
			return dst, ErrMessageTooLarge
		}
		if len(dst) == cap(dst) {
			grow := min(max(cap(dst), 4<<10), 1<<20, limit-len(dst))
			dst = append(dst, make([]byte, grow)...)[:len(dst)]
		}
		n, more, err := c.ReadMsg(ctx, dst[len(dst):min(cap(dst), limit)])
		dst = dst[:len(dst)+n]
		if err != nil || !more {
			return dst, err
		}
	}
}
