package samr_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/samr"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
	"github.com/smbpipe/smbpipe/security"
)

// TestGroups: SamrOpenGroup opens None (513) in the account domain
// (STATUS_NO_SUCH_GROUP elsewhere and in BUILTIN), SamrQueryInformationGroup
// gives its general information, SamrGetMembersInGroup every account;
// GROUP_LIST_MEMBERS is checked on the handle (an audit record with rule
// object-access when missing).
func TestGroups(t *testing.T) {
	var audit svctest.Audit
	c := dial(t, svctest.Alice, &audit)
	x := ctx(t)
	srv, err := samr.Connect5(x, c, "srv", samr.MaximumAllowed)
	ok(t, err)
	m, err := security.ParseSID("S-1-5-21-1-2-3")
	ok(t, err)
	d, err := samr.OpenDomain(x, c, srv, samr.MaximumAllowed, m)
	ok(t, err)
	b, err := samr.OpenDomain(x, c, srv, samr.MaximumAllowed, svc.BuiltinSID())
	ok(t, err)
	open := func(dom ndr.ContextHandle, access, rid uint32) (ndr.ContextHandle, uint32) {
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		w.ContextHandle(dom)
		w.Uint32(access)
		w.Uint32(rid)
		stub, _ := w.Bytes()
		out, err := svctest.Call(t, c, samr.OpOpenGroup, stub)
		ok(t, err)
		r := ndr.NewReader(out, ndr.LittleEndian)
		return r.ContextHandle(), r.Uint32()
	}
	for _, tc := range []struct {
		dom  ndr.ContextHandle
		rid  uint32
		what string
	}{{d, 512, "512"}, {b, 513, "513 in BUILTIN"}} {
		if _, st := open(tc.dom, samr.MaximumAllowed, tc.rid); st != svc.StatusNoSuchGroup {
			t.Errorf("OpenGroup %s: %#x, want STATUS_NO_SUCH_GROUP", tc.what, st)
		}
	}
	if _, st := open(d, 0x000F001F, 513); st != svc.StatusAccessDenied {
		t.Errorf("alice OpenGroup GROUP_ALL_ACCESS: %#x, want STATUS_ACCESS_DENIED", st)
	}
	g, st := open(d, samr.MaximumAllowed, 513)
	if st != 0 {
		t.Fatalf("OpenGroup 513: %#x", st)
	}
	call := func(op uint16, h ndr.ContextHandle, level uint16) *ndr.Reader {
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		w.ContextHandle(h)
		if op == samr.OpQueryInformationGroup {
			w.Enum(level)
		}
		stub, _ := w.Bytes()
		out, err := svctest.Call(t, c, op, stub)
		ok(t, err)
		return ndr.NewReader(out, ndr.LittleEndian)
	}
	r := call(samr.OpQueryInformationGroup, g, 1)
	var name, comment string
	var attrs, count uint32
	if r.UniquePtr() && r.Uint16() == 1 {
		r.UnicodeString(&name)
		attrs, count = r.Uint32(), r.Uint32()
		r.UnicodeString(&comment)
	}
	r.Flush()
	if st := r.Uint32(); st != 0 || r.Err() != nil || name != "None" || attrs != 7 || count != 4 || comment != "Ordinary users" {
		t.Errorf("QueryInformationGroup 1: %q %#x %d %q status %#x %v", name, attrs, count, comment, st, r.Err())
	}
	r = call(samr.OpGetMembersInGroup, g, 0)
	var rids, attributes []uint32
	if r.UniquePtr() {
		n := r.Uint32()
		r.DeferUnique(func(r *ndr.Reader) {
			r.Uint32()
			for range n {
				rids = append(rids, r.Uint32())
			}
		})
		r.DeferUnique(func(r *ndr.Reader) {
			r.Uint32()
			for range n {
				attributes = append(attributes, r.Uint32())
			}
		})
		r.Flush()
	}
	slices.Sort(rids)
	if st := r.Uint32(); st != 0 || r.Err() != nil || !slices.Equal(rids, []uint32{500, 501, 1001, 1002}) || len(attributes) != 4 {
		t.Errorf("GetMembersInGroup: %v %v status %#x %v", rids, attributes, st, r.Err())
	}

	info, st := open(d, 0x1, 513) // GROUP_READ_INFORMATION only
	if st != 0 {
		t.Fatalf("OpenGroup 513 GROUP_READ_INFORMATION: %#x", st)
	}
	r = call(samr.OpGetMembersInGroup, info, 0)
	if r.UniquePtr() || r.Uint32() != svc.StatusAccessDenied {
		t.Error("GetMembersInGroup on a handle without GROUP_LIST_MEMBERS: want STATUS_ACCESS_DENIED")
	}
	if got := audit.Snapshot(); !slices.Contains(got, "samr.SamrGetMembersInGroup:object-access") || !slices.Contains(got, "samr.SamrOpenGroup:object-access") {
		t.Errorf("audit: %v", got)
	}
	if _, err := samr.OpenUser(x, c, d, samr.MaximumAllowed, 513); !errors.Is(err, svc.StatusError(svc.StatusNoSuchUser)) {
		t.Errorf("OpenUser 513 (a group): %v, want STATUS_NO_SUCH_USER", err)
	}
}

// TestEnumerateUsersFilter: SamrEnumerateUsersInDomain keeps the accounts
// whose account control shares a bit with UserAccountControl (0: all):
// ACB_WSTRUST (0x80), the computer accounts a tool lists, matches none;
// ACB_DISABLED only Administrator (svctest turns guest sessions on).
func TestEnumerateUsersFilter(t *testing.T) {
	c := dial(t, svctest.Root, nil)
	x := ctx(t)
	d := accountDomain(t, x, c)
	for _, tc := range []struct {
		uac  uint32
		want []string
	}{
		{0, []string{"Administrator", "Guest", "alice", "root"}},
		{0x10, []string{"Administrator", "Guest", "alice", "root"}},
		{0x80, nil},
		{0x1, []string{"Administrator"}},
	} {
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		w.ContextHandle(d)
		w.Uint32(0) // EnumerationContext
		w.Uint32(tc.uac)
		w.Uint32(0xFFFFFFFF)
		stub, _ := w.Bytes()
		out, err := svctest.Call(t, c, samr.OpEnumerateUsersInDomain, stub)
		ok(t, err)
		r := ndr.NewReader(out, ndr.LittleEndian)
		r.Uint32()
		var names []string
		for _, e := range samr.ReadEntries(r) {
			names = append(names, e.Name)
		}
		n, st := r.Uint32(), r.Uint32()
		if !slices.Equal(names, tc.want) || n != uint32(len(tc.want)) || st != 0 || r.Err() != nil {
			t.Errorf("EnumerateUsersInDomain UserAccountControl %#x: %v (%d) status %#x %v, want %v", tc.uac, names, n, st, r.Err(), tc.want)
		}
	}
}

// TestUserInfoLevels: SamrQueryInformationUser2 answers every class a
// query may ask (1 to 14, 16, 17, 20, 21), each needing the read rights
// of its fields on the handle (MS-SAMR 3.1.5.5.6); 18 (the password
// hashes) and the classes that do not exist or are write-only are
// STATUS_INVALID_INFO_CLASS.
func TestUserInfoLevels(t *testing.T) {
	c := dial(t, svctest.Alice, nil)
	x := ctx(t)
	d := accountDomain(t, x, c)
	all, err := samr.OpenUser(x, c, d, samr.MaximumAllowed, 1001)
	ok(t, err)
	general, err := samr.OpenUser(x, c, d, 0x1, 1001) // USER_READ_GENERAL
	ok(t, err)
	query := func(h ndr.ContextHandle, level uint16) (string, uint32) {
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		w.ContextHandle(h)
		w.Enum(level)
		stub, _ := w.Bytes()
		out, err := svctest.Call(t, c, samr.OpQueryInformationUser2, stub)
		ok(t, err)
		r := ndr.NewReader(out, ndr.LittleEndian)
		var name string
		if r.UniquePtr() {
			if got := r.Uint16(); got != level {
				t.Errorf("level %d: arm %d", level, got)
			}
			var full string
			switch level {
			case 6: // UserName, FullName
				r.UnicodeString(&name)
				r.UnicodeString(&full)
				r.Flush()
			case 7: // UserName
				r.UnicodeString(&name)
				r.Flush()
			case 4: // SAMPR_LOGON_HOURS, 4-aligned (it holds a pointer)
				r.Align(4)
				if units := r.Uint16(); units != 168 {
					t.Errorf("level 4: UnitsPerWeek %d, want 168", units)
				}
				var hours []byte
				r.DeferUnique(func(r *ndr.Reader) {
					r.MaxCount()
					r.Uint32() // offset
					hours = make([]byte, r.Uint32())
					for i := range hours {
						hours[i] = r.Uint8()
					}
				})
				r.Flush()
				if len(hours) != 21 {
					t.Errorf("level 4: %d bytes of logon hours, want 21", len(hours))
				}
			}
		}
		if r.Err() != nil {
			t.Errorf("level %d: %v", level, r.Err())
		}
		return name, ndr.NewReader(out[len(out)-4:], ndr.LittleEndian).Uint32()
	}
	for level := uint16(0); level <= 27; level++ {
		want := uint32(0)
		switch level {
		case 0, 15, 18, 19, 22, 23, 24, 25, 26, 27:
			want = 0xC0000003 // STATUS_INVALID_INFO_CLASS
		}
		name, st := query(all, level)
		if st != want {
			t.Errorf("level %d: status %#x, want %#x", level, st, want)
		}
		if st == 0 && (level == 6 || level == 7) && name != "alice" {
			t.Errorf("level %d: name %q", level, name)
		}
	}
	for level, want := range map[uint16]uint32{1: 0, 6: 0, 13: 0, 2: svc.StatusAccessDenied, 3: svc.StatusAccessDenied,
		4: svc.StatusAccessDenied, 16: svc.StatusAccessDenied, 21: svc.StatusAccessDenied} {
		if _, st := query(general, level); st != want {
			t.Errorf("USER_READ_GENERAL handle, level %d: status %#x, want %#x", level, st, want)
		}
	}
}
