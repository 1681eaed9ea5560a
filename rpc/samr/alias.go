package samr

import (
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/security"
)

// The alias calls: the aliases are BUILTIN's (the account domain of a
// server that is not a domain controller holds none that smbpipe lists).
const (
	OpOpenAlias             = 27
	OpQueryInformationAlias = 28
	OpGetMembersInAlias     = 33
)

type aliasHandle struct {
	granted uint32
	dom     *domainHandle
	entry   svc.Entry
}

// NTSTATUS SamrOpenAlias(DomainHandle, DesiredAccess, [in] AliasId, [out]
// SAMPR_HANDLE* AliasHandle): STATUS_NO_SUCH_ALIAS for a RID that names no
// alias of the domain.
func (s *service) openAlias(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return s.openEntry(c, r, w, true, func(*policy.Snapshot) []svc.Entry { return svc.Aliases() }, svc.StatusNoSuchAlias,
		func(granted uint32, d *domainHandle, e svc.Entry) any {
			return &aliasHandle{granted: granted, dom: d, entry: e}
		})
}

// aliasInfoLevel reports whether SamrQueryInformationAlias serves a
// class: AliasGeneralInformation (1), AliasNameInformation (2),
// AliasAdminCommentInformation (3).
func aliasInfoLevel(l uint16) bool { return l >= 1 && l <= 3 }

// NTSTATUS SamrQueryInformationAlias(AliasHandle,
// ALIAS_INFORMATION_CLASS, [out,switch_is(...)] PSAMPR_ALIAS_INFO_BUFFER*
// Buffer).
func (s *service) queryAlias(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return queryInfo(s, c, r, w, aliasInfoLevel, func(w *ndr.Writer, snap *policy.Snapshot, a *aliasHandle, level uint16) {
		w.Uint16(level)
		if level != 3 {
			w.UnicodeString(a.entry.Name)
		}
		if level == 1 {
			w.Uint32(uint32(len(svc.AliasMembers(snap, a.entry.SID))))
		}
		if level != 2 {
			w.UnicodeString(a.entry.Comment)
		}
	})
}

// NTSTATUS SamrGetMembersInAlias(AliasHandle, [out] PSAMPR_PSID_ARRAY_OUT
// Members): the SIDs of the accounts in the alias.
func (s *service) membersInAlias(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	a, v, done, err := on[*aliasHandle](s, c, r, h)
	if done {
		return err
	}
	var sids []security.SID
	if v.ok {
		sids = svc.AliasMembers(v.snap, a.entry.SID)
	}
	WriteSIDs(w, sids)
	w.Uint32(v.st)
	return nil
}

// WriteSIDs writes SAMPR_PSID_ARRAY(_OUT) as a top-level parameter: the
// count and a unique pointer to the array of RPC_SID pointers (flushed).
func WriteSIDs(w *ndr.Writer, sids []security.SID) {
	w.Uint32(uint32(len(sids)))
	svc.WriteArray(w, sids, func(w *ndr.Writer, s *security.SID) {
		w.DeferUnique(true, func(w *ndr.Writer) { svc.WriteSID(w, *s) })
	})
	w.Flush()
}
