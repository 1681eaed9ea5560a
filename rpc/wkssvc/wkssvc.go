// Package wkssvc is the workstation service (MS-WKST, interface
// 6bffd098-a112-3610-9833-46c3f87e345a version 1.0, \pipe\wkssvc) as
// smbpipe presents it: NetrWkstaGetInfo (opnum 0) at levels 100 and 101
// for any caller who reaches the pipe and 102 and 502 for administrators
// (ERROR_ACCESS_DENIED otherwise, as Windows; policy.Snapshot.DecideRPC).
// Other levels return ERROR_INVALID_LEVEL. NetrWkstaUserEnum (opnum 2),
// levels 0 and 1, lists administrators the interactive logons: none.
// Other opnums fault with nca_s_op_rng_error.
package wkssvc

import (
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// Syntax is the wkssvc interface's.
var Syntax = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("6bffd098-a112-3610-9833-46c3f87e345a"), Major: 1}

// OpNetrWkstaGetInfo is NetrWkstaGetInfo's opnum.
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
	// Tunables is WKSTA_INFO_502: wki502_char_wait to
	// wki502_illegal_datagram_event_reset_frequency (20 values), then
	// wki502_log_election_packets to wki502_use_512_byte_max_transfer
	// (15 BOOLs).
	Tunables [35]uint32
}

func known(level uint32) bool { return level == 100 || level == 101 || level == 102 || level == 502 }

// arm reports whether WKSTA_INFO has an arm (a pointer) for a level the
// server does not serve: 1010 to 1062.
func arm(level uint32) bool { return level >= 1010 && level <= 1062 }

// Reply is NetrWkstaGetInfo's [out] parameter and result.
type Reply struct {
	Level  uint32
	Info   *Info // nil: NULL arm
	Result uint32
}

// MarshalNDR writes the union (discriminant, pointer arm) and the result.
func (p *Reply) MarshalNDR(w *ndr.Writer) {
	svc.WriteInfoReply(w, p.Level, known(p.Level), arm(p.Level), p.Info != nil, func(w *ndr.Writer) {
		i := p.Info
		if p.Level == 502 {
			for _, v := range i.Tunables {
				w.Uint32(v)
			}
			return
		}
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
	p.Result = svc.ReadInfoReply(r, &p.Level, func(l uint32) bool { return known(l) || arm(l) }, func(r *ndr.Reader) {
		if !known(p.Level) {
			r.Fail("WKSTA_INFO: a level this client does not decode")
			return
		}
		i := new(Info)
		p.Info = i
		if p.Level == 502 {
			for k := range i.Tunables {
				i.Tunables[k] = r.Uint32()
			}
			return
		}
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

// defaultTunables are the WKSTA_INFO_502 values of a Windows workstation
// service with its LanmanWorkstation parameters unset (char_wait 3600,
// collection_time 250, maximum_collection_count 16, keep_conn 600,
// max_cmds 50, sess_timeout 60, siz_char_buf 512, max_threads 17, the
// lock and pipe quotas, cache_file_timeout 40, dormant_file_limit 1023,
// opportunistic locking, NT caching, raw reads and writes, encryption on).
var defaultTunables = [35]uint32{3600, 250, 16, 600, 50, 60, 512, 17, 6144, 10, 500, 256, 2048, 40, 1023,
	0xFFFFFFFF, 0, 0, 5, 60,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0}

// Interface returns the wkssvc interface served with env.
func Interface(env svc.Env) dcerpc.Interface {
	return dcerpc.Interface{Name: "wkssvc", Syntax: Syntax, AllowConnect: true, Ops: []dcerpc.Op{
		OpNetrWkstaGetInfo: {Name: "NetrWkstaGetInfo", Func: func(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
			return getInfo(&env, c, r, w)
		}},
		OpNetrWkstaUserEnum: {Name: "NetrWkstaUserEnum", Func: func(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
			return userEnum(&env, c, r, w)
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
			VersionMajor: 10, VersionMinor: 0, LanRoot: `C:\Windows`, LoggedOnUsers: 0, // no interactive logon (NetrWkstaUserEnum)
			Tunables: defaultTunables}
	}
	p.MarshalNDR(w)
	return nil
}
