package svc

import (
	"context"
	"fmt"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
)

// Invoke is a client's call: it writes the request with in, calls opnum
// on c and reads the reply with out. A transport error or a FAULT
// (dcerpc.Fault) is returned as is; a reply that does not decode wraps
// ndr.ErrMalformed.
func Invoke(ctx context.Context, c *dcerpc.Client, opnum uint16, in func(*ndr.Writer), out func(*ndr.Reader)) error {
	order := ndr.LittleEndian
	w := ndr.NewWriter(nil, order)
	in(w)
	w.Flush()
	stub, err := w.Bytes()
	if err != nil {
		return err
	}
	reply, err := c.Call(ctx, opnum, stub)
	if err != nil {
		return err
	}
	r := ndr.NewReader(reply, order)
	out(r)
	r.Flush()
	if err := r.Err(); err != nil {
		return fmt.Errorf("opnum %d reply: %w", opnum, err)
	}
	return nil
}

// InvokeClose is a client's call of a close operation (LsarClose,
// SamrCloseHandle: NTSTATUS ([in,out] handle*), as CloseHandle serves
// it) on h: the handle the reply returns is dropped, its NTSTATUS other
// than success comes back as a StatusError.
func InvokeClose(ctx context.Context, c *dcerpc.Client, opnum uint16, h ndr.ContextHandle) error {
	var st uint32
	err := Invoke(ctx, c, opnum, func(w *ndr.Writer) { w.ContextHandle(h) }, func(r *ndr.Reader) {
		r.ContextHandle()
		st = r.Uint32()
	})
	if err != nil {
		return err
	}
	return Status(st)
}

// Win32Name names the Win32 codes the services return, as Windows'
// headers do ("ERROR_ACCESS_DENIED", "NERR_NetNameNotFound"); other codes
// in decimal.
func Win32Name(code uint32) string {
	switch code {
	case ErrSuccess:
		return "ERROR_SUCCESS"
	case ErrAccessDenied:
		return "ERROR_ACCESS_DENIED"
	case ErrNotSupported:
		return "ERROR_NOT_SUPPORTED"
	case ErrInvalidParameter:
		return "ERROR_INVALID_PARAMETER"
	case ErrInvalidName:
		return "ERROR_INVALID_NAME"
	case ErrInvalidLevel:
		return "ERROR_INVALID_LEVEL"
	case ErrMoreData:
		return "ERROR_MORE_DATA"
	case NERRNetNameNotFound:
		return "NERR_NetNameNotFound"
	case NERRDeviceNotShared:
		return "NERR_DeviceNotShared"
	case NERRUserNotFound:
		return "NERR_UserNotFound"
	case NERRClientNameNotFound:
		return "NERR_ClientNameNotFound"
	}
	return fmt.Sprintf("Win32 error %d", code)
}

// Win32Error is a Win32 code a srvsvc or wkssvc call returned.
type Win32Error uint32

func (e Win32Error) Error() string { return fmt.Sprintf("%s (%d)", Win32Name(uint32(e)), uint32(e)) }

// StatusError is an NTSTATUS an lsarpc or samr call returned.
type StatusError uint32

// statusNames names the NTSTATUS codes the services return.
var statusNames = map[uint32]string{
	StatusSomeNotMapped: "STATUS_SOME_NOT_MAPPED", StatusMoreEntries: "STATUS_MORE_ENTRIES",
	StatusNoMoreEntries: "STATUS_NO_MORE_ENTRIES", StatusNoSuchDomain: "STATUS_NO_SUCH_DOMAIN",
	StatusNoneMapped: "STATUS_NONE_MAPPED", StatusNoSuchAlias: "STATUS_NO_SUCH_ALIAS",
	StatusNoSuchGroup: "STATUS_NO_SUCH_GROUP", StatusInvalidInfo: "STATUS_INVALID_INFO_CLASS",
	StatusInvalidParam: "STATUS_INVALID_PARAMETER", StatusAccessDenied: "STATUS_ACCESS_DENIED",
	StatusNoSuchUser: "STATUS_NO_SUCH_USER", StatusNotSupported: "STATUS_NOT_SUPPORTED",
	StatusInvalidHandle: "STATUS_INVALID_HANDLE", StatusObjectNameNotFd: "STATUS_OBJECT_NAME_NOT_FOUND",
}

// Name is the status's name ("STATUS_ACCESS_DENIED"), or its value in hex.
func (e StatusError) Name() string {
	if n, ok := statusNames[uint32(e)]; ok {
		return n
	}
	return fmt.Sprintf("NTSTATUS 0x%08X", uint32(e))
}

func (e StatusError) Error() string { return fmt.Sprintf("%s (0x%08X)", e.Name(), uint32(e)) }

// Status returns nil for STATUS_SUCCESS, else st as a StatusError.
func Status(st uint32) error {
	if st != 0 {
		return StatusError(st)
	}
	return nil
}
