package lsarpc

import (
	"context"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/security"
)

// OpQuerySecurityObject is LsarQuerySecurityObject's opnum.
const OpQuerySecurityObject = 3

// maxSDLength is LSAPR_SR_SECURITY_DESCRIPTOR's [range(0,262144)] Length.
const maxSDLength = 262144

// NTSTATUS LsarQuerySecurityObject(PolicyHandle, SECURITY_INFORMATION
// SecurityInformation, [out] PLSAPR_SR_SECURITY_DESCRIPTOR*
// SecurityDescriptor): the policy object's descriptor, self-relative,
// with the parts SecurityInformation names (owner 1, group 2, DACL 4;
// READ_CONTROL on the handle, checked by the policy; the SACL, 8, needs
// ACCESS_SYSTEM_SECURITY, which no policy handle is granted here).
func (s *service) querySecurity(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	info := r.Uint32()
	if r.Err() != nil {
		return nil
	}
	ph, err := s.handle(c, h)
	if err != nil {
		return err
	}
	d, snap := s.decide(c, info, ph.granted, true)
	if !d.Allowed {
		w.UniquePtr(false)
		w.Uint32(uint32(d.Status))
		return nil
	}
	sd := snap.LSAPolicyDescriptor()
	part := security.SecurityDescriptor{Control: sd.Control}
	if info&0x1 != 0 {
		part.Owner = sd.Owner
	}
	if info&0x2 != 0 {
		part.Group = sd.Group
	}
	if info&0x4 != 0 {
		part.DACLPresent, part.DACL = sd.DACLPresent, sd.DACL
	}
	b, err := part.AppendBinary(nil)
	if err != nil {
		return err
	}
	w.UniquePtr(true)
	writeSDBuffer(w, b)
	w.Flush()
	w.Uint32(0)
	return nil
}

// writeSDBuffer writes LSAPR_SR_SECURITY_DESCRIPTOR: Length and a unique
// pointer to the bytes.
func writeSDBuffer(w *ndr.Writer, b []byte) {
	w.Uint32(uint32(len(b)))
	svc.WriteBytes(w, b)
}

// readSDBuffer reads it (at most maxSDLength bytes) into *dst, once the
// Reader's deferred referents are read.
func readSDBuffer(r *ndr.Reader, dst *[]byte) {
	n := r.Uint32()
	if n > maxSDLength {
		r.Fail("LSAPR_SR_SECURITY_DESCRIPTOR: Length out of range")
		return
	}
	svc.ReadBytes(r, dst, n, "LSAPR_SR_SECURITY_DESCRIPTOR: size_is differs from Length")
}

// QuerySecurity calls LsarQuerySecurityObject on h (a client's view) and
// returns the self-relative descriptor.
func QuerySecurity(ctx context.Context, c *dcerpc.Client, h ndr.ContextHandle, info uint32) ([]byte, error) {
	var b []byte
	var st uint32
	err := svc.Invoke(ctx, c, OpQuerySecurityObject, func(w *ndr.Writer) {
		w.ContextHandle(h)
		w.Uint32(info)
	}, func(r *ndr.Reader) {
		if r.UniquePtr() {
			readSDBuffer(r, &b)
		}
		r.Flush()
		st = r.Uint32()
	})
	if err != nil {
		return nil, err
	}
	return b, svc.Status(st)
}
