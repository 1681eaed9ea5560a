package policy

import "fmt"

// An RPCClass is one class of calls DecideRPC decides alike: every call of
// a class goes through the same gates, so one representative call (and
// level) stands for it in `smbpipe explain --matrix`.
type RPCClass struct {
	Name      string // e.g. "srvsvc share enumeration (level 1)"
	Interface string // ServiceSrvsvc, ...
	Op        string // the representative call
	Level     uint32 // its info level or class, when it takes one
}

// Call is the class's call as `smbpipe explain --rpc` takes it, with its
// level: "srvsvc.NetrShareEnum --level 1".
func (c RPCClass) Call() string {
	s := c.Interface + "." + c.Op
	if op, ok := LookupRPCOp(c.Interface, c.Op); ok && op.HasLevel() {
		s += fmt.Sprintf(" --level %d", c.Level)
	}
	return s
}

// rpcClasses covers every rpcKind (TestRPCClassesCoverKinds), the
// administrator-only levels as classes of their own.
var rpcClasses = []RPCClass{
	{"srvsvc open calls", ServiceSrvsvc, "NetrRemoteTOD", 0},
	{"srvsvc share enumeration", ServiceSrvsvc, "NetrShareEnum", 1},
	{"srvsvc share enumeration, admin level", ServiceSrvsvc, "NetrShareEnum", 2},
	{"srvsvc share info", ServiceSrvsvc, "NetrShareGetInfo", 1},
	{"srvsvc share info, admin level", ServiceSrvsvc, "NetrShareGetInfo", 502},
	{"srvsvc server info", ServiceSrvsvc, "NetrServerGetInfo", 101},
	{"srvsvc server info, admin level", ServiceSrvsvc, "NetrServerGetInfo", 102},
	{"srvsvc sessions, connections, files", ServiceSrvsvc, "NetrSessionEnum", 0},
	{"wkssvc workstation info", ServiceWkssvc, "NetrWkstaGetInfo", 100},
	{"wkssvc workstation info, admin level", ServiceWkssvc, "NetrWkstaGetInfo", 102},
	{"lsarpc open calls", ServiceLsarpc, "LsarGetUserName", 0},
	{"lsarpc open policy", ServiceLsarpc, "LsarOpenPolicy2", 0},
	{"lsarpc lookup (SIDs, names)", ServiceLsarpc, "LsarLookupSids2", 0},
	{"lsarpc query policy", ServiceLsarpc, "LsarQueryInformationPolicy", 5},
	{"lsarpc query audit policy", ServiceLsarpc, "LsarQueryInformationPolicy", 2},
	{"lsarpc TCP-only lookups", ServiceLsarpc, "LsarLookupSids3", 0},
	{"samr connect", ServiceSamr, "SamrConnect5", 0},
	{"samr calls on handles", ServiceSamr, "SamrEnumerateUsersInDomain", 0},
}

// RPCClasses lists the classes of calls of the Windows services, in
// service order: the rows of the effective-access matrix.
func RPCClasses() []RPCClass { return append([]RPCClass(nil), rpcClasses...) }
