package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// Limits of one connection; the configurable ones are in policy.Limits.
const (
	maxIOSize    = 8 << 20  // MaxTransact/Read/WriteSize offered on 2.1+ (at most)
	maxIOSize202 = 64 << 10 // on 2.0.2 (no CAP_LARGE_MTU)
	frameSlack   = 64 << 10 // room for headers and compounds beyond maxIO in a frame

	// readBufSize is the read buffer (see readFrame): one read system
	// call takes in a whole frame up to this size (a 4 KiB payload with
	// its headers) and any requests pipelined behind it; larger frames are
	// read straight into a pooled frame buffer. On a socket with raw reads
	// (Unix) it is taken from a pool for the read system call that fills
	// it and returned once everything in it is consumed, so an idle
	// connection holds none; other connections keep one.
	readBufSize = 4<<10 + 512

	// deadlineSlack: waiting for a frame keeps the read deadline set
	// before unless the new one is later by more than this (setting it
	// costs a timer update per frame); see readDeadline.
	deadlineSlack = time.Second
)

// errDisconnect makes the reader drop the connection.
var errDisconnect = errors.New("server: disconnect")

// conn is one client connection. The reader goroutine (serve) owns every
// field not marked otherwise; async completions touch only the write path
// (wmu) and the async table (amu).
type conn struct {
	srv    *Server
	nc     net.Conn
	log    *slog.Logger
	remote string
	// ctx ends when the connection is torn down; async operations derive
	// their contexts from it.
	ctx    context.Context
	cancel context.CancelFunc
	// done is an already cancelled context: pipe writes with it write what
	// fits now and never block.
	done    context.Context
	closing atomic.Bool

	// lim are the limits in force when the connection was accepted.
	lim policy.Limits
	// handshakeDeadline ends the time to finish NEGOTIATE and the first
	// SESSION_SETUP; established is set once a session is valid.
	handshakeDeadline time.Time
	established       bool
	limitsLogged      atomic.Uint32 // bit per limit already logged

	// negotiation
	dialect        smb2.Dialect // 0: none yet; DialectWildcard after SMB1 upgrade
	negotiated     bool         // a final dialect is fixed
	clientGUID     [16]byte
	clientSecMode  uint16
	clientCaps     uint32
	clientDialects []smb2.Dialect
	serverSecMode  uint16
	serverCaps     uint32
	signAlg        uint16
	preauth        smbcrypto.PreauthHash
	maxIO          uint32

	credits  creditWindow
	sessions map[uint64]*session
	opens    map[uint64]*open // by FileId.Volatile
	nextSess uint64
	nextTree uint32
	nextFile uint64

	// rd[rr:rw] is read from nc and not yet consumed (see readFrame).
	rd     []byte
	rr, rw int
	rdp    *[]byte // pooled storage of rd (raw reads)
	raw    rawReader
	// big holds the last frame too large for rd (pooled; released by the
	// next readFrame).
	big *[]byte
	// readDL is the read deadline last set by readFrame.
	readDL  time.Time
	scratch *[]byte // pooled, held while a frame is processed
	req     request
	ch      chain
	elems   []elem
	starts  []*asyncOp

	// wmu serialises writes to nc and every use of a session's signer.
	wmu sync.Mutex

	amu       sync.Mutex
	async     map[uint64]*asyncOp // by AsyncId
	nextAsync uint64
	awg       sync.WaitGroup

	// asyncBytes is what the async operations hold
	// (max_async_bytes_per_connection); guarded by amu.
	asyncBytes int
}

// elem is one response of a (compound) reply frame.
type elem struct {
	start   int
	signer  smbcrypto.Signer       // non-nil: sign this response
	preauth *smbcrypto.PreauthHash // non-nil: hash this response into it
}

func newConn(s *Server, nc net.Conn, lim policy.Limits) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	done, stop := context.WithCancel(context.Background())
	stop()
	remote := nc.RemoteAddr().String()
	c := &conn{
		srv:      s,
		nc:       nc,
		remote:   remote,
		log:      s.log.With("client", remote),
		ctx:      ctx,
		cancel:   cancel,
		done:     done,
		credits:  newCreditWindow(uint64(lim.MaxCredits)),
		sessions: make(map[uint64]*session),
		opens:    make(map[uint64]*open),
		async:    make(map[uint64]*asyncOp),
		nextSess: 1,
		nextTree: 1,
		nextFile: 1,
		maxIO:    uint32(min(maxIOSize, lim.MaxMessageSize-frameSlack)),
		lim:      lim,

		handshakeDeadline: time.Now().Add(lim.HandshakeTimeout),
	}
	c.raw.init(nc)
	return c
}

// serve runs the connection until the client leaves, a protocol violation,
// or the server closes it. A panic ends this connection only.
func (c *conn) serve() {
	defer c.teardown()
	defer func() {
		if r := recover(); r != nil {
			c.srv.metrics.inc(MetricPanics, "")
			c.log.Error("smb connection panic; closing it", "panic", r, "stack", string(debug.Stack()))
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
		if err := c.handleFrame(payload); err != nil {
			c.log.Info("smb connection dropped", "reason", err)
			return
		}
		if c.closing.Load() {
			return
		}
	}
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

// readFrame reads one transport frame. Waiting for a frame's first byte is
// bounded by the handshake deadline until a session is established, then
// by the idle timeout (which does not apply while a pipe is open); the rest
// of the frame must follow within HandshakeTimeout. The returned payload is
// valid until the next call.
//
// A frame that fits the read buffer usually costs one read system call
// (none when it was read along with the previous one); a larger one is
// read into a pooled buffer, its bulk straight from the socket.
func (c *conn) readFrame() ([]byte, error) {
	if c.big != nil {
		c.srv.bufs.put(c.big)
		c.big = nil
	}
	if c.rr == c.rw {
		c.releaseRead()
		if err := c.awaitFrame(); err != nil {
			return nil, err
		}
	}
	if c.rw-c.rr < 4 {
		if err := c.frameDeadline(); err != nil {
			return nil, err
		}
		if err := c.fill(4); err != nil {
			return nil, c.frameErr(err)
		}
	}
	n, err := smb2.FrameLength([4]byte(c.rd[c.rr:]))
	if err != nil {
		return nil, err
	}
	if n > c.lim.MaxMessageSize {
		c.limitHit(limMessageSize, "length", n, "max", c.lim.MaxMessageSize)
		return nil, fmt.Errorf("server: frame of %d bytes exceeds max_message_size %d", n, c.lim.MaxMessageSize)
	}
	if 4+n <= len(c.rd) {
		if c.rw-c.rr < 4+n {
			if err := c.frameDeadline(); err != nil {
				return nil, err
			}
			if err := c.fill(4 + n); err != nil {
				return nil, c.frameErr(err)
			}
		}
		p := c.rd[c.rr+4 : c.rr+4+n]
		c.rr += 4 + n
		return p, nil
	}
	bp := c.srv.bufs.get()
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	c.big = bp
	p := (*bp)[:n]
	have := copy(p, c.rd[c.rr+4:c.rw]) // the frame is longer than what is buffered
	c.rr, c.rw = 0, 0
	if err := c.frameDeadline(); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(c.nc, p[have:]); err != nil {
		return nil, c.frameErr(err)
	}
	return p, nil
}

// awaitFrame waits for the first bytes of a frame into the empty read
// buffer, under the handshake deadline or the idle timeout (see
// readFrame).
func (c *conn) awaitFrame() error {
	var dl time.Time
	if c.established {
		dl = time.Now().Add(c.lim.IdleTimeout)
	} else {
		dl = c.handshakeDeadline
	}
	for {
		if err := c.readDeadline(dl); err != nil {
			return err
		}
		err := c.fill(1)
		if err == nil {
			return nil
		}
		if !isTimeout(err) || c.closing.Load() {
			return err
		}
		if time.Now().Before(dl) {
			// readDeadline kept an earlier deadline: wait until dl itself.
			c.readDL = time.Time{}
			continue
		}
		if !c.established {
			c.limitHit(limHandshake, "timeout", c.lim.HandshakeTimeout)
			return err
		}
		if len(c.opens) == 0 {
			c.limitHit(limIdle, "timeout", c.lim.IdleTimeout)
			return err
		}
		dl = time.Now().Add(c.lim.IdleTimeout) // not idle: a pipe is open
	}
}

// readDeadline sets the read deadline to dl for awaitFrame. Setting it
// costs a timer update, so a deadline set earlier and at most
// deadlineSlack before dl is kept; awaitFrame waits on when it expires
// before dl.
func (c *conn) readDeadline(dl time.Time) error {
	if d := dl.Sub(c.readDL); d < 0 || d > deadlineSlack {
		if err := c.setReadDeadline(dl); err != nil {
			return err
		}
		c.readDL = dl
	}
	if c.closing.Load() {
		return net.ErrClosed
	}
	return nil
}

// frameDeadline bounds the rest of a frame begun by HandshakeTimeout.
func (c *conn) frameDeadline() error {
	fdl := time.Now().Add(c.lim.HandshakeTimeout)
	if !c.established && c.handshakeDeadline.Before(fdl) {
		fdl = c.handshakeDeadline
	}
	c.readDL = fdl
	return c.setReadDeadline(fdl)
}

// fill reads until rd[rr:rw] holds at least n <= len(rd) bytes (n <= 4
// when rd is not there yet), first moving the unread bytes to the front
// when n would not fit behind rr. It returns io.EOF only at a frame
// boundary.
func (c *conn) fill(n int) error {
	for c.rw-c.rr < n {
		if c.rd != nil && (c.rr+n > len(c.rd) || c.rr == c.rw) {
			c.rw = copy(c.rd, c.rd[c.rr:c.rw])
			c.rr = 0
		}
		k, err := c.readSome()
		c.rw += k
		if err != nil {
			if err == io.EOF && c.rw > c.rr {
				err = io.ErrUnexpectedEOF // the stream ended inside a frame
			}
			return err
		}
	}
	return nil
}

// readSome reads once into rd[rw:], taking the read buffer first if the
// connection has none.
func (c *conn) readSome() (int, error) {
	if c.raw.rc != nil {
		return c.raw.read(c)
	}
	if c.rd == nil {
		c.rd = make([]byte, readBufSize)
	}
	n, err := c.nc.Read(c.rd[c.rw:])
	if n == 0 && err == nil {
		err = io.ErrNoProgress
	}
	return n, err
}

// takeRead gives the connection a pooled read buffer.
func (c *conn) takeRead() {
	c.rdp = c.srv.rbufs.get()
	c.rd = (*c.rdp)[:readBufSize]
	c.rr, c.rw = 0, 0
}

// releaseRead returns an empty pooled read buffer to the pool.
func (c *conn) releaseRead() {
	if c.rdp != nil {
		c.srv.rbufs.put(c.rdp)
		c.rdp, c.rd = nil, nil
		c.rr, c.rw = 0, 0
	}
}

// setReadDeadline sets the socket's read deadline unless the connection
// is closing (drain sets closing before its own deadline, so a drain is
// never overwritten).
func (c *conn) setReadDeadline(t time.Time) error {
	c.nc.SetReadDeadline(t)
	if c.closing.Load() {
		return net.ErrClosed
	}
	return nil
}

// frameErr accounts a read error in the middle of a frame.
func (c *conn) frameErr(err error) error {
	if isTimeout(err) && !c.closing.Load() {
		c.limitHit(limHandshake, "what", "a frame begun was not finished in time", "timeout", c.lim.HandshakeTimeout)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// chain carries what related compound requests inherit.
type chain struct {
	sessionID uint64
	treeID    uint32
	fileID    smb2.FileID
	status    ntstatus.Status
}

// handleFrame processes one frame (a single request or a compound) and
// sends the responses in one frame. An error drops the connection.
func (c *conn) handleFrame(payload []byte) error {
	if smb2.IsSMB1(payload) {
		return c.handleSMB1(payload)
	}
	if len(payload) >= 4 && payload[0] == 0xFD && string(payload[1:4]) == "SMB" {
		return errors.New("server: encrypted message (encryption is not offered)")
	}
	bp := c.srv.bufs.get()
	defer c.srv.bufs.put(bp)
	buf := append((*bp)[:0], 0, 0, 0, 0)
	c.elems = c.elems[:0]
	c.starts = c.starts[:0]
	defer func() {
		// Operations whose interim response was never sent (the frame
		// failed) are dropped.
		for _, op := range c.starts {
			c.abandon(op)
		}
		c.starts = c.starts[:0]
		c.releaseScratch()
	}()
	ch := &c.ch
	*ch = chain{}
	first := true
	for rest := payload; len(rest) > 0; {
		msg, next, err := smb2.NextMessage(rest)
		if err != nil {
			return err
		}
		rest = next
		var hdr smb2.Header
		if err := hdr.Decode(msg); err != nil {
			return err
		}
		if hdr.IsResponse() {
			return errors.New("server: response received")
		}
		buf, err = c.handleMessage(buf, msg, &hdr, ch, first)
		if err != nil {
			return err
		}
		first = false
	}
	*bp = buf
	if len(c.elems) > 0 {
		if err := c.send(buf, c.elems); err != nil {
			return err
		}
	}
	for _, op := range c.starts {
		c.startAsync(op)
	}
	c.starts = c.starts[:0]
	return nil
}

// send finishes a reply frame (transport header, preauth hashes,
// signatures) and writes it.
func (c *conn) send(buf []byte, elems []elem) error {
	smb2.PutFrameLength(buf)
	for i, e := range elems {
		if e.preauth != nil {
			e.preauth.Update(buf[e.start:elemEnd(buf, elems, i)])
		}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for i, e := range elems {
		if e.signer != nil {
			e.signer.Sign(buf[e.start:elemEnd(buf, elems, i)])
		}
	}
	_, err := c.nc.Write(buf)
	return err
}

func elemEnd(buf []byte, elems []elem, i int) int {
	if i+1 < len(elems) {
		return elems[i+1].start
	}
	return len(buf)
}

// beginElem pads the previous response to 8 bytes, links it to the new one
// and reserves the new response's header.
func (c *conn) beginElem(buf []byte) ([]byte, int) {
	if n := len(c.elems); n > 0 {
		prev := c.elems[n-1].start
		for (len(buf)-prev)%8 != 0 {
			buf = append(buf, 0)
		}
		binary.LittleEndian.PutUint32(buf[prev+20:], uint32(len(buf)-prev))
	}
	start := len(buf)
	buf = append(buf, make([]byte, smb2.HeaderSize)...)
	return buf, start
}

// isError reports whether st is an error status whose response body is an
// ERROR response. STATUS_BUFFER_OVERFLOW carries data and is not one, nor is
// MORE_PROCESSING_REQUIRED on SESSION_SETUP.
func isError(st ntstatus.Status) bool {
	switch st {
	case ntstatus.Success, ntstatus.BufferOverflow, ntstatus.MoreProcessingRequired, ntstatus.Pending:
		return false
	}
	return st&0xC0000000 == 0xC0000000 || st&0xC0000000 == 0x80000000
}

// request is the state of one request being dispatched.
type request struct {
	hdr  smb2.Header
	msg  []byte
	sess *session // the session of the request (after related substitution)
	tree *tree
	open *open
	// signed: the request carried a valid signature.
	signed bool
	// chain: what a related request inherits (set by handlers that create
	// a session, tree or open).
	ch *chain
	// outputs
	respSession uint64
	respTree    uint32
	signer      smbcrypto.Signer // set by SESSION_SETUP for the final response
	noSign      bool
	preauth     *smbcrypto.PreauthHash
	op          *asyncOp // set when the request went async
	// errData[:errLen] is the ErrorData of an error response, with
	// errContexts error contexts (setErrorData); errLen 0 means none.
	errData     [12]byte
	errLen      uint8
	errContexts uint8
}

func (c *conn) handleMessage(buf, msg []byte, hdr *smb2.Header, ch *chain, first bool) ([]byte, error) {
	if hdr.Command == smb2.CmdCancel {
		c.handleCancel(hdr, msg)
		return buf, nil
	}
	if !c.negotiated && hdr.Command != smb2.CmdNegotiate {
		return buf, errors.New("server: request before NEGOTIATE")
	}
	charge := hdr.CreditCharge
	if c.dialect == smb2.Dialect202 {
		charge = 1
	}
	if !c.credits.consume(hdr.MessageID, charge) {
		return buf, fmt.Errorf("server: MessageId %d (charge %d, %s) outside the credit window [%d, %d)",
			hdr.MessageID, charge, commands[hdr.Command%smb2.NumCommands].name, c.credits.low, c.credits.high)
	}

	r := &c.req
	*r = request{hdr: *hdr, msg: msg, ch: ch}
	related := hdr.Flags&smb2.FlagRelatedOperations != 0
	if related && !first {
		if hdr.SessionID == ^uint64(0) {
			r.hdr.SessionID = ch.sessionID
		}
		if hdr.TreeID == ^uint32(0) {
			r.hdr.TreeID = ch.treeID
		}
	}
	r.respSession = r.hdr.SessionID
	r.respTree = r.hdr.TreeID

	var st ntstatus.Status
	var err error
	bodyStart := 0
	buf, start := c.beginElem(buf)
	bodyStart = len(buf)
	switch {
	case related && first:
		st = ntstatus.InvalidParameter
	case related && isError(ch.status):
		st = ch.status
	default:
		buf, st, err = c.dispatch(buf, r)
		if err != nil {
			return buf, err
		}
	}

	// Credits follow the outcome: none beyond the charge for NEGOTIATE
	// or a SESSION_SETUP that has not succeeded (see creditWindow.grant).
	extra := hdr.Command != smb2.CmdNegotiate && (hdr.Command != smb2.CmdSessionSetup || st == ntstatus.Success)
	granted := c.credits.grant(charge, hdr.Credit, extra)
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("smb request", "command", commands[hdr.Command%smb2.NumCommands].name, "mid", hdr.MessageID,
			"charge", hdr.CreditCharge, "req", hdr.Credit, "granted", granted, "window", c.credits.high-c.credits.low)
	}
	rh := smb2.Header{
		CreditCharge: hdr.CreditCharge,
		Status:       st,
		Command:      hdr.Command,
		Credit:       granted,
		Flags:        smb2.FlagServerToRedir | hdr.Flags&(smb2.FlagRelatedOperations|smb2.FlagPriorityMask),
		MessageID:    hdr.MessageID,
		ProcessID:    hdr.ProcessID,
		TreeID:       r.respTree,
		SessionID:    r.respSession,
	}
	e := elem{start: start, preauth: r.preauth}
	if r.op != nil {
		rh.Status = ntstatus.Pending
		rh.Flags |= smb2.FlagAsyncCommand
		rh.AsyncID = r.op.id
		st = ntstatus.Pending
		buf = buf[:bodyStart]
		buf = (&smb2.ErrorResponse{}).Append(buf)
		c.starts = append(c.starts, r.op)
	} else if isError(st) {
		buf = buf[:bodyStart]
		buf = (&smb2.ErrorResponse{ErrorContextCount: r.errContexts, ErrorData: r.errData[:r.errLen]}).Append(buf)
	}
	hdrBytes := rh.Append(buf[start:start])
	if len(hdrBytes) != smb2.HeaderSize {
		return buf, errors.New("server: header encoding failed")
	}
	switch {
	case r.signer != nil:
		e.signer = r.signer
	case r.noSign || r.op != nil:
	case r.sess != nil && r.sess.signer != nil && (r.signed || r.sess.signingRequired):
		e.signer = r.sess.signer
	}
	c.elems = append(c.elems, e)

	ch.sessionID = r.respSession
	ch.treeID = r.respTree
	if r.open != nil {
		ch.fileID = r.open.id
	}
	ch.status = st
	return buf, nil
}

// dispatch checks the command's preconditions from the table and runs its
// handler, which appends the response body.
func (c *conn) dispatch(buf []byte, r *request) ([]byte, ntstatus.Status, error) {
	if int(r.hdr.Command) >= len(commands) || commands[r.hdr.Command].fn == nil {
		return buf, ntstatus.NotSupported, nil
	}
	spec := &commands[r.hdr.Command]

	// The session, for signing and for the commands that need one.
	if sid := r.hdr.SessionID; sid != 0 && r.hdr.Command != smb2.CmdNegotiate {
		if s := c.sessions[sid]; s != nil {
			r.sess = s
			if st := c.verifyRequest(r, s, spec.name); st != ntstatus.Success {
				return buf, st, nil
			}
		}
	}
	if spec.session {
		if r.sess == nil {
			r.noSign = true
			return buf, ntstatus.UserSessionDeleted, nil
		}
		if !r.sess.valid {
			return buf, ntstatus.AccessDenied, nil
		}
	}
	if spec.tree {
		r.tree = r.sess.trees[r.hdr.TreeID]
		if r.tree == nil {
			return buf, ntstatus.NetworkNameDeleted, nil
		}
	}
	if spec.fileIDAt > 0 {
		fid, ok := fileIDAt(r.msg, spec.fileIDAt)
		if !ok {
			return buf, ntstatus.InvalidParameter, nil
		}
		if st := c.resolveOpen(r, fid); st != ntstatus.Success {
			return buf, st, nil
		}
	}
	return spec.fn(c, r, buf)
}

// verifyRequest applies MS-SMB2 3.3.5.2.4 to a request of session s, for
// every command but NEGOTIATE (SESSION_SETUP re-authentication included,
// so an unsigned exchange cannot take the keys off a signing session):
//   - SMB2_FLAGS_SIGNED set: the signature is verified with the session's
//     key; a session without one (guest, or an exchange not finished)
//     answers STATUS_NOT_SUPPORTED; a bad signature STATUS_ACCESS_DENIED,
//     in an unsigned response, and the connection stays.
//   - SMB2_FLAGS_SIGNED clear on a session that requires signing:
//     STATUS_ACCESS_DENIED, in a signed response.
//
// An anonymous session verifies with the key derived from a zero session
// key, as Windows Server 2022 does (SEMANTICS-2 §2.2).
func (c *conn) verifyRequest(r *request, s *session, cmd string) ntstatus.Status {
	if r.hdr.Flags&smb2.FlagSigned == 0 {
		if s.signingRequired {
			c.log.Warn("smb unsigned request on a session that requires signing", "session", s.id, "command", cmd)
			return ntstatus.AccessDenied
		}
		return ntstatus.Success
	}
	if s.verifier == nil {
		r.noSign = true
		return ntstatus.NotSupported
	}
	if !s.verifier.Verify(r.msg) {
		c.log.Warn("smb request with a bad signature", "session", s.id, "command", cmd)
		r.noSign = true
		return ntstatus.AccessDenied
	}
	r.signed = true
	return ntstatus.Success
}

// fileIDAt reads the FileId at body offset off of msg.
func fileIDAt(msg []byte, off int) (smb2.FileID, bool) {
	p := smb2.HeaderSize + off
	if len(msg) < p+16 {
		return smb2.FileID{}, false
	}
	return smb2.FileID{
		Persistent: binary.LittleEndian.Uint64(msg[p:]),
		Volatile:   binary.LittleEndian.Uint64(msg[p+8:]),
	}, true
}

// resolveOpen finds the open fid names on the request's tree (the wildcard
// FileId of a related request names the previous request's open).
func (c *conn) resolveOpen(r *request, fid smb2.FileID) ntstatus.Status {
	if fid == smb2.WildcardFileID && r.hdr.Flags&smb2.FlagRelatedOperations != 0 {
		fid = r.ch.fileID
	}
	o := c.opens[fid.Volatile]
	if o == nil || o.id != fid || o.tree != r.tree {
		return ntstatus.FileClosed
	}
	r.open = o
	return ntstatus.Success
}

// handleSMB1 answers an SMB1 NEGOTIATE offering SMB2 with an SMB2 NEGOTIATE
// response (MS-SMB2 3.3.5.3); anything else drops the connection.
func (c *conn) handleSMB1(msg []byte) error {
	if c.dialect != 0 || len(msg) < 5 || msg[4] != 0x72 {
		return errors.New("server: unexpected SMB1 message")
	}
	dialects, err := smb2.ParseSMB1Negotiate(msg)
	if err != nil {
		return err
	}
	var wildcard, d202 bool
	for _, d := range dialects {
		switch d {
		case "SMB 2.???":
			wildcard = true
		case "SMB 2.002":
			d202 = true
		}
	}
	var d smb2.Dialect
	switch {
	case wildcard:
		d = smb2.DialectWildcard
	case d202:
		d = smb2.Dialect202
	default:
		return errors.New("server: SMB1 NEGOTIATE without an SMB2 dialect")
	}
	if !c.credits.consume(0, 1) {
		return errors.New("server: SMB1 NEGOTIATE after MessageId 0")
	}
	granted := c.credits.grant(1, 1, false)
	c.dialect = d
	if d == smb2.Dialect202 {
		c.negotiated = true
		c.maxIO = min(c.maxIO, maxIOSize202)
	}
	c.serverSecMode = c.securityMode()
	bp := c.srv.bufs.get()
	defer c.srv.bufs.put(bp)
	buf := append((*bp)[:0], 0, 0, 0, 0)
	c.elems = c.elems[:0]
	buf, start := c.beginElem(buf)
	buf = c.appendNegotiateResponse(buf, d, nil)
	rh := smb2.Header{Command: smb2.CmdNegotiate, Credit: granted, Flags: smb2.FlagServerToRedir}
	rh.Append(buf[start:start])
	*bp = buf
	return c.send(buf, []elem{{start: start}})
}
