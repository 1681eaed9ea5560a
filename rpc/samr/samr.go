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
// SAM server's descriptor. Each handle keeps the access its open was
// granted (the desired access against the object's descriptor: the
// server's, a domain's, a user's, an alias's), and each call on a handle
// needs its rights on it (DOMAIN_LIST_ACCOUNTS to enumerate,
// DOMAIN_LOOKUP to look up or open, USER_LIST_GROUPS, ALIAS_LIST_MEMBERS,
// ...): STATUS_ACCESS_DENIED otherwise, an audit record with rule
// object-access. Clients bound at auth level CONNECT are refused, as on
// Windows.
//
// Served: Connect (0), CloseHandle (1), LookupDomainInSamServer (5),
// EnumerateDomainsInSamServer (6), OpenDomain (7),
// QueryInformationDomain (8) and QueryInformationDomain2 (46) levels 1 to
// 9 and 11 to 13, EnumerateGroupsInDomain (11), EnumerateUsersInDomain (13),
// EnumerateAliasesInDomain (15), GetAliasMembership (16),
// LookupNamesInDomain (17), LookupIdsInDomain (18), OpenGroup (19),
// QueryInformationGroup (20) classes 1 to 5, GetMembersInGroup (25),
// OpenAlias (27),
// QueryInformationAlias (28) classes 1 to 3, GetMembersInAlias (33),
// OpenUser (34),
// QueryInformationUser (36) and QueryInformationUser2 (47) classes 1 to
// 14, 16, 17, 20 and 21 (no password hashes: class 18 is refused, the
// OWF fields of 21 are empty), GetGroupsForUser
// (39), GetUserDomainPasswordInformation (44), QueryDisplayInformation
// (40, 48, 51) levels 1 to 3, GetDomainPasswordInformation (56: no
// handle, anyone who has the pipe open), Connect2 (57),
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
	OpConnect                                 = 0
	OpCloseHandle                             = 1
	OpLookupDomainInSamServer                 = 5
	OpEnumerateDomainsInSamServer             = 6
	OpOpenDomain                              = 7
	OpQueryInformationDomain                  = 8
	OpEnumerateGroupsInDomain                 = 11
	OpEnumerateUsersInDomain                  = 13
	OpEnumerateAliasesInDomain                = 15
	OpGetAliasMembership                      = 16
	OpLookupNamesInDomain                     = 17
	OpLookupIdsInDomain                       = 18
	OpOpenUser                                = 34
	OpQueryInformationUser                    = 36
	OpGetGroupsForUser                        = 39
	OpGetUserDomainPasswordInformation        = 44
	OpQueryDisplayInformation                 = 40
	OpQueryInformationDomain2                 = 46
	OpQueryInformationUser2                   = 47
	OpQueryDisplayInformation2                = 48
	OpQueryDisplayInformation3                = 51
	OpGetDomainPasswordInformation            = 56
	OpConnect2                                = 57
	OpConnect4                                = 62
	OpConnect5                                = 64
	acbDisabled                        uint32 = 0x00000001
	acbNormal                          uint32 = 0x00000010
	acbPwNoExp                         uint32 = 0x00000200
	groupAttrs                         uint32 = 0x00000007 // SE_GROUP_MANDATORY | ENABLED_BY_DEFAULT | ENABLED
)

// Interface returns the samr interface served with env.
func Interface(env svc.Env) dcerpc.Interface {
	s := &service{env: env}
	return dcerpc.Interface{Name: "samr", Syntax: Syntax, Ops: []dcerpc.Op{
		OpConnect:                          {Name: "SamrConnect", Func: s.connect},
		OpCloseHandle:                      {Name: "SamrCloseHandle", Func: svc.CloseHandle},
		OpLookupDomainInSamServer:          {Name: "SamrLookupDomainInSamServer", Func: s.lookupDomain},
		OpEnumerateDomainsInSamServer:      {Name: "SamrEnumerateDomainsInSamServer", Func: s.enumDomains},
		OpOpenDomain:                       {Name: "SamrOpenDomain", Func: s.openDomain},
		OpQueryInformationDomain:           {Name: "SamrQueryInformationDomain", Func: s.queryDomain},
		OpEnumerateGroupsInDomain:          {Name: "SamrEnumerateGroupsInDomain", Func: s.enumAccounts},
		OpEnumerateUsersInDomain:           {Name: "SamrEnumerateUsersInDomain", Func: s.enumAccounts},
		OpEnumerateAliasesInDomain:         {Name: "SamrEnumerateAliasesInDomain", Func: s.enumAccounts},
		OpGetAliasMembership:               {Name: "SamrGetAliasMembership", Func: s.aliasMembership},
		OpOpenGroup:                        {Name: "SamrOpenGroup", Func: s.openGroup},
		OpQueryInformationGroup:            {Name: "SamrQueryInformationGroup", Func: s.queryGroup},
		OpGetMembersInGroup:                {Name: "SamrGetMembersInGroup", Func: s.membersInGroup},
		OpOpenAlias:                        {Name: "SamrOpenAlias", Func: s.openAlias},
		OpQueryInformationAlias:            {Name: "SamrQueryInformationAlias", Func: s.queryAlias},
		OpGetMembersInAlias:                {Name: "SamrGetMembersInAlias", Func: s.membersInAlias},
		OpLookupNamesInDomain:              {Name: "SamrLookupNamesInDomain", Func: s.lookupNames},
		OpLookupIdsInDomain:                {Name: "SamrLookupIdsInDomain", Func: s.lookupIDs},
		OpOpenUser:                         {Name: "SamrOpenUser", Func: s.openUser},
		OpQueryInformationUser:             {Name: "SamrQueryInformationUser", Func: s.queryUser},
		OpGetGroupsForUser:                 {Name: "SamrGetGroupsForUser", Func: s.groupsForUser},
		OpQueryDisplayInformation:          {Name: "SamrQueryDisplayInformation", Func: s.queryDisplay},
		OpQueryInformationDomain2:          {Name: "SamrQueryInformationDomain2", Func: s.queryDomain},
		OpQueryInformationUser2:            {Name: "SamrQueryInformationUser2", Func: s.queryUser},
		OpQueryDisplayInformation2:         {Name: "SamrQueryDisplayInformation2", Func: s.queryDisplay},
		OpQueryDisplayInformation3:         {Name: "SamrQueryDisplayInformation3", Func: s.queryDisplay},
		OpGetUserDomainPasswordInformation: {Name: "SamrGetUserDomainPasswordInformation", Func: s.userPasswordInfo},
		OpGetDomainPasswordInformation:     {Name: "SamrGetDomainPasswordInformation", Func: s.domainPasswordInfo},
		OpConnect2:                         {Name: "SamrConnect2", Func: s.connect},
		OpConnect4:                         {Name: "SamrConnect4", Func: s.connect},
		OpConnect5:                         {Name: "SamrConnect5", Func: s.connect},
	}}
}

type service struct{ env svc.Env }

// The handles' values; each keeps the access it was granted, which the
// calls on it are checked against (policy: samHandleGate).
type (
	serverHandle struct{ granted uint32 }
	domainHandle struct {
		granted uint32
		sid     security.SID
		builtin bool
	}
	userHandle struct {
		granted uint32
		dom     *domainHandle
		entry   svc.Entry
	}
)

func (h *serverHandle) access() uint32 { return h.granted }
func (h *domainHandle) access() uint32 { return h.granted }
func (h *userHandle) access() uint32   { return h.granted }
func (h *aliasHandle) access() uint32  { return h.granted }

// handle is what a SAM handle's value is.
type handle interface{ access() uint32 }

// A verdict is the policy's decision on a call on a handle: whether it
// is allowed, the snapshot it was made with, the status of a refusal, and
// for a call that opens an object the access granted on it.
type verdict struct {
	ok      bool
	snap    *policy.Snapshot
	st      uint32
	granted uint32
}

// refuse returns a refusal with status st.
func (v verdict) refuse(st uint32) verdict { return verdict{snap: v.snap, st: st} }

// on returns the value of the handle h, a T, and decides the call on it.
// done reports that the call is over, with err to return: its request did
// not decode (it gets no reply) or h is not a T.
func on[T handle](s *service, c *dcerpc.Call, r *ndr.Reader, h ndr.ContextHandle) (v T, vd verdict, done bool, err error) {
	return onAt[T](s, c, r, h, 0, 0)
}

// onAt is on for a call at an information level, or one that opens an
// object with the access desired.
func onAt[T handle](s *service, c *dcerpc.Call, r *ndr.Reader, h ndr.ContextHandle, level, desired uint32) (v T, vd verdict, done bool, err error) {
	if r.Err() != nil {
		return v, vd, true, nil
	}
	if v, err = dcerpc.HandleValue[T](c, h); err != nil {
		return v, vd, true, err
	}
	d, snap := s.env.Check(c, policy.RPCRequest{Interface: policy.ServiceSamr, Op: svc.OpName(c), OnHandle: true,
		Level: level, Access: v.access(), Desired: desired})
	return v, verdict{ok: d.Allowed, snap: snap, st: uint32(d.Status), granted: d.Granted}, false, nil
}

// writeResult writes an [out] unique pointer to what f writes and the
// status: a NULL pointer and the refusal's status when v refuses.
func writeResult(w *ndr.Writer, v verdict, f func(w *ndr.Writer)) {
	if !v.ok {
		w.UniquePtr(false)
		w.Uint32(v.st)
		return
	}
	w.UniquePtr(true)
	f(w)
	w.Flush()
	w.Uint32(0)
}

// writeHandle writes an [out] SAMPR_HANDLE and the status.
func writeHandle(w *ndr.Writer, h ndr.ContextHandle, st uint32) {
	w.ContextHandle(h)
	w.Uint32(st)
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
	d, _ := s.env.Check(c, policy.RPCRequest{Interface: policy.ServiceSamr, Op: svc.OpName(c), Access: desired})
	if !d.Allowed {
		writeOut(ndr.ContextHandle{}, uint32(d.Status))
		return nil
	}
	writeOut(c.NewHandle(&serverHandle{granted: d.Granted}), 0)
	return nil
}

// NTSTATUS SamrLookupDomainInSamServer(ServerHandle, [in]
// PRPC_UNICODE_STRING Name, [out] PRPC_SID* DomainId).
func (s *service) lookupDomain(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	var name string
	r.UnicodeString(&name)
	r.Flush()
	_, v, done, err := on[*serverHandle](s, c, r, h)
	if done {
		return err
	}
	var sid security.SID
	if v.ok {
		v = v.refuse(svc.StatusNoSuchDomain)
		for _, d := range svc.Domains(v.snap) {
			if strings.EqualFold(d.Name, name) {
				sid, v.ok, v.st = d.SID, true, 0
				break
			}
		}
	}
	writeResult(w, v, func(w *ndr.Writer) { svc.WriteSID(w, sid) })
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
	svc.WriteArray(w, es, func(w *ndr.Writer, e *Entry) {
		w.Uint32(e.RID)
		w.UnicodeString(e.Name)
	})
	w.Flush()
}

// ReadEntries reads it.
func ReadEntries(r *ndr.Reader) []Entry {
	var es []Entry
	if r.UniquePtr() {
		n := r.Uint32()
		svc.ReadArray(r, &es, n, 12, "enumeration buffer: size_is differs from EntriesRead", func(r *ndr.Reader, e *Entry) {
			e.RID = r.Uint32()
			r.UnicodeString(&e.Name)
		})
	}
	r.Flush()
	return es
}

// NTSTATUS SamrEnumerateDomainsInSamServer(ServerHandle, [in,out]
// EnumerationContext, [out] PSAMPR_ENUMERATION_BUFFER* Buffer, [in]
// PreferedMaximumLength, [out] CountReturned).
func (s *service) enumDomains(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return enumerate(s, c, r, w, func(_ *serverHandle, snap *policy.Snapshot, _ uint32) []Entry {
		var es []Entry
		for i, d := range svc.Domains(snap) {
			es = append(es, Entry{RID: uint32(i), Name: d.Name})
		}
		return es
	})
}

// enumerate serves the Enumerate calls on a handle of type T: it reads
// the request (EnumerationContext, the resume point; UserAccountControl
// for SamrEnumerateUsersInDomain; PreferedMaximumLength) and writes the
// [out] parameters, EnumerationContext (0: all is returned at once), the
// entries of list from the resume point on, CountReturned and the status.
func enumerate[T handle](s *service, c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer, list func(T, *policy.Snapshot, uint32) []Entry) error {
	h := r.ContextHandle()
	resume := r.Uint32()
	var uac uint32
	if c.Opnum() == OpEnumerateUsersInDomain {
		uac = r.Uint32()
	}
	r.Uint32()
	t, v, done, err := on[T](s, c, r, h)
	if done {
		return err
	}
	var es []Entry
	if v.ok {
		for _, e := range list(t, v.snap, uac) {
			if e.RID >= resume {
				es = append(es, e)
			}
		}
	}
	w.Uint32(0)
	WriteEntries(w, es)
	w.Uint32(uint32(len(es)))
	w.Uint32(v.st)
	return nil
}

// NTSTATUS SamrOpenDomain(ServerHandle, DesiredAccess, [in] PRPC_SID
// DomainId, [out] SAMPR_HANDLE* DomainHandle).
func (s *service) openDomain(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	desired := r.Uint32()
	sid := svc.ReadSID(r)
	_, v, done, err := onAt[*serverHandle](s, c, r, h, 0, desired)
	if done {
		return err
	}
	if v.ok {
		for _, d := range svc.Domains(v.snap) {
			if d.SID == sid {
				writeHandle(w, c.NewHandle(&domainHandle{granted: v.granted, sid: sid, builtin: d.Name == "BUILTIN"}), 0)
				return nil
			}
		}
		v.st = svc.StatusNoSuchDomain
	}
	writeHandle(w, ndr.ContextHandle{}, v.st)
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
// UserAccountControl. A UserAccountControl other than 0 keeps the users
// whose account control shares a bit with it (MS-SAMR 3.1.5.2.5): 0x80
// asks for workstation trust accounts, of which smbpipe has none.
// Everything is returned at once.
func (s *service) enumAccounts(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return enumerate(s, c, r, w, func(d *domainHandle, snap *policy.Snapshot, uac uint32) []Entry {
		var es []Entry
		for _, m := range members(snap, d, c.Opnum()) {
			if uac != 0 && acctFlags(snap, m)&uac == 0 {
				continue // not an account of the kinds asked for
			}
			es = append(es, Entry{RID: m.RID(), Name: m.Name})
		}
		return es
	})
}

// writeIDs writes SAMPR_ULONG_ARRAY (a top-level [out] structure).
func writeIDs(w *ndr.Writer, ids []uint32) {
	w.Uint32(uint32(len(ids)))
	svc.WriteArray(w, ids, func(w *ndr.Writer, v *uint32) { w.Uint32(*v) })
	w.Flush()
}

// ReadIDs reads it.
func ReadIDs(r *ndr.Reader) []uint32 {
	n := r.Uint32()
	var ids []uint32
	svc.ReadArray(r, &ids, n, 4, "ulong array: size_is differs from Count", func(r *ndr.Reader, v *uint32) { *v = r.Uint32() })
	r.Flush()
	return ids
}

// NTSTATUS SamrGetAliasMembership(DomainHandle, [in] PSAMPR_PSID_ARRAY
// SidArray, [out] PSAMPR_ULONG_ARRAY Membership): the aliases of the
// domain that hold any of the SIDs.
func (s *service) aliasMembership(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	sids := svc.ReadSIDArray(r, 0, "")
	d, v, done, err := on[*domainHandle](s, c, r, h)
	if done {
		return err
	}
	var rids []uint32
	if v.ok && d.builtin {
		for _, a := range svc.Aliases() {
			holds := false
			for _, m := range svc.AliasMembers(v.snap, a.SID) {
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
	w.Uint32(v.st)
	return nil
}

// NTSTATUS SamrLookupNamesInDomain(DomainHandle, [in] Count,
// [in,size_is(1000),length_is(Count)] RPC_UNICODE_STRING Names[], [out]
// RelativeIds, [out] Use).
func (s *service) lookupNames(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	names := make([]string, readCount(r, 8, "names"))
	for i := range names {
		r.UnicodeString(&names[i])
	}
	r.Flush()
	d, v, done, err := on[*domainHandle](s, c, r, h)
	if done {
		return err
	}
	if !v.ok {
		writeIDs(w, nil)
		writeIDs(w, nil)
		w.Uint32(v.st)
		return nil
	}
	found, uses, st := resolve(all(v.snap, d), len(names), func(i int, m svc.Entry) bool { return strings.EqualFold(m.Name, names[i]) })
	rids := make([]uint32, len(found))
	for i, m := range found {
		rids[i] = m.RID()
	}
	writeIDs(w, rids)
	writeIDs(w, uses)
	w.Uint32(st)
	return nil
}

// readCount reads the [in] Count and the conformance and variance of the
// [size_is(1000),length_is(Count)] array that follows, of elements of
// size bytes, and returns the count.
func readCount(r *ndr.Reader, size int, what string) int {
	n := r.Uint32()
	max := r.MaxCount()
	_, count := r.Variance(max, size)
	if uint32(count) != n || n > 1000 {
		r.Fail(what + ": length_is differs from Count")
	}
	return count
}

// resolve looks up n names or IDs among ms: the first member match takes
// for each (a zero Entry for none), its SID_NAME_USE, and the status of
// the translation.
func resolve(ms []svc.Entry, n int, match func(i int, m svc.Entry) bool) ([]svc.Entry, []uint32, uint32) {
	found, uses := make([]svc.Entry, n), make([]uint32, n)
	mapped := 0
	for i := range n {
		uses[i] = uint32(svc.SidTypeUnknown)
		for _, m := range ms {
			if match(i, m) {
				found[i], uses[i] = m, uint32(m.Use)
				mapped++
				break
			}
		}
	}
	return found, uses, svc.MappedStatus(mapped, n, true)
}

// NTSTATUS SamrLookupIdsInDomain(DomainHandle, [in] Count,
// [in,size_is(1000),length_is(Count)] RelativeIds[], [out]
// PSAMPR_RETURNED_USTRING_ARRAY Names, [out] Use).
func (s *service) lookupIDs(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	ids := make([]uint32, readCount(r, 4, "ids"))
	for i := range ids {
		ids[i] = r.Uint32()
	}
	d, v, done, err := on[*domainHandle](s, c, r, h)
	if done {
		return err
	}
	if !v.ok {
		w.Uint32(0)
		w.UniquePtr(false)
		w.Flush()
		writeIDs(w, nil)
		w.Uint32(v.st)
		return nil
	}
	found, uses, st := resolve(all(v.snap, d), len(ids), func(i int, m svc.Entry) bool { return m.RID() == ids[i] })
	w.Uint32(uint32(len(found)))
	svc.WriteArray(w, found, func(w *ndr.Writer, m *svc.Entry) { w.UnicodeString(m.Name) })
	w.Flush()
	writeIDs(w, uses)
	w.Uint32(st)
	return nil
}

// NTSTATUS SamrOpenUser(DomainHandle, DesiredAccess, [in] UserId, [out]
// SAMPR_HANDLE* UserHandle).
func (s *service) openUser(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return s.openEntry(c, r, w, false, svc.Accounts, svc.StatusNoSuchUser,
		func(granted uint32, d *domainHandle, e svc.Entry) any {
			return &userHandle{granted: granted, dom: d, entry: e}
		})
}

// openEntry answers SamrOpenUser (accounts, in the machine's domain) and
// SamrOpenAlias (aliases, in BUILTIN): a handle on the entry of list
// with the RelativeId asked, with the access granted; else a zero handle
// and the refusal's status, or noSuch when the domain holds no such
// entry (the other domain holds none of these).
func (s *service) openEntry(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer, builtin bool,
	list func(*policy.Snapshot) []svc.Entry, noSuch uint32, handle func(uint32, *domainHandle, svc.Entry) any) error {
	h := r.ContextHandle()
	desired := r.Uint32()
	rid := r.Uint32()
	d, v, done, err := onAt[*domainHandle](s, c, r, h, 0, desired)
	if done {
		return err
	}
	if v.ok && d.builtin == builtin {
		for _, e := range list(v.snap) {
			if e.RID() == rid {
				writeHandle(w, c.NewHandle(handle(v.granted, d, e)), 0)
				return nil
			}
		}
	}
	if v.ok {
		v.st = noSuch
	}
	writeHandle(w, ndr.ContextHandle{}, v.st)
	return nil
}

// NTSTATUS SamrGetGroupsForUser(UserHandle, [out]
// PSAMPR_GET_GROUPS_BUFFER* Groups): None, every account's primary group.
func (s *service) groupsForUser(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	_, v, done, err := on[*userHandle](s, c, r, h)
	if done {
		return err
	}
	writeResult(w, v, func(w *ndr.Writer) {
		w.Uint32(1)
		w.DeferUnique(true, func(w *ndr.Writer) {
			w.MaxCount(1)
			w.Uint32(security.RIDDomainUsers)
			w.Uint32(groupAttrs)
		})
	})
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
