package server

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/policy"
)

// The administrator's view of a server: the sessions and open pipe
// instances it serves now, the access decisions it made last, and the two
// actions Windows gives an administrator on them (Close-SmbSession,
// Close-SmbOpenFile). Package admin serves it over HTTP; srvsvc's
// NetrSessionEnum, NetrConnectionEnum and NetrFileEnum read it too.
//
// Sessions and opens belong to their connection's reader goroutine; what
// this file lists is a copy each of them publishes in the server's
// adminState when it changes (a session established or re-authenticated,
// an open created or closed), plus counters updated with atomics on the
// read and write paths. Listing therefore never waits for a connection,
// and the request path takes no lock for it.

// ErrNotFound is returned by CloseSession and CloseOpen for an id that is
// not (or no longer) listed.
var ErrNotFound = errors.New("server: no such session or open")

// SessionInfo describes one established session (Get-SmbSession,
// smbstatus' session table). The values are a copy taken when Sessions was
// called.
type SessionInfo struct {
	// ID names the session for CloseSession and OpenInfo.Session: unique
	// among every session and open this Server ever served (never 0).
	ID uint64 `json:"id"`
	// SessionID is the SMB2 SessionId on the wire; it is unique on its
	// connection only.
	SessionID uint64 `json:"session_id"`
	// Client is the remote address of the connection (host:port).
	Client string `json:"client"`
	// Kind is "user", "guest" or "anonymous".
	Kind string `json:"kind"`
	// User and Domain are the account the session acts as (the built-in
	// Guest for a guest logon, "" for anonymous).
	User   string `json:"user"`
	Domain string `json:"domain"`
	// Dialect is the connection's SMB dialect, e.g. "3.1.1".
	Dialect string `json:"dialect"`
	// Signing reports whether the session requires signing.
	Signing bool `json:"signing"`
	// Encryption reports whether the session must encrypt
	// (encryption = "required"); Cipher is the connection's cipher ("" when
	// none was negotiated), which a session may also use when not required
	// to.
	Encryption bool   `json:"encryption"`
	Cipher     string `json:"cipher"`
	// Started is when the session was established; LastActive when it last
	// opened, read, wrote or transacted on a pipe (Started if never).
	Started    time.Time `json:"started"`
	LastActive time.Time `json:"last_active"`
	// Opens is the number of pipe handles the session holds now.
	Opens int `json:"opens"`
}

// OpenInfo describes one open pipe instance: the client end of a pipe
// held by a session (Get-SmbOpenFile, NetrFileEnum). The values are a copy
// taken when Opens was called.
type OpenInfo struct {
	// ID names the open for CloseOpen: unique among every session and
	// open this Server ever served (never 0).
	ID uint64 `json:"id"`
	// FileID is the volatile SMB2 FileId the client holds; unique on its
	// connection only.
	FileID uint64 `json:"file_id"`
	// Pipe is the pipe's name as the client opened it (no \pipe\ prefix).
	Pipe string `json:"pipe"`
	// Session is the SessionInfo.ID of the session holding the open.
	Session uint64 `json:"session"`
	// Client, Kind, User and Domain are the holding session's.
	Client string `json:"client"`
	Kind   string `json:"kind"`
	User   string `json:"user"`
	Domain string `json:"domain"`
	// Granted is the access mask kept on the handle.
	Granted uint32 `json:"granted"`
	// BytesIn counts the bytes the client wrote to the pipe (WRITE and
	// TRANSCEIVE input), BytesOut those it read (READ and TRANSCEIVE
	// output).
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
	// Opened is when the CREATE succeeded.
	Opened time.Time `json:"opened"`
}

// adminState is the server's part of the administrator's view. Its lock
// is taken when a session or open comes or goes, when a decision is
// recorded, and by the listing methods; never on READ, WRITE or
// TRANSCEIVE.
type adminState struct {
	mu       sync.Mutex
	nextID   uint64
	sessions map[uint64]*liveSession
	opens    map[uint64]*liveOpen
	ring     decisionRing

	policySet atomic.Int64 // unix nanoseconds of the last SetPolicy; 0: none
}

// liveSession is what a session publishes of itself.
type liveSession struct {
	id      uint64
	c       *conn
	smbID   uint64
	started time.Time
	dialect string
	cipher  string

	// Written under adminState.mu (by the reader goroutine at a
	// re-authentication), read under it.
	ident      policy.Identity
	signing    bool
	encryption bool
	opens      int

	lastActive atomic.Int64 // unix nanoseconds
}

// touch records activity now. It does not allocate.
func (ls *liveSession) touch() { ls.lastActive.Store(time.Now().UnixNano()) }

// liveOpen is what an open publishes of itself; in and out are updated on
// the data path with atomics (by the reader and by async completions).
type liveOpen struct {
	id      uint64
	o       *open
	sess    *liveSession
	fileID  uint64
	pipe    string
	granted uint32
	opened  time.Time

	in, out atomic.Uint64
}

// sessionUp publishes s once its logon succeeded, or updates what a
// re-authentication changed. Reader goroutine.
func (c *conn) sessionUp(s *session) {
	a := &c.srv.admin
	a.mu.Lock()
	defer a.mu.Unlock()
	ls := s.live
	if ls == nil {
		if a.sessions == nil {
			a.sessions = make(map[uint64]*liveSession)
			a.opens = make(map[uint64]*liveOpen)
		}
		a.nextID++
		now := time.Now()
		ls = &liveSession{id: a.nextID, c: c, smbID: s.id, started: now,
			dialect: c.dialect.String(), cipher: smbcrypto.CipherName(c.cipher)}
		ls.lastActive.Store(now.UnixNano())
		s.live = ls
		a.sessions[ls.id] = ls
	}
	ls.ident = s.ident
	ls.signing = s.signingRequired
	ls.encryption = s.encryptData
}

// sessionDown withdraws s. Reader goroutine.
func (c *conn) sessionDown(s *session) {
	if s.live == nil {
		return
	}
	a := &c.srv.admin
	a.mu.Lock()
	delete(a.sessions, s.live.id)
	a.mu.Unlock()
	s.live = nil
}

// openUp publishes o, just created by session s. Reader goroutine.
func (c *conn) openUp(s *session, o *open) {
	a := &c.srv.admin
	now := time.Now()
	if s.live == nil { // not established: nothing to list it under
		return
	}
	lo := &liveOpen{o: o, sess: s.live, fileID: o.id.Volatile, pipe: o.name, granted: o.granted, opened: now}
	o.live = lo
	s.live.lastActive.Store(now.UnixNano())
	a.mu.Lock()
	a.nextID++
	lo.id = a.nextID
	a.opens[lo.id] = lo
	s.live.opens++
	a.mu.Unlock()
}

// openDown withdraws o (closed by its client, its tree, its session, or
// CloseOpen). Any goroutine; idempotent.
func (a *adminState) openDown(lo *liveOpen) {
	if lo == nil || lo.id == 0 {
		return
	}
	a.mu.Lock()
	if _, ok := a.opens[lo.id]; ok {
		delete(a.opens, lo.id)
		lo.sess.opens--
	}
	a.mu.Unlock()
}

// countIn and countOut add n bytes moved by the client to the open's
// counters and mark its session active. They do not allocate; a nil lo
// (an open not published) is ignored.
func (lo *liveOpen) countIn(n int) {
	if lo != nil && n > 0 {
		lo.in.Add(uint64(n))
		lo.sess.touch()
	}
}

func (lo *liveOpen) countOut(n int) {
	if lo != nil && n > 0 {
		lo.out.Add(uint64(n))
		lo.sess.touch()
	}
}

// Sessions returns the sessions established now, in the order they were
// established. It is safe to call from any goroutine at any time, never
// waits for a connection, and the slice is the caller's.
func (s *Server) Sessions() []SessionInfo {
	a := &s.admin
	a.mu.Lock()
	out := make([]SessionInfo, 0, len(a.sessions))
	for _, ls := range a.sessions {
		out = append(out, ls.info())
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y SessionInfo) int { return cmpUint(x.ID, y.ID) })
	return out
}

// info copies ls; called with adminState.mu held.
func (ls *liveSession) info() SessionInfo {
	return SessionInfo{
		ID:         ls.id,
		SessionID:  ls.smbID,
		Client:     ls.c.remote,
		Kind:       kindName(ls.ident.Kind),
		User:       ls.ident.User,
		Domain:     ls.ident.Domain,
		Dialect:    ls.dialect,
		Signing:    ls.signing,
		Encryption: ls.encryption,
		Cipher:     ls.cipher,
		Started:    ls.started,
		LastActive: time.Unix(0, ls.lastActive.Load()),
		Opens:      ls.opens,
	}
}

// Opens returns the pipe instances open now, in the order they were
// opened. Like Sessions it is safe from any goroutine and never waits for
// a connection; an open closed by CloseOpen is no longer listed even
// before its client closes its handle.
func (s *Server) Opens() []OpenInfo {
	a := &s.admin
	a.mu.Lock()
	out := make([]OpenInfo, 0, len(a.opens))
	for _, lo := range a.opens {
		out = append(out, OpenInfo{
			ID:       lo.id,
			FileID:   lo.fileID,
			Pipe:     lo.pipe,
			Session:  lo.sess.id,
			Client:   lo.sess.c.remote,
			Kind:     kindName(lo.sess.ident.Kind),
			User:     lo.sess.ident.User,
			Domain:   lo.sess.ident.Domain,
			Granted:  lo.granted,
			BytesIn:  lo.in.Load(),
			BytesOut: lo.out.Load(),
			Opened:   lo.opened,
		})
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y OpenInfo) int { return cmpUint(x.ID, y.ID) })
	return out
}

func cmpUint(x, y uint64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// CloseSession ends the session id (SessionInfo.ID) as Close-SmbSession
// does, by closing the TCP connection that carries it: the client sees its
// connection end, every open of the connection is closed (pending
// operations complete with STATUS_PIPE_BROKEN on the server side), and
// other sessions multiplexed on the same connection end with it. by names
// who asked (for example "admin 127.0.0.1:50112"); the audit log records
// an "admin close session" record with it. ErrNotFound: no such session.
func (s *Server) CloseSession(id uint64, by string) error {
	a := &s.admin
	a.mu.Lock()
	ls := a.sessions[id]
	var info SessionInfo
	if ls != nil {
		info = ls.info()
	}
	a.mu.Unlock()
	if ls == nil {
		return ErrNotFound
	}
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "admin close session",
		slog.String("by", by),
		slog.Uint64("id", info.ID),
		slog.String("client", info.Client),
		slog.Uint64("session", info.SessionID),
		slog.String("kind", info.Kind),
		slog.String("user", info.User),
		slog.String("domain", info.Domain),
	)
	ls.c.close()
	return nil
}

// CloseOpen force-closes the open pipe instance id (OpenInfo.ID) as
// Close-SmbOpenFile does: its pending operations complete with
// STATUS_PIPE_BROKEN, the server end sees the client end close, and the
// client's next request on the handle gets STATUS_FILE_CLOSED; the
// client's CLOSE of it still succeeds. by names who asked; the audit log
// records an "admin close open" record with it. ErrNotFound: no such open.
func (s *Server) CloseOpen(id uint64, by string) error {
	a := &s.admin
	a.mu.Lock()
	lo := a.opens[id]
	if lo != nil {
		delete(a.opens, id)
		lo.sess.opens--
	}
	var kind, user, client string
	if lo != nil {
		kind, user, client = kindName(lo.sess.ident.Kind), lo.sess.ident.User, lo.sess.c.remote
	}
	a.mu.Unlock()
	if lo == nil {
		return ErrNotFound
	}
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "admin close open",
		slog.String("by", by),
		slog.Uint64("id", lo.id),
		slog.String("client", client),
		slog.Uint64("session", lo.sess.smbID),
		slog.String("kind", kind),
		slog.String("user", user),
		slog.String("pipe", lo.pipe),
		slog.Uint64("file_id", lo.fileID),
	)
	// Both are safe off the reader: the async table has its own lock and
	// a pipe end may be closed from any goroutine (and again by CLOSE).
	lo.sess.c.cancelAsyncFor(lo.o, errPipeBroken)
	lo.o.end.Close()
	return nil
}

// PolicyApplied returns when the policy in force was set: by New, or by
// the last SetPolicy (a hot reload).
func (s *Server) PolicyApplied() time.Time {
	if ns := s.admin.policySet.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return s.start
}

// Policy returns the policy snapshot in force.
func (s *Server) Policy() *policy.Snapshot { return s.snapshot() }
