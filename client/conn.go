// Package client is an SMB2/SMB3 client for Windows named pipes on IPC$,
// good enough for smbpipe's tests, its CLI and its benchmarks.
//
// A Conn is one TCP connection with one session and one tree connect to
// IPC$. It is safe for concurrent use: many goroutines may have requests in
// flight on it at once. One reader goroutine per Conn matches responses to
// requests by MessageId, records the AsyncId of STATUS_PENDING interim
// responses and waits for the final one, and counts credits; a request
// waits for credits rather than exceed what the server granted.
//
// The server is not trusted. A reply must answer a request in flight with
// that request's command, SessionId and TreeId, be well formed, and be
// signed when the request was signed; a frame larger than the negotiated
// sizes allow is refused before it is read. Anything else is a protocol
// error that closes the connection and fails every request on it (see
// ErrProtocol, ErrSignature). A request that has neither its reply nor an
// interim response within Config.RequestTimeout closes the connection too
// (ErrRequestTimeout).
//
// A Pipe is an open pipe handle. It is a net.Conn (Read, Write, Close,
// deadlines) and also exposes the message view (ReadMsg returns a whole
// message, or part of it when the buffer is too short and says so),
// FSCTL_PIPE_TRANSCEIVE, PEEK, QUERY_INFO and SET_INFO. Cancelling
// the context of a request sends SMB2 CANCEL and waits for the server's
// final response.
//
// Failures the server reports are *Error values that unwrap to the
// ntstatus.Status, so callers write errors.Is(err, ntstatus.AccessDenied).
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/internal/sockio"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

var errDeadline = os.ErrDeadlineExceeded

// Conn is a client connection. See the package documentation.
type Conn struct {
	nc   net.Conn
	sock sockio.Conn // nc's socket: read by readLoop, written under writeMu
	cfg  Config
	host string // for \\host\IPC$

	// negotiated state, written once by Negotiate before any other request
	neg negotiated

	writeMu sync.Mutex // serialises frame writes and the signer of sess

	mu         sync.Mutex
	pending    map[uint64]*call
	credits    uint32
	nextMID    uint64
	seq        uint64        // numbers registrations in pending
	creditWake chan struct{} // closed and replaced when credits arrive and someone waits
	waiters    int
	err        error // set once the connection is dead
	// request expiration (expire.go), counted in ticks of
	// RequestTimeout/expiryTicks:
	tick     uint64
	lastRecv uint64 // tick of the last reply
	pinging  bool   // a keepalive ECHO is in flight

	// maxFrame is the largest frame the reader accepts; Negotiate raises it
	// from preNegotiateFrame to what the negotiated sizes need.
	maxFrame atomic.Int64

	sess   atomic.Pointer[session]
	treeID atomic.Uint32

	readerDone chan struct{}
	bg         sync.WaitGroup // the expiration goroutine and keepalives
	closeOnce  sync.Once
}

// negotiated is what NEGOTIATE fixed.
type negotiated struct {
	done          bool
	dialect       smb2.Dialect
	serverSecMode uint16
	serverCaps    uint32
	serverGUID    [16]byte
	maxRead       uint32
	maxWrite      uint32
	maxTransact   uint32
	signAlg       uint16
	cipher        uint16 // the negotiated cipher; 0: none
	multiCredit   bool
	preauth       smbcrypto.PreauthHash // after the NEGOTIATE exchange (3.1.1)
}

// session is the established session. signer and enc are used only under
// writeMu, verifier and dec only by the reader goroutine.
type session struct {
	id       uint64
	flags    uint16
	signing  bool
	signer   smbcrypto.Signer
	verifier smbcrypto.Signer
	// encrypt: every request but SESSION_SETUP is sealed with enc, and
	// every reply must arrive sealed, opened with dec.
	encrypt  bool
	enc, dec *smbcrypto.Crypter
}

// call is one request in flight.
type call struct {
	mid uint64
	seq uint64 // Conn.seq at registration
	x   expect // what the reply must carry; fixed before registration
	// under Conn.mu:
	asyncID   uint64 // from an interim response
	born      uint64 // Conn.tick when sent
	timed     bool   // subject to expiration: no interim response yet
	keepalive bool   // the ECHO of expire.go: timed even after an interim response
	abandoned bool   // nobody waits; the reader checks the reply and drops it
	done      chan struct{}
	// interim is signalled when the first interim response gives the call
	// its AsyncId (wait then cancels by AsyncId); drained on reuse.
	interim chan struct{}
	// set by the reader before done is signalled:
	hdr smb2.Header
	msg []byte  // the response message (header first), aliases *buf
	buf *[]byte // pooled frame buffer, released by release
	err error
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1), interim: make(chan struct{}, 1)} }}

// reset prepares a call taken from the pool for a new request (under
// Conn.mu).
func (cl *call) reset(abandoned, timed, keepalive bool) {
	cl.asyncID, cl.abandoned, cl.timed, cl.keepalive = 0, abandoned, timed, keepalive
	select {
	case <-cl.interim:
	default:
	}
}

// bufPool holds frame buffers (*[]byte) of any capacity.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf(n int) *[]byte {
	bp := bufPool.Get().(*[]byte)
	if cap(*bp) < n {
		bufPool.Put(bp)
		b := make([]byte, n, n+n/4)
		return &b
	}
	*bp = (*bp)[:n]
	return bp
}

func putBuf(bp *[]byte) {
	if bp != nil && cap(*bp) <= 8<<20 {
		bufPool.Put(bp)
	}
}

// reqPrefix is the transport header plus the SMB2 header, reserved at the
// start of every request buffer.
const reqPrefix = 4 + smb2.HeaderSize

// newRequest returns a pooled buffer holding reqPrefix zero bytes; the
// caller appends the body.
func newRequest() *[]byte {
	bp := getBuf(reqPrefix)
	clear(*bp)
	return bp
}

// NewConn starts a client on an established transport connection without
// negotiating; the caller runs Negotiate, SessionSetup and TreeConnect (Dial
// does all of it). The Conn owns nc from now on.
func NewConn(nc net.Conn, cfg *Config) (*Conn, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	host := c.ServerName
	if host == "" {
		if h, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
			host = h
		}
	}
	cn := &Conn{
		nc:         nc,
		cfg:        c,
		host:       host,
		pending:    make(map[uint64]*call),
		credits:    1,
		creditWake: make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	cn.sock.Init(nc)
	cn.maxFrame.Store(preNegotiateFrame)
	go cn.readLoop()
	if c.RequestTimeout > 0 {
		cn.bg.Add(1)
		go cn.expireLoop()
	}
	return cn, nil
}

// Dial connects to addr ("host" or "host:port"; the port defaults to 445),
// negotiates, sets up a session with cfg's credentials (nil: anonymous) and
// connects the tree IPC$.
func Dial(ctx context.Context, addr string, cfg *Config) (*Conn, error) {
	var d net.Dialer
	return dialWith(ctx, &d, addr, cfg)
}

// DialWith is Dial making the TCP connection with d (its LocalAddr, for
// example, picks the source address).
func DialWith(ctx context.Context, d *net.Dialer, addr string, cfg *Config) (*Conn, error) {
	return dialWith(ctx, d, addr, cfg)
}

func dialWith(ctx context.Context, d *net.Dialer, addr string, cfg *Config) (*Conn, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(trimBrackets(addr), "445")
	}
	host, _, _ := net.SplitHostPort(addr)
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	var cc Config
	if cfg != nil {
		cc = *cfg
	}
	if cc.ServerName == "" {
		cc.ServerName = host
	}
	c, err := NewConn(nc, &cc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if err := c.handshake(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func trimBrackets(h string) string {
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

func (c *Conn) handshake(ctx context.Context) error {
	if err := c.Negotiate(ctx); err != nil {
		return err
	}
	if err := c.SessionSetup(ctx); err != nil {
		return err
	}
	return c.TreeConnect(ctx)
}

// Close closes the transport at once (no LOGOFF); requests in flight fail
// with net.ErrClosed. It waits for the Conn's goroutines to end.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.fail(net.ErrClosed)
		err = c.nc.Close()
		<-c.readerDone
		c.bg.Wait()
	})
	return err
}

// Dialect returns the negotiated dialect (0 before Negotiate).
func (c *Conn) Dialect() smb2.Dialect { return c.neg.dialect }

// SigningAlgorithm returns the negotiated signing algorithm (3.1.1), or
// the one the dialect implies.
func (c *Conn) SigningAlgorithm() uint16 { return c.neg.signAlg }

// MaxReadSize, MaxWriteSize and MaxTransactSize return the server's limits
// as the client applies them (capped at 64 KiB without multi-credit).
func (c *Conn) MaxReadSize() int { return int(c.neg.maxRead) }

// MaxWriteSize: see MaxReadSize.
func (c *Conn) MaxWriteSize() int { return int(c.neg.maxWrite) }

// MaxTransactSize: see MaxReadSize.
func (c *Conn) MaxTransactSize() int { return int(c.neg.maxTransact) }

// SessionID returns the current session id (0 when there is none).
func (c *Conn) SessionID() uint64 {
	if s := c.sess.Load(); s != nil {
		return s.id
	}
	return 0
}

// SessionFlags returns the SESSION_SETUP response's SessionFlags
// (smb2.SessionFlagIsGuest, SessionFlagIsNull).
func (c *Conn) SessionFlags() uint16 {
	if s := c.sess.Load(); s != nil {
		return s.flags
	}
	return 0
}

// Cipher returns the negotiated cipher (smb2.CipherAES128GCM ...), 0 when
// encryption was not negotiated.
func (c *Conn) Cipher() uint16 { return c.neg.cipher }

// Encrypted reports whether the session encrypts its requests.
func (c *Conn) Encrypted() bool {
	s := c.sess.Load()
	return s != nil && s.encrypt
}

// Signed reports whether the session signs its requests.
func (c *Conn) Signed() bool {
	s := c.sess.Load()
	return s != nil && s.signing
}

// TreeID returns the IPC$ tree id (0 before TreeConnect).
func (c *Conn) TreeID() uint32 { return c.treeID.Load() }

// LocalAddr and RemoteAddr return the transport's addresses.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr: see LocalAddr.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// fail marks the connection dead and fails every request in flight.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(err)
}

// failLocked is fail with c.mu held.
func (c *Conn) failLocked(err error) {
	if c.err == nil {
		c.err = err
	}
	for mid, cl := range c.pending {
		delete(c.pending, mid)
		if cl.abandoned {
			recycle(cl)
			continue
		}
		cl.err = c.err
		cl.done <- struct{}{}
	}
	if c.waiters > 0 {
		close(c.creditWake)
		c.creditWake = make(chan struct{})
	}
}

// failProtocol fails the connection with err, a reply the client cannot
// accept, closes the transport and returns err.
func (c *Conn) failProtocol(err error) error {
	c.fail(err)
	c.nc.Close()
	return err
}

// preNegotiateFrame is the largest frame accepted before NEGOTIATE has
// fixed the sizes: a NEGOTIATE response is a few hundred bytes.
const preNegotiateFrame = 64 << 10

// frameSlack is what a frame may hold beyond the largest negotiated
// payload: headers, fixed bodies, padding.
const frameSlack = 64 << 10

// readBufSize is the reader's buffer: a 4 KiB payload with its headers,
// plus room for small responses pipelined behind it.
const readBufSize = 8 << 10

// readLoop reads frames until the transport fails.
func (c *Conn) readLoop() {
	defer close(c.readerDone)
	fr := frameReader{src: &c.sock, buf: make([]byte, readBufSize)}
	for {
		frame, bp, err := fr.readFrame(c.maxFrame.Load())
		if err != nil {
			var bad errFrame
			if errors.As(err, &bad) {
				c.fail(bad.error)
				c.nc.Close()
				return
			}
			c.fail(readErr(err))
			return
		}
		if err := c.dispatchFrame(frame, bp); err != nil {
			c.fail(err)
			c.nc.Close()
			return
		}
	}
}

func readErr(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return net.ErrClosed
	}
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return err
}

// dispatchFrame splits a (possibly compound) frame, held in the pooled
// buffer bp, and delivers each message.
func (c *Conn) dispatchFrame(frame []byte, bp *[]byte) error {
	sealed := false
	if smb2.IsTransform(frame) {
		// Decrypted with the key of the session it names (MS-SMB2
		// 3.2.5.1.1); deliver is told the message arrived sealed, so
		// that expect.check refuses a plain reply to a request of a
		// session that encrypts.
		plain, err := c.decrypt(frame)
		if err != nil {
			putBuf(bp)
			return err
		}
		frame, sealed = plain, true
	}
	msg, rest, err := smb2.NextMessage(frame)
	if err != nil {
		putBuf(bp)
		return protocolErrorf("bad message: %v", err)
	}
	if len(rest) == 0 {
		return c.deliver(msg, bp, sealed)
	}
	// Compound response: give each element a buffer of its own.
	for {
		cp := getBuf(len(msg))
		copy(*cp, msg)
		if err := c.deliver(*cp, cp, sealed); err != nil {
			putBuf(bp)
			return err
		}
		if len(rest) == 0 {
			break
		}
		if msg, rest, err = smb2.NextMessage(rest); err != nil {
			putBuf(bp)
			return protocolErrorf("bad compound element: %v", err)
		}
	}
	putBuf(bp)
	return nil
}

// decrypt opens a TRANSFORM_HEADER frame with the session it names and
// returns the plain frame, which aliases frame. Anything wrong (a
// malformed header, a session other than the current one or without
// keys, a message that does not authenticate) is a protocol error.
func (c *Conn) decrypt(frame []byte) ([]byte, error) {
	th, err := smb2.DecodeTransform(frame)
	if err != nil {
		return nil, protocolErrorf("encrypted reply: %v", err)
	}
	s := c.sess.Load()
	if s == nil || s.id != th.SessionID || s.dec == nil {
		return nil, protocolErrorf("encrypted reply for session %#x, which has no keys", th.SessionID)
	}
	plain, err := s.dec.Open(frame)
	if err != nil {
		return nil, fmt.Errorf("client: encrypted reply: %w", ErrSignature)
	}
	return plain, nil
}

// deliver checks one response message against the request it answers and
// hands it to its call. msg aliases *bp, which deliver consumes; sealed:
// it arrived encrypted. An error is a reply the client cannot accept: the
// caller fails the connection.
func (c *Conn) deliver(msg []byte, bp *[]byte, sealed bool) error {
	var h smb2.Header
	if err := h.Decode(msg); err != nil {
		putBuf(bp)
		return protocolErrorf("reply: %v", err)
	}
	if !h.IsResponse() {
		putBuf(bp)
		return protocolErrorf("%v (MessageId %d) from the server is not a response", h.Command, h.MessageID)
	}
	c.mu.Lock()
	cl := c.pending[h.MessageID]
	if cl == nil {
		c.mu.Unlock()
		putBuf(bp)
		// Also an unsolicited OPLOCK_BREAK (MessageId 0xFFFFFFFFFFFFFFFF):
		// the client asks for no oplocks or leases.
		return protocolErrorf("reply to %v with MessageId %d, which no request in flight has", h.Command, h.MessageID)
	}
	// A copy: once the lock is released, fail may hand cl back to its
	// caller, who recycles it.
	x, seq, asyncID := cl.x, cl.seq, cl.asyncID
	c.mu.Unlock()
	interim, err := x.check(&h, msg, asyncID, sealed)
	if err != nil {
		putBuf(bp)
		return err
	}

	c.mu.Lock()
	if c.pending[h.MessageID] != cl || cl.seq != seq { // failed meanwhile
		c.mu.Unlock()
		putBuf(bp)
		return nil
	}
	c.lastRecv = c.tick
	c.credits += uint32(h.Credit)
	if h.Credit > 0 && c.waiters > 0 {
		close(c.creditWake)
		c.creditWake = make(chan struct{})
	}
	if interim {
		if cl.asyncID == 0 {
			select {
			case cl.interim <- struct{}{}:
			default:
			}
		}
		cl.asyncID = h.AsyncID
		cl.timed = cl.keepalive
		c.mu.Unlock()
		putBuf(bp)
		return nil
	}
	delete(c.pending, h.MessageID)
	if cl.abandoned {
		c.mu.Unlock()
		putBuf(bp)
		recycle(cl)
		return nil
	}
	c.mu.Unlock()
	cl.hdr, cl.msg, cl.buf, cl.err = h, msg, bp, nil
	cl.done <- struct{}{}
	return nil
}

// request describes one request to send. The body follows reqPrefix in *buf.
type request struct {
	hdr smb2.Header // Command, Flags, TreeID, SessionID, ...; MessageID, Credit and CreditCharge are set by send
	buf *[]byte     // consumed by send
	// tail, when set, is the end of the message: sent after buf from the
	// caller's memory (copied behind buf when the request is signed or
	// sealed). buf's transport header counts it.
	tail []byte
	size int // the larger of payload and expected response, for CreditCharge
	// keepMID sends hdr.MessageID as given, charging no credits (raw use).
	keepMID bool
	// noSign sends the request unsigned even on a signing session.
	noSign bool
	// noSeal sends the request in clear even on a session that encrypts.
	noSeal bool
	// forceSign signs the request on any session with a signing key, even
	// when the session does not sign in general (3.1.1 TREE_CONNECT).
	forceSign bool
	// keepalive: the ECHO of expire.go, which expires sooner.
	keepalive bool
	preauth   *smbcrypto.PreauthHash // if set, updated with the request message
	// signer is the session write signs with; seal the one it encrypts
	// with; set by signFor.
	signer *session
	seal   *session
}

// signFor decides whether r is signed and with which session: the current
// session, when r carries its SessionId and the session signs (or r must
// be signed and the session has a key), unless r is sent unsigned on
// purpose. It sets r.signer and returns the session r is sent on (nil when
// r carries no current SessionId), whose key verifies the reply.
func (c *Conn) signFor(r *request) *session {
	s := c.sess.Load()
	if s == nil || s.id == 0 || r.hdr.SessionID != s.id {
		r.signer = nil
		return nil
	}
	r.seal = nil
	switch {
	case s.encrypt && !r.noSeal:
		// Sealed instead of signed (MS-SMB2 3.2.4.1.8), a
		// re-authentication's SESSION_SETUP too: a server that requires
		// encryption refuses it in clear (smbd and smbpipe answer
		// STATUS_ACCESS_DENIED). A first logon's never gets here: it
		// carries no current session's SessionId.
		r.seal, r.signer = s, nil
	case (s.signing || r.forceSign) && s.signer != nil && !r.noSign:
		r.signer = s
	default:
		r.signer = nil
	}
	return s
}

// creditCharge returns the CreditCharge for a request of size bytes.
func (c *Conn) creditCharge(size int) uint16 {
	if !c.neg.multiCredit {
		return 0
	}
	return smb2.CreditCharge(size)
}

// send assigns a MessageId (waiting for credits), signs and writes the
// request, and returns the call to wait on. It always consumes r.buf.
func (c *Conn) send(ctx context.Context, r *request) (*call, error) {
	defer putBuf(r.buf)
	charge := c.creditCharge(r.size)
	need := uint32(max(charge, 1))
	cl := callPool.Get().(*call)
	s := c.signFor(r)
	cl.x = expect{
		cmd:        r.hdr.Command,
		sessionID:  r.hdr.SessionID,
		treeID:     r.hdr.TreeID,
		anySession: r.hdr.Command == smb2.CmdSessionSetup && r.hdr.SessionID == 0,
		mustSign:   r.signer != nil,
		mustSeal:   r.seal != nil,
	}
	if s != nil && s.verifier != nil {
		cl.x.sess = s
	}

	c.mu.Lock()
	if !r.keepMID {
		for c.credits < need && c.err == nil {
			if len(c.pending) == 0 {
				// Only replies grant credits, and none is coming.
				err := fmt.Errorf("client: %v needs %d credits; the server granted %d and no request is outstanding", r.hdr.Command, need, c.credits)
				dead := c.credits == 0
				if dead {
					c.failLocked(protocolErrorf("the server granted no credits and no request is outstanding"))
					err = c.err
				}
				c.mu.Unlock()
				recycle(cl)
				if dead {
					c.nc.Close()
				}
				return nil, err
			}
			ch := c.creditWake
			c.waiters++
			c.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
			}
			c.mu.Lock()
			c.waiters--
			if err := ctx.Err(); err != nil && c.credits < need {
				c.mu.Unlock()
				recycle(cl)
				return nil, err
			}
		}
	}
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		recycle(cl)
		return nil, err
	}
	if r.keepMID {
		if c.pending[r.hdr.MessageID] != nil {
			c.mu.Unlock()
			recycle(cl)
			return nil, fmt.Errorf("client: MessageId %d is in flight", r.hdr.MessageID)
		}
		cl.mid = r.hdr.MessageID
	} else {
		c.credits -= need
		cl.mid = c.nextMID
		c.nextMID += uint64(need)
		want := need
		if target := uint32(c.cfg.Credits); c.credits < target {
			want += target - c.credits
		}
		r.hdr.Credit = uint16(min(want, 0xFFFF))
		r.hdr.CreditCharge = charge
		r.hdr.MessageID = cl.mid
	}
	cl.reset(false, true, r.keepalive)
	cl.born = c.tick
	if r.keepalive {
		cl.born -= expiryTicks / 2 // expires after half the limit
	}
	c.seq++
	cl.seq = c.seq
	c.pending[cl.mid] = cl
	c.mu.Unlock()

	if err := c.write(r); err != nil {
		c.mu.Lock()
		if c.pending[cl.mid] == cl {
			delete(c.pending, cl.mid)
			c.mu.Unlock()
			recycle(cl)
		} else { // failed by fail(): report the connection's error
			c.mu.Unlock()
			<-cl.done
			if cl.err != nil {
				err = cl.err
			}
			cl.err = nil
			recycle(cl)
		}
		return nil, err
	}
	return cl, nil
}

// write encodes r's header in place, signs and writes the frame.
func (c *Conn) write(r *request) error {
	b := *r.buf
	if hb := r.hdr.Append(b[:4]); len(hb) != reqPrefix || &hb[0] != &b[0] {
		return protocolErrorf("header encoding failed")
	}
	tail := r.tail
	if tail != nil && (r.preauth != nil || r.seal != nil || r.signer != nil) {
		// Signed, sealed and hashed messages are one buffer.
		b = append(b, tail...)
		*r.buf = b
		tail = nil
	}
	smb2.PutFrameLengthPlus(b, len(tail))
	if r.preauth != nil {
		r.preauth.Update(b[4:])
	}
	if r.seal != nil {
		// Move the message up behind a TRANSFORM_HEADER and encrypt it
		// in place (16 spare bytes for the AES-GCM tag); the pooled
		// buffer keeps the room it grew.
		n := len(b)
		b = slices.Grow(b, smb2.TransformHeaderSize+16)[:n+smb2.TransformHeaderSize]
		*r.buf = b
		copy(b[4+smb2.TransformHeaderSize:], b[4:n])
		th := smb2.TransformHeader{Flags: smb2.TransformFlagEncrypted, SessionID: r.seal.id}
		th.Put(b[4:])
		smb2.PutFrameLength(b)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if r.seal != nil {
		r.seal.enc.Seal(b[4:])
	} else if r.signer != nil {
		r.signer.signer.Sign(b[4:])
	}
	if tail != nil {
		_, err := c.sock.WriteTwo(b, tail)
		return err
	}
	_, err := c.sock.Write(b)
	return err
}

// wait waits for cl's final response. When ctx ends first it sends CANCEL
// (by AsyncId once an interim response gave one, else by MessageId) and
// keeps waiting up to Config.CancelTimeout. On success the caller owns cl
// and must release it.
func (c *Conn) wait(ctx context.Context, cl *call, sessionID uint64, treeID uint32) error {
	select {
	case <-cl.done:
		return cl.err
	case <-ctx.Done():
	}
	var interim <-chan struct{}
	if !c.cancel(cl, sessionID, treeID) {
		// Sent by MessageId: an interim response may still come; then
		// cancel again by its AsyncId.
		interim = cl.interim
	}
	deadline := time.NewTimer(c.cfg.CancelTimeout)
	defer deadline.Stop()
	for {
		select {
		case <-cl.done:
			return cl.err
		case <-interim:
			interim = nil
			c.cancel(cl, sessionID, treeID)
		case <-deadline.C:
			c.mu.Lock()
			if c.pending[cl.mid] == cl {
				// Its MessageId stays registered: a late reply is still
				// checked, then dropped by the reader, which recycles cl.
				cl.abandoned = true
				c.mu.Unlock()
				return ErrAbandoned
			}
			c.mu.Unlock()
			<-cl.done
			return cl.err
		}
	}
}

// cancel sends SMB2 CANCEL for cl if it is still pending, and reports
// whether it was sent by AsyncId.
func (c *Conn) cancel(cl *call, sessionID uint64, treeID uint32) bool {
	c.mu.Lock()
	asyncID := cl.asyncID
	live := c.pending[cl.mid] == cl && c.err == nil
	c.mu.Unlock()
	if !live {
		return false
	}
	bp := newRequest()
	*bp = (&smb2.CancelRequest{}).Append(*bp)
	r := request{buf: bp, hdr: smb2.Header{Command: smb2.CmdCancel, MessageID: cl.mid, SessionID: sessionID, TreeID: treeID}}
	if asyncID != 0 {
		r.hdr.Flags |= smb2.FlagAsyncCommand
		r.hdr.AsyncID = asyncID
	}
	c.signFor(&r)
	_ = c.write(&r)
	putBuf(bp)
	return asyncID != 0
}

// release returns a completed call and its buffer to the pools.
func (c *Conn) release(cl *call) {
	putBuf(cl.buf)
	cl.buf, cl.msg, cl.err = nil, nil, nil
	select { // never leave a stale signal
	case <-cl.done:
	default:
	}
	recycle(cl)
}

// recycle returns a call no longer registered, whose buffer is released,
// to the pool.
func recycle(cl *call) {
	cl.x = expect{}
	callPool.Put(cl)
}

// roundTrip sends r, waits for the final response and returns the call (the
// caller releases it). A non-nil error means there is no response.
func (c *Conn) roundTrip(ctx context.Context, r *request) (*call, error) {
	cl, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := c.wait(ctx, cl, r.hdr.SessionID, r.hdr.TreeID); err != nil {
		if err != ErrAbandoned {
			c.release(cl)
		}
		if ctx.Err() != nil && (err == ErrAbandoned || errors.Is(err, net.ErrClosed)) {
			return nil, errors.Join(ctx.Err(), err)
		}
		return nil, err
	}
	return cl, nil
}

// sessionHeader returns a header for a request of the current session and
// tree.
func (c *Conn) sessionHeader(cmd smb2.Command) smb2.Header {
	return smb2.Header{Command: cmd, SessionID: c.SessionID(), TreeID: c.treeID.Load()}
}

// simple sends a request whose body is already in bp and maps a non-success
// status to *Error.
func (c *Conn) simple(ctx context.Context, cmd smb2.Command, bp *[]byte, size int, op, name string) (*call, error) {
	return c.simpleTail(ctx, cmd, bp, nil, size, op, name)
}

// simpleTail is simple for a request whose last tail bytes are sent from
// the caller's buffer (request.tail).
func (c *Conn) simpleTail(ctx context.Context, cmd smb2.Command, bp *[]byte, tail []byte, size int, op, name string) (*call, error) {
	cl, err := c.roundTrip(ctx, &request{hdr: c.sessionHeader(cmd), buf: bp, tail: tail, size: size})
	if err != nil {
		return nil, err
	}
	if st := cl.hdr.Status; st != ntstatus.Success && st != ntstatus.BufferOverflow {
		c.release(cl)
		return nil, statusError(ctx, op, name, st)
	}
	return cl, nil
}

// statusError builds the error for a failed status; a cancellation caused
// by ctx also wraps ctx.Err().
func statusError(ctx context.Context, op, name string, st ntstatus.Status) error {
	e := &Error{Op: op, Name: name, Status: st}
	if st == ntstatus.Cancelled && ctx.Err() != nil {
		return errors.Join(ctx.Err(), e)
	}
	return e
}

// Echo sends SMB2 ECHO and waits for the response.
func (c *Conn) Echo(ctx context.Context) error {
	bp := newRequest()
	*bp = (&smb2.EchoRequest{}).Append(*bp)
	return c.simpleDone(ctx, smb2.CmdEcho, bp, 0, "echo", "")
}

// simpleDone sends a request as simple does and releases the response,
// for a request whose response carries nothing the caller reads.
func (c *Conn) simpleDone(ctx context.Context, cmd smb2.Command, bp *[]byte, size int, op, name string) error {
	cl, err := c.simple(ctx, cmd, bp, size, op, name)
	if err != nil {
		return err
	}
	c.release(cl)
	return nil
}
