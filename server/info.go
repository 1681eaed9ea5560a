package server

import (
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/smb2"
)

// queryInfo handles QUERY_INFO for the pipe classes,
// FileStandardInformation and the security descriptor.
func (c *conn) queryInfo(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	var req smb2.QueryInfoRequest
	if err := req.Decode(r.msg); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	if req.InfoType == smb2.InfoSecurity {
		return c.querySecurity(r, buf, &req)
	}
	if req.InfoType != smb2.InfoFile {
		return buf, ntstatus.NotSupported, nil
	}
	o := r.open
	var out [smb2.FilePipeLocalInfoSize]byte
	var info []byte
	switch req.FileInfoClass {
	case smb2.FileStandardInformation:
		// DeletePending: a pipe goes away on close.
		info = (&smb2.FileStandardInfo{AllocationSize: 4096, NumberOfLinks: 1, DeletePending: true}).Append(out[:0])
	case smb2.FilePipeInformation:
		info = (&smb2.FilePipeInfo{ReadMode: uint32(o.end.ReadMode()), CompletionMode: uint32(o.end.CompletionMode())}).Append(out[:0])
	case smb2.FilePipeLocalInformation:
		li := o.end.LocalInfo()
		maxInst := uint32(0xFFFFFFFF)
		if li.MaxInstances > 0 {
			maxInst = uint32(li.MaxInstances)
		}
		info = (&smb2.FilePipeLocalInfo{
			NamedPipeType:          uint32(li.Type),
			NamedPipeConfiguration: uint32(li.Configuration),
			MaximumInstances:       maxInst,
			CurrentInstances:       uint32(li.CurrentInstances),
			InboundQuota:           quota(li.InboundQuota),
			ReadDataAvailable:      uint32(li.ReadDataAvailable),
			OutboundQuota:          quota(li.OutboundQuota),
			WriteQuotaAvailable:    uint32(li.WriteQuotaAvailable),
			NamedPipeState:         li.State,
			NamedPipeEnd:           0, // the client end
		}).Append(out[:0])
	default:
		return buf, ntstatus.InvalidInfoClass, nil
	}
	if req.OutputBufferLength < uint32(len(info)) {
		return buf, ntstatus.InfoLengthMismatch, nil
	}
	return (&smb2.QueryInfoResponse{Output: info}).Append(buf), ntstatus.Success, nil
}

func quota(q int) uint32 {
	if q <= 0 {
		return pipe.DefaultQuota
	}
	return uint32(q)
}

// setInfo handles SET_INFO FilePipeInformation (read and completion mode).
func (c *conn) setInfo(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	var req smb2.SetInfoRequest
	if err := req.Decode(r.msg); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	if req.InfoType != smb2.InfoFile || req.FileInfoClass != smb2.FilePipeInformation {
		return buf, ntstatus.NotSupported, nil
	}
	var pi smb2.FilePipeInfo
	if pi.Decode(req.Buffer) != nil {
		return buf, ntstatus.InfoLengthMismatch, nil
	}
	readMode, completion := pi.ReadMode, pi.CompletionMode
	if readMode > uint32(pipe.MessageMode) || completion > uint32(pipe.CompleteOperation) {
		return buf, ntstatus.InvalidParameter, nil
	}
	if err := r.open.end.SetReadMode(pipe.Mode(readMode)); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	if err := r.open.end.SetCompletionMode(pipe.CompletionMode(completion)); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	return (&smb2.SetInfoResponse{}).Append(buf), ntstatus.Success, nil
}
