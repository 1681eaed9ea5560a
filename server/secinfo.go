package server

import (
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/security"
	"github.com/smbpipe/smbpipe/smb2"
)

// AdditionalInformation bits of a security query (MS-SMB2 2.2.37,
// MS-DTYP 2.4.7 SECURITY_INFORMATION).
const (
	ownerSecurityInformation = 0x00000001
	groupSecurityInformation = 0x00000002
	daclSecurityInformation  = 0x00000004
	saclSecurityInformation  = 0x00000008

	readControl = 0x00020000
)

// querySecurity answers QUERY_INFO SMB2_0_INFO_SECURITY with the pipe's
// self-relative security descriptor as the policy stores it (generic
// rights mapped; owner and group LocalSystem when its SDDL names none),
// holding the parts AdditionalInformation asks for (MS-SMB2 3.3.5.20.3,
// MS-FSA 2.1.5.13):
//   - owner, group or DACL need READ_CONTROL on the handle, else
//     STATUS_ACCESS_DENIED;
//   - the SACL needs ACCESS_SYSTEM_SECURITY, which a pipe handle never holds
//     (network tokens carry no SeSecurityPrivilege): STATUS_ACCESS_DENIED;
//   - an OutputBufferLength too small for the descriptor fails with
//     STATUS_BUFFER_TOO_SMALL and the size needed in the ERROR response
//     (4 bytes; on 3.1.1 inside an error context).
//
// The descriptor is read from the policy in force now, so an sddl changed
// by a reload shows on handles already open, as a changed DACL does on
// Windows.
func (c *conn) querySecurity(r *request, buf []byte, req *smb2.QueryInfoRequest) ([]byte, ntstatus.Status, error) {
	info := req.AdditionalInformation
	if info&saclSecurityInformation != 0 {
		return buf, ntstatus.AccessDenied, nil
	}
	if info&(ownerSecurityInformation|groupSecurityInformation|daclSecurityInformation) != 0 &&
		r.open.granted&readControl == 0 {
		return buf, ntstatus.AccessDenied, nil
	}
	snap := c.srv.snapshot()
	sd, err := snap.Descriptor(c.srv.reg.sddl(snap, r.open.end.Pipe()))
	if err != nil {
		// A Go pipe whose SDDL does not parse: its opens are all denied, so
		// this handle cannot exist; answer as for a damaged object.
		return buf, ntstatus.InternalError, nil
	}
	part := security.SecurityDescriptor{}
	if info&ownerSecurityInformation != 0 {
		part.Owner = sd.Owner
	}
	if info&groupSecurityInformation != 0 {
		part.Group = sd.Group
	}
	if info&daclSecurityInformation != 0 {
		part.Control = sd.Control
		part.DACLPresent = sd.DACLPresent
		part.DACL = sd.DACL
	}
	out, err := part.AppendBinary(nil)
	if err != nil {
		return buf, ntstatus.InternalError, nil
	}
	if uint64(len(out)) > uint64(req.OutputBufferLength) {
		r.setErrorData(c.dialect, uint32(len(out)))
		return buf, ntstatus.BufferTooSmall, nil
	}
	return (&smb2.QueryInfoResponse{Output: out}).Append(buf), ntstatus.Success, nil
}

// setErrorData makes the ERROR response of r carry a 4-byte value (the
// size a buffer needs): as ErrorData before 3.1.1, and as one error
// context (ErrorDataLength 4, ErrorId SMB2_ERROR_ID_DEFAULT) on 3.1.1
// (MS-SMB2 2.2.2, 2.2.2.1).
func (r *request) setErrorData(dialect smb2.Dialect, v uint32) {
	d, n := smb2.AppendSizeErrorData(r.errData[:0], dialect, v)
	r.errLen, r.errContexts = uint8(len(d)), n
}
