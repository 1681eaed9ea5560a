package lsarpc

import (
	"strings"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/security"
)

// RefDomain is one entry of LSAPR_REFERENCED_DOMAIN_LIST.
type RefDomain struct {
	Name string
	SID  *security.SID
}

// RefDomains is LSAPR_REFERENCED_DOMAIN_LIST.
type RefDomains struct {
	Domains []RefDomain
	Max     uint32
}

// index returns the index of the domain (name, sid), adding it.
func (d *RefDomains) index(name string, sid security.SID) int32 {
	for i, x := range d.Domains {
		if x.SID != nil && *x.SID == sid {
			return int32(i)
		}
	}
	d.Domains = append(d.Domains, RefDomain{Name: name, SID: &sid})
	return int32(len(d.Domains) - 1)
}

// MarshalNDR writes the [out] PLSAPR_REFERENCED_DOMAIN_LIST* parameter: a
// unique pointer and the list (flushed).
func (d *RefDomains) MarshalNDR(w *ndr.Writer) {
	w.UniquePtr(true)
	w.Uint32(uint32(len(d.Domains)))
	svc.WriteArray(w, d.Domains, func(w *ndr.Writer, x *RefDomain) {
		w.UnicodeString(x.Name)
		writeOptSID(w, x.SID)
	})
	w.Uint32(max(d.Max, 32))
	w.Flush()
}

// UnmarshalNDR reads it.
func (d *RefDomains) UnmarshalNDR(r *ndr.Reader) {
	if !r.UniquePtr() {
		r.Flush()
		return
	}
	n := r.Uint32()
	svc.ReadArray(r, &d.Domains, n, 12, "referenced domains: size_is differs from Entries", func(r *ndr.Reader, x *RefDomain) {
		r.UnicodeString(&x.Name)
		readOptSID(r, &x.SID)
	})
	d.Max = r.Uint32()
	r.Flush()
}

// Translated is one translated SID or name: LSAPR_TRANSLATED_NAME(_EX),
// LSAPR_TRANSLATED_SID(_EX, _EX2), by the fields each uses.
type Translated struct {
	Use         uint16
	Name        string        // names
	RID         uint32        // SIDs v1, v2
	SID         *security.SID // SIDs v3
	DomainIndex int32
	Flags       uint32 // _EX forms
}

// Form of a translated array: which structure the elements are.
type Form uint8

const (
	FormName   Form = iota // LSAPR_TRANSLATED_NAME
	FormNameEx             // LSAPR_TRANSLATED_NAME_EX
	FormSid                // LSAPR_TRANSLATED_SID
	FormSidEx              // LSAPR_TRANSLATED_SID_EX
	FormSidEx2             // LSAPR_TRANSLATED_SID_EX2
)

func (f Form) size() int {
	switch f {
	case FormName:
		return 16
	case FormNameEx:
		return 20
	case FormSid:
		return 12
	}
	return 16
}

// WriteTranslated writes an [in,out] translated array parameter: Entries,
// a pointer to the elements (NULL when empty), flushed.
func WriteTranslated(w *ndr.Writer, f Form, ts []Translated) {
	w.Uint32(uint32(len(ts)))
	svc.WriteArray(w, ts, func(w *ndr.Writer, t *Translated) {
		w.Align(4)
		w.Enum(t.Use)
		switch f {
		case FormName, FormNameEx:
			w.UnicodeString(t.Name)
		case FormSid, FormSidEx:
			w.Uint32(t.RID)
		case FormSidEx2:
			writeOptSID(w, t.SID)
		}
		w.Int32(t.DomainIndex)
		if f != FormName && f != FormSid {
			w.Uint32(t.Flags)
		}
	})
	w.Flush()
}

// ReadTranslated reads it.
func ReadTranslated(r *ndr.Reader, f Form) []Translated {
	n := r.Uint32()
	var ts []Translated
	svc.ReadArray(r, &ts, n, f.size(), "translated array: size_is differs from Entries", func(r *ndr.Reader, t *Translated) {
		r.Align(4)
		t.Use = r.Enum()
		switch f {
		case FormName, FormNameEx:
			r.UnicodeString(&t.Name)
		case FormSid, FormSidEx:
			t.RID = r.Uint32()
		case FormSidEx2:
			readOptSID(r, &t.SID)
		}
		t.DomainIndex = r.Int32()
		if f != FormName && f != FormSid {
			t.Flags = r.Uint32()
		}
	})
	r.Flush()
	return ts
}

// ReadSIDArray reads LSAPR_SID_ENUM_BUFFER (a top-level [in] parameter).
func ReadSIDArray(r *ndr.Reader) []security.SID {
	return svc.ReadSIDArray(r, MaxLookupSids, "LsarLookupSids")
}

// WriteSIDArray writes it (a client's view).
func WriteSIDArray(w *ndr.Writer, sids []security.SID) {
	w.Uint32(uint32(len(sids)))
	svc.WriteArray(w, sids, func(w *ndr.Writer, s *security.SID) {
		w.DeferUnique(true, func(w *ndr.Writer) { svc.WriteSID(w, *s) })
	})
	w.Flush()
}

// translateSIDs translates sids for a lookup at level (LSAP_LOOKUP_LEVEL),
// returning the referenced domains, the names and how many mapped.
func translateSIDs(snap *policy.Snapshot, sids []security.SID) (RefDomains, []Translated, int) {
	var doms RefDomains
	out := make([]Translated, len(sids))
	mapped := 0
	for i, s := range sids {
		e, ok := svc.LookupSID(snap, s)
		t := Translated{Use: e.Use, Name: e.Name, DomainIndex: -1}
		if e.Use == svc.SidTypeDomain {
			t.Name = ""
		}
		if ok || e.Domain != "" {
			t.DomainIndex = doms.index(e.Domain, e.DomainSID)
		}
		if ok {
			mapped++
		}
		out[i] = t
	}
	return doms, out, mapped
}

// NTSTATUS LsarLookupSids(PolicyHandle, [in] PLSAPR_SID_ENUM_BUFFER
// SidEnumBuffer, [out] PLSAPR_REFERENCED_DOMAIN_LIST* ReferencedDomains,
// [in,out] PLSAPR_TRANSLATED_NAMES TranslatedNames, [in] LSAP_LOOKUP_LEVEL
// LookupLevel, [in,out] unsigned long* MappedCount); LsarLookupSids2 adds
// LookupOptions and ClientRevision and returns LSAPR_TRANSLATED_NAMES_EX;
// LsarLookupSids3 has no handle.
func (s *service) lookupSids(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	op := c.Opnum()
	form := FormNameEx
	if op == OpLookupSids {
		form = FormName
	}
	h := s.readHandle(r, op != OpLookupSids3)
	sids := ReadSIDArray(r)
	return s.lookup(c, r, w, h, form, op == OpLookupSids, func(snap *policy.Snapshot) (RefDomains, []Translated, int) {
		return translateSIDs(snap, sids)
	})
}

// readHandle reads the PolicyHandle parameter of a lookup, which has one
// unless it is a TCP-only call (has is false): nil then.
func (s *service) readHandle(r *ndr.Reader, has bool) *ndr.ContextHandle {
	if !has {
		return nil
	}
	h := r.ContextHandle()
	return &h
}

// lookup serves a LsarLookupSids or LsarLookupNames call whose handle (h,
// nil for none) and SIDs or names are read: it reads the rest of the
// request (the [in,out] translations in form, LookupLevel, MappedCount
// and, unless first, the LookupOptions and ClientRevision of the later
// versions), decides the call on the handle and writes the reply, the
// translations translate makes.
func (s *service) lookup(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer, h *ndr.ContextHandle, form Form, first bool,
	translate func(*policy.Snapshot) (RefDomains, []Translated, int)) error {
	ReadTranslated(r, form)
	r.Enum() // LookupLevel
	r.Uint32()
	if !first {
		r.Uint32() // LookupOptions
		r.Uint32() // ClientRevision
	}
	if r.Err() != nil {
		return nil
	}
	var granted uint32
	if h != nil {
		ph, err := s.handle(c, *h)
		if err != nil {
			return err
		}
		granted = ph.granted
	}
	d, snap := s.decide(c, 0, granted, true)
	if !d.Allowed {
		w.UniquePtr(false)
		WriteTranslated(w, form, nil)
		w.Uint32(0)
		w.Uint32(uint32(d.Status))
		return nil
	}
	doms, out, mapped := translate(snap)
	doms.MarshalNDR(w)
	WriteTranslated(w, form, out)
	w.Uint32(uint32(mapped))
	w.Uint32(svc.MappedStatus(mapped, len(out), false))
	return nil
}

// ReadNames reads the [in] Count and [size_is(Count)] RPC_UNICODE_STRING
// Names[] parameters.
func ReadNames(r *ndr.Reader) []string {
	n := r.Uint32()
	if n > MaxLookupNames {
		r.Fail("more names than LsarLookupNames takes")
		return nil
	}
	if m := r.MaxCount(); m != n {
		r.Fail("names: size_is differs from Count")
		return nil
	}
	names := make([]string, r.Elements(n, 8))
	for i := range names {
		r.UnicodeString(&names[i])
	}
	r.Flush()
	return names
}

// WriteNames writes them (a client's view).
func WriteNames(w *ndr.Writer, names []string) {
	w.Uint32(uint32(len(names)))
	w.MaxCount(len(names))
	for _, n := range names {
		w.UnicodeString(n)
	}
	w.Flush()
}

func translateNames(snap *policy.Snapshot, names []string) (RefDomains, []Translated, int) {
	var doms RefDomains
	out := make([]Translated, len(names))
	mapped := 0
	for i, n := range names {
		e, ok := svc.LookupName(snap, strings.TrimSpace(n))
		t := Translated{Use: svc.SidTypeUnknown, DomainIndex: -1}
		if ok {
			mapped++
			t.Use = e.Use
			sid := e.SID
			t.SID = &sid
			if e.Use == svc.SidTypeDomain {
				t.RID = 0xFFFFFFFF
				t.DomainIndex = doms.index(e.Name, e.SID)
			} else {
				t.RID = e.SID.RID()
				t.DomainIndex = doms.index(e.Domain, e.DomainSID)
			}
		}
		out[i] = t
	}
	return doms, out, mapped
}

// NTSTATUS LsarLookupNames(PolicyHandle, [in] unsigned long Count,
// [in,size_is(Count)] PRPC_UNICODE_STRING Names, [out]
// PLSAPR_REFERENCED_DOMAIN_LIST* ReferencedDomains, [in,out]
// PLSAPR_TRANSLATED_SIDS TranslatedSids, [in] LSAP_LOOKUP_LEVEL
// LookupLevel, [in,out] unsigned long* MappedCount); LsarLookupNames2 adds
// LookupOptions and ClientRevision with LSAPR_TRANSLATED_SIDS_EX,
// LsarLookupNames3 LSAPR_TRANSLATED_SIDS_EX2 (full SIDs), LsarLookupNames4
// has no handle.
func (s *service) lookupNames(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	op := c.Opnum()
	form := FormSidEx2
	switch op {
	case OpLookupNames:
		form = FormSid
	case OpLookupNames2:
		form = FormSidEx
	}
	h := s.readHandle(r, op != OpLookupNames4)
	names := ReadNames(r)
	return s.lookup(c, r, w, h, form, op == OpLookupNames, func(snap *policy.Snapshot) (RefDomains, []Translated, int) {
		return translateNames(snap, names)
	})
}
