package server

import (
	"context"
	"errors"
	"runtime"
	"slices"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// Access rights checked on an open (MS-DTYP 2.4.3, MS-SMB2 3.3.5.12-13).
const (
	fileReadData   = 0x00000001
	fileWriteData  = 0x00000002
	fileAppendData = 0x00000004
)

// open is one CREATE of a pipe: the client end of an instance.
type open struct {
	id      smb2.FileID
	tree    *tree
	end     *pipe.End
	name    string
	granted uint32
	// proc is the instance's info while it holds a max_processes slot
	// its backend has not taken yet (see reserveProcess).
	proc *pipe.Caller
	// live is what admin.go lists of it, with its byte counters (nil
	// when its session is not listed).
	live *liveOpen
}

// create handles CREATE on IPC$: the policy decides, then the namespace
// opens an instance (MS-SMB2 3.3.5.9, docs/SEMANTICS.md 1.4 and 2.4).
func (c *conn) create(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	var req smb2.CreateRequest
	if err := req.Decode(r.msg); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	if r.sess.nOpens >= c.lim.MaxOpensPerSession {
		c.limitHit(limOpens, "max", c.lim.MaxOpensPerSession)
		return buf, ntstatus.TooManyOpenedFiles, nil
	}
	name, err := smb2.UTF16ToString(req.Name)
	if err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	var mxac bool
	for ctxs := req.CreateContexts; len(ctxs) > 0; {
		cc, rest, err := smb2.NextCreateContext(ctxs)
		if err != nil {
			return buf, ntstatus.InvalidParameter, nil
		}
		switch string(cc.Name) {
		case "DHnQ", "DH2Q", "DHnC", "DH2C":
			// Durable handles on IPC$ are refused as Samba does.
			return buf, ntstatus.ObjectNameNotFound, nil
		case "MxAc":
			mxac = true
		}
		ctxs = rest
	}

	snap := c.srv.snapshot()
	preq := policy.Request{
		Identity:           r.sess.ident,
		PipeName:           name,
		DesiredAccess:      req.DesiredAccess,
		ImpersonationLevel: req.ImpersonationLevel,
		Pipe:               c.srv.pipeInfo(snap, name),
	}
	d := snap.Check(preq)
	st := d.Status
	var end *pipe.End
	var proc *pipe.Caller
	if st == ntstatus.Success {
		info := c.caller(r.sess)
		if proc, st = c.reserveProcess(name, info); st == ntstatus.Success {
			end, err = c.srv.ns.Open(name, info)
			if err != nil {
				st = pipeStatus(err)
				if proc != nil {
					c.srv.cancelProcess(proc)
				}
			}
		}
	}
	c.audit(r, snap, &preq, &d, st)
	c.recordDecision("pipe open", r.sess.id, snap, &preq, &d, st)
	if st != ntstatus.Success {
		rule := d.Rule
		if st != d.Status {
			rule = "open"
		}
		c.srv.metrics.inc(MetricDenials, rule)
		return buf, st, nil
	}

	o := &open{
		id:      smb2.FileID{Persistent: c.nextFile, Volatile: c.nextFile},
		tree:    r.tree,
		end:     end,
		name:    name,
		granted: d.Granted,
		proc:    proc,
	}
	c.nextFile++
	c.opens[o.id.Volatile] = o
	r.tree.opens[o.id.Volatile] = o
	r.sess.nOpens++
	c.openUp(r.sess, o)
	c.srv.metrics.inc(MetricOpens, "")
	c.srv.metrics.inc(MetricOpensTotal, "")
	r.open = o

	resp := smb2.CreateResponse{
		CreateAction:   smb2.FileOpened,
		AllocationSize: 4096,
		FileAttributes: smb2.FileAttributeNormal,
		FileID:         o.id,
	}
	if mxac {
		data := (&smb2.MaximalAccessResponse{MaximalAccess: d.Granted}).Append(nil)
		resp.CreateContexts = smb2.AppendCreateContexts(nil, smb2.CreateContext{Name: []byte("MxAc"), Data: data})
	}
	return resp.Append(buf), ntstatus.Success, nil
}

// reserveProcess takes a max_processes slot for an open of name when its
// backend starts a process per instance, so that the CREATE, not the
// first READ or WRITE, tells the client there is none:
// STATUS_INSUFFICIENT_RESOURCES (ERROR_NO_SYSTEM_RESOURCES to a Windows
// client; STATUS_PIPE_NOT_AVAILABLE would send it into WaitNamedPipe,
// which succeeds at once, and a retry loop). proc is info when a slot was
// reserved.
func (c *conn) reserveProcess(name string, info *pipe.Caller) (proc *pipe.Caller, st ntstatus.Status) {
	p, ok := c.srv.ns.Lookup(name)
	if !ok {
		return nil, ntstatus.Success // Open reports it
	}
	switch reserved, ok := c.srv.reserveProcess(p, info); {
	case !ok:
		max := c.srv.maxProcesses()
		c.limitHit(limProcesses, "max", max, "pipe", p.Name())
		return nil, ntstatus.InsufficientResources
	case reserved:
		return info, ntstatus.Success
	}
	return nil, ntstatus.Success
}

// closeFile handles CLOSE.
func (c *conn) closeFile(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	var req smb2.CloseRequest
	if err := req.Decode(r.msg); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	c.closeOpen(r.open)
	var resp smb2.CloseResponse
	if req.Flags&smb2.CloseFlagPostQueryAttrib != 0 {
		resp.Flags = smb2.CloseFlagPostQueryAttrib
		resp.AllocationSize = 4096
		resp.FileAttributes = smb2.FileAttributeNormal
	}
	return resp.Append(buf), ntstatus.Success, nil
}

// closeOpen ends o: its pending operations complete with
// STATUS_PIPE_BROKEN, then the client end is closed.
func (c *conn) closeOpen(o *open) {
	c.cancelAsyncFor(o, errPipeBroken)
	o.end.Close()
	if o.proc != nil {
		c.srv.cancelProcess(o.proc)
	}
	delete(c.opens, o.id.Volatile)
	delete(o.tree.opens, o.id.Volatile)
	o.tree.sess.nOpens--
	c.srv.admin.openDown(o.live)
	c.srv.metrics.dec(MetricOpens)
}

// flush handles FLUSH: on a pipe it completes once the other end has read
// everything this handle wrote, going async while data is still queued
// (docs/SEMANTICS.md 2.6).
func (c *conn) flush(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	o := r.open
	if o.granted&(fileWriteData|fileAppendData) == 0 {
		return buf, ntstatus.AccessDenied, nil
	}
	err := o.end.Flush(c.done) // c.done is already done: a non-blocking check
	if errors.Is(err, context.Canceled) {
		return c.goAsync(r, buf, &asyncOp{kind: opFlush})
	}
	if err != nil {
		return buf, pipeStatus(err), nil
	}
	return (&smb2.FlushResponse{}).Append(buf), ntstatus.Success, nil
}

// checkCharge validates the CreditCharge of a request moving size bytes
// (MS-SMB2 3.3.5.2.5).
func (c *conn) checkCharge(r *request, size uint32) ntstatus.Status {
	if c.dialect == smb2.Dialect202 || size <= 65536 {
		return ntstatus.Success
	}
	if r.hdr.CreditCharge < smb2.CreditCharge(int(size)) {
		return ntstatus.InvalidParameter
	}
	return ntstatus.Success
}

// scratchBuf returns a scratch buffer of n bytes, taken from the server's
// pool and held until the frame being processed is answered (see
// releaseScratch), so that an idle connection holds none.
func (c *conn) scratchBuf(n int) []byte {
	if c.scratch == nil {
		c.scratch = c.srv.bufs.get()
	}
	if cap(*c.scratch) < n {
		*c.scratch = make([]byte, n)
	}
	return (*c.scratch)[:n]
}

// releaseScratch returns the scratch buffer to the pool.
func (c *conn) releaseScratch() {
	if c.scratch != nil {
		c.srv.bufs.put(c.scratch)
		c.scratch = nil
	}
}

// reserveBody makes room in buf for a response body of fixed bytes
// followed by up to length bytes of data, and returns buf unchanged in
// length with the data's place p = buf[len(buf)+fixed:][:length] in its
// spare capacity. The caller reads into p, then appends the fixed part
// and extends buf over the bytes read. The response buffer is pooled and
// kept at its grown size, so this does not allocate in steady state.
func reserveBody(buf []byte, fixed, length int) ([]byte, []byte) {
	buf = slices.Grow(buf, fixed+length)
	return buf, buf[len(buf)+fixed : len(buf)+fixed+length]
}

// tryRead reads what is queued for o without blocking, giving a peer that
// is about to answer a few chances to run first.
func (c *conn) tryRead(o *open, p []byte) (int, bool, error) {
	for i := 0; ; i++ {
		n, more, err := o.end.TryRead(p)
		if !errors.Is(err, pipe.ErrWouldBlock) || i == 3 {
			return n, more, err
		}
		runtime.Gosched()
	}
}

// read handles READ: data at once, or an async completion when the pipe
// is empty (MS-SMB2 3.3.5.12, docs/SEMANTICS.md 2.6 and 2.9).
func (c *conn) read(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	var req smb2.ReadRequest
	if err := req.Decode(r.msg); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	o := r.open
	switch {
	case o.granted&fileReadData == 0:
		return buf, ntstatus.AccessDenied, nil
	case req.Length > c.maxIO:
		return buf, ntstatus.InvalidParameter, nil
	case c.dialect >= smb2.Dialect302 && req.Flags&smb2.ReadFlagUnbuffered != 0:
		return buf, ntstatus.InvalidParameter, nil
	}
	if st := c.checkCharge(r, req.Length); st != ntstatus.Success {
		return buf, st, nil
	}
	// The data is read straight into the response, behind its fixed part.
	buf, p := reserveBody(buf, smb2.ReadResponseDataOffset-smb2.HeaderSize, int(req.Length))
	n, more, err := c.tryRead(o, p)
	if errors.Is(err, pipe.ErrWouldBlock) {
		if o.end.CompletionMode() == pipe.CompleteOperation {
			return buf, ntstatus.PipeEmpty, nil
		}
		return c.goAsync(r, buf, &asyncOp{kind: opRead, length: int(req.Length)})
	}
	if err != nil {
		return buf, pipeStatus(err), nil
	}
	o.live.countOut(n)
	buf = smb2.AppendReadResponseHeader(buf, n, 0, 0)
	buf = buf[:len(buf)+n]
	if more {
		return buf, ntstatus.BufferOverflow, nil
	}
	return buf, ntstatus.Success, nil
}

// write handles WRITE: one message in message mode.
func (c *conn) write(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	var req smb2.WriteRequest
	if err := req.Decode(r.msg); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	o := r.open
	switch {
	case o.granted&(fileWriteData|fileAppendData) == 0:
		return buf, ntstatus.AccessDenied, nil
	case uint32(len(req.Data)) > c.maxIO:
		return buf, ntstatus.InvalidParameter, nil
	case c.dialect >= smb2.Dialect300 && req.Flags&(smb2.WriteFlagWriteThrough|smb2.WriteFlagWriteUnbuffered) != 0:
		return buf, ntstatus.InvalidParameter, nil
	}
	if st := c.checkCharge(r, uint32(len(req.Data))); st != ntstatus.Success {
		return buf, st, nil
	}
	// Write what fits now; the rest goes async rather than stalling the
	// connection (a message is written whole or not at all).
	n, err := o.end.WriteContext(c.done, req.Data)
	if errors.Is(err, context.Canceled) && o.end.CompletionMode() == pipe.QueueOperation {
		return c.goAsync(r, buf, &asyncOp{kind: opWrite, data: req.Data[n:], done: n}) // copied by goAsync
	}
	if err != nil {
		return buf, pipeStatus(err), nil
	}
	o.live.countIn(n)
	return (&smb2.WriteResponse{Count: uint32(n)}).Append(buf), ntstatus.Success, nil
}

// pipeStatus maps pipe package errors to NTSTATUS.
func pipeStatus(err error) ntstatus.Status {
	switch {
	case err == nil:
		return ntstatus.Success
	case errors.Is(err, pipe.ErrNotFound):
		return ntstatus.ObjectNameNotFound
	case errors.Is(err, pipe.ErrNotAvailable):
		return ntstatus.PipeNotAvailable
	case errors.Is(err, pipe.ErrBroken):
		return ntstatus.PipeBroken
	case errors.Is(err, pipe.ErrWouldBlock):
		return ntstatus.PipeEmpty
	case errors.Is(err, pipe.ErrBusy):
		return ntstatus.PipeBusy
	case errors.Is(err, pipe.ErrBadState):
		return ntstatus.InvalidPipeState
	case errors.Is(err, pipe.ErrDirection):
		return ntstatus.InvalidParameter
	case errors.Is(err, pipe.ErrClosed):
		return ntstatus.FileClosed
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ntstatus.Cancelled
	}
	return ntstatus.Unsuccessful
}
