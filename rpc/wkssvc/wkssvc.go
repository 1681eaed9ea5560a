// Package wkssvc is the workstation service (MS-WKST, interface
// 6bffd098-a112-3610-9833-46c3f87e345a version 1.0, \pipe\wkssvc) as
// smbpipe presents it: NetrWkstaGetInfo (opnum 0) at levels 100 and 101
// for any caller who reaches the pipe and 102 for administrators
// (ERROR_ACCESS_DENIED otherwise, as Windows; policy.Snapshot.DecideRPC).
// Other levels return ERROR_INVALID_LEVEL; other opnums fault with
// nca_s_op_rng_error.
package wkssvc

import (
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// Syntax is the wkssvc interface's.
var Syntax = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("6bffd098-a112-3610-9833-46c3f87e345a"), Major: 1}

// OpNetrWkstaGetInfo is the only opnum served.
const OpNetrWkstaGetInfo = 0

// Info is WKSTA_INFO_100/101/102.
type Info struct {
	PlatformID    uint32
	ComputerName  string
	LanGroup      string
	VersionMajor  uint32
	VersionMinor  uint32
	LanRoot       string // 101, 102
	LoggedOnUsers uint32 // 102
}

func known(level uint32) bool { return level == 100 || level == 101 || level == 102 }

// Reply is NetrWkstaGetInfo's [out] parameter and result.
type Reply struct {
	Level  uint32
	Info   *Info // nil: NULL arm
	Result uint32
}

// MarshalNDR writes the union (discriminant, pointer arm) and the result.
func (p *Reply) MarshalNDR(w *ndr.Writer) {
	// 502 and 1010 to 1062: arms of WKSTA_INFO the server does not serve.
	arm := p.Level == 502 || p.Level >= 1010 && p.Level <= 1062
	svc.WriteInfoReply(w, p.Level, known(p.Level), arm, p.Info != nil, func(w *ndr.Writer) {
		i := p.Info
		w.Uint32(i.PlatformID)
		w.DeferUnique(true, func(w *ndr.Writer) { w.WString(i.ComputerName) })
		w.DeferUnique(true, func(w *ndr.Writer) { w.WString(i.LanGroup) })
		w.Uint32(i.VersionMajor)
		w.Uint32(i.VersionMinor)
		if p.Level >= 101 {
			w.DeferUnique(true, func(w *ndr.Writer) { w.WString(i.LanRoot) })
		}
		if p.Level == 102 {
			w.Uint32(i.LoggedOnUsers)
		}
	}, p.Result)
}

// UnmarshalNDR reads it.
func (p *Reply) UnmarshalNDR(r *ndr.Reader) {
	p.Result = svc.ReadInfoReply(r, &p.Level, known, func(r *ndr.Reader) {
		i := new(Info)
		p.Info = i
		i.PlatformID = r.Uint32()
		r.DeferUnique(func(r *ndr.Reader) { i.ComputerName = r.WString() })
		r.DeferUnique(func(r *ndr.Reader) { i.LanGroup = r.WString() })
		i.VersionMajor = r.Uint32()
		i.VersionMinor = r.Uint32()
		if p.Level >= 101 {
			r.DeferUnique(func(r *ndr.Reader) { i.LanRoot = r.WString() })
		}
		if p.Level == 102 {
			i.LoggedOnUsers = r.Uint32()
		}
	})
}

// Interface returns the wkssvc interface served with env.
func Interface(env svc.Env) dcerpc.Interface {
	return dcerpc.Interface{Name: "wkssvc", Syntax: Syntax, AllowConnect: true, Ops: []dcerpc.Op{
		OpNetrWkstaGetInfo: {Name: "NetrWkstaGetInfo", Func: func(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
			return getInfo(&env, c, r, w)
		}},
	}}
}

// NET_API_STATUS NetrWkstaGetInfo([in,string,unique] ServerName, [in]
// Level, [out,switch_is(Level)] LPWKSTA_INFO WkstaInfo). wki_langroup is
// the workgroup's NetBIOS name, as Windows sends it (MS-WKST says the DNS
// domain name).
func getInfo(env *svc.Env, c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	svc.ServerName(r)
	level := r.Uint32()
	if r.Err() != nil {
		return nil
	}
	p := Reply{Level: level}
	d, snap := env.Check(c, policy.RPCRequest{Interface: policy.ServiceWkssvc, Op: "NetrWkstaGetInfo", Level: level})
	switch {
	case !d.Allowed:
		p.Result = svc.ErrAccessDenied
	case !known(level):
		p.Result = svc.ErrInvalidLevel
	default:
		cfg := snap.Config()
		p.Info = &Info{PlatformID: 500, ComputerName: cfg.ServerName, LanGroup: cfg.Domain,
			VersionMajor: 10, VersionMinor: 0, LanRoot: `C:\Windows`, LoggedOnUsers: 1}
	}
	p.MarshalNDR(w)
	return nil
}
