package client

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// Access masks and create options the client sends on a pipe open, as a
// Windows CreateFile(GENERIC_READ|GENERIC_WRITE) does.
const (
	pipeDesiredAccess = 0x0012019F
	pipeShareAccess   = 0x00000003 // FILE_SHARE_READ|FILE_SHARE_WRITE
	fileOpen          = 0x00000001
	pipeCreateOptions = 0x00400040 // FILE_NON_DIRECTORY_FILE|FILE_OPEN_NO_RECALL
)

// OpenOptions tune a pipe open; the zero value is what Windows sends.
type OpenOptions struct {
	// DesiredAccess; 0 means 0x0012019F (FILE_GENERIC_READ|FILE_GENERIC_WRITE).
	DesiredAccess uint32
	// ImpersonationLevel; nil means Impersonation (2).
	ImpersonationLevel *uint32
}

// Pipe is an open named pipe. It implements net.Conn: Read and Write use
// the deadlines; ReadMsg, WriteMsg, Transact and the other methods take a
// context. Cancelling a context (or a deadline passing) while a request is
// pending sends SMB2 CANCEL. Methods are safe for concurrent use.
type Pipe struct {
	c      *Conn
	name   string
	fid    smb2.FileID
	closed atomic.Bool
	owns   bool // Close also logs off and closes c (pipes from Dialer)

	dlMu          sync.Mutex
	readDeadline  time.Time
	writeDeadline time.Time
}

// OpenPipe opens \\server\pipe\name (name as sent in CREATE: "srvsvc",
// no \pipe\ prefix) for reading and writing.
func (c *Conn) OpenPipe(ctx context.Context, name string) (*Pipe, error) {
	return c.OpenPipeOptions(ctx, name, OpenOptions{})
}

// OpenPipeOptions opens a pipe with explicit access and impersonation.
func (c *Conn) OpenPipeOptions(ctx context.Context, name string, o OpenOptions) (*Pipe, error) {
	req := smb2.CreateRequest{
		ImpersonationLevel: smb2.ImpersonationImpersonation,
		DesiredAccess:      pipeDesiredAccess,
		ShareAccess:        pipeShareAccess,
		CreateDisposition:  fileOpen,
		CreateOptions:      pipeCreateOptions,
		Name:               smb2.AppendUTF16(nil, name),
	}
	if o.DesiredAccess != 0 {
		req.DesiredAccess = o.DesiredAccess
	}
	if o.ImpersonationLevel != nil {
		req.ImpersonationLevel = *o.ImpersonationLevel
	}
	bp := newRequest()
	*bp = req.Append(*bp)
	cl, err := c.simple(ctx, smb2.CmdCreate, bp, 0, "create", name)
	if err != nil {
		return nil, err
	}
	defer c.release(cl)
	var resp smb2.CreateResponse
	if err := resp.Decode(cl.msg); err != nil {
		return nil, protocolErrorf("create response: %v", err)
	}
	return &Pipe{c: c, name: name, fid: resp.FileID}, nil
}

// Name returns the pipe name as opened.
func (p *Pipe) Name() string { return p.name }

// FileID returns the SMB2 FileId of the open.
func (p *Pipe) FileID() smb2.FileID { return p.fid }

// Conn returns the connection the pipe was opened on.
func (p *Pipe) Conn() *Conn { return p.c }

// ReadMsg reads into b. In message mode it returns at most one message,
// whole when it fits in b; more is true only when the message was longer
// than b (STATUS_BUFFER_OVERFLOW), and the rest waits for the next
// ReadMsg. b longer than the server's MaxReadSize is read with as many
// READs as the message needs. It blocks until data arrives; a pending read
// ends with ctx (STATUS_CANCELLED, wrapped with ctx.Err()), when the handle
// is closed (STATUS_PIPE_BROKEN) or when the server end closes
// (STATUS_PIPE_BROKEN once the queue is drained). An error after part of a
// message was read returns that part with the error.
func (p *Pipe) ReadMsg(ctx context.Context, b []byte) (n int, more bool, err error) {
	for {
		m, more, err := p.readOnce(ctx, b[n:])
		n += m
		if err != nil || !more || n == len(b) {
			return n, more, err
		}
	}
}

// readOnce sends one READ of up to len(b) bytes (at most MaxReadSize) and
// copies the data into b; more reports STATUS_BUFFER_OVERFLOW.
func (p *Pipe) readOnce(ctx context.Context, b []byte) (n int, more bool, err error) {
	length := min(len(b), p.c.MaxReadSize())
	bp := newRequest()
	*bp = (&smb2.ReadRequest{Padding: 0x50, Length: uint32(length), FileID: p.fid}).Append(*bp)
	cl, err := p.c.simple(ctx, smb2.CmdRead, bp, length, "read", p.name)
	if err != nil {
		return 0, false, err
	}
	defer p.c.release(cl)
	more = cl.hdr.Status == ntstatus.BufferOverflow
	data, err := readData(cl.msg, length, more)
	if err != nil {
		return 0, false, p.c.failProtocol(err)
	}
	return copy(b, data), more, nil
}

// readData returns the data of a READ response msg to a READ of length
// bytes. STATUS_BUFFER_OVERFLOW (more) says the message continues, so the
// data must fill the READ: that is also what makes a loop reading on end.
func readData(msg []byte, length int, more bool) ([]byte, error) {
	var resp smb2.ReadResponse
	if err := resp.Decode(msg); err != nil {
		return nil, protocolErrorf("read response: %v", err)
	}
	if len(resp.Data) > length || more && len(resp.Data) != length {
		return nil, protocolErrorf("read returned %d bytes for %d asked (more=%v)", len(resp.Data), length, more)
	}
	return resp.Data, nil
}

// tailMin is the smallest message a WRITE or TRANSCEIVE sends from the
// caller's buffer, behind the request in the client's (one writev),
// instead of copying it in: below it the copy costs less than the second
// buffer.
const tailMin = 2 << 10

// WriteMsg writes b. In message mode each WRITE is one message; b longer
// than MaxWriteSize is sent as several WRITEs (several messages).
func (p *Pipe) WriteMsg(ctx context.Context, b []byte) (int, error) {
	var n int
	for {
		chunk := b[n:min(len(b), n+p.c.MaxWriteSize())]
		bp := newRequest()
		req := smb2.WriteRequest{FileID: p.fid, Data: chunk}
		var tail []byte
		if len(chunk) >= tailMin {
			*bp, tail = req.AppendHead(*bp), chunk
		} else {
			*bp = req.Append(*bp)
		}
		cl, err := p.c.simpleTail(ctx, smb2.CmdWrite, bp, tail, len(chunk), "write", p.name)
		if err != nil {
			return n, err
		}
		count, err := writeCount(cl.msg, len(chunk))
		p.c.release(cl)
		if err != nil {
			return n, p.c.failProtocol(err)
		}
		n += count
		if count < len(chunk) {
			return n, io.ErrShortWrite
		}
		if n >= len(b) {
			return n, nil
		}
	}
}

// writeCount returns the Count of a WRITE response msg to a WRITE of size
// bytes.
func writeCount(msg []byte, size int) (int, error) {
	var resp smb2.WriteResponse
	if err := resp.Decode(msg); err != nil {
		return 0, protocolErrorf("write response: %v", err)
	}
	if int64(resp.Count) > int64(size) {
		return 0, protocolErrorf("write count %d for %d bytes", resp.Count, size)
	}
	return int(resp.Count), nil
}

// Transact writes in as one message and reads one reply message into out
// (FSCTL_PIPE_TRANSCEIVE). more is true when the reply was longer than out
// (STATUS_BUFFER_OVERFLOW); read the rest with ReadMsg. When out is longer
// than MaxTransactSize, a longer reply is read on with READs into out, so
// more still means only that out was too short.
func (p *Pipe) Transact(ctx context.Context, in, out []byte) (n int, more bool, err error) {
	n, more, err = p.transceive(ctx, in, out)
	if err != nil || !more || n == len(out) {
		return n, more, err
	}
	m, more, err := p.ReadMsg(ctx, out[n:])
	return n + m, more, err
}

// transceive sends one FSCTL_PIPE_TRANSCEIVE with a reply of up to
// len(out) bytes (at most MaxTransactSize).
func (p *Pipe) transceive(ctx context.Context, in, out []byte) (n int, more bool, err error) {
	maxOut := min(len(out), p.c.MaxTransactSize())
	bp := newRequest()
	req := smb2.IoctlRequest{
		CtlCode:           smb2.FsctlPipeTransceive,
		FileID:            p.fid,
		Input:             in,
		MaxOutputResponse: uint32(maxOut),
		Flags:             smb2.IoctlIsFsctl,
	}
	var tail []byte
	if len(in) >= tailMin {
		*bp, tail = req.AppendHead(*bp), in
	} else {
		*bp = req.Append(*bp)
	}
	cl, err := p.c.simpleTail(ctx, smb2.CmdIoctl, bp, tail, max(len(in), maxOut), "transact", p.name)
	if err != nil {
		return 0, false, err
	}
	defer p.c.release(cl)
	more = cl.hdr.Status == ntstatus.BufferOverflow
	data, err := ioctlOutput(cl.msg, smb2.FsctlPipeTransceive, 0, maxOut, more)
	if err != nil {
		return 0, false, p.c.failProtocol(err)
	}
	return copy(out, data), more, nil
}

// ioctlOutput returns the output of an IOCTL response msg to ctl with a
// MaxOutputResponse of maxOut bytes; the output must be at least min
// bytes, and fill maxOut when more (STATUS_BUFFER_OVERFLOW) says the reply
// continues.
func ioctlOutput(msg []byte, ctl uint32, min, maxOut int, more bool) ([]byte, error) {
	var resp smb2.IoctlResponse
	if err := resp.Decode(msg); err != nil {
		return nil, protocolErrorf("ioctl response: %v", err)
	}
	o := resp.Output
	if resp.CtlCode != ctl || len(o) < min || len(o) > maxOut || more && len(o) != maxOut {
		return nil, protocolErrorf("ioctl %#x response: CtlCode %#x, %d bytes for %d asked (more=%v)", ctl, resp.CtlCode, len(o), maxOut, more)
	}
	return o, nil
}

// PeekInfo is the FSCTL_PIPE_PEEK header.
type PeekInfo struct {
	State           uint32 // 3 CONNECTED, 4 CLOSING
	Available       uint32 // bytes queued for reading
	Messages        uint32 // messages queued (0 on byte pipes)
	FirstMessageLen uint32 // bytes left of the first message
}

// Peek returns the pipe's read state and copies up to len(b) queued bytes
// into b without consuming them (FSCTL_PIPE_PEEK; never blocks). more is
// true on STATUS_BUFFER_OVERFLOW (b shorter than what is queued).
func (p *Pipe) Peek(ctx context.Context, b []byte) (info PeekInfo, n int, more bool, err error) {
	maxOut := min(16+len(b), p.c.MaxTransactSize())
	bp := newRequest()
	*bp = (&smb2.IoctlRequest{CtlCode: smb2.FsctlPipePeek, FileID: p.fid, MaxOutputResponse: uint32(maxOut), Flags: smb2.IoctlIsFsctl}).Append(*bp)
	cl, err := p.c.simple(ctx, smb2.CmdIoctl, bp, maxOut, "peek", p.name)
	if err != nil {
		return info, 0, false, err
	}
	defer p.c.release(cl)
	more = cl.hdr.Status == ntstatus.BufferOverflow
	// A PEEK does not loop on BUFFER_OVERFLOW: its output need not fill maxOut.
	o, err := ioctlOutput(cl.msg, smb2.FsctlPipePeek, 16, maxOut, false)
	if err != nil {
		return info, 0, false, p.c.failProtocol(err)
	}
	var pb smb2.PipePeekBuffer
	if err := pb.Decode(o); err != nil {
		return info, 0, false, p.c.failProtocol(err)
	}
	info = PeekInfo{State: pb.NamedPipeState, Available: pb.ReadDataAvailable, Messages: pb.NumberOfMessages,
		FirstMessageLen: pb.MessageLength}
	return info, copy(b, pb.Data), more, nil
}

// QueryInfo sends QUERY_INFO for (infoType, class), e.g. (smb2.InfoFile,
// smb2.FilePipeLocalInformation), and returns a copy of the raw output.
func (p *Pipe) QueryInfo(ctx context.Context, infoType, class uint8, outputLength int) ([]byte, error) {
	return p.queryInfo(ctx, smb2.QueryInfoRequest{InfoType: infoType, FileInfoClass: class}, outputLength, "query info")
}

// QueryInfoSecurity sends QUERY_INFO SMB2_0_INFO_SECURITY with
// AdditionalInformation info (OWNER 0x1, GROUP 0x2, DACL 0x4, SACL 0x8) and
// returns a copy of the self-relative security descriptor.
func (p *Pipe) QueryInfoSecurity(ctx context.Context, info uint32, outputLength int) ([]byte, error) {
	return p.queryInfo(ctx, smb2.QueryInfoRequest{InfoType: smb2.InfoSecurity, AdditionalInformation: info}, outputLength, "query security")
}

// queryInfo sends req on this pipe asking for at most outputLength bytes
// and returns a copy of the output; what names the call in errors.
func (p *Pipe) queryInfo(ctx context.Context, req smb2.QueryInfoRequest, outputLength int, what string) ([]byte, error) {
	req.OutputBufferLength = uint32(outputLength)
	req.FileID = p.fid
	bp := newRequest()
	*bp = req.Append(*bp)
	cl, err := p.c.simple(ctx, smb2.CmdQueryInfo, bp, outputLength, what, p.name)
	if err != nil {
		return nil, err
	}
	defer p.c.release(cl)
	out, err := queryInfoOutput(cl.msg, outputLength)
	if err != nil {
		return nil, p.c.failProtocol(err)
	}
	return out, nil
}

// queryInfoOutput returns a copy of the output of a QUERY_INFO response
// msg to a request for at most outputLength bytes.
func queryInfoOutput(msg []byte, outputLength int) ([]byte, error) {
	var resp smb2.QueryInfoResponse
	if err := resp.Decode(msg); err != nil {
		return nil, protocolErrorf("query info response: %v", err)
	}
	if len(resp.Output) > outputLength {
		return nil, protocolErrorf("query info returned %d bytes for %d asked", len(resp.Output), outputLength)
	}
	return append([]byte(nil), resp.Output...), nil
}

// SetInfo sends SET_INFO for (infoType, class) with buf, e.g.
// FilePipeInformation {ReadMode, CompletionMode}.
func (p *Pipe) SetInfo(ctx context.Context, infoType, class uint8, buf []byte) error {
	bp := newRequest()
	*bp = (&smb2.SetInfoRequest{InfoType: infoType, FileInfoClass: class, Buffer: buf, FileID: p.fid}).Append(*bp)
	return p.c.simpleDone(ctx, smb2.CmdSetInfo, bp, len(buf), "set info", p.name)
}

// Flush sends SMB2 FLUSH (on a pipe: waits until the other end has read
// what was written).
func (p *Pipe) Flush(ctx context.Context) error {
	bp := newRequest()
	*bp = (&smb2.FlushRequest{FileID: p.fid}).Append(*bp)
	return p.c.simpleDone(ctx, smb2.CmdFlush, bp, 0, "flush", p.name)
}

// CloseContext sends SMB2 CLOSE. Requests pending on the handle end with
// STATUS_PIPE_BROKEN. Later calls return net.ErrClosed.
func (p *Pipe) CloseContext(ctx context.Context) error {
	if p.closed.Swap(true) {
		return net.ErrClosed
	}
	bp := newRequest()
	*bp = (&smb2.CloseRequest{FileID: p.fid}).Append(*bp)
	err := p.c.simpleDone(ctx, smb2.CmdClose, bp, 0, "close", p.name)
	if p.owns {
		lctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if p.c.SessionID() != 0 {
			_ = p.c.Logoff(lctx)
		}
		cancel()
		if cerr := p.c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Close closes the handle (bounded by 10 seconds). See CloseContext.
func (p *Pipe) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.CloseContext(ctx)
}

// Read implements io.Reader and net.Conn: it reads what one READ returns
// (part of a message when b is short; the rest comes on the next Read). It
// returns io.EOF when the server end has closed (STATUS_PIPE_BROKEN) and
// net.ErrClosed after Close.
func (p *Pipe) Read(b []byte) (int, error) {
	if p.closed.Load() {
		return 0, net.ErrClosed
	}
	if len(b) == 0 {
		return 0, nil
	}
	ctx, cancel := p.deadlineContext(&p.readDeadline)
	n, _, err := p.ReadMsg(ctx, b)
	if cancel != nil {
		cancel()
	}
	return n, p.streamErr("read", ctx, err)
}

// Write implements io.Writer and net.Conn (one WriteMsg per call).
func (p *Pipe) Write(b []byte) (int, error) {
	if p.closed.Load() {
		return 0, net.ErrClosed
	}
	ctx, cancel := p.deadlineContext(&p.writeDeadline)
	n, err := p.WriteMsg(ctx, b)
	if cancel != nil {
		cancel()
	}
	return n, p.streamErr("write", ctx, err)
}

func (p *Pipe) streamErr(op string, ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case p.closed.Load():
		return net.ErrClosed
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &timeoutError{op: op}
	case op == "read" && errors.Is(err, ntstatus.PipeBroken):
		return io.EOF
	}
	return err
}

// deadlineContext returns a context ending at the deadline, or
// context.Background (no allocation) when none is set.
func (p *Pipe) deadlineContext(dl *time.Time) (context.Context, context.CancelFunc) {
	p.dlMu.Lock()
	t := *dl
	p.dlMu.Unlock()
	if t.IsZero() {
		return context.Background(), nil
	}
	return context.WithDeadline(context.Background(), t)
}

// LocalAddr returns the local network address.
func (p *Pipe) LocalAddr() net.Addr { return p.c.LocalAddr() }

// RemoteAddr returns the server's network address.
func (p *Pipe) RemoteAddr() net.Addr { return p.c.RemoteAddr() }

// SetDeadline sets the read and write deadlines. Deadlines apply to calls
// started after they are set.
func (p *Pipe) SetDeadline(t time.Time) error {
	p.dlMu.Lock()
	p.readDeadline, p.writeDeadline = t, t
	p.dlMu.Unlock()
	return nil
}

// SetReadDeadline sets the deadline of future Read calls.
func (p *Pipe) SetReadDeadline(t time.Time) error {
	p.dlMu.Lock()
	p.readDeadline = t
	p.dlMu.Unlock()
	return nil
}

// SetWriteDeadline sets the deadline of future Write calls.
func (p *Pipe) SetWriteDeadline(t time.Time) error {
	p.dlMu.Lock()
	p.writeDeadline = t
	p.dlMu.Unlock()
	return nil
}

// WaitPipe sends FSCTL_PIPE_WAIT for name and waits up to timeout for a free
// instance (STATUS_IO_TIMEOUT when none frees up). timeout <= 0 sends no
// timeout (the server's default applies).
func (c *Conn) WaitPipe(ctx context.Context, name string, timeout time.Duration) error {
	w := smb2.PipeWaitRequest{Name: name}
	if timeout > 0 {
		// Relative time in 100 ns units, negative, as the NT API encodes it.
		w.Timeout, w.TimeoutSpecified = -int64(timeout/100), true
	}
	in := w.Append(make([]byte, 0, 14+2*len(name)))
	bp := newRequest()
	*bp = (&smb2.IoctlRequest{CtlCode: smb2.FsctlPipeWait, FileID: smb2.WildcardFileID, Input: in, Flags: smb2.IoctlIsFsctl}).Append(*bp)
	cl, err := c.simple(ctx, smb2.CmdIoctl, bp, len(in), "wait", name)
	if err != nil {
		return err
	}
	c.release(cl)
	return nil
}
