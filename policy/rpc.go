package policy

import (
	"fmt"
	"strings"
	"sync"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/security"
)

// The Windows RPC services this server presents on IPC$ (Config.Services,
// [[pipe]] backend values, RPCRequest.Interface).
const (
	ServiceSrvsvc = "srvsvc"
	ServiceWkssvc = "wkssvc"
	ServiceLsarpc = "lsarpc"
	ServiceSamr   = "samr"
)

// ServicePipeSDDL is the descriptor of a service's pipe: read and write
// (0x12019B) for ANONYMOUS LOGON, Everyone and Authenticated Users, full
// control for SYSTEM and Administrators, as the RPC runtime gives the
// pipes of lsass and services.exe on Windows. Who may call what is then
// NullSessionPipes' and the [Lsa] rules' (DecideRPC).
const ServicePipeSDDL = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;WD)(A;;0x12019B;;;AU)(A;;FA;;;SY)(A;;FA;;;BA)"

// ServicePipes returns the pipe names a service is presented on (nil for
// an unknown service): lsarpc also answers on \pipe\lsass, as on Windows.
func ServicePipes(service string) []string {
	switch strings.ToLower(service) {
	case ServiceSrvsvc:
		return []string{"srvsvc"}
	case ServiceWkssvc:
		return []string{"wkssvc"}
	case ServiceLsarpc:
		return []string{"lsarpc", "lsass"}
	case ServiceSamr:
		return []string{"samr"}
	}
	return nil
}

// LSA policy object rights (MS-LSAD 2.2.1.1.2) and their generic mapping.
const (
	PolicyViewLocalInformation  uint32 = 0x00000001
	PolicyViewAuditInformation  uint32 = 0x00000002
	PolicyGetPrivateInformation uint32 = 0x00000004
	PolicyLookupNames           uint32 = 0x00000800
)

// LSAPolicyMapping is the generic mapping of the LSA policy object
// (MS-LSAD 2.2.1.1.2).
func LSAPolicyMapping() security.GenericMapping {
	return security.GenericMapping{Read: 0x00020006, Write: 0x000207F8, Execute: 0x00020801, All: 0x000F0FFF}
}

// SAMServerMapping is the generic mapping of the SAM server object
// (MS-SAMR 2.2.1.3).
func SAMServerMapping() security.GenericMapping {
	return security.GenericMapping{Read: 0x00020010, Write: 0x0002000E, Execute: 0x00020021, All: 0x000F003F}
}

// The object descriptors: the LSA policy object's of Windows Vista and
// later (MS-LSAD 3.1.1.1, <41>) and the SAM server object's (Everyone may
// connect, enumerate and look up domains; Administrators all).
const (
	lsaPolicySDDL = "O:BAG:SYD:(A;;GA;;;BA)(A;;GX;;;WD)(A;;0x801;;;AN)(A;;0x1000;;;LS)(A;;0x1000;;;NS)(A;;0x1000;;;S-1-5-17)"
	samServerSDDL = "O:SYG:BAD:(A;;0x20031;;;WD)(A;;0xF003F;;;BA)"
	// The SAM objects below the server, as a stand-alone server's SAM
	// gives them: Everyone may read and look up (a domain: password and
	// other parameters, alias membership, list accounts, lookup; a user:
	// general, preferences, logon, account, its groups; an alias or a
	// group: its information and members), Administrators all.
	samDomainSDDL = "O:BAG:BAD:(A;;0x20385;;;WD)(A;;0xF07FF;;;BA)"
	samUserSDDL   = "O:BAG:BAD:(A;;0x2031B;;;WD)(A;;0xF07FF;;;BA)"
	samAliasSDDL  = "O:BAG:BAD:(A;;0x2000C;;;WD)(A;;0xF001F;;;BA)"
	samGroupSDDL  = "O:BAG:BAD:(A;;0x20011;;;WD)(A;;0xF001F;;;BA)"
)

// SAM object rights the services check on handles (MS-SAMR 2.2.1.3 to
// 2.2.1.7).
const (
	SamServerEnumerateDomains    uint32 = 0x00000010
	SamServerLookupDomain        uint32 = 0x00000020
	DomainReadPasswordParameters uint32 = 0x00000001
	DomainReadOtherParameters    uint32 = 0x00000004
	DomainGetAliasMembership     uint32 = 0x00000080
	DomainListAccounts           uint32 = 0x00000100
	DomainLookup                 uint32 = 0x00000200
	UserReadGeneral              uint32 = 0x00000001
	UserReadPreferences          uint32 = 0x00000002
	UserReadLogon                uint32 = 0x00000008
	UserReadAccount              uint32 = 0x00000010
	UserListGroups               uint32 = 0x00000100
	AliasListMembers             uint32 = 0x00000004
	AliasReadInformation         uint32 = 0x00000008
	GroupReadInformation         uint32 = 0x00000001
	GroupListMembers             uint32 = 0x00000010
)

// SAMDomainMapping, SAMUserMapping and SAMAliasMapping are the generic
// mappings of the domain, user and alias objects (MS-SAMR 2.2.1.4, 2.2.1.7,
// 2.2.1.6).
func SAMDomainMapping() security.GenericMapping {
	return security.GenericMapping{Read: 0x00020084, Write: 0x0002047A, Execute: 0x00020301, All: 0x000F07FF}
}

// SAMUserMapping: see SAMDomainMapping.
func SAMUserMapping() security.GenericMapping {
	return security.GenericMapping{Read: 0x0002031A, Write: 0x00020044, Execute: 0x00020041, All: 0x000F07FF}
}

// SAMGroupMapping: see SAMDomainMapping (MS-SAMR 2.2.1.5).
func SAMGroupMapping() security.GenericMapping {
	return security.GenericMapping{Read: 0x00020010, Write: 0x0002000E, Execute: 0x00020001, All: 0x000F001F}
}

// SAMAliasMapping: see SAMDomainMapping.
func SAMAliasMapping() security.GenericMapping {
	return security.GenericMapping{Read: 0x00020004, Write: 0x00020013, Execute: 0x00020008, All: 0x000F001F}
}

// A samObject is a SAM object: the one a call's handle is to, or the one
// it opens.
type samObject uint8

const (
	samNone samObject = iota
	samServer
	samDomain
	samUser
	samAlias
	samGroup
)

// samObjectSD is an object's descriptor (mapped), its SDDL, its mapping
// and how a trace names it.
type samObjectSD struct {
	sd   *security.SecurityDescriptor
	sddl string
	m    security.GenericMapping
	name string
}

// samObjectSDs are the domain's, users' and aliases' descriptors, parsed
// once (immutable; the server's is the snapshot's).
var samObjectSDs = sync.OnceValue(func() [samGroup + 1]samObjectSD {
	var out [samGroup + 1]samObjectSD
	for o, d := range map[samObject]samObjectSD{
		samDomain: {sddl: samDomainSDDL, m: SAMDomainMapping(), name: "the SAM domain's"},
		samUser:   {sddl: samUserSDDL, m: SAMUserMapping(), name: "the SAM user's"},
		samAlias:  {sddl: samAliasSDDL, m: SAMAliasMapping(), name: "the SAM alias's"},
		samGroup:  {sddl: samGroupSDDL, m: SAMGroupMapping(), name: "the SAM group's"},
	} {
		sd, err := security.ParseSDDL(d.sddl, nil)
		if err != nil {
			panic("policy: built-in SAM descriptor " + d.sddl + ": " + err.Error())
		}
		d.sd = sd.MapGeneric(d.m)
		out[o] = d
	}
	return out
})

func (s *Snapshot) samSD(o samObject) samObjectSD {
	if o == samServer {
		return samObjectSD{sd: s.samServerSD, sddl: samServerSDDL, m: SAMServerMapping(), name: "the SAM server's"}
	}
	return samObjectSDs()[o]
}

// samCall is what a call on a SAM handle needs: the object its handle is
// to, the rights it needs on it (samNeed refines them by level), and the
// object it opens, if any.
type samCall struct {
	on, opens samObject
	need      uint32
}

var samCalls = map[string]samCall{
	"SamrEnumerateDomainsInSamServer":      {samServer, samNone, SamServerEnumerateDomains},
	"SamrLookupDomainInSamServer":          {samServer, samNone, SamServerLookupDomain},
	"SamrOpenDomain":                       {samServer, samDomain, SamServerLookupDomain},
	"SamrQueryInformationDomain":           {samDomain, samNone, DomainReadOtherParameters},
	"SamrQueryInformationDomain2":          {samDomain, samNone, DomainReadOtherParameters},
	"SamrEnumerateUsersInDomain":           {samDomain, samNone, DomainListAccounts},
	"SamrEnumerateGroupsInDomain":          {samDomain, samNone, DomainListAccounts},
	"SamrEnumerateAliasesInDomain":         {samDomain, samNone, DomainListAccounts},
	"SamrQueryDisplayInformation":          {samDomain, samNone, DomainListAccounts},
	"SamrQueryDisplayInformation2":         {samDomain, samNone, DomainListAccounts},
	"SamrQueryDisplayInformation3":         {samDomain, samNone, DomainListAccounts},
	"SamrLookupNamesInDomain":              {samDomain, samNone, DomainLookup},
	"SamrLookupIdsInDomain":                {samDomain, samNone, DomainLookup},
	"SamrGetAliasMembership":               {samDomain, samNone, DomainGetAliasMembership},
	"SamrOpenUser":                         {samDomain, samUser, DomainLookup},
	"SamrOpenAlias":                        {samDomain, samAlias, DomainLookup},
	"SamrQueryInformationUser":             {samUser, samNone, UserReadGeneral},
	"SamrQueryInformationUser2":            {samUser, samNone, UserReadGeneral},
	"SamrGetGroupsForUser":                 {samUser, samNone, UserListGroups},
	"SamrGetUserDomainPasswordInformation": {samUser, samNone, UserReadAccount},
	"SamrQueryInformationAlias":            {samAlias, samNone, AliasReadInformation},
	"SamrGetMembersInAlias":                {samAlias, samNone, AliasListMembers},
	"SamrOpenGroup":                        {samDomain, samGroup, DomainLookup},
	"SamrQueryInformationGroup":            {samGroup, samNone, GroupReadInformation},
	"SamrGetMembersInGroup":                {samGroup, samNone, GroupListMembers},
}

// samNeed is the rights a call on a SAM handle needs at a level (an
// information class): DOMAIN_READ_PASSWORD_PARAMETERS for the password
// and lockout classes of a domain; for a user's classes, the read rights
// of the fields each holds (USER_READ_GENERAL for the name classes,
// USER_READ_LOGON for the logon fields, USER_READ_ACCOUNT for the account
// control, the four for the logon, account and all classes).
func samNeed(op RPCOp, c samCall, level uint32) uint32 {
	switch op.Name {
	case "SamrQueryInformationDomain", "SamrQueryInformationDomain2":
		if level == 1 || level == 12 {
			return DomainReadPasswordParameters
		}
	case "SamrQueryInformationUser", "SamrQueryInformationUser2":
		// MS-SAMR 3.1.5.5.6.
		switch level {
		case 2: // preferences
			return UserReadGeneral | UserReadPreferences
		case 3, 5, 21: // logon, account, all
			return UserReadGeneral | UserReadPreferences | UserReadLogon | UserReadAccount
		case 4, 10, 11, 12, 14: // logon hours, home, script, profile, workstations
			return UserReadLogon
		case 16, 17, 20: // control, expires, parameters
			return UserReadAccount
		}
	}
	return c.need
}

// Rules of RPC decisions (RPCDecision.Rule), beside the pipe-open rules a
// refused CREATE of the service's pipe reports.
const (
	RuleRestrictAnonymous    = "restrict-anonymous"
	RuleAnonymousLevel       = "anonymous-level"
	RuleRestrictAnonymousSAM = "restrict-anonymous-sam"
	RuleLsaAnonymousBlock    = "lsa-anonymous-block"
	RuleRestrictRemoteSAM    = "restrict-remote-sam"
	RuleAdminOnly            = "admin-only"
	RuleObjectAccess         = "object-access"
	RuleTransport            = "transport"
	RuleUnknownCall          = "unknown-call"
)

// rpcKind says which gates a call goes through.
type rpcKind uint8

const (
	kindOpen       rpcKind = iota // anyone who has the pipe open
	kindShareEnum                 // RestrictAnonymous ≥ 1 refuses anonymous (NetrShareEnum 501: always); levels 2, 502, 503 administrators
	kindShareInfo                 // levels 2, 502, 503 administrators
	kindServerInfo                // levels 102, 502, 503 administrators
	kindSrvAdmin                  // administrators only (sessions, connections, open files, logged-on users)
	kindWkstaInfo                 // levels 102, 502 administrators
	kindLsaOpen                   // LsarOpenPolicy*: anonymous block, the policy object's descriptor
	kindLsaHandle                 // a call on a policy handle needing rights on it
	kindTCPOnly                   // LsarLookupSids3, LsarLookupNames4: ncacn_ip_tcp only
	kindSamConnect                // SamrConnect*: RestrictAnonymousSAM, RestrictRemoteSAM, the server object
	kindSamHandle                 // a call on a SAM handle (its gates were the connect's)
)

// An RPCOp is one call of a service as the policy knows it.
type RPCOp struct {
	Interface string // ServiceSrvsvc, ...
	Name      string // as MS-SRVS, MS-WKST, MS-LSAT/LSAD, MS-SAMR name it: "NetrShareEnum"
	kind      rpcKind
	need      uint32 // kindLsaHandle: the rights the handle needs (per class: lsaQueryNeed)
}

var rpcOps = []RPCOp{
	{ServiceSrvsvc, "NetrShareEnum", kindShareEnum, 0},
	{ServiceSrvsvc, "NetrShareEnumSticky", kindShareEnum, 0},
	{ServiceSrvsvc, "NetrShareGetInfo", kindShareInfo, 0},
	{ServiceSrvsvc, "NetrShareCheck", kindOpen, 0},
	{ServiceSrvsvc, "NetrServerGetInfo", kindServerInfo, 0},
	{ServiceSrvsvc, "NetrRemoteTOD", kindOpen, 0},
	{ServiceSrvsvc, "NetprNameValidate", kindOpen, 0},
	{ServiceSrvsvc, "NetrSessionEnum", kindSrvAdmin, 0},
	{ServiceSrvsvc, "NetrConnectionEnum", kindSrvAdmin, 0},
	{ServiceSrvsvc, "NetrFileEnum", kindSrvAdmin, 0},
	{ServiceSrvsvc, "NetrCharDevEnum", kindSrvAdmin, 0},
	{ServiceSrvsvc, "NetrCharDevQEnum", kindSrvAdmin, 0},
	{ServiceWkssvc, "NetrWkstaGetInfo", kindWkstaInfo, 0},
	{ServiceWkssvc, "NetrWkstaUserEnum", kindSrvAdmin, 0},
	{ServiceLsarpc, "LsarOpenPolicy", kindLsaOpen, 0},
	{ServiceLsarpc, "LsarOpenPolicy2", kindLsaOpen, 0},
	{ServiceLsarpc, "LsarClose", kindLsaHandle, 0},
	{ServiceLsarpc, "LsarQueryInformationPolicy", kindLsaHandle, 0},
	{ServiceLsarpc, "LsarQueryInformationPolicy2", kindLsaHandle, 0},
	{ServiceLsarpc, "LsarEnumerateTrustedDomains", kindLsaHandle, PolicyViewLocalInformation},
	{ServiceLsarpc, "LsarEnumerateTrustedDomainsEx", kindLsaHandle, PolicyViewLocalInformation},
	{ServiceLsarpc, "LsarEnumerateAccounts", kindLsaHandle, PolicyViewLocalInformation},
	{ServiceLsarpc, "LsarLookupSids", kindLsaHandle, PolicyLookupNames},
	{ServiceLsarpc, "LsarLookupSids2", kindLsaHandle, PolicyLookupNames},
	{ServiceLsarpc, "LsarLookupSids3", kindTCPOnly, 0},
	{ServiceLsarpc, "LsarLookupNames", kindLsaHandle, PolicyLookupNames},
	{ServiceLsarpc, "LsarLookupNames2", kindLsaHandle, PolicyLookupNames},
	{ServiceLsarpc, "LsarLookupNames3", kindLsaHandle, PolicyLookupNames},
	{ServiceLsarpc, "LsarLookupNames4", kindTCPOnly, 0},
	{ServiceLsarpc, "LsarGetUserName", kindOpen, 0},
	{ServiceLsarpc, "LsarQuerySecurityObject", kindLsaHandle, 0},
	// dssetup (MS-DSSP), on \pipe\lsarpc: no handle, no access check.
	{ServiceLsarpc, "DsRolerGetPrimaryDomainInformation", kindOpen, 0},
	{ServiceSamr, "SamrConnect", kindSamConnect, 0},
	{ServiceSamr, "SamrConnect2", kindSamConnect, 0},
	{ServiceSamr, "SamrConnect4", kindSamConnect, 0},
	{ServiceSamr, "SamrConnect5", kindSamConnect, 0},
	{ServiceSamr, "SamrCloseHandle", kindSamHandle, 0},
	{ServiceSamr, "SamrEnumerateDomainsInSamServer", kindSamHandle, 0},
	{ServiceSamr, "SamrLookupDomainInSamServer", kindSamHandle, 0},
	{ServiceSamr, "SamrOpenDomain", kindSamHandle, 0},
	{ServiceSamr, "SamrQueryInformationDomain", kindSamHandle, 0},
	{ServiceSamr, "SamrQueryInformationDomain2", kindSamHandle, 0},
	{ServiceSamr, "SamrEnumerateUsersInDomain", kindSamHandle, 0},
	{ServiceSamr, "SamrEnumerateGroupsInDomain", kindSamHandle, 0},
	{ServiceSamr, "SamrEnumerateAliasesInDomain", kindSamHandle, 0},
	{ServiceSamr, "SamrQueryDisplayInformation", kindSamHandle, 0},
	{ServiceSamr, "SamrQueryDisplayInformation2", kindSamHandle, 0},
	{ServiceSamr, "SamrQueryDisplayInformation3", kindSamHandle, 0},
	{ServiceSamr, "SamrLookupNamesInDomain", kindSamHandle, 0},
	{ServiceSamr, "SamrLookupIdsInDomain", kindSamHandle, 0},
	{ServiceSamr, "SamrOpenUser", kindSamHandle, 0},
	{ServiceSamr, "SamrOpenAlias", kindSamHandle, 0},
	{ServiceSamr, "SamrOpenGroup", kindSamHandle, 0},
	{ServiceSamr, "SamrQueryInformationUser", kindSamHandle, 0},
	{ServiceSamr, "SamrQueryInformationUser2", kindSamHandle, 0},
	{ServiceSamr, "SamrQueryInformationAlias", kindSamHandle, 0},
	{ServiceSamr, "SamrQueryInformationGroup", kindSamHandle, 0},
	{ServiceSamr, "SamrGetMembersInAlias", kindSamHandle, 0},
	{ServiceSamr, "SamrGetMembersInGroup", kindSamHandle, 0},
	{ServiceSamr, "SamrGetAliasMembership", kindSamHandle, 0},
	{ServiceSamr, "SamrGetGroupsForUser", kindSamHandle, 0},
	{ServiceSamr, "SamrGetUserDomainPasswordInformation", kindSamHandle, 0},
	// No handle: the password policy a client shows before a password
	// change, which MS-SAMR 3.1.5.13.3 gives without authentication.
	{ServiceSamr, "SamrGetDomainPasswordInformation", kindOpen, 0},
	{ServiceSamr, "SamrQuerySecurityObject", kindSamHandle, 0},
	{ServiceSamr, "SamrRidToSid", kindSamHandle, 0},
}

// LookupRPCOp finds a call by interface and name, case-insensitively and
// with or without its prefix ("NetrShareEnum" or "ShareEnum",
// "SamrEnumerateUsersInDomain" or "EnumerateUsersInDomain").
func LookupRPCOp(iface, name string) (RPCOp, bool) {
	iface = strings.ToLower(iface)
	if iface == "lsass" {
		iface = ServiceLsarpc
	}
	for _, op := range rpcOps {
		if op.Interface != iface {
			continue
		}
		if strings.EqualFold(op.Name, name) {
			return op, true
		}
		for _, p := range []string{"Netr", "Netpr", "Lsar", "Samr"} {
			if len(op.Name) > len(p) && strings.EqualFold(op.Name[:len(p)], p) && strings.EqualFold(op.Name[len(p):], name) {
				return op, true
			}
		}
	}
	return RPCOp{}, false
}

// RPCOps lists the calls of a service the policy knows.
func RPCOps(iface string) []string {
	var out []string
	for _, op := range rpcOps {
		if op.Interface == iface {
			out = append(out, op.Name)
		}
	}
	return out
}

// HasLevel reports whether the call takes an info level (or class) that
// the decision looks at.
func (op RPCOp) HasLevel() bool {
	switch op.kind {
	case kindShareEnum, kindShareInfo, kindServerInfo, kindWkstaInfo:
		return true
	}
	return op.kind == kindLsaHandle && strings.HasPrefix(op.Name, "LsarQueryInformationPolicy")
}

// Win32 reports whether the call returns Win32 codes (srvsvc, wkssvc,
// dssetup) rather than NTSTATUS (lsarpc, samr).
func (op RPCOp) Win32() bool {
	return op.Interface == ServiceSrvsvc || op.Interface == ServiceWkssvc || strings.HasPrefix(op.Name, "DsRoler")
}

// RPCRequest is one call on a Windows RPC service.
type RPCRequest struct {
	Identity  Identity
	Interface string // ServiceSrvsvc, ...
	Op        string // the call (LookupRPCOp names)
	Level     uint32 // the info level or class, for calls that take one
	// Access is, for an open call (LsarOpenPolicy*, SamrConnect*), the
	// desired access; for a call on a handle (OnHandle), the access
	// granted on the handle.
	Access uint32
	// OnHandle: the call is made on a handle the caller opened before
	// (the server's path). Without it (explain) a call on a handle is
	// decided after the open it needs, with MAXIMUM_ALLOWED.
	OnHandle bool
	// Desired is, for a call on a handle that opens an object
	// (SamrOpenDomain, SamrOpenUser, SamrOpenAlias), the access asked of
	// that object.
	Desired uint32
	// PipeOpen: the caller has the service's pipe open (the server's
	// path): the CREATE decision was made already. Without it (explain)
	// the open of PipeName (default: the service's first pipe) comes
	// first, as Check decides it.
	PipeOpen bool
	PipeName string
}

// RPCDecision is the outcome of DecideRPC or CheckRPC.
type RPCDecision struct {
	Allowed bool
	// Status is what the call returns when refused: an NTSTATUS for
	// lsarpc and samr; for srvsvc and wkssvc (Win32 true) the call returns
	// Status's Win32 code (ERROR_ACCESS_DENIED). When the pipe gate
	// refused, it is the CREATE's status (AtCreate).
	Status   ntstatus.Status
	Win32    bool
	AtCreate bool
	// Granted is, for an open call, the access granted on the handle.
	Granted uint32
	// Rule is a short stable identifier of the deciding rule (a pipe-open
	// rule when AtCreate).
	Rule string
	// Reason, Steps, Fixes and Fix are DecideRPC's explanation, as for
	// Decide; CheckRPC leaves them empty (Why writes the reason).
	Reason string
	Steps  []string
	Fixes  []string
	Fix    string

	facts rpcFacts
}

// rpc gates, as bits of the set a hypothetical re-run assumes passed.
type rpcGate uint8

const (
	rgPipe rpcGate = 1 << iota
	rgAnonymous
	rgRemoteSAM
	rgAdmin
	rgObject
)

type rpcOutcome uint8

const (
	rpcGranted rpcOutcome = iota + 1
	rpcUnknownCall
	rpcUnknownUser
	rpcPipe
	rpcRestrictAnonymous2
	rpcRestrictAnonymousShares
	rpcAnonymousShareLevel
	rpcRestrictAnonymousSAM
	rpcLsaBlock
	rpcTransport
	rpcRemoteSAM
	rpcAdmin
	rpcLsaPolicySD
	rpcLsaHandle
	rpcSamServerSD
	rpcSamHandle
	rpcSamObjectSD
)

var rpcOutcomes = [...]struct {
	rule string
	gate rpcGate
}{
	rpcGranted:                 {RuleGranted, 0},
	rpcUnknownCall:             {RuleUnknownCall, 0},
	rpcUnknownUser:             {RuleUnknownUser, 0},
	rpcPipe:                    {"", rgPipe},
	rpcRestrictAnonymous2:      {RuleRestrictAnonymous, rgAnonymous},
	rpcRestrictAnonymousShares: {RuleRestrictAnonymous, rgAnonymous},
	rpcAnonymousShareLevel:     {RuleAnonymousLevel, rgAnonymous},
	rpcRestrictAnonymousSAM:    {RuleRestrictAnonymousSAM, rgAnonymous},
	rpcLsaBlock:                {RuleLsaAnonymousBlock, rgAnonymous},
	rpcTransport:               {RuleTransport, 0},
	rpcRemoteSAM:               {RuleRestrictRemoteSAM, rgRemoteSAM},
	rpcAdmin:                   {RuleAdminOnly, rgAdmin},
	rpcLsaPolicySD:             {RuleObjectAccess, rgObject},
	rpcLsaHandle:               {RuleObjectAccess, rgObject},
	rpcSamServerSD:             {RuleObjectAccess, rgObject},
	rpcSamHandle:               {RuleObjectAccess, rgObject},
	rpcSamObjectSD:             {RuleObjectAccess, rgObject},
}

// rpcFacts are what decided, for Why and the fixes.
type rpcFacts struct {
	by   rpcOutcome
	snap *Snapshot
	req  RPCRequest
	op   RPCOp
	tok  *security.Token
	pipe *Decision // the CREATE's decision, when the pipe gate ran
	need uint32    // rights the call needed on its handle
	have uint32    // rights the handle has
	obj  string    // rpcSamObjectSD: whose descriptor
}

// CheckRPC decides a call as DecideRPC does, without explaining (the
// services call it on every call that has a rule).
func (s *Snapshot) CheckRPC(r RPCRequest) RPCDecision { return s.decideRPC(r, 0, nil) }

// DecideRPC decides whether a call on one of the Windows RPC services is
// allowed, in Windows' order (SEMANTICS-2 4.7):
//
//  1. the CREATE of the service's pipe (Check; NullSessionPipes keeps
//     anonymous callers out of every service on a member server);
//  2. the anonymous switches: RestrictAnonymous = 2 refuses anonymous
//     callers everything; RestrictAnonymous ≥ 1 refuses them share
//     enumeration (ERROR_ACCESS_DENIED); LsarOpenPolicy* is refused to
//     them while TurnOffAnonymousBlock = 0 (STATUS_ACCESS_DENIED); SAMR
//     connects while RestrictAnonymousSAM = 1 or RestrictAnonymous ≥ 1;
//  3. RestrictRemoteSAM: a SAMR connect needs READ_CONTROL from its
//     descriptor (administrators only by default);
//  4. the administrator-only levels and calls of srvsvc and wkssvc
//     (ERROR_ACCESS_DENIED);
//  5. the object: the LSA policy's descriptor at LsarOpenPolicy* and the
//     rights a call needs on the handle (LOOKUP_NAMES for lookups,
//     VIEW_LOCAL_INFORMATION or VIEW_AUDIT_INFORMATION by class); the SAM
//     server's descriptor at SamrConnect*.
//
// Calls on a SAM handle have no gate of their own: SAMR is decided at
// connect. DecideRPC explains as Decide does (Steps, Reason, Fixes).
func (s *Snapshot) DecideRPC(r RPCRequest) RPCDecision {
	var t trace
	d := s.decideRPC(r, 0, &t)
	d.Steps = t.steps
	d.Reason = d.Why()
	d.Fixes = s.rpcFixes(r, &d, 0)
	d.Fix = joinFixes(d.Fixes)
	return d
}

// Why returns the decision's reason: DecideRPC's, or the same sentence
// written now for a decision of CheckRPC (the audit log's).
func (d *RPCDecision) Why() string {
	if d.Reason != "" || d.facts.snap == nil {
		return d.Reason
	}
	return d.facts.snap.rpcReason(&d.facts)
}

func (s *Snapshot) decideRPC(r RPCRequest, bypass rpcGate, tr *trace) RPCDecision {
	op, ok := LookupRPCOp(r.Interface, r.Op)
	d := RPCDecision{Win32: op.Win32()}
	d.facts = rpcFacts{snap: s, req: r, op: op}
	end := func(by rpcOutcome, st ntstatus.Status) RPCDecision {
		d.Status, d.Rule, d.facts.by = st, rpcOutcomes[by].rule, by
		d.Allowed = by == rpcGranted
		if tr != nil {
			switch {
			case d.Allowed:
				tr.printf("result: allowed")
			case d.AtCreate:
				tr.result(st)
			case d.Win32:
				code, name := st.Win32()
				tr.printf("result: the call returns Win32 %d %s", code, name)
			default:
				tr.printf("result: the call returns %s (0x%08X)", st, uint32(st))
			}
		}
		return d
	}
	if !ok {
		if tr != nil {
			tr.printf("call: %s.%s is not a call smbpipe's policy knows (known: %s)", r.Interface, r.Op, strings.Join(RPCOps(strings.ToLower(r.Interface)), ", "))
		}
		return end(rpcUnknownCall, ntstatus.InvalidParameter)
	}
	deny := ntstatus.AccessDenied
	tok, ok := s.Token(r.Identity)
	d.facts.tok = tok
	if tr != nil {
		tr.printf("call: %s.%s%s", op.Interface, op.Name, levelText(op, r.Level))
		tr.printf("session: %s; token %s", describeIdentity(r.Identity), s.describeToken(tok))
	}
	if !ok {
		return end(rpcUnknownUser, deny)
	}
	anon := r.Identity.Kind == Anonymous
	lsa := s.cfg.Lsa

	// Gate 1: the pipe.
	if !r.PipeOpen && bypass&rgPipe == 0 {
		name := r.PipeName
		if name == "" {
			name = ServicePipes(op.Interface)[0]
		}
		req := Request{Identity: r.Identity, PipeName: name, DesiredAccess: 0x0012019F,
			ImpersonationLevel: ImpersonationImpersonation, Pipe: s.PipeInfo(name)}
		var pd Decision
		if tr != nil {
			pd = s.Decide(req)
			tr.printf("gate pipe: CREATE \\pipe\\%s with 0x0012019F, as RPC clients open it:", name)
			for _, st := range pd.Steps {
				if !strings.HasPrefix(st, "session:") && !strings.HasPrefix(st, "result:") {
					tr.printf("  %s", st)
				}
			}
		} else {
			pd = s.Check(req)
		}
		if pd.Status != ntstatus.Success {
			d.facts.pipe = &pd
			d.AtCreate = true
			d.Rule = pd.Rule
			d.Status, d.facts.by = pd.Status, rpcPipe
			if tr != nil {
				tr.result(pd.Status)
			}
			return d
		}
	}

	// Gate 2: the anonymous switches.
	if anon && bypass&rgAnonymous == 0 {
		switch {
		case op.kind == kindTCPOnly:
		case lsa.RestrictAnonymous >= 2:
			if tr != nil {
				tr.printf("gate anonymous: Lsa RestrictAnonymous = %d: anonymous callers get nothing: deny", lsa.RestrictAnonymous)
			}
			return end(rpcRestrictAnonymous2, deny)
		case op.kind == kindShareEnum && lsa.RestrictAnonymous >= 1:
			if tr != nil {
				tr.printf("gate anonymous: Lsa RestrictAnonymous = 1: anonymous callers may not enumerate shares: deny")
			}
			return end(rpcRestrictAnonymousShares, deny)
		case op.Name == "NetrShareEnum" && r.Level == 501:
			if tr != nil {
				tr.printf("gate anonymous: NetrShareEnum level 501 is refused to anonymous callers whatever RestrictAnonymous says, as on Windows: deny")
			}
			return end(rpcAnonymousShareLevel, deny)
		case (op.kind == kindLsaOpen || op.kind == kindLsaHandle && !r.OnHandle) && lsa.TurnOffAnonymousBlock == 0:
			if tr != nil {
				tr.printf("gate anonymous: Lsa TurnOffAnonymousBlock = 0 (LsaRestrictAnonymous): anonymous callers may not open the LSA policy on a server that is not a domain controller: deny")
			}
			return end(rpcLsaBlock, deny)
		case (op.kind == kindSamConnect || op.kind == kindSamHandle && !r.OnHandle) && (lsa.RestrictAnonymousSAM != 0 || lsa.RestrictAnonymous >= 1):
			if tr != nil {
				tr.printf("gate anonymous: Lsa RestrictAnonymousSAM = %d, RestrictAnonymous = %d: anonymous callers may not connect to SAMR to enumerate accounts: deny",
					lsa.RestrictAnonymousSAM, lsa.RestrictAnonymous)
			}
			return end(rpcRestrictAnonymousSAM, deny)
		default:
			if tr != nil {
				tr.printf("gate anonymous: RestrictAnonymous = %d, RestrictAnonymousSAM = %d, TurnOffAnonymousBlock = %d: pass",
					lsa.RestrictAnonymous, lsa.RestrictAnonymousSAM, lsa.TurnOffAnonymousBlock)
			}
		}
	}
	if op.kind == kindTCPOnly {
		if tr != nil {
			tr.printf("gate transport: %s is served over ncacn_ip_tcp only (MS-LSAT 2.1); smbpipe serves named pipes: deny", op.Name)
		}
		return end(rpcTransport, deny)
	}

	samConnect := op.kind == kindSamConnect || op.kind == kindSamHandle && !r.OnHandle
	// Gate 3: RestrictRemoteSAM.
	if samConnect && bypass&rgRemoteSAM == 0 {
		if s.remoteSAM == nil {
			if tr != nil {
				tr.printf("gate RestrictRemoteSAM: empty: no restriction")
			}
		} else if res := security.Check(s.remoteSAM, tok, security.ReadControl, security.CheckOptions{Mapping: SAMServerMapping()}); res.Status != ntstatus.Success {
			if tr != nil {
				tr.printf("gate RestrictRemoteSAM: %s grants this token no READ_CONTROL: deny", lsa.RestrictRemoteSAM)
			}
			return end(rpcRemoteSAM, deny)
		} else if tr != nil {
			tr.printf("gate RestrictRemoteSAM: %s grants READ_CONTROL: pass", lsa.RestrictRemoteSAM)
		}
	}

	// Gate 4: administrator-only levels and calls.
	if need, what := adminNeeded(op, r.Level); need && bypass&rgAdmin == 0 {
		if !isAdmin(tok, op.Interface == ServiceSrvsvc) {
			if tr != nil {
				tr.printf("gate administrators: %s is for Administrators%s only: deny", what, map[bool]string{true: " and Server Operators"}[op.Interface == ServiceSrvsvc])
			}
			return end(rpcAdmin, deny)
		}
		if tr != nil {
			tr.printf("gate administrators: %s: the token holds BUILTIN\\Administrators%s: pass", what, map[bool]string{true: " or Server Operators"}[op.Interface == ServiceSrvsvc])
		}
	}

	// Gate 5: the object.
	switch {
	case op.kind == kindLsaOpen || op.kind == kindLsaHandle && !r.OnHandle:
		res, denied := s.objectGate(&d, tr, tok, objectAccess(r, op.kind == kindLsaHandle), bypass, s.lsaPolicySD, LSAPolicyMapping(), "the LSA policy's", lsaPolicySDDL)
		if denied {
			return end(rpcLsaPolicySD, deny)
		}
		d.Granted = res.Granted
		if op.kind == kindLsaOpen {
			break
		}
		fallthrough
	case op.kind == kindLsaHandle:
		have := r.Access
		if !r.OnHandle {
			have = d.Granted
			d.Granted = 0
		}
		need := op.need
		switch {
		case op.HasLevel():
			need = lsaQueryNeed(r.Level)
		case op.Name == "LsarQuerySecurityObject":
			need = securityInfoNeed(r.Level)
		}
		if need&^have != 0 && bypass&rgObject == 0 {
			d.facts.need, d.facts.have = need, have
			if tr != nil {
				tr.printf("gate handle: %s needs 0x%08X on the policy handle, which has 0x%08X: deny", op.Name, need, have)
			}
			return end(rpcLsaHandle, deny)
		}
		if tr != nil && need != 0 {
			tr.printf("gate handle: %s needs 0x%08X on the policy handle, which has 0x%08X: pass", op.Name, need, have)
		}
	case op.kind == kindSamConnect || op.kind == kindSamHandle && !r.OnHandle:
		res, denied := s.objectGate(&d, tr, tok, objectAccess(r, op.kind == kindSamHandle), bypass, s.samServerSD, SAMServerMapping(), "the SAM server's", samServerSDDL)
		if denied {
			return end(rpcSamServerSD, deny)
		}
		if op.kind == kindSamConnect {
			d.Granted = res.Granted
			break
		}
		fallthrough
	case op.kind == kindSamHandle:
		if by := s.samHandleGate(&d, tr, tok, r, op, bypass); by != 0 {
			return end(by, deny)
		}
	}
	return end(rpcGranted, ntstatus.Success)
}

// samHandleGate decides a call on a SAM handle (MS-SAMR 3.1.2.1): the
// rights it needs on the handle (what it was granted, on the server's
// path; without OnHandle, all the object's descriptor grants the caller),
// then, for a call that opens an object, Desired (MAXIMUM_ALLOWED without
// OnHandle) against that object's descriptor, which sets Granted. It
// returns the refusing outcome, 0 when the call passes.
func (s *Snapshot) samHandleGate(d *RPCDecision, tr *trace, tok *security.Token, r RPCRequest, op RPCOp, bypass rpcGate) rpcOutcome {
	c, ok := samCalls[op.Name]
	if !ok {
		if tr != nil {
			tr.printf("gate handle: %s needs no right on its handle: pass", op.Name)
		}
		return 0
	}
	on := s.samSD(c.on)
	have := r.Access
	if !r.OnHandle {
		have = s.maxGranted(on.sd, tok, on.m)
	}
	need := samNeed(op, c, r.Level)
	if need&^have != 0 && bypass&rgObject == 0 {
		d.facts.need, d.facts.have = need, have
		if tr != nil {
			tr.printf("gate handle: %s needs 0x%08X on its handle to %s, which has 0x%08X: deny", op.Name, need, strings.TrimSuffix(on.name, "'s")[4:], have)
		}
		return rpcSamHandle
	}
	if tr != nil {
		tr.printf("gate handle: %s needs 0x%08X on its handle, which has 0x%08X: pass", op.Name, need, have)
	}
	if c.opens == samNone {
		return 0
	}
	o := s.samSD(c.opens)
	desired := r.Desired
	if !r.OnHandle {
		desired = security.MaximumAllowed
	}
	res, denied := s.objectGate(d, tr, tok, desired, bypass, o.sd, o.m, o.name, o.sddl)
	if denied {
		d.facts.obj = o.name
		return rpcSamObjectSD
	}
	d.Granted = res.Granted
	return 0
}

// objectGate checks desired against an object's descriptor sd (whose
// names it, sddl its text, for the trace): it returns the result and
// whether the gate denies (the check fails and rgObject is not bypassed),
// then with the rights needed and held in d's facts.
func (s *Snapshot) objectGate(d *RPCDecision, tr *trace, tok *security.Token, desired uint32, bypass rpcGate,
	sd *security.SecurityDescriptor, m security.GenericMapping, whose, sddl string) (security.Result, bool) {
	res := security.Check(sd, tok, desired, security.CheckOptions{Mapping: m})
	if res.Status != ntstatus.Success && bypass&rgObject == 0 {
		d.facts.need, d.facts.have = res.Desired, s.maxGranted(sd, tok, m)
		if tr != nil {
			tr.printf("gate object: %s descriptor %s grants 0x%08X of 0x%08X: deny", whose, sddl, d.facts.have, res.Desired)
		}
		return res, true
	}
	if tr != nil {
		tr.printf("gate object: %s descriptor %s grants 0x%08X", whose, sddl, res.Granted)
	}
	return res, false
}

// objectAccess is the access a call asks of an object's descriptor: the
// desired access, or all the descriptor grants for a call on a handle
// (onHandle) made without one.
func objectAccess(r RPCRequest, onHandle bool) uint32 {
	if onHandle {
		return security.MaximumAllowed
	}
	return r.Access
}

func (s *Snapshot) maxGranted(sd *security.SecurityDescriptor, tok *security.Token, m security.GenericMapping) uint32 {
	return security.Check(sd, tok, security.MaximumAllowed, security.CheckOptions{Mapping: m}).Granted
}

// adminNeeded reports whether a call at a level is for administrators.
func adminNeeded(op RPCOp, level uint32) (bool, string) {
	switch op.kind {
	case kindSrvAdmin:
		return true, op.Name
	case kindShareEnum, kindShareInfo:
		if level == 2 || level == 502 || level == 503 || op.kind == kindShareInfo && level == 1501 {
			return true, fmt.Sprintf("%s level %d", op.Name, level)
		}
	case kindServerInfo:
		if level == 102 || level == 502 || level == 503 {
			return true, fmt.Sprintf("%s level %d", op.Name, level)
		}
	case kindWkstaInfo:
		if level == 102 || level == 502 {
			return true, fmt.Sprintf("%s level %d", op.Name, level)
		}
	}
	return false, ""
}

// isAdmin reports whether tok holds BUILTIN\Administrators (or, with
// serverOps, BUILTIN\Server Operators).
func isAdmin(tok *security.Token, serverOps bool) bool {
	if tok.Contains(security.BuiltinAdministrators()) {
		return true
	}
	so, _ := security.NewSID(5, 32, 549)
	return serverOps && tok.Contains(so)
}

// lsaQueryNeed is the right LsarQueryInformationPolicy needs for a class
// (MS-LSAD 3.1.4.4.3); 0 for a class the service refuses itself.
func lsaQueryNeed(class uint32) uint32 {
	switch class {
	case 1, 2, 11: // audit log, audit events, audit full query (10 is audit full set, not a query)
		return PolicyViewAuditInformation
	case 4: // PdAccount
		return PolicyGetPrivateInformation
	}
	return PolicyViewLocalInformation
}

// securityInfoNeed is the right reading the parts of a descriptor a
// SECURITY_INFORMATION names needs: READ_CONTROL for the owner, group and
// DACL, ACCESS_SYSTEM_SECURITY for the SACL (MS-DTYP 2.4.7).
func securityInfoNeed(info uint32) uint32 {
	var need uint32
	if info&0x7 != 0 {
		need |= security.ReadControl
	}
	if info&0x8 != 0 {
		need |= 0x01000000
	}
	return need
}

// LSAPolicyDescriptor is the LSA policy object's security descriptor
// (LsarQuerySecurityObject), generic rights mapped.
func (s *Snapshot) LSAPolicyDescriptor() *security.SecurityDescriptor { return s.lsaPolicySD }

func levelText(op RPCOp, level uint32) string {
	if !op.HasLevel() {
		return ""
	}
	if op.kind == kindLsaHandle {
		return fmt.Sprintf(" class %d", level)
	}
	return fmt.Sprintf(" level %d", level)
}

// rpcReason writes the reason of a decision from its facts.
func (s *Snapshot) rpcReason(f *rpcFacts) string {
	lsa := s.cfg.Lsa
	switch f.by {
	case rpcGranted:
		return "allowed"
	case rpcUnknownCall:
		return fmt.Sprintf("%s.%s is not a call of the Windows services smbpipe serves", f.req.Interface, f.req.Op)
	case rpcUnknownUser:
		return fmt.Sprintf("the session names user %q, which is not an account of this server", f.req.Identity.User)
	case rpcPipe:
		return "the CREATE of the service's pipe is refused: " + f.pipe.Why()
	case rpcRestrictAnonymous2:
		return fmt.Sprintf("Lsa RestrictAnonymous = %d refuses anonymous callers every call", lsa.RestrictAnonymous)
	case rpcRestrictAnonymousShares:
		return "Lsa RestrictAnonymous = 1 refuses anonymous callers the share list"
	case rpcAnonymousShareLevel:
		return "anonymous callers may list shares at levels 0 and 1 only (NetrShareEnum level 501 is refused them, as on Windows)"
	case rpcRestrictAnonymousSAM:
		return fmt.Sprintf("anonymous callers may not enumerate SAM accounts (Lsa RestrictAnonymousSAM = %d, RestrictAnonymous = %d): SamrConnect is refused", lsa.RestrictAnonymousSAM, lsa.RestrictAnonymous)
	case rpcLsaBlock:
		return "anonymous callers may not open the LSA policy of a server that is not a domain controller (Lsa TurnOffAnonymousBlock = 0)"
	case rpcTransport:
		return fmt.Sprintf("%s is served over TCP only, never over a named pipe", f.op.Name)
	case rpcRemoteSAM:
		return fmt.Sprintf("Lsa RestrictRemoteSAM %q does not grant this caller READ_CONTROL: remote SAMR is for administrators only", lsa.RestrictRemoteSAM)
	case rpcAdmin:
		_, what := adminNeeded(f.op, f.req.Level)
		return what + " is for administrators only, as on Windows"
	case rpcLsaPolicySD:
		return fmt.Sprintf("the LSA policy's descriptor grants this caller 0x%08X, not the 0x%08X asked", f.have, f.need)
	case rpcLsaHandle:
		return fmt.Sprintf("%s needs 0x%08X on the policy handle, which was granted 0x%08X", f.op.Name, f.need, f.have)
	case rpcSamServerSD:
		return fmt.Sprintf("the SAM server's descriptor grants this caller 0x%08X, not the 0x%08X asked", f.have, f.need)
	case rpcSamHandle:
		return fmt.Sprintf("%s needs 0x%08X on its SAM handle, which was granted 0x%08X", f.op.Name, f.need, f.have)
	case rpcSamObjectSD:
		return fmt.Sprintf("%s descriptor grants this caller 0x%08X, not the 0x%08X asked", f.obj, f.have, f.need)
	}
	return ""
}

// rpcFixes lists the changes that together would allow r (see fixes).
func (s *Snapshot) rpcFixes(r RPCRequest, d *RPCDecision, bypass rpcGate) []string {
	var out []string
	if d.facts.by == rpcPipe {
		out = append(out, d.facts.pipe.Fixes...)
		if len(out) == 0 {
			out = s.fixes(d.facts.pipe.facts.req, d.facts.pipe, 0)
		}
	} else if fix := s.rpcFix(&d.facts); fix != "" {
		out = append(out, fix)
	}
	if len(out) == 0 {
		return nil
	}
	if g := rpcOutcomes[d.facts.by].gate; g != 0 && bypass&g == 0 {
		if next := s.decideRPC(r, bypass|g, nil); !next.Allowed {
			if next.facts.by == rpcPipe {
				next.facts.pipe.Fixes = s.fixes(next.facts.pipe.facts.req, next.facts.pipe, 0)
			}
			out = append(out, s.rpcFixes(r, &next, bypass|g)...)
		}
	}
	return out
}

func (s *Snapshot) rpcFix(f *rpcFacts) string {
	lsa := s.cfg.Lsa
	switch f.by {
	case rpcUnknownUser:
		return fmt.Sprintf("add an [[account]] named %q", f.req.Identity.User)
	case rpcRestrictAnonymous2:
		return `set Lsa\RestrictAnonymous = 0 (or 1)`
	case rpcRestrictAnonymousShares:
		return `set Lsa\RestrictAnonymous = 0, or connect with an account`
	case rpcAnonymousShareLevel:
		return "ask for level 0 or 1, or connect with an account"
	case rpcRestrictAnonymousSAM:
		if lsa.RestrictAnonymous >= 1 {
			return `set Lsa\RestrictAnonymousSAM = 0 and Lsa\RestrictAnonymous = 0, or connect with an account`
		}
		return `set Lsa\RestrictAnonymousSAM = 0, or connect with an account`
	case rpcLsaBlock:
		return `set Lsa\TurnOffAnonymousBlock = 1 ("Network access: Allow anonymous SID/Name translation"), or connect with an account`
	case rpcRemoteSAM:
		who, principal := s.principal(f.req.Identity, f.tok)
		if f.req.Identity.Kind == User {
			return fmt.Sprintf(`add %s to Administrators (groups = ["Administrators"] in its [[account]]), or add (A;;RC;;;%s) to Lsa\RestrictRemoteSAM`, f.req.Identity.User, security.FormatSIDToken(principal, s.ctx))
		}
		return fmt.Sprintf(`add (A;;RC;;;%s) to Lsa\RestrictRemoteSAM (for %s), or connect as an administrator`, security.FormatSIDToken(principal, s.ctx), who)
	case rpcAdmin:
		if f.req.Identity.Kind == User {
			return fmt.Sprintf(`add %s to Administrators: groups = ["Administrators"] in its [[account]]`, f.req.Identity.User)
		}
		return "connect with an account in Administrators"
	case rpcLsaPolicySD, rpcSamServerSD, rpcSamObjectSD:
		if f.req.Identity.Kind == Anonymous && lsa.EveryoneIncludesAnonymous == 0 {
			return `set Lsa\EveryoneIncludesAnonymous = 1 (the descriptor grants Everyone), or connect with an account`
		}
		return "ask for the access the descriptor grants (MAXIMUM_ALLOWED), or connect as an administrator"
	case rpcLsaHandle:
		return "open the policy with the access the call needs (MAXIMUM_ALLOWED), or connect as an administrator"
	case rpcSamHandle:
		return "open the handle with the access the call needs (MAXIMUM_ALLOWED), or connect as an administrator"
	case rpcTransport:
		return "use LsarLookupSids2 / LsarLookupNames3 over \\pipe\\lsarpc"
	}
	return ""
}
