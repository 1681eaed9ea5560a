package srvsvc

import (
	"net/netip"
	"strings"
	"time"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// The calls on the server's live tables (svc.Env.Live): administrators
// only (policy: admin-only), as Windows' default descriptors on the
// server service's session, connection and file objects allow.
const (
	OpNetrConnectionEnum = 8
	OpNetrFileEnum       = 9
	OpNetrSessionEnum    = 12
)

// SESSION_INFO_502's sesi502_user_flags bit for a guest logon.
const sessGuest uint32 = 0x1

// Session is SESSION_INFO_0/1/2/10/502.
type Session struct {
	ClientName string // \\ and the client's address
	User       string
	Opens      uint32
	Time       uint32 // seconds since the logon
	Idle       uint32 // seconds since its last use
	Flags      uint32
	ClientType string
	Transport  string
}

// Connection is CONNECTION_INFO_0/1.
type Connection struct {
	ID      uint32
	Type    uint32
	Opens   uint32
	Users   uint32
	Time    uint32
	User    string
	NetName string
}

// File is FILE_INFO_2/3.
type File struct {
	ID          uint32
	Permissions uint32
	Locks       uint32
	Path        string
	User        string
}

func sessionLevel(l uint32) bool {
	switch l {
	case 0, 1, 2, 10, 502:
		return true
	}
	return false
}

func connectionLevel(l uint32) bool { return l == 0 || l == 1 }
func fileLevel(l uint32) bool       { return l == 2 || l == 3 }

func writeSession(w *ndr.Writer, level uint32, s *Session) {
	deferString(w, s.ClientName)
	if level == 0 {
		return
	}
	deferString(w, s.User)
	if level != 10 {
		w.Uint32(s.Opens)
	}
	w.Uint32(s.Time)
	w.Uint32(s.Idle)
	if level == 10 {
		return
	}
	w.Uint32(s.Flags)
	if level == 1 {
		return
	}
	deferString(w, s.ClientType)
	if level == 502 {
		deferString(w, s.Transport)
	}
}

func readSession(r *ndr.Reader, level uint32, s *Session) {
	readString(r, &s.ClientName)
	if level == 0 {
		return
	}
	readString(r, &s.User)
	if level != 10 {
		s.Opens = r.Uint32()
	}
	s.Time = r.Uint32()
	s.Idle = r.Uint32()
	if level == 10 {
		return
	}
	s.Flags = r.Uint32()
	if level == 1 {
		return
	}
	readString(r, &s.ClientType)
	if level == 502 {
		readString(r, &s.Transport)
	}
}

func writeConnection(w *ndr.Writer, level uint32, c *Connection) {
	w.Uint32(c.ID)
	if level == 0 {
		return
	}
	for _, v := range []uint32{c.Type, c.Opens, c.Users, c.Time} {
		w.Uint32(v)
	}
	deferString(w, c.User)
	deferString(w, c.NetName)
}

func readConnection(r *ndr.Reader, level uint32, c *Connection) {
	c.ID = r.Uint32()
	if level == 0 {
		return
	}
	for _, v := range []*uint32{&c.Type, &c.Opens, &c.Users, &c.Time} {
		*v = r.Uint32()
	}
	readString(r, &c.User)
	readString(r, &c.NetName)
}

func writeFile(w *ndr.Writer, level uint32, f *File) {
	w.Uint32(f.ID)
	if level == 2 {
		return
	}
	w.Uint32(f.Permissions)
	w.Uint32(f.Locks)
	deferString(w, f.Path)
	deferString(w, f.User)
}

func readFile(r *ndr.Reader, level uint32, f *File) {
	f.ID = r.Uint32()
	if level == 2 {
		return
	}
	f.Permissions = r.Uint32()
	f.Locks = r.Uint32()
	readString(r, &f.Path)
	readString(r, &f.User)
}

// LiveRequest is the [in] parameters of NetrSessionEnum (ClientName,
// UserName), NetrConnectionEnum (Qualifier in ClientName) and
// NetrFileEnum (BasePath in ClientName, UserName): Op says which.
type LiveRequest struct {
	Op           uint16
	ServerName   string
	ClientName   string // NULL when empty
	UserName     string // NULL when empty; not sent by NetrConnectionEnum
	Level        uint32
	PrefMaxLen   uint32
	Resume       uint32
	ResumeIsNull bool
}

// MarshalNDR writes the request with an empty container (a client's
// view).
func (q *LiveRequest) MarshalNDR(w *ndr.Writer) {
	w.UniquePtr(true)
	w.WString(`\\` + q.ServerName)
	optString := func(s string) {
		if w.UniquePtr(s != "") {
			w.WString(s)
		}
	}
	optString(q.ClientName)
	if q.Op != OpNetrConnectionEnum {
		optString(q.UserName)
	}
	w.Uint32(q.Level)
	w.Uint32(q.Level)
	w.DeferUnique(true, func(w *ndr.Writer) {
		w.Uint32(0)
		w.UniquePtr(false)
	})
	w.Flush()
	w.Uint32(q.PrefMaxLen)
	svc.WriteResume(w, q.Resume, q.ResumeIsNull)
}

// UnmarshalNDR reads the request; q.Op must be set. The container sent is
// read and dropped.
func (q *LiveRequest) UnmarshalNDR(r *ndr.Reader) {
	q.ServerName = svc.ServerName(r)
	q.ClientName, _ = svc.UniqueWString(r)
	if q.Op != OpNetrConnectionEnum {
		q.UserName, _ = svc.UniqueWString(r)
	}
	switch q.Op {
	case OpNetrSessionEnum:
		var xs []Session
		q.Level = readEnum(r, sessionLevel, &xs, "session", readSession)
	case OpNetrConnectionEnum:
		var xs []Connection
		q.Level = readEnum(r, connectionLevel, &xs, "connection", readConnection)
	default:
		var xs []File
		q.Level = readEnum(r, fileLevel, &xs, "file", readFile)
	}
	q.PrefMaxLen = r.Uint32()
	q.Resume, q.ResumeIsNull = svc.ReadResume(r)
}

// LiveReply is their [out] parameters: the entries (one of Sessions,
// Connections, Files, by the call), TotalEntries, ResumeHandle, result.
type LiveReply struct {
	Op           uint16
	Level        uint32
	Sessions     []Session
	Connections  []Connection
	Files        []File
	Total        uint32
	Resume       uint32
	ResumeIsNull bool
	Result       uint32
}

// MarshalNDR writes the reply.
func (p *LiveReply) MarshalNDR(w *ndr.Writer) {
	ok := p.Result == 0
	switch p.Op {
	case OpNetrSessionEnum:
		writeEnum(w, p.Level, p.Sessions, ok && sessionLevel(p.Level), sessionLevel(p.Level),
			func(w *ndr.Writer, s *Session) { writeSession(w, p.Level, s) })
	case OpNetrConnectionEnum:
		writeEnum(w, p.Level, p.Connections, ok && connectionLevel(p.Level), connectionLevel(p.Level),
			func(w *ndr.Writer, c *Connection) { writeConnection(w, p.Level, c) })
	default:
		writeEnum(w, p.Level, p.Files, ok && fileLevel(p.Level), fileLevel(p.Level),
			func(w *ndr.Writer, f *File) { writeFile(w, p.Level, f) })
	}
	w.Uint32(p.Total)
	svc.WriteResume(w, p.Resume, p.ResumeIsNull)
	w.Uint32(p.Result)
}

// UnmarshalNDR reads the reply; p.Op must be set. A refused call's NULL
// arm reads as no entries.
func (p *LiveReply) UnmarshalNDR(r *ndr.Reader) {
	anyLevel := func(uint32) bool { return true }
	switch p.Op {
	case OpNetrSessionEnum:
		p.Level = readEnum(r, anyLevel, &p.Sessions, "session", readSession)
	case OpNetrConnectionEnum:
		p.Level = readEnum(r, anyLevel, &p.Connections, "connection", readConnection)
	default:
		p.Level = readEnum(r, anyLevel, &p.Files, "file", readFile)
	}
	p.Total = r.Uint32()
	p.Resume, p.ResumeIsNull = svc.ReadResume(r)
	p.Result = r.Uint32()
}

// host is the address part of a client's host:port.
func host(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().String()
	}
	return addr
}

// seconds is the whole seconds from t to now (0 for a zero t or a t in
// the future).
func seconds(now, t time.Time) uint32 {
	if t.IsZero() || now.Before(t) {
		return 0
	}
	return uint32(min(now.Sub(t)/time.Second, 0xFFFFFFFF))
}

// sessionUser is the name a session is listed under: the account, empty
// for anonymous.
func sessionUser(s svc.Session) string {
	if s.Anonymous {
		return ""
	}
	return s.User
}

// clientMatches reports whether a ClientName or Qualifier "\\host" (or
// "host") names the client at addr.
func clientMatches(name, addr string) bool {
	return strings.EqualFold(strings.TrimLeft(name, `\`), host(addr))
}

// liveCall serves the three calls: the request, the policy
// (administrators only), the level, then list fills the reply from the
// live tables.
func (s *service) liveCall(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer, served func(uint32) bool, list func(q *LiveRequest, p *LiveReply)) error {
	q := LiveRequest{Op: c.Opnum()}
	q.UnmarshalNDR(r)
	if r.Err() != nil {
		return nil
	}
	p := LiveReply{Op: q.Op, Level: q.Level, ResumeIsNull: q.ResumeIsNull}
	switch ok, _ := s.check(c, svc.OpName(c), q.Level); {
	case !ok:
		p.Result = svc.ErrAccessDenied
	case !served(q.Level):
		p.Result = svc.ErrInvalidLevel
	default:
		list(&q, &p)
	}
	p.MarshalNDR(w)
	return nil
}

// NET_API_STATUS NetrSessionEnum(ServerName, [in,string,unique] ClientName,
// [in,string,unique] UserName, [in,out] LPSESSION_ENUM_STRUCT, [in]
// PreferedMaximumLength, [out] TotalEntries, [in,out,unique]
// ResumeHandle): every session, or those of ClientName (\\address) and
// UserName; all at once, from the resume index on.
func (s *service) sessionEnum(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return s.liveCall(c, r, w, sessionLevel, func(q *LiveRequest, p *LiveReply) {
		now := s.env.Clock()
		var all []Session
		for _, x := range s.env.Sessions() {
			if q.ClientName != "" && !clientMatches(q.ClientName, x.Client) ||
				q.UserName != "" && !strings.EqualFold(q.UserName, sessionUser(x)) {
				continue
			}
			e := Session{ClientName: `\\` + host(x.Client), User: sessionUser(x), Opens: uint32(x.Opens),
				Time: seconds(now, x.Started), Idle: seconds(now, x.LastActive), Transport: `\Device\NetbiosSmb`}
			if x.Guest {
				e.Flags |= sessGuest
			}
			all = append(all, e)
		}
		switch {
		case len(all) == 0 && q.ClientName != "":
			p.Result = svc.NERRClientNameNotFound
		case len(all) == 0 && q.UserName != "":
			p.Result = svc.NERRUserNotFound
		default:
			p.Total = uint32(len(all))
			p.Sessions = all[min(int(q.Resume), len(all)):]
		}
	})
}

// NET_API_STATUS NetrConnectionEnum(ServerName, [in,string,unique]
// Qualifier, [in,out] LPCONNECT_ENUM_STRUCT, ...): the tree connections to
// a share (Qualifier a share name: IPC$, one per session, since IPC$ is
// every session's only share), or those of a client (Qualifier
// \\address). A NULL or empty Qualifier is ERROR_INVALID_PARAMETER, a
// share not this server's NERR_NetNameNotFound.
func (s *service) connectionEnum(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return s.liveCall(c, r, w, connectionLevel, func(q *LiveRequest, p *LiveReply) {
		byClient := strings.HasPrefix(q.ClientName, `\\`)
		switch {
		case q.ClientName == "":
			p.Result = svc.ErrInvalidParameter
			return
		case !byClient && !equalFold(q.ClientName, "IPC$"):
			p.Result = svc.NERRNetNameNotFound
			return
		}
		now := s.env.Clock()
		var all []Connection
		for _, x := range s.env.Sessions() {
			if byClient && !clientMatches(q.ClientName, x.Client) {
				continue
			}
			e := Connection{ID: uint32(x.ID), Type: STypeIPC, Opens: uint32(x.Opens), Users: 1,
				Time: seconds(now, x.Started), User: sessionUser(x), NetName: host(x.Client)}
			if byClient {
				e.NetName = "IPC$"
			}
			all = append(all, e)
		}
		if byClient && len(all) == 0 {
			p.Result = svc.NERRClientNameNotFound
			return
		}
		p.Total = uint32(len(all))
		p.Connections = all[min(int(q.Resume), len(all)):]
	})
}

// Permissions of FILE_INFO_3 (MS-SRVS 2.2.4.19).
const (
	permFileRead  uint32 = 0x1
	permFileWrite uint32 = 0x2
)

// NET_API_STATUS NetrFileEnum(ServerName, [in,string,unique] BasePath,
// [in,string,unique] UserName, [in,out] PFILE_ENUM_STRUCT, ...): the open
// pipes (\PIPE\name), those whose path starts with BasePath and held by
// UserName when given.
func (s *service) fileEnum(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return s.liveCall(c, r, w, fileLevel, func(q *LiveRequest, p *LiveReply) {
		var all []File
		for _, o := range s.env.Opens() {
			path := `\PIPE\` + o.Pipe
			if q.ClientName != "" && !strings.HasPrefix(strings.ToUpper(path), strings.ToUpper(q.ClientName)) ||
				q.UserName != "" && !strings.EqualFold(q.UserName, o.User) {
				continue
			}
			f := File{ID: uint32(o.ID), Path: path, User: o.User}
			if o.Granted&0x1 != 0 { // FILE_READ_DATA
				f.Permissions |= permFileRead
			}
			if o.Granted&0x2 != 0 { // FILE_WRITE_DATA
				f.Permissions |= permFileWrite
			}
			all = append(all, f)
		}
		if len(all) == 0 && q.UserName != "" {
			p.Result = svc.NERRUserNotFound
			return
		}
		p.Total = uint32(len(all))
		p.Files = all[min(int(q.Resume), len(all)):]
	})
}
