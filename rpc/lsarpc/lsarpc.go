// Package lsarpc is the LSA RPC interface (MS-LSAT and MS-LSAD,
// 12345778-1234-abcd-ef00-0123456789ab version 0.0, \pipe\lsarpc and
// \pipe\lsass) as a stand-alone or member server presents it: the policy
// handle, the domain information of a server outside a domain, and the
// translation of SIDs and names over this server's accounts, the BUILTIN
// aliases and the well-known SIDs.
//
// Served: LsarClose (0), LsarQuerySecurityObject (3: the policy object's
// descriptor, READ_CONTROL for its owner, group and DACL), LsarOpenPolicy
// (6), LsarEnumerateAccounts (11), LsarEnumerateTrustedDomains (13) and
// LsarEnumerateTrustedDomainsEx (50) (none: STATUS_NO_MORE_ENTRIES),
// LsarQueryInformationPolicy
// (7) and LsarQueryInformationPolicy2 (46) for classes 3 (primary
// domain), 5 (account domain), 6 (server role), 12 (DNS domain) and 13,
// LsarLookupNames (14), LsarLookupSids (15), LsarOpenPolicy2 (44),
// LsarGetUserName (45), LsarLookupSids2 (57), LsarLookupNames2 (58),
// LsarLookupNames3 (68); LsarLookupSids3 (76) and LsarLookupNames4 (77)
// are refused over a named pipe (they are TCP-only) with
// STATUS_ACCESS_DENIED. Who may open the policy and what the handle
// allows is policy.Snapshot.DecideRPC's (TurnOffAnonymousBlock, the
// policy object's descriptor). Clients bound at auth level CONNECT are
// refused, as on Windows. DSSetupInterface is dssetup (MS-DSSP), which
// Windows serves on the same pipe.
package lsarpc

import (
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/security"
)

// Syntax is the lsarpc interface's.
var Syntax = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("12345778-1234-abcd-ef00-0123456789ab"), Major: 0}

// Opnums.
const (
	OpClose                     = 0
	OpOpenPolicy                = 6
	OpQueryInformationPolicy    = 7
	OpEnumerateAccounts         = 11
	OpEnumerateTrustedDomains   = 13
	OpLookupNames               = 14
	OpLookupSids                = 15
	OpOpenPolicy2               = 44
	OpGetUserName               = 45
	OpQueryInformationPolicy2   = 46
	OpEnumerateTrustedDomainsEx = 50
	OpLookupSids2               = 57
	OpLookupNames2              = 58
	OpLookupNames3              = 68
	OpLookupSids3               = 76
	OpLookupNames4              = 77
)

// Limits on one lookup (MS-LSAT 3.1.4.5, 3.1.4.9).
const (
	MaxLookupSids  = 20480
	MaxLookupNames = 1000
)

// Interface returns the lsarpc interface served with env.
func Interface(env svc.Env) dcerpc.Interface {
	s := &service{env: env}
	return dcerpc.Interface{Name: "lsarpc", Syntax: Syntax, Ops: []dcerpc.Op{
		OpClose:                     {Name: "LsarClose", Func: svc.CloseHandle},
		OpQuerySecurityObject:       {Name: "LsarQuerySecurityObject", Func: s.querySecurity},
		OpOpenPolicy:                {Name: "LsarOpenPolicy", Func: s.openPolicy},
		OpQueryInformationPolicy:    {Name: "LsarQueryInformationPolicy", Func: s.queryInfo},
		OpEnumerateAccounts:         {Name: "LsarEnumerateAccounts", Func: s.enumNone},
		OpEnumerateTrustedDomains:   {Name: "LsarEnumerateTrustedDomains", Func: s.enumNone},
		OpEnumerateTrustedDomainsEx: {Name: "LsarEnumerateTrustedDomainsEx", Func: s.enumNone},
		OpLookupNames:               {Name: "LsarLookupNames", Func: s.lookupNames},
		OpLookupSids:                {Name: "LsarLookupSids", Func: s.lookupSids},
		OpOpenPolicy2:               {Name: "LsarOpenPolicy2", Func: s.openPolicy},
		OpGetUserName:               {Name: "LsarGetUserName", Func: s.getUserName},
		OpQueryInformationPolicy2:   {Name: "LsarQueryInformationPolicy2", Func: s.queryInfo},
		OpLookupSids2:               {Name: "LsarLookupSids2", Func: s.lookupSids},
		OpLookupNames2:              {Name: "LsarLookupNames2", Func: s.lookupNames},
		OpLookupNames3:              {Name: "LsarLookupNames3", Func: s.lookupNames},
		OpLookupSids3:               {Name: "LsarLookupSids3", Func: s.lookupSids},
		OpLookupNames4:              {Name: "LsarLookupNames4", Func: s.lookupNames},
	}}
}

type service struct{ env svc.Env }

// policyHandle is the value of an open policy handle.
type policyHandle struct{ granted uint32 }

// decide checks a call on a handle (or an open when h is nil).
func (s *service) decide(c *dcerpc.Call, level, access uint32, onHandle bool) (policy.RPCDecision, *policy.Snapshot) {
	return s.env.Check(c, policy.RPCRequest{Interface: policy.ServiceLsarpc, Op: svc.OpName(c), Level: level,
		Access: access, OnHandle: onHandle})
}

// ObjectAttributes is LSAPR_OBJECT_ATTRIBUTES; the server ignores it but
// reads it whole.
type ObjectAttributes struct {
	Length        uint32
	RootDirectory *uint8
	ObjectName    *string
	Attributes    uint32
	QoS           *QoS
}

// QoS is SECURITY_QUALITY_OF_SERVICE.
type QoS struct {
	Length             uint32
	ImpersonationLevel uint16
	ContextTracking    uint8
	EffectiveOnly      uint8
}

// UnmarshalNDR reads the structure (a top-level [in] parameter). A
// security descriptor in it is refused: no client sends one.
func (a *ObjectAttributes) UnmarshalNDR(r *ndr.Reader) {
	a.Length = r.Uint32()
	r.DeferUnique(func(r *ndr.Reader) { v := r.Uint8(); a.RootDirectory = &v })
	r.DeferUnique(func(r *ndr.Reader) { v := r.WString(); a.ObjectName = &v })
	a.Attributes = r.Uint32()
	if r.UniquePtr() {
		r.Fail("LSAPR_OBJECT_ATTRIBUTES with a security descriptor")
	}
	r.DeferUnique(func(r *ndr.Reader) {
		q := new(QoS)
		q.Length = r.Uint32()
		q.ImpersonationLevel = r.Enum()
		q.ContextTracking = r.Uint8()
		q.EffectiveOnly = r.Uint8()
		a.QoS = q
	})
	r.Flush()
}

// MarshalNDR writes it (a client's view): no root directory, name or
// descriptor.
func (a *ObjectAttributes) MarshalNDR(w *ndr.Writer) {
	w.Uint32(24)
	w.UniquePtr(false)
	w.UniquePtr(false)
	w.Uint32(a.Attributes)
	w.UniquePtr(false)
	w.DeferUnique(a.QoS != nil, func(w *ndr.Writer) {
		w.Uint32(a.QoS.Length)
		w.Enum(a.QoS.ImpersonationLevel)
		w.Uint8(a.QoS.ContextTracking)
		w.Uint8(a.QoS.EffectiveOnly)
	})
	w.Flush()
}

// NTSTATUS LsarOpenPolicy([in,unique] wchar_t* SystemName, [in]
// PLSAPR_OBJECT_ATTRIBUTES ObjectAttributes, [in] ACCESS_MASK
// DesiredAccess, [out] LSAPR_HANDLE* PolicyHandle); LsarOpenPolicy2 has a
// [string] SystemName.
func (s *service) openPolicy(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	if r.UniquePtr() {
		if c.Opnum() == OpOpenPolicy {
			r.Uint16() // a single WCHAR: the "screwup" Samba's IDL notes
		} else {
			r.WString()
		}
	}
	var attr ObjectAttributes
	attr.UnmarshalNDR(r)
	desired := r.Uint32()
	if r.Err() != nil {
		return nil
	}
	d, _ := s.decide(c, 0, desired, false)
	if !d.Allowed {
		w.ContextHandle(ndr.ContextHandle{})
		w.Uint32(uint32(d.Status))
		return nil
	}
	w.ContextHandle(c.NewHandle(&policyHandle{granted: d.Granted}))
	w.Uint32(0)
	return nil
}

func (s *service) handle(c *dcerpc.Call, h ndr.ContextHandle) (*policyHandle, error) {
	return dcerpc.HandleValue[*policyHandle](c, h)
}

// NTSTATUS LsarEnumerateTrustedDomains(PolicyHandle, [in,out]
// EnumerationContext, [out] PLSAPR_TRUSTED_ENUM_BUFFER, [in]
// PreferedMaximumLength): a stand-alone server trusts no domain, so an
// empty list and STATUS_NO_MORE_ENTRIES. LsarEnumerateTrustedDomainsEx
// (LSAPR_TRUSTED_ENUM_BUFFER_EX) and LsarEnumerateAccounts
// (LSAPR_ACCOUNT_ENUM_BUFFER: the account objects of the LSA database,
// the SIDs user rights are given to, of which smbpipe keeps none) have
// the same parameters and the same answer.
func (s *service) enumNone(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	resume := r.Uint32()
	r.Uint32()
	if r.Err() != nil {
		return nil
	}
	ph, err := s.handle(c, h)
	if err != nil {
		return err
	}
	d, _ := s.decide(c, 0, ph.granted, true)
	w.Uint32(resume)
	w.Uint32(0)
	w.UniquePtr(false)
	if !d.Allowed {
		w.Uint32(uint32(d.Status))
		return nil
	}
	w.Uint32(svc.StatusNoMoreEntries)
	return nil
}

// Policy information classes served.
const (
	ClassPrimaryDomain = 3
	ClassAccountDomain = 5
	ClassServerRole    = 6
	ClassDNSDomain     = 12
	ClassDNSDomainInt  = 13
)

// PolicyInfo is the answer to a QueryInformationPolicy class: the fields
// each class uses.
type PolicyInfo struct {
	Class     uint16
	Name      string // 3, 5, 12: the domain name
	DNSDomain string // 12
	DNSForest string // 12
	GUID      ndr.UUID
	SID       *security.SID // nil: NULL
	Role      uint32        // 6
}

func classKnown(c uint16) bool {
	switch c {
	case ClassPrimaryDomain, ClassAccountDomain, ClassServerRole, ClassDNSDomain, ClassDNSDomainInt:
		return true
	}
	return false
}

func writeOptSID(w *ndr.Writer, s *security.SID) {
	w.DeferUnique(s != nil, func(w *ndr.Writer) { svc.WriteSID(w, *s) })
}

func readOptSID(r *ndr.Reader, dst **security.SID) {
	r.DeferUnique(func(r *ndr.Reader) { s := svc.ReadSID(r); *dst = &s })
}

// MarshalNDR writes the union: its uint16 discriminant and arm.
func (p *PolicyInfo) MarshalNDR(w *ndr.Writer) {
	w.Uint16(p.Class)
	switch p.Class {
	case ClassPrimaryDomain, ClassAccountDomain:
		w.UnicodeString(p.Name)
		writeOptSID(w, p.SID)
	case ClassServerRole:
		w.Uint32(p.Role)
	case ClassDNSDomain, ClassDNSDomainInt:
		w.UnicodeString(p.Name)
		w.UnicodeString(p.DNSDomain)
		w.UnicodeString(p.DNSForest)
		w.UUID(p.GUID)
		writeOptSID(w, p.SID)
	}
}

// UnmarshalNDR reads it.
func (p *PolicyInfo) UnmarshalNDR(r *ndr.Reader) {
	p.Class = r.Uint16()
	switch p.Class {
	case ClassPrimaryDomain, ClassAccountDomain:
		r.UnicodeString(&p.Name)
		readOptSID(r, &p.SID)
	case ClassServerRole:
		p.Role = r.Uint32()
	case ClassDNSDomain, ClassDNSDomainInt:
		r.UnicodeString(&p.Name)
		r.UnicodeString(&p.DNSDomain)
		r.UnicodeString(&p.DNSForest)
		p.GUID = r.UUID()
		readOptSID(r, &p.SID)
	default:
		r.Fail("unknown POLICY_INFORMATION_CLASS")
	}
}

// Info returns the answer for a class on snap's server: a stand-alone
// server in a workgroup (no primary domain SID, no DNS domain), its
// account domain named after it with the machine SID, role primary.
func Info(snap *policy.Snapshot, class uint16) PolicyInfo {
	cfg := snap.Config()
	p := PolicyInfo{Class: class}
	switch class {
	case ClassPrimaryDomain, ClassDNSDomain, ClassDNSDomainInt:
		p.Name = cfg.Domain
	case ClassAccountDomain:
		p.Name = cfg.ServerName
		m := snap.MachineSID()
		p.SID = &m
	case ClassServerRole:
		p.Role = 3 // PolicyServerRolePrimary: a stand-alone server is its accounts' primary
	}
	return p
}

// NTSTATUS LsarQueryInformationPolicy([in] LSAPR_HANDLE PolicyHandle, [in]
// POLICY_INFORMATION_CLASS InformationClass, [out,switch_is(...)]
// PLSAPR_POLICY_INFORMATION* PolicyInformation); the same for
// LsarQueryInformationPolicy2.
func (s *service) queryInfo(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	class := r.Enum()
	if r.Err() != nil {
		return nil
	}
	ph, err := s.handle(c, h)
	if err != nil {
		return err
	}
	st := uint32(0)
	d, snap := s.decide(c, uint32(class), ph.granted, true)
	switch {
	case !d.Allowed:
		st = uint32(d.Status)
	case !classKnown(class):
		st = svc.StatusInvalidParam
	}
	if st != 0 {
		w.UniquePtr(false)
		w.Uint32(st)
		return nil
	}
	info := Info(snap, class)
	w.UniquePtr(true)
	info.MarshalNDR(w)
	w.Flush()
	w.Uint32(0)
	return nil
}

// NTSTATUS LsarGetUserName([in,unique,string] wchar_t* SystemName,
// [in,out] PRPC_UNICODE_STRING* UserName, [in,out,unique]
// PRPC_UNICODE_STRING* DomainName): the caller, no access check (MS-LSAT
// 3.1.4.4).
func (s *service) getUserName(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	svc.UniqueWString(r)
	var ignored string
	if r.UniquePtr() { // *UserName
		r.UnicodeString(&ignored)
		r.Flush()
	}
	domainWanted := r.UniquePtr() // DomainName
	if domainWanted && r.UniquePtr() {
		r.UnicodeString(&ignored)
		r.Flush()
	}
	if r.Err() != nil {
		return nil
	}
	d, snap := s.env.Check(c, policy.RPCRequest{Interface: policy.ServiceLsarpc, Op: "LsarGetUserName"})
	if !d.Allowed {
		w.UniquePtr(false)
		if w.UniquePtr(domainWanted) {
			w.UniquePtr(false)
		}
		w.Uint32(uint32(d.Status))
		return nil
	}
	user, domain := UserName(snap, c.Caller())
	w.UniquePtr(true)
	w.UnicodeString(user)
	w.Flush()
	if w.UniquePtr(domainWanted) {
		w.UniquePtr(true)
		w.UnicodeString(domain)
		w.Flush()
	}
	w.Uint32(0)
	return nil
}

// UserName is what LsarGetUserName answers for a caller: ANONYMOUS LOGON
// in NT AUTHORITY, Guest or the account in the server's account domain.
func UserName(snap *policy.Snapshot, c dcerpc.Caller) (user, domain string) {
	switch {
	case c.Anonymous:
		return "ANONYMOUS LOGON", "NT AUTHORITY"
	case c.Guest:
		return "Guest", snap.Config().ServerName
	}
	if _, name, ok := snap.LookupAccount(c.User); ok {
		return name, snap.Config().ServerName
	}
	return c.User, c.Domain
}
