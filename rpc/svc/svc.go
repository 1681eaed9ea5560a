// Package svc holds what the Windows RPC services of smbpipe (rpc/srvsvc,
// rpc/wkssvc, rpc/lsarpc, rpc/samr) share: the environment the server
// gives them (the policy in force, the audit hook, the clock), the mapping
// of a DCE/RPC caller to a policy identity, the one call to the policy's
// RPC decision, and the NDR forms several of them use (RPC_SID, the
// ServerName parameter).
package svc

import (
	"strings"
	"time"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/security"
)

// Env is what a service needs from the server that runs it. The zero
// value of each function field has the documented default; Policy is
// required.
type Env struct {
	// Policy returns the policy in force, consulted at each call (hot
	// reload applies to the next call).
	Policy func() *policy.Snapshot
	// Audit receives every call the policy refuses, with the request and
	// the decision (its Rule is stable; Why writes the reason). nil
	// discards. Called from the association's goroutine.
	Audit func(c *dcerpc.Call, r policy.RPCRequest, d *policy.RPCDecision)
	// Now is the clock (NetrRemoteTOD); nil means time.Now.
	Now func() time.Time
	// Live lists the server's sessions and opens (srvsvc's
	// NetrSessionEnum, NetrConnectionEnum, NetrFileEnum); nil lists none.
	Live Live
}

// Sessions returns the server's sessions (none without Live).
func (e *Env) Sessions() []Session {
	if e.Live == nil {
		return nil
	}
	return e.Live.LiveSessions()
}

// Opens returns the server's opens (none without Live).
func (e *Env) Opens() []Open {
	if e.Live == nil {
		return nil
	}
	return e.Live.LiveOpens()
}

// Clock returns the time now.
func (e *Env) Clock() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Identity maps an RPC caller (the SMB session's identity or the
// RPC-authenticated one) to the policy's.
func Identity(c dcerpc.Caller) policy.Identity {
	switch {
	case c.Anonymous:
		return policy.Identity{Kind: policy.Anonymous}
	case c.Guest:
		return policy.Identity{Kind: policy.Guest, User: c.User, Domain: c.Domain}
	}
	return policy.Identity{Kind: policy.User, User: c.User, Domain: c.Domain}
}

// Check decides a call of the caller of c with the policy in force
// (policy.Snapshot.CheckRPC, the pipe already open) and hands a refusal
// to Audit. It returns the decision and the snapshot it was made with.
func (e *Env) Check(c *dcerpc.Call, r policy.RPCRequest) (policy.RPCDecision, *policy.Snapshot) {
	snap := e.Policy()
	r.Identity = Identity(c.Caller())
	r.PipeOpen = true
	d := snap.CheckRPC(r)
	if !d.Allowed && e.Audit != nil {
		e.Audit(c, r, &d)
	}
	return d, snap
}

// Win32 error codes the services return (MS-ERREF 2.2).
const (
	ErrSuccess             uint32 = 0
	ErrAccessDenied        uint32 = 5
	ErrNotSupported        uint32 = 50
	ErrInvalidParameter    uint32 = 87
	ErrInvalidName         uint32 = 123
	ErrInvalidLevel        uint32 = 124
	ErrMoreData            uint32 = 234
	NERRNetNameNotFound    uint32 = 2310
	NERRDeviceNotShared    uint32 = 2311
	NERRUserNotFound       uint32 = 2221
	NERRClientNameNotFound uint32 = 2312
)

// NTSTATUS codes the services return beyond package ntstatus's.
const (
	StatusSomeNotMapped   uint32 = 0x00000107
	StatusMoreEntries     uint32 = 0x00000105
	StatusNoMoreEntries   uint32 = 0x8000001A
	StatusNoSuchDomain    uint32 = 0xC00000DF
	StatusNoneMapped      uint32 = 0xC0000073
	StatusNoSuchAlias     uint32 = 0xC0000151
	StatusNoSuchGroup     uint32 = 0xC0000066
	StatusInvalidInfo     uint32 = 0xC0000003
	StatusInvalidParam    uint32 = 0xC000000D
	StatusAccessDenied    uint32 = 0xC0000022
	StatusNoSuchUser      uint32 = 0xC0000064
	StatusNotSupported    uint32 = 0xC00000BB
	StatusInvalidHandle   uint32 = 0xC0000008
	StatusObjectNameNotFd uint32 = 0xC0000034
)

// ServerName reads the [in,string,unique] wchar_t* ServerName parameter
// most srvsvc and wkssvc calls start with. The name is not checked (MS-SRVS
// 3.1.4: a name not this server's is treated as this server's, as Windows
// does for \\<ip>).
func ServerName(r *ndr.Reader) string {
	if !r.UniquePtr() {
		return ""
	}
	return strings.TrimLeft(r.WString(), `\`)
}

// UniqueWString reads an [in,string,unique] wchar_t* parameter.
func UniqueWString(r *ndr.Reader) (string, bool) {
	if !r.UniquePtr() {
		return "", false
	}
	return r.WString(), true
}

// ReadResume reads an [in,out,unique] DWORD* ResumeHandle of the
// enumerations (NetrShareEnum, NetrSessionEnum, NetrWkstaUserEnum, ...):
// the handle, and whether the pointer was NULL.
func ReadResume(r *ndr.Reader) (handle uint32, null bool) {
	if !r.UniquePtr() {
		return 0, true
	}
	return r.Uint32(), false
}

// WriteResume writes a ResumeHandle as ReadResume reads it.
func WriteResume(w *ndr.Writer, handle uint32, null bool) {
	if w.UniquePtr(!null) {
		w.Uint32(handle)
	}
}

// WriteSID writes the referent of an RPC_SID pointer (MS-DTYP 2.4.2.3): the
// conformant structure's SubAuthorityCount first, then Revision,
// SubAuthorityCount, IdentifierAuthority and the SubAuthority array.
func WriteSID(w *ndr.Writer, s security.SID) {
	subs := s.SubAuthorities()
	w.MaxCount(len(subs))
	w.Uint8(1)
	w.Uint8(uint8(len(subs)))
	a := s.Authority()
	w.Octets([]byte{byte(a >> 40), byte(a >> 32), byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
	for _, x := range subs {
		w.Uint32(x)
	}
}

// ReadSID reads the referent of an RPC_SID pointer (see WriteSID). A SID
// with more than 15 sub-authorities, another revision, or a count that
// disagrees with the conformance fails the Reader.
func ReadSID(r *ndr.Reader) security.SID {
	max := r.MaxCount()
	rev := r.Uint8()
	n := r.Uint8()
	auth := r.Octets(6)
	// No r.Err() here: inside a deferred referent it reports the
	// referents still queued. A failed read returns zero values and
	// keeps its error.
	if len(auth) != 6 {
		return security.SID{}
	}
	if rev != 1 || uint32(n) != max || n > 15 {
		r.Fail("RPC_SID: bad revision or sub-authority count")
		return security.SID{}
	}
	var a uint64
	for _, b := range auth {
		a = a<<8 | uint64(b)
	}
	subs := make([]uint32, n)
	for i := range subs {
		subs[i] = r.Uint32()
	}
	s, err := security.NewSID(a, subs...)
	if err != nil {
		r.Fail("RPC_SID: " + err.Error())
		return security.SID{}
	}
	return s
}

// OpName is the name of the operation c calls.
func OpName(c *dcerpc.Call) string { return c.Interface().Ops[c.Opnum()].Name }

// CloseHandle serves the calls that close a context handle (LsarClose,
// SamrCloseHandle): NTSTATUS ([in,out] handle*), the handle zeroed.
func CloseHandle(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	if r.Err() != nil {
		return nil
	}
	if _, err := c.CloseHandle(h); err != nil {
		return err
	}
	w.ContextHandle(ndr.ContextHandle{})
	w.Uint32(0)
	return nil
}

// ReadSIDArray reads a top-level [in] array of SIDs (LSAPR_SID_ENUM_BUFFER,
// SAMPR_PSID_ARRAY): the count and a unique pointer to the conformant
// array of RPC_SID pointers, none NULL. A count above limit (when not 0),
// the call that takes at most limit, or a NULL array under a nonzero count
// fails the Reader.
func ReadSIDArray(r *ndr.Reader, limit uint32, call string) []security.SID {
	n := r.Uint32()
	var sids []security.SID
	if limit > 0 && n > limit {
		r.Fail("more SIDs than " + call + " takes")
		return nil
	}
	ReadArray(r, &sids, n, 4, "SID array: size_is differs from the count", func(r *ndr.Reader, s *security.SID) {
		if !r.UniquePtr() {
			r.Fail("NULL SID in a SID array")
			return
		}
		r.Defer(func(r *ndr.Reader) { *s = ReadSID(r) })
	})
	r.Flush()
	if n > 0 && sids == nil {
		r.Fail("NULL SID array under a nonzero count")
	}
	return sids
}

// WriteArray writes a unique pointer (NULL when xs is empty) to a
// conformant array of xs, its referent deferred: the conformance, then
// each element with f.
func WriteArray[T any](w *ndr.Writer, xs []T, f func(w *ndr.Writer, x *T)) {
	w.DeferUnique(len(xs) > 0, func(w *ndr.Writer) {
		w.MaxCount(len(xs))
		for i := range xs {
			f(w, &xs[i])
		}
	})
}

// ReadArray reads such a pointer into *dst: its referent, when it is not
// NULL, n elements (each at least size bytes on the wire) read with f. A
// conformance other than n fails the Reader with mismatch.
func ReadArray[T any](r *ndr.Reader, dst *[]T, n uint32, size int, mismatch string, f func(r *ndr.Reader, x *T)) {
	r.DeferUnique(func(r *ndr.Reader) {
		if m := r.MaxCount(); m != n {
			r.Fail(mismatch)
			return
		}
		xs := make([]T, r.Elements(n, size))
		*dst = xs
		for i := range xs {
			f(r, &xs[i])
		}
	})
}

// WriteBytes writes a unique pointer (NULL when b is empty) to a
// conformant byte array, its referent deferred: WriteArray for bytes, as
// the [size_is(Length)] buffers of security descriptors are.
func WriteBytes(w *ndr.Writer, b []byte) {
	w.DeferUnique(len(b) > 0, func(w *ndr.Writer) {
		w.MaxCount(len(b))
		w.Octets(b)
	})
}

// ReadBytes reads such a pointer into *dst: when it is not NULL, a copy of
// its referent's n bytes. A conformance other than n fails the Reader with
// mismatch.
func ReadBytes(r *ndr.Reader, dst *[]byte, n uint32, mismatch string) {
	r.DeferUnique(func(r *ndr.Reader) {
		if m := r.MaxCount(); m != n {
			r.Fail(mismatch)
			return
		}
		*dst = append([]byte(nil), r.Octets(r.Elements(n, 1))...)
	})
}

// WriteInfoReply writes the [out] parameters of a GetInfo call: the
// discriminant of the switch_is(level) union; its arm, a pointer to what
// f writes (NULL unless present) when the level is served, a NULL
// pointer when it is not but the union has an arm for it, nothing
// otherwise; the result.
func WriteInfoReply(w *ndr.Writer, level uint32, served, arm, present bool, f func(*ndr.Writer), result uint32) {
	w.Uint32(level)
	switch {
	case served:
		w.DeferUnique(present, f)
	case arm:
		w.UniquePtr(false)
	}
	w.Flush()
	w.Uint32(result)
}

// ReadInfoReply reads them (a client's view): the level into *level, the
// arm's referent with f when served takes the level, and returns the
// result.
func ReadInfoReply(r *ndr.Reader, level *uint32, served func(uint32) bool, f func(*ndr.Reader)) uint32 {
	*level = r.Uint32()
	if served(*level) {
		r.DeferUnique(f)
	}
	r.Flush()
	return r.Uint32()
}

// MappedStatus is the status of a lookup that translated mapped of total
// names, SIDs or IDs: success when it translated all, and some (or
// emptyOK), STATUS_SOME_NOT_MAPPED when some, STATUS_NONE_MAPPED
// otherwise.
func MappedStatus(mapped, total int, emptyOK bool) uint32 {
	switch {
	case mapped == total && (total > 0 || emptyOK):
		return 0
	case mapped > 0:
		return StatusSomeNotMapped
	}
	return StatusNoneMapped
}
