// Package samr is the Security Account Manager remote interface
// (MS-SAMR, 12345778-1234-abcd-ef00-0123456789ac version 1.0, \pipe\samr)
// as a stand-alone server presents it, read-only: its account domain
// (named after the server, the machine SID) with Administrator, Guest and
// the [[account]] entries, the group None, and the BUILTIN domain with
// its aliases and their members.
//
// Who may connect is policy.Snapshot.DecideRPC's, at SamrConnect* as
// Windows decides it: RestrictRemoteSAM (administrators only by default),
// RestrictAnonymousSAM and RestrictAnonymous for anonymous callers, the
// SAM server's descriptor. Calls on the handles a connect returns have no
// further check (SAMR's per-object descriptors are not modelled): a
// caller who may connect may read every account's non-secret attributes.
// Clients bound at auth level CONNECT are refused, as on Windows.
//
// Served: Connect (0), CloseHandle (1), LookupDomainInSamServer (5),
// EnumerateDomainsInSamServer (6), OpenDomain (7),
// QueryInformationDomain (8) and QueryInformationDomain2 (46) levels 1 to
// 9, EnumerateGroupsInDomain (11), EnumerateUsersInDomain (13),
// EnumerateAliasesInDomain (15), GetAliasMembership (16),
// LookupNamesInDomain (17), LookupIdsInDomain (18), OpenUser (34),
// QueryInformationUser (36) and QueryInformationUser2 (47) levels 16 and
// 21 (no password hashes: the OWF fields are empty), GetGroupsForUser
// (39), QueryDisplayInformation (40, 48, 51) levels 1 to 3, Connect2 (57),
// Connect4 (62), Connect5 (64). No call writes.
package samr

import (
	"strings"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/security"
)

// Syntax is the samr interface's.
var Syntax = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("12345778-1234-abcd-ef00-0123456789ac"), Major: 1}

// Opnums.
const (
	OpConnect                            = 0
	OpCloseHandle                        = 1
	OpLookupDomainInSamServer            = 5
	OpEnumerateDomainsInSamServer        = 6
	OpOpenDomain                         = 7
	OpQueryInformationDomain             = 8
	OpEnumerateGroupsInDomain            = 11
	OpEnumerateUsersInDomain             = 13
	OpEnumerateAliasesInDomain           = 15
	OpGetAliasMembership                 = 16
	OpLookupNamesInDomain                = 17
	OpLookupIdsInDomain                  = 18
	OpOpenUser                           = 34
	OpQueryInformationUser               = 36
	OpGetGroupsForUser                   = 39
	OpQueryDisplayInformation            = 40
	OpQueryInformationDomain2            = 46
	OpQueryInformationUser2              = 47
	OpQueryDisplayInformation2           = 48
	OpQueryDisplayInformation3           = 51
	OpConnect2                           = 57
	OpConnect4                           = 62
	OpConnect5                           = 64
	maxOpnum                             = OpConnect5
	acbDisabled                   uint32 = 0x00000001
	acbNormal                     uint32 = 0x00000010
	acbPwNoExp                    uint32 = 0x00000200
	groupAttrs                    uint32 = 0x00000007 // SE_GROUP_MANDATORY | ENABLED_BY_DEFAULT | ENABLED
)

// Interface returns the samr interface served with env.
func Interface(env svc.Env) dcerpc.Interface {
	s := &service{env: env}
	ops := make([]dcerpc.Op, maxOpnum+1)
	set := func(n int, name string, f dcerpc.OpFunc) { ops[n] = dcerpc.Op{Name: name, Func: f} }
	set(OpConnect, "SamrConnect", s.connect)
	set(OpCloseHandle, "SamrCloseHandle", s.closeHandle)
	set(OpLookupDomainInSamServer, "SamrLookupDomainInSamServer", s.lookupDomain)
	set(OpEnumerateDomainsInSamServer, "SamrEnumerateDomainsInSamServer", s.enumDomains)
	set(OpOpenDomain, "SamrOpenDomain", s.openDomain)
	set(OpQueryInformationDomain, "SamrQueryInformationDomain", s.queryDomain)
	set(OpEnumerateGroupsInDomain, "SamrEnumerateGroupsInDomain", s.enumAccounts)
	set(OpEnumerateUsersInDomain, "SamrEnumerateUsersInDomain", s.enumAccounts)
	set(OpEnumerateAliasesInDomain, "SamrEnumerateAliasesInDomain", s.enumAccounts)
	set(OpGetAliasMembership, "SamrGetAliasMembership", s.aliasMembership)
	set(OpLookupNamesInDomain, "SamrLookupNamesInDomain", s.lookupNames)
	set(OpLookupIdsInDomain, "SamrLookupIdsInDomain", s.lookupIDs)
	set(OpOpenUser, "SamrOpenUser", s.openUser)
	set(OpQueryInformationUser, "SamrQueryInformationUser", s.queryUser)
	set(OpGetGroupsForUser, "SamrGetGroupsForUser", s.groupsForUser)
	set(OpQueryDisplayInformation, "SamrQueryDisplayInformation", s.queryDisplay)
	set(OpQueryInformationDomain2, "SamrQueryInformationDomain2", s.queryDomain)
	set(OpQueryInformationUser2, "SamrQueryInformationUser2", s.queryUser)
	set(OpQueryDisplayInformation2, "SamrQueryDisplayInformation2", s.queryDisplay)
	set(OpQueryDisplayInformation3, "SamrQueryDisplayInformation3", s.queryDisplay)
	set(OpConnect2, "SamrConnect2", s.connect)
	set(OpConnect4, "SamrConnect4", s.connect)
	set(OpConnect5, "SamrConnect5", s.connect)
	return dcerpc.Interface{Name: "samr", Syntax: Syntax, Ops: ops}
}

type service struct{ env svc.Env }

// The handles' values.
type (
	serverHandle struct{ granted uint32 }
	domainHandle struct {
		sid     security.SID
		builtin bool
	}
	userHandle struct {
		dom   *domainHandle
		entry svc.Entry
	}
)

func opName(c *dcerpc.Call) string { return c.Interface().Ops[c.Opnum()].Name }

// check decides a call on a handle.
func (s *service) check(c *dcerpc.Call) (bool, *policy.Snapshot, uint32) {
	d, snap := s.env.Check(c, policy.RPCRequest{Interface: policy.ServiceSamr, Op: opName(c), OnHandle: true})
	return d.Allowed, snap, uint32(d.Status)
}

// SamrConnect ([in,unique] wchar_t* ServerName: one character),
// SamrConnect2 ([string]), SamrConnect4 (+ ClientRevision), SamrConnect5
// (+ InVersion and InRevisionInfo, [out] OutVersion, OutRevisionInfo):
// DesiredAccess, [out] SAMPR_HANDLE* ServerHandle.
func (s *service) connect(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	op := c.Opnum()
	if r.UniquePtr() {
		if op == OpConnect {
			r.Uint16()
		} else {
			r.WString()
		}
	}
	if op == OpConnect4 {
		r.Uint32() // ClientRevision
	}
	desired := r.Uint32()
	var inVersion uint32
	if op == OpConnect5 {
		inVersion = r.Uint32()
		if disc := r.Uint32(); disc != inVersion {
			r.Fail("SAMPR_REVISION_INFO: discriminant differs from InVersion")
		}
		if inVersion == 1 {
			r.Uint32() // Revision
			r.Uint32() // SupportedFeatures
		}
	}
	if r.Err() != nil {
		return nil
	}
	writeOut := func(h ndr.ContextHandle, st uint32) {
		if op == OpConnect5 {
			w.Uint32(1)
			w.Uint32(1)
			w.Uint32(3) // SAM_CLIENT_WIN2K3 and later
			w.Uint32(0)
		}
		w.ContextHandle(h)
		w.Uint32(st)
	}
	if op == OpConnect5 && inVersion != 1 {
		writeOut(ndr.ContextHandle{}, svc.StatusNotSupported)
		return nil
	}
	d, _ := s.env.Check(c, policy.RPCRequest{Interface: policy.ServiceSamr, Op: opName(c), Access: desired})
	if !d.Allowed {
		writeOut(ndr.ContextHandle{}, uint32(d.Status))
		return nil
	}
	writeOut(c.NewHandle(&serverHandle{granted: d.Granted}), 0)
	return nil
}

// NTSTATUS SamrCloseHandle([in,out] SAMPR_HANDLE* SamHandle).
func (s *service) closeHandle(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
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

// NTSTATUS SamrLookupDomainInSamServer(ServerHandle, [in]
// PRPC_UNICODE_STRING Name, [out] PRPC_SID* DomainId).
func (s *service) lookupDomain(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	var name string
	r.UnicodeString(&name)
	r.Flush()
	if r.Err() != nil {
		return nil
	}
	if _, err := dcerpc.HandleValue[*serverHandle](c, h); err != nil {
		return err
	}
	ok, snap, st := s.check(c)
	if !ok {
		w.UniquePtr(false)
		w.Uint32(st)
		return nil
	}
	for _, d := range svc.Domains(snap) {
		if strings.EqualFold(d.Name, name) {
			w.UniquePtr(true)
			svc.WriteSID(w, d.SID)
			w.Uint32(0)
			return nil
		}
	}
	w.UniquePtr(false)
	w.Uint32(svc.StatusNoSuchDomain)
	return nil
}

// An Entry of SAMPR_ENUMERATION_BUFFER: a RID (or index) and a name.
type Entry struct {
	RID  uint32
	Name string
}

// WriteEntries writes the [out] PSAMPR_ENUMERATION_BUFFER* parameter.
func WriteEntries(w *ndr.Writer, es []Entry) {
	w.UniquePtr(true)
	w.Uint32(uint32(len(es)))
	w.DeferUnique(len(es) > 0, func(w *ndr.Writer) {
		w.MaxCount(len(es))
		for _, e := range es {
			w.Uint32(e.RID)
			w.UnicodeString(e.Name)
		}
	})
	w.Flush()
}

// ReadEntries reads it.
func ReadEntries(r *ndr.Reader) []Entry {
	var es []Entry
	if r.UniquePtr() {
		n := r.Uint32()
		r.DeferUnique(func(r *ndr.Reader) {
			if m := r.MaxCount(); m != n {
				r.Fail("enumeration buffer: size_is differs from EntriesRead")
			}
			es = make([]Entry, r.Elements(n, 12))
			for i := range es {
				es[i].RID = r.Uint32()
				r.UnicodeString(&es[i].Name)
			}
		})
	}
	r.Flush()
	return es
}

// NTSTATUS SamrEnumerateDomainsInSamServer(ServerHandle, [in,out]
// EnumerationContext, [out] PSAMPR_ENUMERATION_BUFFER* Buffer, [in]
// PreferedMaximumLength, [out] CountReturned).
func (s *service) enumDomains(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	resume := r.Uint32()
	r.Uint32()
	if r.Err() != nil {
		return nil
	}
	if _, err := dcerpc.HandleValue[*serverHandle](c, h); err != nil {
		return err
	}
	ok, snap, st := s.check(c)
	var es []Entry
	if ok {
		for i, d := range svc.Domains(snap) {
			if uint32(i) >= resume {
				es = append(es, Entry{RID: uint32(i), Name: d.Name})
			}
		}
	}
	w.Uint32(0)
	WriteEntries(w, es)
	w.Uint32(uint32(len(es)))
	w.Uint32(st)
	return nil
}

// NTSTATUS SamrOpenDomain(ServerHandle, DesiredAccess, [in] PRPC_SID
// DomainId, [out] SAMPR_HANDLE* DomainHandle).
func (s *service) openDomain(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	r.Uint32()
	sid := svc.ReadSID(r)
	if r.Err() != nil {
		return nil
	}
	if _, err := dcerpc.HandleValue[*serverHandle](c, h); err != nil {
		return err
	}
	ok, snap, st := s.check(c)
	if !ok {
		w.ContextHandle(ndr.ContextHandle{})
		w.Uint32(st)
		return nil
	}
	for _, d := range svc.Domains(snap) {
		if d.SID == sid {
			w.ContextHandle(c.NewHandle(&domainHandle{sid: sid, builtin: d.Name == "BUILTIN"}))
			w.Uint32(0)
			return nil
		}
	}
	w.ContextHandle(ndr.ContextHandle{})
	w.Uint32(svc.StatusNoSuchDomain)
	return nil
}

// members lists what a domain holds: users, groups or aliases.
func members(snap *policy.Snapshot, d *domainHandle, op uint16) []svc.Entry {
	if d.builtin {
		if op == OpEnumerateAliasesInDomain {
			return svc.Aliases()
		}
		return nil
	}
	switch op {
	case OpEnumerateUsersInDomain:
		return svc.Accounts(snap)
	case OpEnumerateGroupsInDomain:
		return svc.Groups(snap)
	}
	return nil
}

// all lists every member of a domain.
func all(snap *policy.Snapshot, d *domainHandle) []svc.Entry {
	if d.builtin {
		return svc.Aliases()
	}
	return append(svc.Accounts(snap), svc.Groups(snap)...)
}

// NTSTATUS SamrEnumerateUsersInDomain(DomainHandle, [in,out]
// EnumerationContext, [in] UserAccountControl, [out] Buffer, [in]
// PreferedMaximumLength, [out] CountReturned); Groups and Aliases have no
// UserAccountControl. Everything is returned at once.
func (s *service) enumAccounts(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	resume := r.Uint32()
	if c.Opnum() == OpEnumerateUsersInDomain {
		r.Uint32()
	}
	r.Uint32()
	if r.Err() != nil {
		return nil
	}
	d, err := dcerpc.HandleValue[*domainHandle](c, h)
	if err != nil {
		return err
	}
	ok, snap, st := s.check(c)
	var es []Entry
	if ok {
		for _, m := range members(snap, d, c.Opnum()) {
			if m.RID() >= resume {
				es = append(es, Entry{RID: m.RID(), Name: m.Name})
			}
		}
	}
	w.Uint32(0)
	WriteEntries(w, es)
	w.Uint32(uint32(len(es)))
	w.Uint32(st)
	return nil
}

// writeIDs writes SAMPR_ULONG_ARRAY (a top-level [out] structure).
func writeIDs(w *ndr.Writer, ids []uint32) {
	w.Uint32(uint32(len(ids)))
	w.DeferUnique(len(ids) > 0, func(w *ndr.Writer) {
		w.MaxCount(len(ids))
		for _, v := range ids {
			w.Uint32(v)
		}
	})
	w.Flush()
}

// ReadIDs reads it.
func ReadIDs(r *ndr.Reader) []uint32 {
	n := r.Uint32()
	var ids []uint32
	r.DeferUnique(func(r *ndr.Reader) {
		if m := r.MaxCount(); m != n {
			r.Fail("ulong array: size_is differs from Count")
		}
		ids = make([]uint32, r.Elements(n, 4))
		for i := range ids {
			ids[i] = r.Uint32()
		}
	})
	r.Flush()
	return ids
}

// readSIDArray reads SAMPR_PSID_ARRAY (as LSAPR_SID_ENUM_BUFFER).
func readSIDArray(r *ndr.Reader) []security.SID {
	n := r.Uint32()
	var sids []security.SID
	r.DeferUnique(func(r *ndr.Reader) {
		if m := r.MaxCount(); m != n {
			r.Fail("SID array: size_is differs from Count")
		}
		sids = make([]security.SID, r.Elements(n, 4))
		for i := range sids {
			if !r.UniquePtr() {
				r.Fail("NULL SID")
				return
			}
			r.Defer(func(r *ndr.Reader) { sids[i] = svc.ReadSID(r) })
		}
	})
	r.Flush()
	return sids
}

// NTSTATUS SamrGetAliasMembership(DomainHandle, [in] PSAMPR_PSID_ARRAY
// SidArray, [out] PSAMPR_ULONG_ARRAY Membership): the aliases of the
// domain that hold any of the SIDs.
func (s *service) aliasMembership(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	sids := readSIDArray(r)
	if r.Err() != nil {
		return nil
	}
	d, err := dcerpc.HandleValue[*domainHandle](c, h)
	if err != nil {
		return err
	}
	ok, snap, st := s.check(c)
	var rids []uint32
	if ok && d.builtin {
		for _, a := range svc.Aliases() {
			holds := false
			for _, m := range svc.AliasMembers(snap, a.SID) {
				for _, x := range sids {
					holds = holds || m == x
				}
			}
			if holds {
				rids = append(rids, a.RID())
			}
		}
	}
	writeIDs(w, rids)
	w.Uint32(st)
	return nil
}

// NTSTATUS SamrLookupNamesInDomain(DomainHandle, [in] Count,
// [in,size_is(1000),length_is(Count)] RPC_UNICODE_STRING Names[], [out]
// RelativeIds, [out] Use).
func (s *service) lookupNames(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	n := r.Uint32()
	max := r.MaxCount()
	_, count := r.Variance(max, 8)
	if uint32(count) != n || n > 1000 {
		r.Fail("names: length_is differs from Count")
	}
	names := make([]string, count)
	for i := range names {
		r.UnicodeString(&names[i])
	}
	r.Flush()
	if r.Err() != nil {
		return nil
	}
	d, err := dcerpc.HandleValue[*domainHandle](c, h)
	if err != nil {
		return err
	}
	ok, snap, st := s.check(c)
	if !ok {
		writeIDs(w, nil)
		writeIDs(w, nil)
		w.Uint32(st)
		return nil
	}
	rids, uses := make([]uint32, len(names)), make([]uint32, len(names))
	mapped := 0
	for i, name := range names {
		uses[i] = uint32(svc.SidTypeUnknown)
		for _, m := range all(snap, d) {
			if strings.EqualFold(m.Name, name) {
				rids[i], uses[i] = m.RID(), uint32(m.Use)
				mapped++
				break
			}
		}
	}
	writeIDs(w, rids)
	writeIDs(w, uses)
	w.Uint32(mappedStatus(mapped, len(names)))
	return nil
}

func mappedStatus(mapped, total int) uint32 {
	switch {
	case mapped == total:
		return 0
	case mapped > 0:
		return svc.StatusSomeNotMapped
	}
	return svc.StatusNoneMapped
}

// NTSTATUS SamrLookupIdsInDomain(DomainHandle, [in] Count,
// [in,size_is(1000),length_is(Count)] RelativeIds[], [out]
// PSAMPR_RETURNED_USTRING_ARRAY Names, [out] Use).
func (s *service) lookupIDs(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	n := r.Uint32()
	max := r.MaxCount()
	_, count := r.Variance(max, 4)
	if uint32(count) != n || n > 1000 {
		r.Fail("ids: length_is differs from Count")
	}
	ids := make([]uint32, count)
	for i := range ids {
		ids[i] = r.Uint32()
	}
	if r.Err() != nil {
		return nil
	}
	d, err := dcerpc.HandleValue[*domainHandle](c, h)
	if err != nil {
		return err
	}
	ok, snap, st := s.check(c)
	if !ok {
		w.Uint32(0)
		w.UniquePtr(false)
		w.Flush()
		writeIDs(w, nil)
		w.Uint32(st)
		return nil
	}
	names, uses := make([]string, len(ids)), make([]uint32, len(ids))
	mapped := 0
	for i, id := range ids {
		uses[i] = uint32(svc.SidTypeUnknown)
		for _, m := range all(snap, d) {
			if m.RID() == id {
				names[i], uses[i] = m.Name, uint32(m.Use)
				mapped++
				break
			}
		}
	}
	w.Uint32(uint32(len(names)))
	w.DeferUnique(len(names) > 0, func(w *ndr.Writer) {
		w.MaxCount(len(names))
		for _, n := range names {
			w.UnicodeString(n)
		}
	})
	w.Flush()
	writeIDs(w, uses)
	w.Uint32(mappedStatus(mapped, len(ids)))
	return nil
}

// NTSTATUS SamrOpenUser(DomainHandle, DesiredAccess, [in] UserId, [out]
// SAMPR_HANDLE* UserHandle).
func (s *service) openUser(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	r.Uint32()
	rid := r.Uint32()
	if r.Err() != nil {
		return nil
	}
	d, err := dcerpc.HandleValue[*domainHandle](c, h)
	if err != nil {
		return err
	}
	ok, snap, st := s.check(c)
	if ok && !d.builtin {
		for _, a := range svc.Accounts(snap) {
			if a.RID() == rid {
				w.ContextHandle(c.NewHandle(&userHandle{dom: d, entry: a}))
				w.Uint32(0)
				return nil
			}
		}
		st = svc.StatusNoSuchUser
	}
	w.ContextHandle(ndr.ContextHandle{})
	w.Uint32(st)
	return nil
}

// NTSTATUS SamrGetGroupsForUser(UserHandle, [out]
// PSAMPR_GET_GROUPS_BUFFER* Groups): None, every account's primary group.
func (s *service) groupsForUser(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	if r.Err() != nil {
		return nil
	}
	if _, err := dcerpc.HandleValue[*userHandle](c, h); err != nil {
		return err
	}
	ok, _, st := s.check(c)
	if !ok {
		w.UniquePtr(false)
		w.Uint32(st)
		return nil
	}
	w.UniquePtr(true)
	w.Uint32(1)
	w.DeferUnique(true, func(w *ndr.Writer) {
		w.MaxCount(1)
		w.Uint32(security.RIDDomainUsers)
		w.Uint32(groupAttrs)
	})
	w.Flush()
	w.Uint32(0)
	return nil
}

// acctFlags are an account's USER_ACCOUNT_CONTROL bits: a normal account
// whose password does not expire; Administrator disabled (it cannot log
// on to smbpipe), Guest disabled unless guest sessions are on.
func acctFlags(snap *policy.Snapshot, e svc.Entry) uint32 {
	f := acbNormal | acbPwNoExp
	switch e.RID() {
	case security.RIDAdministrator:
		f |= acbDisabled
	case security.RIDGuest:
		if !snap.Config().Guest {
			f |= acbDisabled
		}
	}
	return f
}
