package samr

import (
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// The group calls: the account domain's one group, None (RID 513), whose
// members are every account (each account's primary group).
const (
	OpOpenGroup             = 19
	OpQueryInformationGroup = 20
	OpGetMembersInGroup     = 25
)

type groupHandle struct {
	granted uint32
	dom     *domainHandle
	entry   svc.Entry
}

func (h *groupHandle) access() uint32 { return h.granted }

// NTSTATUS SamrOpenGroup(DomainHandle, DesiredAccess, [in] GroupId, [out]
// SAMPR_HANDLE* GroupHandle): STATUS_NO_SUCH_GROUP for a RID that names no
// group of the domain (BUILTIN has none).
func (s *service) openGroup(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return s.openEntry(c, r, w, false, svc.Groups, svc.StatusNoSuchGroup,
		func(granted uint32, d *domainHandle, e svc.Entry) any {
			return &groupHandle{granted: granted, dom: d, entry: e}
		})
}

// groupInfoLevel reports whether SamrQueryInformationGroup serves a class:
// GroupGeneralInformation (1), GroupNameInformation (2),
// GroupAttributeInformation (3), GroupAdminCommentInformation (4),
// GroupReplicationInformation (5).
func groupInfoLevel(l uint16) bool { return l >= 1 && l <= 5 }

// NTSTATUS SamrQueryInformationGroup(GroupHandle,
// GROUP_INFORMATION_CLASS, [out,switch_is(...)] PSAMPR_GROUP_INFO_BUFFER*
// Buffer).
func (s *service) queryGroup(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return queryInfo(s, c, r, w, groupInfoLevel, func(w *ndr.Writer, snap *policy.Snapshot, g *groupHandle, level uint16) {
		w.Uint16(level)
		switch level {
		case 1, 5: // SAMPR_GROUP_GENERAL_INFORMATION
			w.UnicodeString(g.entry.Name)
			w.Uint32(groupAttrs)
			w.Uint32(uint32(len(svc.Accounts(snap))))
			w.UnicodeString(g.entry.Comment)
		case 2:
			w.UnicodeString(g.entry.Name)
		case 3:
			w.Uint32(groupAttrs)
		case 4:
			w.UnicodeString(g.entry.Comment)
		}
	})
}

// NTSTATUS SamrGetMembersInGroup(GroupHandle, [out]
// PSAMPR_GET_MEMBERS_BUFFER* Members): the RIDs of the group's members and
// their attributes.
func (s *service) membersInGroup(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	_, v, done, err := on[*groupHandle](s, c, r, h)
	if done {
		return err
	}
	writeResult(w, v, func(w *ndr.Writer) {
		accounts := svc.Accounts(v.snap)
		w.Uint32(uint32(len(accounts)))
		w.DeferUnique(true, func(w *ndr.Writer) {
			w.MaxCount(len(accounts))
			for _, a := range accounts {
				w.Uint32(a.RID())
			}
		})
		w.DeferUnique(true, func(w *ndr.Writer) {
			w.MaxCount(len(accounts))
			for range accounts {
				w.Uint32(groupAttrs)
			}
		})
	})
	return nil
}
