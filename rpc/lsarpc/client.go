package lsarpc

import (
	"context"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/security"
)

// The client's calls. A call's NTSTATUS other than success comes back as
// a svc.StatusError (STATUS_SOME_NOT_MAPPED with the translations).

// OpenPolicy2 calls LsarOpenPolicy2 with access and returns the handle.
func OpenPolicy2(ctx context.Context, c *dcerpc.Client, server string, access uint32) (ndr.ContextHandle, error) {
	var h ndr.ContextHandle
	var st uint32
	err := svc.Invoke(ctx, c, OpOpenPolicy2, func(w *ndr.Writer) {
		w.UniquePtr(true)
		w.WString(`\\` + server)
		(&ObjectAttributes{QoS: &QoS{Length: 12, ImpersonationLevel: 2, ContextTracking: 1}}).MarshalNDR(w)
		w.Uint32(access)
	}, func(r *ndr.Reader) {
		h = r.ContextHandle()
		st = r.Uint32()
	})
	if err != nil {
		return h, err
	}
	return h, svc.Status(st)
}

// Close calls LsarClose on h.
func Close(ctx context.Context, c *dcerpc.Client, h ndr.ContextHandle) error {
	return svc.InvokeClose(ctx, c, OpClose, h)
}

// QueryInfo calls LsarQueryInformationPolicy for class on h.
func QueryInfo(ctx context.Context, c *dcerpc.Client, h ndr.ContextHandle, class uint16) (*PolicyInfo, error) {
	var p *PolicyInfo
	var st uint32
	err := svc.Invoke(ctx, c, OpQueryInformationPolicy, func(w *ndr.Writer) {
		w.ContextHandle(h)
		w.Enum(class)
	}, func(r *ndr.Reader) {
		if r.UniquePtr() {
			p = new(PolicyInfo)
			p.UnmarshalNDR(r)
		}
		r.Flush()
		st = r.Uint32()
	})
	if err != nil {
		return nil, err
	}
	return p, svc.Status(st)
}

// LookupSIDs calls LsarLookupSids (level LsapLookupWksta) and returns the
// referenced domains and a translation per SID.
func LookupSIDs(ctx context.Context, c *dcerpc.Client, h ndr.ContextHandle, sids []security.SID) (RefDomains, []Translated, error) {
	return lookupCall(ctx, c, OpLookupSids, h, FormName, func(w *ndr.Writer) { WriteSIDArray(w, sids) })
}

// LookupNames calls LsarLookupNames (level LsapLookupWksta) and returns
// the referenced domains and a translation (RID and domain) per name.
func LookupNames(ctx context.Context, c *dcerpc.Client, h ndr.ContextHandle, names []string) (RefDomains, []Translated, error) {
	return lookupCall(ctx, c, OpLookupNames, h, FormSid, func(w *ndr.Writer) { WriteNames(w, names) })
}

// lookupCall makes a first-version lookup call (LsarLookupSids,
// LsarLookupNames) on h: what in writes (the SIDs or names), empty [in,out]
// translations in form, level LsapLookupWksta and MappedCount 0; it
// returns the referenced domains and the translations in form.
func lookupCall(ctx context.Context, c *dcerpc.Client, op uint16, h ndr.ContextHandle, form Form, in func(*ndr.Writer)) (RefDomains, []Translated, error) {
	var doms RefDomains
	var ts []Translated
	var st uint32
	err := svc.Invoke(ctx, c, op, func(w *ndr.Writer) {
		w.ContextHandle(h)
		in(w)
		WriteTranslated(w, form, nil)
		w.Enum(1)
		w.Uint32(0)
	}, func(r *ndr.Reader) {
		doms.UnmarshalNDR(r)
		ts = ReadTranslated(r, form)
		r.Uint32()
		st = r.Uint32()
	})
	if err != nil {
		return doms, nil, err
	}
	return doms, ts, svc.Status(st)
}

// GetUserName calls LsarGetUserName: who the server says the caller is.
func GetUserName(ctx context.Context, c *dcerpc.Client, server string) (user, domain string, err error) {
	var st uint32
	err = svc.Invoke(ctx, c, OpGetUserName, func(w *ndr.Writer) {
		w.UniquePtr(true)
		w.WString(`\\` + server)
		w.UniquePtr(false) // *UserName: NULL in
		w.UniquePtr(true)  // DomainName wanted
		w.UniquePtr(false)
	}, func(r *ndr.Reader) {
		if r.UniquePtr() {
			r.UnicodeString(&user)
			r.Flush()
		}
		if r.UniquePtr() && r.UniquePtr() {
			r.UnicodeString(&domain)
			r.Flush()
		}
		st = r.Uint32()
	})
	if err != nil {
		return "", "", err
	}
	return user, domain, svc.Status(st)
}
