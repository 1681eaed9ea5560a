package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbpipe/smbpipe/internal/sockio"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// Limits of one connection; the configurable ones are in policy.Limits.
const (
	maxIOSize    = 8 << 20  // MaxTransact/Read/WriteSize offered on 2.1+ (at most)
	maxIOSize202 = 64 << 10 // on 2.0.2 (no CAP_LARGE_MTU)
	frameSlack   = 64 << 10 // room for headers and compounds beyond maxIO in a frame
)

// errDisconnect makes the reader drop the connection.
var errDisconnect = errors.New("server: disconnect")

// conn is one client connection, served by one reader goroutine (serve).
// It is made of parts, each saying who owns it: the reader goroutine owns
// everything but the write path (wmu) and the async table (amu), which
// async completions share.
type conn struct {
	srv    *Server
	nc     net.Conn
	log    *slog.Logger
	remote string
	// ctx ends when the connection is torn down; async operations derive
	// their contexts from it.
	ctx    context.Context
	cancel context.CancelFunc
	// done is an already cancelled context (the server's): pipe writes
	// with it write what fits now and never block.
	done    context.Context
	closing atomic.Bool

	// Connection policy (reader). lim are the limits in force when the
	// connection was accepted; handshakeDeadline ends the time to finish
	// NEGOTIATE and the first SESSION_SETUP; established is set once a
	// session is valid.
	lim               policy.Limits
	handshakeDeadline time.Time
	established       bool
	limitsLogged      atomic.Uint32 // bit per limit already logged (any goroutine)

	frameReader // transport frames in (reader)
	negotiation // what NEGOTIATE fixed (reader)

	// Sessions, trees and opens (reader).
	credits  creditWindow
	sessions map[uint64]*session
	opens    map[uint64]*open // by FileId.Volatile
	nextSess uint64
	nextTree uint32
	nextFile uint64

	// The request frame being processed (reader).
	scratch *[]byte // pooled, held while a frame is processed
	req     request
	ch      chain
	reply   // its response frame

	// Write path: wmu serialises writes to nc (through sock) and every
	// use of a session's signer.
	wmu  sync.Mutex
	sock sockio.Conn

	// Async operations (amu).
	amu       sync.Mutex
	async     map[uint64]*asyncOp // by AsyncId
	nextAsync uint64
	awg       sync.WaitGroup
	// asyncBytes is what the async operations hold
	// (max_async_bytes_per_connection).
	asyncBytes int
}

func newConn(s *Server, nc net.Conn, lim policy.Limits) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	remote := nc.RemoteAddr().String()
	c := &conn{
		srv:      s,
		nc:       nc,
		remote:   remote,
		log:      s.log.With("client", remote),
		ctx:      ctx,
		cancel:   cancel,
		done:     s.done,
		credits:  newCreditWindow(uint64(lim.MaxCredits)),
		sessions: make(map[uint64]*session),
		opens:    make(map[uint64]*open),
		async:    make(map[uint64]*asyncOp),
		nextSess: 1,
		nextTree: 1,
		nextFile: 1,
		lim:      lim,

		handshakeDeadline: time.Now().Add(lim.HandshakeTimeout),
	}
	c.maxIO = uint32(min(maxIOSize, lim.MaxMessageSize-frameSlack))
	c.sock.Init(nc)
	c.frameReader.init(nc, c.sock.RawConn(), &s.rbufs, &s.bufs, &c.closing)
	return c
}

// serve runs the connection until the client leaves, a protocol violation,
// or the server closes it. A panic ends this connection only.
func (c *conn) serve() {
	defer c.teardown()
	defer func() {
		if r := recover(); r != nil {
			c.panicked(r)
		}
	}()
	c.log.Debug("smb connection open")
	for {
		payload, err := c.readFrame()
		if err != nil {
			if !c.closing.Load() && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.Debug("smb connection read ended", "err", err)
			}
			return
		}
		if deepFrame(payload) {
			err = c.handleAside(payload)
		} else {
			err = c.handleFrame(payload)
		}
		if err != nil {
			c.log.Info("smb connection dropped", "reason", err)
			return
		}
		if c.closing.Load() {
			return
		}
	}
}

// panicked logs a panic of the connection's request handling, which then
// ends.
func (c *conn) panicked(r any) {
	c.srv.metrics.inc(MetricPanics, "")
	c.log.Error("smb connection panic; closing it", "panic", r, "stack", string(debug.Stack()))
}

// errPanicked ends a connection whose request handling panicked (logged).
var errPanicked = errors.New("server: request handling panicked")

// deepFrame reports whether the frame starts with a command whose handling
// goes deep (NEGOTIATE, SESSION_SETUP with NTLM or Kerberos and key
// derivation, TREE_CONNECT and CREATE with their policy decisions): these
// run on a goroutine of their own (handleAside). An encrypted or SMB1
// frame does not.
func deepFrame(p []byte) bool {
	if len(p) < smb2.HeaderSize || [4]byte(p) != smb2.ProtocolID {
		return false
	}
	switch smb2.PeekCommand(p) {
	case smb2.CmdNegotiate, smb2.CmdSessionSetup, smb2.CmdTreeConnect, smb2.CmdCreate:
		return true
	}
	return false
}

// handleAside is handleFrame on another goroutine (one of the server's
// aside workers), the reader waiting for it. The handshake and the policy
// decisions grow a stack to 8-16 KiB, and Go gives a grown stack back only
// at a later garbage collection, halving it each time, if the goroutine
// then uses less than a quarter of it: on the reader, parked between
// frames for the whole life of the connection, that is kilobytes per
// connection (and the collector counts stacks in its heap goal, so twice).
// Aside, the reader keeps what the transact path needs.
func (c *conn) handleAside(payload []byte) error {
	return c.aside(func() error { return c.handleFrame(payload) })
}

// aside runs f on an aside worker while the reader waits for it, so the
// reader owns the connection's state again when aside returns (the
// channel orders the two). A panic of f is logged and ends the connection,
// as one on the reader does.
func (c *conn) aside(f func() error) error {
	return c.srv.aside.run(func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				c.panicked(r)
				err = errPanicked
			}
		}()
		return f()
	})
}

// drain asks the connection to stop after the request being processed.
func (c *conn) drain() {
	c.closing.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

// close closes the socket at once; serve then tears down.
func (c *conn) close() {
	c.closing.Store(true)
	c.nc.Close()
}

func (c *conn) teardown() {
	c.closing.Store(true)
	c.nc.Close()
	c.cancel()
	for _, s := range c.sessions {
		c.dropSession(s)
	}
	for _, o := range c.opens { // none left, unless a table is inconsistent
		c.closeOpen(o)
	}
	c.awg.Wait()
	c.log.Debug("smb connection closed")
}
