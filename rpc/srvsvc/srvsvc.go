// Package srvsvc is the server service (MS-SRVS, interface
// 4b324fc8-1670-01d3-1278-5a47bf6ee188 version 3.0, \pipe\srvsvc) as
// smbpipe presents it: the share list (IPC$ only), server information and
// the time of day, with Windows' rules for who may ask what
// (policy.Snapshot.DecideRPC: RestrictAnonymous, the administrator-only
// levels). Errors are Win32 codes in the reply, as Windows sends them.
//
// Served: NetrShareEnum (15) and NetrShareEnumSticky (36) at levels 0, 1,
// 2, 501, 502, 503; NetrShareGetInfo (16) at levels 0, 1, 2, 501, 502,
// 503, 1004, 1005, 1006, 1501; NetrShareCheck (20); NetrServerGetInfo (21)
// at levels 100, 101, 102, 502, 503; NetrRemoteTOD (28);
// NetprNameValidate (33); and, for administrators,
// the server's live tables (svc.Env.Live): NetrConnectionEnum (8) at
// levels 0 and 1, NetrFileEnum (9) at 2 and 3, NetrSessionEnum (12) at 0,
// 1, 2, 10 and 502; NetrCharDevEnum (0) and NetrCharDevQEnum (3) answer
// administrators ERROR_NOT_SUPPORTED, as Windows (no character devices).
// Other opnums fault with nca_s_op_rng_error.
package srvsvc

import (
	"time"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// Syntax is the srvsvc interface's.
var Syntax = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("4b324fc8-1670-01d3-1278-5a47bf6ee188"), Major: 3}

// Opnums.
const (
	OpNetrShareEnum       = 15
	OpNetrShareGetInfo    = 16
	OpNetrShareCheck      = 20
	OpNetrServerGetInfo   = 21
	OpNetrRemoteTOD       = 28
	OpNetrShareEnumSticky = 36
)

// Share types (MS-SRVS 2.2.2.4).
const (
	STypeIPC     uint32 = 0x00000003
	STypeSpecial uint32 = 0x80000000
)

// Server types (MS-SRVS 2.2.2.7) of a stand-alone or member server.
const (
	SVTypeWorkstation uint32 = 0x00000001
	SVTypeServer      uint32 = 0x00000002
	SVTypeNT          uint32 = 0x00001000
	SVTypeServerNT    uint32 = 0x00008000
	ServerType               = SVTypeWorkstation | SVTypeServer | SVTypeNT | SVTypeServerNT
)

// PlatformIDNT is PLATFORM_ID_NT; VersionMajor and VersionMinor are
// Windows 10 / Server 2016 and later's.
const (
	PlatformIDNT = 500
	VersionMajor = 10
	VersionMinor = 0
)

// Share is one entry of the share list.
type Share struct {
	Name   string
	Type   uint32
	Remark string
	// Level 2 and 502 only:
	Permissions uint32
	MaxUses     uint32
	CurrentUses uint32
	Path        string
	Password    string
	// SD is the self-relative security descriptor of level 502 and 1501
	// (nil: none).
	SD []byte
	// Flags is SHARE_INFO_501/1005's.
	Flags uint32
	// ServerName is SHARE_INFO_503's shi503_servername, the name the
	// share is scoped to; "" is written as "*", a share of every name.
	ServerName string
}

// shareServerName is the shi503_servername written for s.
func shareServerName(s *Share) string {
	if s.ServerName == "" {
		return "*"
	}
	return s.ServerName
}

// Shares is this server's share list: IPC$.
func Shares() []Share {
	return []Share{{Name: "IPC$", Type: STypeIPC | STypeSpecial, Remark: "Remote IPC", MaxUses: 0xFFFFFFFF}}
}

// Interface returns the srvsvc interface served with env.
func Interface(env svc.Env) dcerpc.Interface {
	s := &service{env: env}
	return dcerpc.Interface{Name: "srvsvc", Syntax: Syntax, AllowConnect: true, Ops: []dcerpc.Op{
		OpNetrCharDevEnum:     {Name: "NetrCharDevEnum", Func: s.charDevEnum},
		OpNetrCharDevQEnum:    {Name: "NetrCharDevQEnum", Func: s.charDevEnum},
		OpNetrConnectionEnum:  {Name: "NetrConnectionEnum", Func: s.connectionEnum},
		OpNetrFileEnum:        {Name: "NetrFileEnum", Func: s.fileEnum},
		OpNetrSessionEnum:     {Name: "NetrSessionEnum", Func: s.sessionEnum},
		OpNetrShareEnum:       {Name: "NetrShareEnum", Func: s.shareEnum},
		OpNetrShareGetInfo:    {Name: "NetrShareGetInfo", Func: s.shareGetInfo},
		OpNetrShareCheck:      {Name: "NetrShareCheck", Func: s.shareCheck},
		OpNetrServerGetInfo:   {Name: "NetrServerGetInfo", Func: s.serverGetInfo},
		OpNetrRemoteTOD:       {Name: "NetrRemoteTOD", Func: s.remoteTOD},
		OpNetrShareEnumSticky: {Name: "NetrShareEnumSticky", Func: s.shareEnum},
		OpNetprNameValidate:   {Name: "NetprNameValidate", Func: s.nameValidate},
	}}
}

type service struct{ env svc.Env }

func (s *service) check(c *dcerpc.Call, op string, level uint32) (bool, *policy.Snapshot) {
	d, snap := s.env.Check(c, policy.RPCRequest{Interface: policy.ServiceSrvsvc, Op: op, Level: level})
	return d.Allowed, snap
}

// enumLevel reports whether NetrShareEnum serves a level.
func enumLevel(level uint32) bool {
	switch level {
	case 0, 1, 2, 501, 502, 503:
		return true
	}
	return false
}

// EnumRequest is NetrShareEnum's (and NetrShareEnumSticky's) [in]
// parameters.
type EnumRequest struct {
	ServerName   string
	Level        uint32
	Shares       []Share // the container sent (normally empty)
	PrefMaxLen   uint32
	Resume       uint32
	ResumeIsNull bool
}

// UnmarshalNDR reads the request.
func (q *EnumRequest) UnmarshalNDR(r *ndr.Reader) {
	q.ServerName = svc.ServerName(r)
	q.Level, q.Shares = readEnumStruct(r)
	q.PrefMaxLen = r.Uint32()
	q.Resume, q.ResumeIsNull = svc.ReadResume(r)
}

// MarshalNDR writes the request (a client's view).
func (q *EnumRequest) MarshalNDR(w *ndr.Writer) {
	w.UniquePtr(true)
	w.WString(`\\` + q.ServerName)
	writeEnumStruct(w, q.Level, q.Shares, true)
	w.Uint32(q.PrefMaxLen)
	svc.WriteResume(w, q.Resume, q.ResumeIsNull)
}

// EnumReply is NetrShareEnum's [out] parameters and result.
type EnumReply struct {
	Level        uint32
	Shares       []Share
	Total        uint32
	Resume       uint32
	ResumeIsNull bool
	Result       uint32
}

// MarshalNDR writes the reply.
func (p *EnumReply) MarshalNDR(w *ndr.Writer) {
	writeEnumStruct(w, p.Level, p.Shares, enumLevel(p.Level) && p.Result == 0)
	w.Uint32(p.Total)
	svc.WriteResume(w, p.Resume, p.ResumeIsNull)
	w.Uint32(p.Result)
}

// UnmarshalNDR reads the reply.
func (p *EnumReply) UnmarshalNDR(r *ndr.Reader) {
	p.Level, p.Shares = readEnumStruct(r)
	p.Total = r.Uint32()
	p.Resume, p.ResumeIsNull = svc.ReadResume(r)
	p.Result = r.Uint32()
}

// writeEnumStruct writes SHARE_ENUM_STRUCT (see writeEnum).
func writeEnumStruct(w *ndr.Writer, level uint32, shares []Share, arm bool) {
	writeEnum(w, level, shares, arm, shareUnionArm(level), func(w *ndr.Writer, s *Share) { writeShareInfo(w, level, s) })
}

// writeEnum writes one of srvsvc's *_ENUM_STRUCTs: the level, the
// union's discriminant and its arm, a pointer to a container (EntriesRead
// and a unique pointer to the conformant array of xs, each written with
// f) when arm is set, a NULL pointer when the union has an arm for the
// level (hasArm) but the server does not fill it, nothing otherwise; then
// flushes.
func writeEnum[T any](w *ndr.Writer, level uint32, xs []T, arm, hasArm bool, f func(*ndr.Writer, *T)) {
	w.Uint32(level)
	w.Uint32(level)
	switch {
	case arm:
		w.DeferUnique(true, func(w *ndr.Writer) {
			w.Uint32(uint32(len(xs)))
			svc.WriteArray(w, xs, f)
		})
	case hasArm:
		w.UniquePtr(false) // a level of the union the server does not serve: a NULL arm
	}
	w.Flush()
}

func readEnumStruct(r *ndr.Reader) (uint32, []Share) {
	var shares []Share
	level := readEnum(r, enumLevel, &shares, "share", func(r *ndr.Reader, level uint32, s *Share) { readShareInfo(r, level, s) })
	return level, shares
}

// readEnum reads what writeEnum writes for a level served takes (any
// other level fails the Reader) into *xs, each element (at least 4 bytes
// on the wire) with f.
func readEnum[T any](r *ndr.Reader, served func(uint32) bool, xs *[]T, what string, f func(*ndr.Reader, uint32, *T)) uint32 {
	level := r.Uint32()
	if disc := r.Uint32(); disc != level {
		r.Fail(what + " enum struct: union discriminant differs from Level")
	}
	if served(level) {
		r.DeferUnique(func(r *ndr.Reader) {
			count := r.Uint32()
			svc.ReadArray(r, xs, count, 4, what+" container: size_is differs from EntriesRead", func(r *ndr.Reader, x *T) {
				f(r, level, x)
			})
		})
	} else {
		r.Fail(what + " enum struct: unknown level")
	}
	r.Flush()
	return level
}

func deferString(w *ndr.Writer, s string) {
	w.DeferUnique(true, func(w *ndr.Writer) { w.WString(s) })
}

func readString(r *ndr.Reader, dst *string) {
	r.DeferUnique(func(r *ndr.Reader) { *dst = r.WString() })
}

// writeShareInfo writes SHARE_INFO_<level> (its scalars, its strings
// deferred).
func writeShareInfo(w *ndr.Writer, level uint32, s *Share) {
	switch level {
	case 1004:
		deferString(w, s.Remark)
		return
	case 1005:
		w.Uint32(s.Flags)
		return
	case 1006:
		w.Uint32(s.MaxUses)
		return
	case 1501:
		writeSDBuf(w, s.SD)
		return
	}
	deferString(w, s.Name)
	if level == 0 {
		return
	}
	w.Uint32(s.Type)
	deferString(w, s.Remark)
	switch level {
	case 501:
		w.Uint32(s.Flags)
	case 2, 502, 503:
		w.Uint32(s.Permissions)
		w.Uint32(s.MaxUses)
		w.Uint32(s.CurrentUses)
		deferString(w, s.Path)
		w.DeferUnique(s.Password != "", func(w *ndr.Writer) { w.WString(s.Password) })
		if level == 503 {
			deferString(w, shareServerName(s))
		}
		if level != 2 {
			writeSDBuf(w, s.SD)
		}
	}
}

// writeSDBuf writes shi502_reserved and the [size_is(reserved)] pointer
// to the descriptor's bytes.
func writeSDBuf(w *ndr.Writer, sd []byte) {
	w.Uint32(uint32(len(sd)))
	svc.WriteBytes(w, sd)
}

// readSDBuf reads them into *dst.
func readSDBuf(r *ndr.Reader, dst *[]byte) {
	n := r.Uint32()
	svc.ReadBytes(r, dst, n, "security descriptor: size_is differs from its length")
}

func readShareInfo(r *ndr.Reader, level uint32, s *Share) {
	switch level {
	case 1004:
		readString(r, &s.Remark)
		return
	case 1005:
		s.Flags = r.Uint32()
		return
	case 1006:
		s.MaxUses = r.Uint32()
		return
	case 1501:
		readSDBuf(r, &s.SD)
		return
	}
	readString(r, &s.Name)
	if level == 0 {
		return
	}
	s.Type = r.Uint32()
	readString(r, &s.Remark)
	switch level {
	case 501:
		s.Flags = r.Uint32()
	case 2, 502, 503:
		s.Permissions = r.Uint32()
		s.MaxUses = r.Uint32()
		s.CurrentUses = r.Uint32()
		readString(r, &s.Path)
		readString(r, &s.Password)
		if level == 503 {
			readString(r, &s.ServerName)
		}
		if level != 2 {
			readSDBuf(r, &s.SD)
		}
	}
}

// NET_API_STATUS NetrShareEnum(ServerName, [in,out] LPSHARE_ENUM_STRUCT
// InfoStruct, PreferedMaximumLength, [out] TotalEntries, [in,out,unique]
// ResumeHandle); NetrShareEnumSticky has the same parameters. Every share
// is returned at once (the list is one share long); ResumeHandle is the
// index to start at and comes back 0.
func (s *service) shareEnum(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	var q EnumRequest
	q.UnmarshalNDR(r)
	if r.Err() != nil {
		return nil
	}
	op := "NetrShareEnum"
	if c.Opnum() == OpNetrShareEnumSticky {
		op = "NetrShareEnumSticky"
	}
	p := EnumReply{Level: q.Level, ResumeIsNull: q.ResumeIsNull}
	all := Shares()
	switch ok, _ := s.check(c, op, q.Level); {
	case !ok:
		p.Result = svc.ErrAccessDenied
	case !enumLevel(q.Level), op == "NetrShareEnumSticky" && q.Level == 501:
		p.Result = svc.ErrInvalidLevel
	default:
		p.Total = uint32(len(all))
		if q.Resume < uint32(len(all)) {
			p.Shares = all[q.Resume:]
		}
		for i := range p.Shares {
			p.Shares[i].Type &^= 0x0E000000 // no STYPE_CLUSTER_* bits on the wire (MS-SRVS 2.2.2.4)
		}
	}
	p.MarshalNDR(w)
	return nil
}

// GetInfoRequest is NetrShareGetInfo's [in] parameters.
type GetInfoRequest struct {
	ServerName string
	NetName    string
	Level      uint32
}

// UnmarshalNDR reads the request.
func (q *GetInfoRequest) UnmarshalNDR(r *ndr.Reader) {
	q.ServerName = svc.ServerName(r)
	q.NetName = r.WString()
	q.Level = r.Uint32()
}

// MarshalNDR writes the request.
func (q *GetInfoRequest) MarshalNDR(w *ndr.Writer) {
	w.UniquePtr(true)
	w.WString(`\\` + q.ServerName)
	w.WString(q.NetName)
	w.Uint32(q.Level)
}

// shareUnionArm reports whether SHARE_ENUM_UNION and SHARE_INFO have an
// arm (a pointer) for a level: a refused or unserved one of them is sent
// as a NULL pointer, as clients' stubs expect.
func shareUnionArm(level uint32) bool {
	switch level {
	case 0, 1, 2, 501, 502, 503, 1004, 1005, 1006, 1007, 1501:
		return true
	}
	return false
}

func infoLevel(level uint32) bool {
	switch level {
	case 0, 1, 2, 501, 502, 503, 1004, 1005, 1006, 1501:
		return true
	}
	return false
}

// GetInfoReply is NetrShareGetInfo's [out] parameters and result.
type GetInfoReply struct {
	Level  uint32
	Share  *Share // nil: a NULL arm
	Result uint32
}

// MarshalNDR writes the reply: the union's discriminant, its arm (a
// pointer to SHARE_INFO_<level>), the result.
func (p *GetInfoReply) MarshalNDR(w *ndr.Writer) {
	svc.WriteInfoReply(w, p.Level, infoLevel(p.Level), shareUnionArm(p.Level), p.Share != nil,
		func(w *ndr.Writer) { writeShareInfo(w, p.Level, p.Share) }, p.Result)
}

// UnmarshalNDR reads the reply.
func (p *GetInfoReply) UnmarshalNDR(r *ndr.Reader) {
	p.Result = svc.ReadInfoReply(r, &p.Level, shareUnionArm, func(r *ndr.Reader) {
		if !infoLevel(p.Level) {
			r.Fail("SHARE_INFO: a level this client does not decode")
			return
		}
		p.Share = new(Share)
		readShareInfo(r, p.Level, p.Share)
	})
}

// NET_API_STATUS NetrShareGetInfo(ServerName, [in,string] NetName, Level,
// [out,switch_is(Level)] LPSHARE_INFO InfoStruct).
func (s *service) shareGetInfo(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	var q GetInfoRequest
	q.UnmarshalNDR(r)
	if r.Err() != nil {
		return nil
	}
	p := GetInfoReply{Level: q.Level}
	var found *Share
	for _, sh := range Shares() {
		if equalFold(sh.Name, q.NetName) {
			found = &sh
			break
		}
	}
	switch ok, _ := s.check(c, "NetrShareGetInfo", q.Level); {
	case !ok:
		p.Result = svc.ErrAccessDenied
	case !infoLevel(q.Level):
		p.Result = svc.ErrInvalidLevel
	case found == nil:
		p.Result = svc.NERRNetNameNotFound
	default:
		p.Share = found
	}
	p.MarshalNDR(w)
	return nil
}

// equalFold compares share names as Windows does for ASCII names.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// NET_API_STATUS NetrShareCheck(ServerName, [in,string] Device, [out]
// DWORD* Type): the type of the share whose path is Device (IPC$'s path
// is ""), else NERR_DeviceNotShared.
func (s *service) shareCheck(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	svc.ServerName(r)
	dev := r.WString()
	if r.Err() != nil {
		return nil
	}
	if ok, _ := s.check(c, "NetrShareCheck", 0); !ok {
		w.Uint32(0)
		w.Uint32(svc.ErrAccessDenied)
		return nil
	}
	for _, sh := range Shares() {
		if equalFold(sh.Path, dev) {
			w.Uint32(sh.Type)
			w.Uint32(0)
			return nil
		}
	}
	w.Uint32(0)
	w.Uint32(svc.NERRDeviceNotShared)
	return nil
}

// ServerInfo is SERVER_INFO_100/101/102.
type ServerInfo struct {
	PlatformID   uint32
	Name         string
	VersionMajor uint32
	VersionMinor uint32
	Type         uint32
	Comment      string
	// Level 102:
	Users, Disc, Hidden, Announce, AnnDelta, Licenses uint32
	UserPath                                          string
	// Levels 502 and 503: the server's tunables, sv50x_sessopens to
	// sv50x_lmannounce (Tunables), and for 503 sv503_domain and
	// sv503_maxcopyreadlen to sv503_maxfreeconnections (More).
	Tunables [18]uint32
	Domain   string
	More     [23]uint32
}

func serverLevel(level uint32) bool {
	switch level {
	case 100, 101, 102, 502, 503:
		return true
	}
	return false
}

// serverUnionArm reports whether SERVER_INFO has an arm for a level (see
// shareUnionArm).
func serverUnionArm(level uint32) bool {
	switch {
	case level == 402, level == 403, level == 502, level == 503, level == 599:
		return true
	case level >= 1005 && level <= 1556:
		return true
	}
	return serverLevel(level)
}

// ServerInfoReply is NetrServerGetInfo's [out] parameters and result.
type ServerInfoReply struct {
	Level  uint32
	Info   *ServerInfo
	Result uint32
}

// MarshalNDR writes the reply.
func (p *ServerInfoReply) MarshalNDR(w *ndr.Writer) {
	svc.WriteInfoReply(w, p.Level, serverLevel(p.Level), serverUnionArm(p.Level), p.Info != nil, func(w *ndr.Writer) {
		i := p.Info
		if p.Level == 502 || p.Level == 503 {
			for _, v := range i.Tunables {
				w.Uint32(v)
			}
			if p.Level == 503 {
				deferString(w, i.Domain)
				for _, v := range i.More {
					w.Uint32(v)
				}
			}
			return
		}
		w.Uint32(i.PlatformID)
		deferString(w, i.Name)
		if p.Level == 100 {
			return
		}
		w.Uint32(i.VersionMajor)
		w.Uint32(i.VersionMinor)
		w.Uint32(i.Type)
		deferString(w, i.Comment)
		if p.Level == 101 {
			return
		}
		for _, v := range []uint32{i.Users, i.Disc, i.Hidden, i.Announce, i.AnnDelta, i.Licenses} {
			w.Uint32(v)
		}
		deferString(w, i.UserPath)
	}, p.Result)
}

// UnmarshalNDR reads the reply.
func (p *ServerInfoReply) UnmarshalNDR(r *ndr.Reader) {
	p.Result = svc.ReadInfoReply(r, &p.Level, serverUnionArm, func(r *ndr.Reader) {
		if !serverLevel(p.Level) {
			r.Fail("SERVER_INFO: a level this client does not decode")
			return
		}
		i := new(ServerInfo)
		p.Info = i
		if p.Level == 502 || p.Level == 503 {
			for k := range i.Tunables {
				i.Tunables[k] = r.Uint32()
			}
			if p.Level == 503 {
				readString(r, &i.Domain)
				for k := range i.More {
					i.More[k] = r.Uint32()
				}
			}
			return
		}
		i.PlatformID = r.Uint32()
		readString(r, &i.Name)
		if p.Level == 100 {
			return
		}
		i.VersionMajor = r.Uint32()
		i.VersionMinor = r.Uint32()
		i.Type = r.Uint32()
		readString(r, &i.Comment)
		if p.Level == 101 {
			return
		}
		for _, v := range []*uint32{&i.Users, &i.Disc, &i.Hidden, &i.Announce, &i.AnnDelta, &i.Licenses} {
			*v = r.Uint32()
		}
		readString(r, &i.UserPath)
	})
}

// NET_API_STATUS NetrServerGetInfo(ServerName, Level,
// [out,switch_is(Level)] LPSERVER_INFO InfoStruct).
func (s *service) serverGetInfo(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	svc.ServerName(r)
	level := r.Uint32()
	if r.Err() != nil {
		return nil
	}
	p := ServerInfoReply{Level: level}
	ok, snap := s.check(c, "NetrServerGetInfo", level)
	switch {
	case !ok:
		p.Result = svc.ErrAccessDenied
	case !serverLevel(level):
		p.Result = svc.ErrInvalidLevel
	default:
		p.Info = serverInfo(snap)
	}
	p.MarshalNDR(w)
	return nil
}

// serverInfo is what NetrServerGetInfo reports at every level. The
// tunables of levels 502 and 503 are the defaults a Windows server
// reports (its LanmanServer parameters unset), but for the session and
// connection counts, which are smbpipe's [limits].
func serverInfo(snap *policy.Snapshot) *ServerInfo {
	cfg := snap.Config()
	l := cfg.Limits.WithDefaults()
	conns := uint32(l.MaxConnections)
	sessions := uint32(min(int64(l.MaxConnections)*int64(l.MaxSessionsPerConnection), 0xFFFFFFFF))
	return &ServerInfo{PlatformID: PlatformIDNT, Name: cfg.ServerName,
		VersionMajor: VersionMajor, VersionMinor: VersionMinor, Type: ServerType,
		Users: 0xFFFFFFFF, Disc: 15, Announce: 240, AnnDelta: 3000, UserPath: `c:\`,
		// sessopens, sessvcs, opensearch, sizreqbuf, initworkitems,
		// maxworkitems, rawworkitems, irpstacksize, maxrawbuflen,
		// sessusers, sessconns, maxpagedmemoryusage,
		// maxnonpagedmemoryusage, enablesoftcompat,
		// enableforcedlogoff, timesource, acceptdownlevelapis,
		// lmannounce.
		Tunables: [18]uint32{16384, 1, 2048, 16644, 0, 0, 0, 15, 65536, sessions, conns,
			0xFFFFFFFF, 0xFFFFFFFF, 1, 1, 0, 1, 0},
		Domain: cfg.Domain,
		// maxcopyreadlen, maxcopywritelen, minkeepsearch, maxkeepsearch,
		// minkeepcomplsearch, maxkeepcomplsearch, threadcountadd,
		// numblockthreads, scavtimeout, minrcvqueue, minfreeworkitems,
		// xactmemsize, threadpriority, maxmpxct, oplockbreakwait,
		// oplockbreakresponsewait, enableoplocks, enableoplockforceclose,
		// enablefcbopens, enableraw, enablesharednetdrives,
		// minfreeconnections, maxfreeconnections.
		More: [23]uint32{8192, 0, 8, 1800, 0, 0, 0, 0, 30, 0, 0, 0x10000, 1, 50, 35, 35,
			1, 0, 1, 1, 0, 0, 0},
	}
}

// TimeOfDay is TIME_OF_DAY_INFO.
type TimeOfDay struct {
	Elapsed, Msecs, Hours, Mins, Secs, Hunds uint32
	Timezone                                 int32 // minutes west of UTC
	Tinterval, Day, Month, Year, Weekday     uint32
}

// NewTimeOfDay fills TIME_OF_DAY_INFO from t (UTC fields, the zone of t
// as the bias).
func NewTimeOfDay(t time.Time) TimeOfDay {
	u := t.UTC()
	_, off := t.Zone()
	return TimeOfDay{Elapsed: uint32(u.Unix()), Msecs: uint32(u.UnixMilli()), Hours: uint32(u.Hour()),
		Mins: uint32(u.Minute()), Secs: uint32(u.Second()), Hunds: uint32(u.Nanosecond() / 1e7),
		Timezone: int32(-off / 60), Tinterval: 310, Day: uint32(u.Day()), Month: uint32(u.Month()),
		Year: uint32(u.Year()), Weekday: uint32(u.Weekday())}
}

func (t *TimeOfDay) fields() []*uint32 {
	return []*uint32{&t.Elapsed, &t.Msecs, &t.Hours, &t.Mins, &t.Secs, &t.Hunds, (*uint32)(nil),
		&t.Tinterval, &t.Day, &t.Month, &t.Year, &t.Weekday}
}

// MarshalNDR writes the TIME_OF_DAY_INFO structure.
func (t *TimeOfDay) MarshalNDR(w *ndr.Writer) {
	for _, f := range t.fields() {
		if f == nil {
			w.Int32(t.Timezone)
			continue
		}
		w.Uint32(*f)
	}
}

// UnmarshalNDR reads it.
func (t *TimeOfDay) UnmarshalNDR(r *ndr.Reader) {
	for _, f := range t.fields() {
		if f == nil {
			t.Timezone = r.Int32()
			continue
		}
		*f = r.Uint32()
	}
}

// NET_API_STATUS NetrRemoteTOD(ServerName, [out] LPTIME_OF_DAY_INFO*
// BufferPtr).
func (s *service) remoteTOD(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	svc.ServerName(r)
	if r.Err() != nil {
		return nil
	}
	if ok, _ := s.check(c, "NetrRemoteTOD", 0); !ok {
		w.UniquePtr(false)
		w.Uint32(svc.ErrAccessDenied)
		return nil
	}
	tod := NewTimeOfDay(s.env.Clock())
	w.UniquePtr(true)
	tod.MarshalNDR(w)
	w.Uint32(svc.ErrSuccess)
	return nil
}
