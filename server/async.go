package server

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/smb2"
)

// Causes with which an async operation is cancelled.
var (
	errCancelled  = errors.New("server: cancelled by the client")
	errPipeBroken = errors.New("server: handle closed")
)

type opKind uint8

const (
	opRead       opKind = iota // READ of one message
	opWrite                    // WRITE of data (done bytes already written)
	opTransceive               // FSCTL_PIPE_TRANSCEIVE: write data if any, read one message
	opWait                     // FSCTL_PIPE_WAIT: wait for a free instance of name
	opFlush                    // FLUSH: wait until the reader has consumed what was written
)

// asyncOp is a request answered with an interim STATUS_PENDING and
// completed later by its own goroutine (MS-SMB2 3.3.4.2).
type asyncOp struct {
	id        uint64
	messageID uint64
	sessionID uint64
	charge    uint16 // the request's CreditCharge, echoed in the final response
	cmd       smb2.Command
	kind      opKind
	length    int    // read length
	data      []byte // bytes still to write (owned by the op once goAsync returns)
	done      int    // bytes written before going async
	held      int    // bytes charged to max_async_bytes*; released when the op ends
	open      *open  // identity, and open.live's atomic counters; nothing else off the reader
	end       *pipe.End
	fileID    smb2.FileID
	name      string           // opWait: the pipe waited for
	timeout   time.Duration    // opWait: how long to wait
	signer    smbcrypto.Signer // non-nil: sign the final response
	seal      sealer           // non-zero: encrypt the final response
	// frame is the pooled buffer of the request's frame when the
	// operation took it over instead of copying data out of it; it goes
	// back to the pool when the operation ends.
	frame  *[]byte
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// goAsync registers op (kind, length, data and done set by the caller) as
// the async continuation of r; the dispatcher sends the interim response and
// starts the operation after it. op.data may point into the request: it is
// charged to the async byte bounds and copied here, or the request is
// refused with STATUS_INSUFFICIENT_RESOURCES.
func (c *conn) goAsync(r *request, buf []byte, op *asyncOp) ([]byte, ntstatus.Status, error) {
	c.amu.Lock()
	defer c.amu.Unlock()
	if len(c.async) >= c.lim.MaxAsyncPerConnection {
		c.limitHit(limAsync, "max", c.lim.MaxAsyncPerConnection)
		return buf, ntstatus.InsufficientResources, nil
	}
	if len(op.data) > 0 {
		if !c.reserveAsyncLocked(len(op.data), 0) {
			return buf, ntstatus.InsufficientResources, nil
		}
		op.held = len(op.data)
		if c.big != nil {
			// The request's frame has a pooled buffer of its own (it was
			// too large for the read buffer; decryption is in place): the
			// operation takes it over rather than copying a large WRITE's
			// data. Another operation of the same frame copies out of it.
			op.frame, c.big = c.big, nil
		} else {
			op.data = bytes.Clone(op.data)
		}
	}
	c.nextAsync++
	op.id = c.nextAsync
	op.messageID = r.hdr.MessageID
	op.sessionID = r.respSession
	op.cmd = r.hdr.Command
	op.charge = r.hdr.CreditCharge
	op.fileID = smb2.WildcardFileID
	if r.open != nil {
		op.open = r.open
		op.end = r.open.end
		op.fileID = r.open.id
	}
	op.ctx, op.cancel = context.WithCancelCause(c.ctx)
	if s := r.sess; s.signer != nil && (r.signed || s.signingRequired) {
		op.signer = s.signer
	}
	op.seal = c.sealFor(r) // as the interim response (MS-SMB2 3.3.4.1.4)
	c.async[op.id] = op
	c.awg.Add(1)
	r.op = op
	return buf, ntstatus.Pending, nil
}

// startAsync runs op after its interim response was sent.
func (c *conn) startAsync(op *asyncOp) { go c.runAsync(op) }

func (c *conn) runAsync(op *asyncOp) {
	defer c.awg.Done()
	defer c.forget(op)
	// The response buffer (pooled) is taken only once there is an answer:
	// a READ may stay pending for as long as the pipe is idle.
	var bp *[]byte
	var buf []byte
	defer func() {
		if bp != nil {
			*bp = buf
			c.srv.bufs.put(bp)
		}
	}()
	var n int
	var more bool
	var err error
	switch op.kind {
	case opWait:
		err = c.waitFree(op)
	case opFlush:
		err = op.end.Flush(op.ctx)
	}
	if len(op.data) > 0 && op.kind == opTransceive {
		// A request longer than the pipe's quota is read in place by the
		// server end, and the write returns once it is read (pipe.End.Write).
		// A server end may answer as it reads (the echo backend does): the
		// reply is read while the request is written, and the operation
		// ends, its data freed, once both are done, after the response (a
		// failed reply stops the write).
		wctx, stop := context.WithCancel(op.ctx)
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			k, _ := op.end.WriteContext(wctx, op.data)
			op.open.live.countIn(k)
		}()
		defer func() { // before the deferred release of op.held
			if err != nil {
				stop()
			}
			<-wrote
			stop()
		}()
	} else if len(op.data) > 0 {
		n, err = op.end.WriteContext(op.ctx, op.data)
		n += op.done
		op.open.live.countIn(n)
		// The data is in the pipe (or the write failed): free it now
		// rather than while a TRANSCEIVE waits for its reply.
		op.data = nil
		c.amu.Lock()
		c.releaseAsyncLocked(op.held)
		op.held = 0
		c.amu.Unlock()
	}
	if err == nil && (op.kind == opRead || op.kind == opTransceive) {
		// Read once there is something to read, straight into the
		// response behind the body's fixed part. The buffer is sized to
		// what is queued, not to the length asked for, and held against
		// the async byte bounds until the response is sent.
		err = op.end.WaitReadable(op.ctx)
		k := 0
		if err == nil {
			k = replySize(op.end, op.length)
			c.amu.Lock()
			if c.reserveAsyncLocked(k, op.held) { // a TRANSCEIVE's request may still be held
				op.held += k
			} else {
				err = errNoResources
			}
			c.amu.Unlock()
		}
		if err == nil {
			bp = c.srv.bufs.get()
			buf = append((*bp)[:0], make([]byte, 4+smb2.HeaderSize)...)
			fixed := smb2.IoctlResponseFixedSize
			if op.kind == opRead {
				fixed = smb2.ReadResponseDataOffset - smb2.HeaderSize
			}
			var p []byte
			buf, p = reserveBody(buf, fixed, k)
			n, more, err = op.end.ReadMsg(op.ctx, p)
			op.open.live.countOut(n)
		}
	}
	st := ntstatus.Success
	switch {
	case err == nil && more:
		st = ntstatus.BufferOverflow
	case err == nil:
	case errTimeout == err:
		st = ntstatus.IOTimeout
	case errNoResources == err:
		st = ntstatus.InsufficientResources
	case op.ctx.Err() != nil:
		switch cause := context.Cause(op.ctx); {
		case errors.Is(cause, errCancelled):
			st = ntstatus.Cancelled
		case errors.Is(cause, errPipeBroken):
			st = ntstatus.PipeBroken
		default:
			return // the connection is going away
		}
	default:
		st = pipeStatus(err)
	}

	if bp == nil {
		bp = c.srv.bufs.get()
		buf = append((*bp)[:0], make([]byte, 4+smb2.HeaderSize)...)
	}
	switch {
	case isError(st):
		buf = (&smb2.ErrorResponse{}).Append(buf)
	case op.kind == opRead:
		buf = smb2.AppendReadResponseHeader(buf, n, 0, 0)
		buf = buf[:len(buf)+n]
	case op.kind == opWrite:
		buf = (&smb2.WriteResponse{Count: uint32(n)}).Append(buf)
	case op.kind == opWait:
		buf = (&smb2.IoctlResponse{CtlCode: smb2.FsctlPipeWait, FileID: smb2.WildcardFileID}).Append(buf)
	case op.kind == opFlush:
		buf = (&smb2.FlushResponse{}).Append(buf)
	default:
		buf = smb2.AppendIoctlResponseHeader(buf, smb2.FsctlPipeTransceive, op.fileID, n, 0)
		buf = buf[:len(buf)+n]
	}
	h := smb2.Header{
		CreditCharge: op.charge, // clients (impacket) advance their MessageIds by it
		Status:       st,
		Command:      op.cmd,
		Flags:        smb2.FlagServerToRedir | smb2.FlagAsyncCommand,
		MessageID:    op.messageID,
		AsyncID:      op.id,
		SessionID:    op.sessionID,
	}
	h.Append(buf[4:4])
	*bp = buf
	var elems [1]elem
	elems[0] = elem{start: 4, signer: op.signer}
	if err := c.send(buf, elems[:], op.seal); err != nil {
		c.log.Debug("smb async completion not sent", "err", err)
	}
}

// errTimeout ends a WAIT whose timeout passed (STATUS_IO_TIMEOUT).
var errTimeout = errors.New("server: pipe wait timed out")

// errNoResources ends a READ or TRANSCEIVE whose reply would pass the
// async byte bounds (STATUS_INSUFFICIENT_RESOURCES); nothing is consumed.
var errNoResources = errors.New("server: async byte bound reached")

// minReply is the smallest buffer a pending READ or TRANSCEIVE takes for
// its reply (when it asked for at least that much): a pooled response
// buffer has this size anyway.
const minReply = 64 << 10

// replySize is the buffer a pending READ or TRANSCEIVE of up to length
// bytes takes once e is readable: what is there to read (in message read
// mode, the rest of the first message, a message read in place from its
// pending writer included), between minReply and length. Asking
// for 8 MiB to receive 10 bytes does not make the server take 8 MiB.
func replySize(e *pipe.End, length int) int {
	info, _ := e.Peek(nil)
	avail := info.Available
	if info.Messages > 0 && e.ReadMode() == pipe.MessageMode {
		avail = info.FirstMessageLen
	}
	return min(length, max(avail, minReply))
}

// reserveAsyncLocked charges n more bytes held by an async operation of c,
// which holds own bytes already, to max_async_bytes_per_connection and the
// server-wide max_async_bytes. When n does not fit it counts and logs the
// limit hit and reports false. A connection holding nothing else may
// always hold one request under its own bound (one WRITE of MaxWriteSize
// works whatever the bound; a TRANSCEIVE's reply too, read while its
// request is still held), not under the server's. Called with c.amu held.
func (c *conn) reserveAsyncLocked(n, own int) bool {
	if n == 0 {
		return true
	}
	if max := c.lim.MaxAsyncBytesPerConnection; c.asyncBytes > own && c.asyncBytes+n > max {
		c.limitHit(limAsyncBytes, "max", max, "held", c.asyncBytes, "request", n)
		return false
	}
	if max, ok := c.srv.reserveAsync(n); !ok {
		c.limitHit(limAsyncBytesServer, "max", max, "request", n)
		return false
	}
	c.asyncBytes += n
	return true
}

// releaseAsyncLocked returns n bytes charged by reserveAsyncLocked.
// Called with c.amu held.
func (c *conn) releaseAsyncLocked(n int) {
	if n == 0 {
		return
	}
	c.asyncBytes -= n
	c.srv.asyncBytes.Add(-int64(n))
	c.srv.metrics.add(MetricAsyncBytes, "", -float64(n))
}

// reserveAsync charges n bytes to max_async_bytes (the value in force
// now) and reports whether they fit; max is that value.
func (s *Server) reserveAsync(n int) (max int, ok bool) {
	max = s.snapshot().Config().Limits.WithDefaults().MaxAsyncBytes
	for {
		old := s.asyncBytes.Load()
		if old+int64(n) > int64(max) {
			return max, false
		}
		if s.asyncBytes.CompareAndSwap(old, old+int64(n)) {
			s.metrics.add(MetricAsyncBytes, "", float64(n))
			return max, true
		}
	}
}

// waitFree waits until op.name has a free instance, op.timeout passes
// (errTimeout) or op.ctx ends.
func (c *conn) waitFree(op *asyncOp) error {
	ctx, cancel := context.WithTimeout(op.ctx, op.timeout)
	defer cancel()
	err := c.srv.ns.Wait(ctx, op.name)
	if err != nil && op.ctx.Err() == nil && ctx.Err() != nil {
		return errTimeout
	}
	return err
}

// handleCancel handles CANCEL: by AsyncId when async, else by MessageId.
// It is never answered; the cancelled request completes with
// STATUS_CANCELLED.
//
// A CANCEL is verified like any request of its session (MS-SMB2 3.3.5.2.4,
// 3.3.5.16) and reaches only that session's operations: an unsigned or
// badly signed CANCEL on a signing session, or one naming another session,
// is ignored (CANCEL is never answered). Encryption comes first
// (3.3.5.2.9): a CANCEL in an encrypted frame (c.encrypted) is
// authenticated by its transform and not verified again, signing rule or
// not; one in clear on a session that must encrypt is ignored, signed or
// not, as any other clear request of that session is refused.
func (c *conn) handleCancel(h *smb2.Header, msg []byte) {
	s := c.sessions[h.SessionID]
	if s == nil {
		c.log.Debug("smb CANCEL for no session of this connection ignored", "session", h.SessionID)
		return
	}
	switch {
	case c.encrypted:
	case s.encryptData:
		c.log.Warn("smb unencrypted CANCEL on a session that requires encryption ignored", "session", s.id)
		return
	case h.Flags&smb2.FlagSigned != 0:
		if s.verifier == nil || !s.verifier.Verify(msg) {
			c.log.Warn("smb CANCEL with a bad signature ignored", "session", s.id)
			return
		}
	case s.signingRequired:
		c.log.Warn("smb unsigned CANCEL on a session that requires signing ignored", "session", s.id)
		return
	}
	c.amu.Lock()
	defer c.amu.Unlock()
	if h.IsAsync() {
		if op := c.async[h.AsyncID]; op != nil && op.sessionID == s.id {
			op.cancel(errCancelled)
		}
		return
	}
	for _, op := range c.async {
		if op.messageID == h.MessageID && op.sessionID == s.id {
			op.cancel(errCancelled)
		}
	}
}

// cancelAsyncFor ends every pending operation on o with cause.
func (c *conn) cancelAsyncFor(o *open, cause error) {
	c.amu.Lock()
	defer c.amu.Unlock()
	for _, op := range c.async {
		if op.open == o {
			op.cancel(cause)
		}
	}
}

// abandon forgets an operation whose interim response was never sent.
func (c *conn) abandon(op *asyncOp) {
	c.forget(op)
	c.awg.Done()
}

// forget removes op from the connection's operations, gives back what it
// held of the async budget and its request's frame, and cancels its
// context.
func (c *conn) forget(op *asyncOp) {
	c.amu.Lock()
	delete(c.async, op.id)
	c.releaseAsyncLocked(op.held)
	c.amu.Unlock()
	op.cancel(nil)
	op.releaseFrame(c.srv)
}

// releaseFrame returns the frame buffer op took over to the pool.
func (op *asyncOp) releaseFrame(s *Server) {
	if op.frame != nil {
		op.data = nil
		s.bufs.put(op.frame)
		op.frame = nil
	}
}
