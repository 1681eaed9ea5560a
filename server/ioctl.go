package server

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// ioctl handles IOCTL: the pipe FSCTLs (TRANSCEIVE, PEEK, WAIT) and
// FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 3.3.5.15).
func (c *conn) ioctl(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	var req smb2.IoctlRequest
	if err := req.Decode(r.msg); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	if req.Flags&smb2.IoctlIsFsctl == 0 {
		return buf, ntstatus.NotSupported, nil
	}
	if uint32(len(req.Input)) > c.maxIO || req.MaxOutputResponse > c.maxIO || req.MaxInputResponse > c.maxIO {
		return buf, ntstatus.InvalidParameter, nil
	}
	if st := c.checkCharge(r, max(uint32(len(req.Input)), req.MaxOutputResponse)); st != ntstatus.Success {
		return buf, st, nil
	}
	switch req.CtlCode {
	case smb2.FsctlPipeWait:
		return c.wait(r, buf, &req)
	case smb2.FsctlValidateNegotiate:
		return c.validateNegotiate(r, buf, &req)
	case smb2.FsctlDfsGetReferrals, fsctlDfsGetReferralsEx, smb2.FsctlQueryNetworkIfInfo:
		// Controls that name no open (MS-SMB2 3.3.5.15); not served here.
		return buf, ntstatus.FSDriverRequired, nil
	}
	// Every other control acts on the open its FileId names, which is
	// looked up first (MS-SMB2 3.3.5.15): a closed handle is FILE_CLOSED
	// whatever the control (smbtorture smb2.compound.related5).
	if st := c.resolveOpen(r, req.FileID); st != ntstatus.Success {
		return buf, st, nil
	}
	switch req.CtlCode {
	case smb2.FsctlPipeTransceive:
		return c.transceive(r, buf, &req)
	case smb2.FsctlPipePeek:
		return c.peek(r, buf, &req)
	}
	return buf, ntstatus.FSDriverRequired, nil
}

// fsctlDfsGetReferralsEx is FSCTL_DFS_GET_REFERRALS_EX (MS-SMB2 2.2.31).
const fsctlDfsGetReferralsEx = 0x000601B0

// transceive writes the input as one message and returns one reply
// message, going async when the reply is not there yet.
func (c *conn) transceive(r *request, buf []byte, req *smb2.IoctlRequest) ([]byte, ntstatus.Status, error) {
	o := r.open
	if o.granted&(fileReadData|fileWriteData) != fileReadData|fileWriteData {
		return buf, ntstatus.AccessDenied, nil
	}
	cfg := o.end.Pipe().Config()
	if cfg.Mode != pipe.MessageMode || cfg.Direction != pipe.Duplex || o.end.ReadMode() != pipe.MessageMode {
		return buf, ntstatus.InvalidPipeState, nil
	}
	if info, _ := o.end.Peek(nil); info.Available > 0 {
		return buf, ntstatus.PipeBusy, nil
	}
	length := int(req.MaxOutputResponse)
	// The input is lent to the pipe: a backend that answers at once reads
	// it straight from the request frame (an echo's reply is then the
	// input itself), and Settle queues a copy of what is left unread
	// before the frame can go.
	seq, err := o.end.Lend(req.Input)
	if errors.Is(err, pipe.ErrWouldBlock) {
		// Over quota: write and read in the async operation.
		return c.goAsync(r, buf, &asyncOp{kind: opTransceive, length: length, data: req.Input}) // copied by goAsync
	}
	if err != nil {
		return buf, pipeStatus(err), nil
	}
	o.live.countIn(len(req.Input))
	// The reply is read straight into the response, behind its fixed part.
	buf, p := reserveBody(buf, smb2.IoctlResponseFixedSize, length)
	n, more, err := c.tryRead(o, p)
	o.end.Settle(seq)
	if errors.Is(err, pipe.ErrWouldBlock) {
		return c.goAsync(r, buf, &asyncOp{kind: opTransceive, length: length})
	}
	if err != nil {
		return buf, pipeStatus(err), nil
	}
	o.live.countOut(n)
	buf = smb2.AppendIoctlResponseHeader(buf, req.CtlCode, o.id, n, 0)
	buf = buf[:len(buf)+n]
	if more {
		return buf, ntstatus.BufferOverflow, nil
	}
	return buf, ntstatus.Success, nil
}

// peek reports what is queued without consuming it (FSCC 2.3.46).
func (c *conn) peek(r *request, buf []byte, req *smb2.IoctlRequest) ([]byte, ntstatus.Status, error) {
	o := r.open
	if o.granted&fileReadData == 0 {
		return buf, ntstatus.AccessDenied, nil
	}
	if req.MaxOutputResponse < smb2.PipePeekHeaderSize {
		return buf, ntstatus.InvalidParameter, nil
	}
	out := c.scratchBuf(int(req.MaxOutputResponse))
	info, n := o.end.Peek(out[smb2.PipePeekHeaderSize:])
	switch {
	case info.State == 4 && info.Available == 0:
		return buf, ntstatus.PipeBroken, nil
	case info.State != 3 && info.State != 4:
		return buf, ntstatus.InvalidPipeState, nil
	}
	hdr := smb2.PipePeekBuffer{NamedPipeState: info.State, ReadDataAvailable: uint32(info.Available),
		NumberOfMessages: uint32(info.Messages), MessageLength: uint32(info.FirstMessageLen)}
	hdr.AppendHeader(out[:0])
	st := ntstatus.Success
	if info.Available > 0 && (n == 0 || o.end.Pipe().Config().Mode == pipe.MessageMode && n < info.FirstMessageLen) {
		st = ntstatus.BufferOverflow
	}
	return (&smb2.IoctlResponse{CtlCode: req.CtlCode, FileID: req.FileID, Output: out[:smb2.PipePeekHeaderSize+n]}).Append(buf), st, nil
}

// Bounds of FSCTL_PIPE_WAIT.
const (
	// defaultPipeWait applies when the request specifies no timeout: npfs
	// uses the pipe's default timeout, 50 ms unless its creator chose one.
	defaultPipeWait = 50 * time.Millisecond
	// maxPipeWait bounds every wait; longer timeouts are cut to it.
	maxPipeWait = 10 * time.Minute
	// filetime2000 is 2000-01-01 as a FILETIME: a positive Timeout at or
	// after it is an absolute time, below it a relative 100 ns count.
	filetime2000 = 125911584000000000
	// filetimeUnixEpoch is 1970-01-01 as a FILETIME.
	filetimeUnixEpoch = 116444736000000000
)

// pipeWaitTimeout decodes FSCTL_PIPE_WAIT's Timeout (docs/SEMANTICS.md
// 2.7). The field is read the way both encodings in use are meant: a
// negative value is relative, in 100 ns units (the NT API, Windows
// clients); a positive value at or after the year 2000 is an absolute
// FILETIME; a smaller positive value is again relative 100 ns units
// (impacket sends seconds*100000). Without TimeoutSpecified the pipe's
// default applies. The result is within [0, maxPipeWait].
func pipeWaitTimeout(raw int64, specified bool, now time.Time) time.Duration {
	const maxTicks = int64(maxPipeWait / 100)
	var d time.Duration
	switch {
	case !specified:
		d = defaultPipeWait
	case raw < 0:
		d = time.Duration(min(-max(raw, -maxTicks), maxTicks)) * 100
	case raw >= filetime2000:
		unix100ns := raw - filetimeUnixEpoch
		d = time.Unix(unix100ns/1e7, unix100ns%1e7*100).Sub(now)
	default:
		d = time.Duration(min(raw, maxTicks)) * 100
	}
	return min(max(d, 0), maxPipeWait)
}

// wait answers FSCTL_PIPE_WAIT: success at once when the pipe has a free
// instance, else the request goes async until an instance frees up
// (success), the timeout passes (STATUS_IO_TIMEOUT) or the pipe goes away
// (STATUS_OBJECT_NAME_NOT_FOUND). Waiting does not hold up the
// connection's other requests; it counts against the per-connection
// async cap.
func (c *conn) wait(r *request, buf []byte, req *smb2.IoctlRequest) ([]byte, ntstatus.Status, error) {
	if req.FileID != smb2.WildcardFileID {
		return buf, ntstatus.InvalidParameter, nil
	}
	var in smb2.PipeWaitRequest
	if err := in.Decode(req.Input); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	name := in.Name
	if name == "" {
		return buf, ntstatus.ObjectNameNotFound, nil
	}
	// Names are sent without \pipe\; tolerate a client that keeps it.
	if len(name) > 6 && strings.EqualFold(name[:6], `\pipe\`) {
		name = name[6:]
	}
	// A null session learns nothing of a name it may not open: the
	// NullSessionPipes gate of CREATE applies first, before any lookup,
	// with CREATE's status (SEMANTICS-2 §9), and is audited as a denial.
	preq := policy.Request{Identity: r.sess.ident, PipeName: name}
	snap := c.srv.snapshot()
	if d := snap.Check(preq); d.Rule == policy.RuleNullSessionPipes || d.Rule == policy.RuleUnknownUser {
		c.srv.metrics.inc(MetricDenials, d.Rule)
		c.auditDecision("pipe wait", r, snap, &preq, &d, d.Status)
		c.recordDecision("pipe wait", r.sess.id, snap, &preq, &d, d.Status)
		return buf, d.Status, nil
	}
	timeout := pipeWaitTimeout(in.Timeout, in.TimeoutSpecified, time.Now())
	switch err := c.srv.ns.Wait(c.done, name); {
	case err == nil:
		return (&smb2.IoctlResponse{CtlCode: req.CtlCode, FileID: smb2.WildcardFileID}).Append(buf), ntstatus.Success, nil
	case errors.Is(err, pipe.ErrNotFound):
		return buf, ntstatus.ObjectNameNotFound, nil
	case timeout == 0:
		return buf, ntstatus.IOTimeout, nil
	}
	return c.goAsync(r, buf, &asyncOp{kind: opWait, name: name, timeout: timeout})
}

// validateNegotiate answers FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2
// 3.3.5.15.12); a mismatch means a tampered negotiation and drops the
// connection.
func (c *conn) validateNegotiate(r *request, buf []byte, req *smb2.IoctlRequest) ([]byte, ntstatus.Status, error) {
	if req.FileID != smb2.WildcardFileID {
		return buf, ntstatus.InvalidParameter, nil
	}
	var in smb2.ValidateNegotiateInfoRequest
	if req.MaxOutputResponse < smb2.ValidateNegotiateInfoResponseSize || in.Decode(req.Input) != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	if in.Capabilities != c.clientCaps || in.GUID != c.clientGUID ||
		in.SecurityMode != c.clientSecMode || !slices.Equal(in.Dialects, c.clientDialects) {
		return buf, 0, errors.New("server: VALIDATE_NEGOTIATE_INFO mismatch")
	}
	var out [smb2.ValidateNegotiateInfoResponseSize]byte
	(&smb2.ValidateNegotiateInfoResponse{Capabilities: c.serverCaps, GUID: c.srv.guid, SecurityMode: c.serverSecMode,
		Dialect: c.dialect}).Append(out[:0])
	return (&smb2.IoctlResponse{CtlCode: req.CtlCode, FileID: smb2.WildcardFileID, Output: out[:]}).Append(buf), ntstatus.Success, nil
}
