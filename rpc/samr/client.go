package samr

import (
	"context"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/security"
)

// The client's calls. A call's NTSTATUS other than success comes back as
// a svc.StatusError.

// MaximumAllowed is the desired access that asks for all an object's
// descriptor grants.
const MaximumAllowed uint32 = 0x02000000

// handleCall makes a call whose reply is an [out] SAMPR_HANDLE and the
// status.
func handleCall(ctx context.Context, c *dcerpc.Client, op uint16, in func(*ndr.Writer)) (ndr.ContextHandle, error) {
	var h ndr.ContextHandle
	var st uint32
	err := svc.Invoke(ctx, c, op, in, func(r *ndr.Reader) {
		if op == OpConnect5 {
			r.Uint32() // OutVersion
			r.Uint32() // discriminant
			r.Uint32() // Revision
			r.Uint32() // SupportedFeatures
		}
		h = r.ContextHandle()
		st = r.Uint32()
	})
	if err != nil {
		return h, err
	}
	return h, svc.Status(st)
}

// Connect5 calls SamrConnect5 (revision 3) with access.
func Connect5(ctx context.Context, c *dcerpc.Client, server string, access uint32) (ndr.ContextHandle, error) {
	return handleCall(ctx, c, OpConnect5, func(w *ndr.Writer) {
		w.UniquePtr(true)
		w.WString(`\\` + server)
		w.Uint32(access)
		w.Uint32(1)
		w.Uint32(1)
		w.Uint32(3)
		w.Uint32(0)
	})
}

// Close calls SamrCloseHandle on h.
func Close(ctx context.Context, c *dcerpc.Client, h ndr.ContextHandle) error {
	return svc.InvokeClose(ctx, c, OpCloseHandle, h)
}

// enumCall makes an Enumerate call on h from resume 0 and returns the
// entries (all of them: the server returns everything at once).
func enumCall(ctx context.Context, c *dcerpc.Client, op uint16, h ndr.ContextHandle) ([]Entry, error) {
	var es []Entry
	var st uint32
	err := svc.Invoke(ctx, c, op, func(w *ndr.Writer) {
		w.ContextHandle(h)
		w.Uint32(0)
		if op == OpEnumerateUsersInDomain {
			w.Uint32(0)
		}
		w.Uint32(0xFFFFFFFF)
	}, func(r *ndr.Reader) {
		r.Uint32()
		es = ReadEntries(r)
		r.Uint32()
		st = r.Uint32()
	})
	if err != nil {
		return nil, err
	}
	return es, svc.Status(st)
}

// EnumDomains calls SamrEnumerateDomainsInSamServer.
func EnumDomains(ctx context.Context, c *dcerpc.Client, srv ndr.ContextHandle) ([]Entry, error) {
	return enumCall(ctx, c, OpEnumerateDomainsInSamServer, srv)
}

// EnumUsers calls SamrEnumerateUsersInDomain (every account).
func EnumUsers(ctx context.Context, c *dcerpc.Client, dom ndr.ContextHandle) ([]Entry, error) {
	return enumCall(ctx, c, OpEnumerateUsersInDomain, dom)
}

// EnumAliases calls SamrEnumerateAliasesInDomain.
func EnumAliases(ctx context.Context, c *dcerpc.Client, dom ndr.ContextHandle) ([]Entry, error) {
	return enumCall(ctx, c, OpEnumerateAliasesInDomain, dom)
}

// LookupDomain calls SamrLookupDomainInSamServer.
func LookupDomain(ctx context.Context, c *dcerpc.Client, srv ndr.ContextHandle, name string) (security.SID, error) {
	var sid security.SID
	var st uint32
	err := svc.Invoke(ctx, c, OpLookupDomainInSamServer, func(w *ndr.Writer) {
		w.ContextHandle(srv)
		w.UnicodeString(name)
		w.Flush()
	}, func(r *ndr.Reader) {
		r.DeferUnique(func(r *ndr.Reader) { sid = svc.ReadSID(r) })
		r.Flush()
		st = r.Uint32()
	})
	if err != nil {
		return sid, err
	}
	return sid, svc.Status(st)
}

// OpenDomain calls SamrOpenDomain.
func OpenDomain(ctx context.Context, c *dcerpc.Client, srv ndr.ContextHandle, access uint32, sid security.SID) (ndr.ContextHandle, error) {
	return handleCall(ctx, c, OpOpenDomain, func(w *ndr.Writer) {
		w.ContextHandle(srv)
		w.Uint32(access)
		svc.WriteSID(w, sid)
	})
}

// OpenUser calls SamrOpenUser.
func OpenUser(ctx context.Context, c *dcerpc.Client, dom ndr.ContextHandle, access, rid uint32) (ndr.ContextHandle, error) {
	return handleCall(ctx, c, OpOpenUser, func(w *ndr.Writer) {
		w.ContextHandle(dom)
		w.Uint32(access)
		w.Uint32(rid)
	})
}

// OpenAlias calls SamrOpenAlias.
func OpenAlias(ctx context.Context, c *dcerpc.Client, dom ndr.ContextHandle, access, rid uint32) (ndr.ContextHandle, error) {
	return handleCall(ctx, c, OpOpenAlias, func(w *ndr.Writer) {
		w.ContextHandle(dom)
		w.Uint32(access)
		w.Uint32(rid)
	})
}

// LookupNames calls SamrLookupNamesInDomain: a RID and a SID_NAME_USE per
// name (STATUS_SOME_NOT_MAPPED or STATUS_NONE_MAPPED as a
// svc.StatusError when not all translate).
func LookupNames(ctx context.Context, c *dcerpc.Client, dom ndr.ContextHandle, names []string) (rids, uses []uint32, err error) {
	var st uint32
	err = svc.Invoke(ctx, c, OpLookupNamesInDomain, func(w *ndr.Writer) {
		w.ContextHandle(dom)
		w.Uint32(uint32(len(names)))
		w.MaxCount(1000)
		w.Variance(0, len(names))
		for _, n := range names {
			w.UnicodeString(n)
		}
		w.Flush()
	}, func(r *ndr.Reader) {
		rids = ReadIDs(r)
		uses = ReadIDs(r)
		st = r.Uint32()
	})
	if err != nil {
		return nil, nil, err
	}
	return rids, uses, svc.Status(st)
}

// GroupMembership is a GROUP_MEMBERSHIP: a group's RID and attributes.
type GroupMembership struct{ RID, Attributes uint32 }

// GroupsForUser calls SamrGetGroupsForUser.
func GroupsForUser(ctx context.Context, c *dcerpc.Client, user ndr.ContextHandle) ([]GroupMembership, error) {
	var gs []GroupMembership
	var st uint32
	err := svc.Invoke(ctx, c, OpGetGroupsForUser, func(w *ndr.Writer) { w.ContextHandle(user) }, func(r *ndr.Reader) {
		r.DeferUnique(func(r *ndr.Reader) {
			n := r.Uint32()
			svc.ReadArray(r, &gs, n, 8, "groups buffer: size_is differs from MembershipCount", func(r *ndr.Reader, g *GroupMembership) {
				g.RID = r.Uint32()
				g.Attributes = r.Uint32()
			})
		})
		r.Flush()
		st = r.Uint32()
	})
	if err != nil {
		return nil, err
	}
	return gs, svc.Status(st)
}

// AliasMembership calls SamrGetAliasMembership: the RIDs of the aliases
// of the domain that hold any of sids.
func AliasMembership(ctx context.Context, c *dcerpc.Client, dom ndr.ContextHandle, sids []security.SID) ([]uint32, error) {
	var rids []uint32
	var st uint32
	err := svc.Invoke(ctx, c, OpGetAliasMembership, func(w *ndr.Writer) {
		w.ContextHandle(dom)
		WriteSIDs(w, sids)
	}, func(r *ndr.Reader) {
		rids = ReadIDs(r)
		st = r.Uint32()
	})
	if err != nil {
		return nil, err
	}
	return rids, svc.Status(st)
}

// MembersInAlias calls SamrGetMembersInAlias.
func MembersInAlias(ctx context.Context, c *dcerpc.Client, alias ndr.ContextHandle) ([]security.SID, error) {
	var sids []security.SID
	var st uint32
	err := svc.Invoke(ctx, c, OpGetMembersInAlias, func(w *ndr.Writer) { w.ContextHandle(alias) }, func(r *ndr.Reader) {
		sids = svc.ReadSIDArray(r, 0, "")
		st = r.Uint32()
	})
	if err != nil {
		return nil, err
	}
	return sids, svc.Status(st)
}
