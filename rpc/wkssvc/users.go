package wkssvc

import (
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// OpNetrWkstaUserEnum is NetrWkstaUserEnum's opnum.
const OpNetrWkstaUserEnum = 2

// userLevel reports whether NetrWkstaUserEnum has a level: 0 (user name)
// and 1 (user, logon domain, other domains, logon server).
func userLevel(level uint32) bool { return level == 0 || level == 1 }

// UserEnumRequest is NetrWkstaUserEnum's [in] parameters: the level of
// WKSTA_USER_ENUM_STRUCT (the container the client sends is read and
// dropped), PreferredMaximumLength and the ResumeHandle.
type UserEnumRequest struct {
	ServerName   string
	Level        uint32
	PrefMaxLen   uint32
	Resume       uint32
	ResumeIsNull bool
}

// UnmarshalNDR reads the request; a level other than 0 and 1 has no arm
// (the union's default is empty).
func (q *UserEnumRequest) UnmarshalNDR(r *ndr.Reader) {
	q.ServerName = svc.ServerName(r)
	q.Level = r.Uint32()
	if disc := r.Uint32(); disc != q.Level {
		r.Fail("WKSTA_USER_ENUM_STRUCT: union discriminant differs from Level")
	}
	if userLevel(q.Level) {
		r.DeferUnique(func(r *ndr.Reader) {
			n := r.Uint32()
			var users []struct{}
			fields := 1 // WKSTA_USER_INFO_0; _1 has four strings
			if q.Level == 1 {
				fields = 4
			}
			svc.ReadArray(r, &users, n, 4*fields, "user container: size_is differs from EntriesRead", func(r *ndr.Reader, _ *struct{}) {
				for range fields {
					r.DeferUnique(func(r *ndr.Reader) { r.WString() })
				}
			})
		})
		r.Flush()
	}
	q.PrefMaxLen = r.Uint32()
	q.Resume, q.ResumeIsNull = svc.ReadResume(r)
}

// MarshalNDR writes the request (a client's view), with an empty
// container.
func (q *UserEnumRequest) MarshalNDR(w *ndr.Writer) {
	w.UniquePtr(true)
	w.WString(`\\` + q.ServerName)
	w.Uint32(q.Level)
	w.Uint32(q.Level)
	if userLevel(q.Level) {
		w.DeferUnique(true, func(w *ndr.Writer) {
			w.Uint32(0)
			w.UniquePtr(false)
		})
		w.Flush()
	}
	w.Uint32(q.PrefMaxLen)
	svc.WriteResume(w, q.Resume, q.ResumeIsNull)
}

// NET_API_STATUS NetrWkstaUserEnum(ServerName, [in,out]
// LPWKSTA_USER_ENUM_STRUCT UserInfo, PreferredMaximumLength, [out]
// TotalEntries, [in,out,unique] ResumeHandle): the users logged on to
// the machine interactively, for administrators only (MS-WKST 3.2.4.3,
// <31>; ERROR_ACCESS_DENIED and a NULL container otherwise). smbpipe has
// no interactive logons: an administrator gets an empty list, and
// ERROR_INVALID_LEVEL for a level other than 0 and 1.
func userEnum(env *svc.Env, c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	var q UserEnumRequest
	q.UnmarshalNDR(r)
	if r.Err() != nil {
		return nil
	}
	d, _ := env.Check(c, policy.RPCRequest{Interface: policy.ServiceWkssvc, Op: "NetrWkstaUserEnum", Level: q.Level})
	result := svc.ErrSuccess
	switch {
	case !d.Allowed:
		result = svc.ErrAccessDenied
	case !userLevel(q.Level):
		result = svc.ErrInvalidLevel
	}
	w.Uint32(q.Level)
	w.Uint32(q.Level)
	if userLevel(q.Level) {
		w.DeferUnique(result == svc.ErrSuccess, func(w *ndr.Writer) {
			w.Uint32(0)        // EntriesRead
			w.UniquePtr(false) // Buffer: no entry
		})
		w.Flush()
	}
	w.Uint32(0) // TotalEntries
	svc.WriteResume(w, 0, q.ResumeIsNull)
	w.Uint32(result)
	return nil
}
