package samr_test

import (
	"testing"

	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/samr"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
)

// TestDomainLockoutLevels: SamrQueryInformationDomain(2) answers the
// classes Windows serves beyond 9 — 11 (general 2), 12 (lockout: what
// netexec's --pass-pol, enum4linux-ng and polenum ask) and 13 (modified
// 2) — with their 8-aligned LARGE_INTEGERs; 10 is not a class.
func TestDomainLockoutLevels(t *testing.T) {
	c := dial(t, svctest.Root, nil)
	x := ctx(t)
	d := accountDomain(t, x, c)
	query := func(level uint16) *ndr.Reader {
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		w.ContextHandle(d)
		w.Enum(level)
		stub, _ := w.Bytes()
		out, err := svctest.Call(t, c, samr.OpQueryInformationDomain2, stub)
		ok(t, err)
		return ndr.NewReader(out, ndr.LittleEndian)
	}
	const window = -30 * 60 * 10000000
	r := query(12)
	if !r.UniquePtr() || r.Uint16() != 12 {
		t.Fatal("level 12: no DomainLockoutInformation arm")
	}
	if dur, obs, thr := int64(r.Uint64()), int64(r.Uint64()), r.Uint16(); dur != window || obs != window || thr != 0 {
		t.Errorf("lockout: duration %d, window %d, threshold %d", dur, obs, thr)
	}
	if st := r.Uint32(); st != 0 || r.Err() != nil {
		t.Errorf("level 12: status %#x, %v", st, r.Err())
	}

	r = query(11)
	if !r.UniquePtr() || r.Uint16() != 11 {
		t.Fatal("level 11: no DomainGeneralInformation2 arm")
	}
	r.Align(8)
	r.Uint64() // ForceLogoff
	var oem, name, replica string
	r.UnicodeString(&oem)
	r.UnicodeString(&name)
	r.UnicodeString(&replica)
	r.Uint64() // DomainModifiedCount
	r.Uint32()
	r.Uint32()
	r.Uint32()
	users := r.Uint32()
	r.Uint32()
	r.Uint32()
	if dur, obs, thr := int64(r.Uint64()), int64(r.Uint64()), r.Uint16(); dur != window || obs != window || thr != 0 {
		t.Errorf("general 2 lockout: duration %d, window %d, threshold %d", dur, obs, thr)
	}
	r.Flush()
	if st := r.Uint32(); st != 0 || r.Err() != nil || name != "TESTSRV" || users != 4 {
		t.Errorf("level 11: name %q users %d status %#x, %v", name, users, st, r.Err())
	}

	r = query(13)
	if !r.UniquePtr() || r.Uint16() != 13 {
		t.Fatal("level 13: no DomainModifiedInformation2 arm")
	}
	r.Uint64()
	r.Uint64()
	r.Uint64()
	if st := r.Uint32(); st != 0 || r.Err() != nil {
		t.Errorf("level 13: status %#x, %v", st, r.Err())
	}

	r = query(10)
	if r.UniquePtr() || r.Uint32() != 0xC0000003 {
		t.Error("level 10: want a NULL buffer and STATUS_INVALID_INFO_CLASS")
	}
}

// TestPasswordInformation: SamrGetDomainPasswordInformation needs no
// handle, so alice, whom RestrictRemoteSAM keeps from connecting, gets
// it (the call a client makes before a password change);
// SamrGetUserDomainPasswordInformation needs USER_READ_ACCOUNT on a user
// handle.
func TestPasswordInformation(t *testing.T) {
	x := ctx(t)
	w := ndr.NewWriter(nil, ndr.LittleEndian)
	w.UniquePtr(false)
	stub, _ := w.Bytes()
	var audit svctest.Audit
	strict := svctest.Dial(t, samr.Interface(svctest.Env(svctest.Snapshot(t, ""), &audit)), svctest.Alice)
	if _, err := samr.Connect5(x, strict, "srv", samr.MaximumAllowed); !denied(err) {
		t.Fatalf("alice Connect5 under RestrictRemoteSAM: %v, want STATUS_ACCESS_DENIED", err)
	}
	out, err := svctest.Call(t, strict, samr.OpGetDomainPasswordInformation, stub)
	ok(t, err)
	r := ndr.NewReader(out, ndr.LittleEndian)
	minLen, props, st := r.Uint16(), r.Uint32(), r.Uint32()
	if r.Err() != nil || st != 0 || minLen != 0 || props != 0 || len(out) != 12 {
		t.Errorf("GetDomainPasswordInformation: % x (%v)", out, r.Err())
	}

	c := dial(t, svctest.Alice, &audit)
	d := accountDomain(t, x, c)
	for _, tc := range []struct {
		access, status uint32
	}{{0x10, 0}, {0x100, 0xC0000022}} { // USER_READ_ACCOUNT, USER_LIST_GROUPS
		u, err := samr.OpenUser(x, c, d, tc.access, 1001)
		ok(t, err)
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		w.ContextHandle(u)
		stub, _ := w.Bytes()
		out, err := svctest.Call(t, c, samr.OpGetUserDomainPasswordInformation, stub)
		ok(t, err)
		r := ndr.NewReader(out, ndr.LittleEndian)
		r.Uint16()
		r.Uint32()
		if st := r.Uint32(); st != tc.status || r.Err() != nil {
			t.Errorf("GetUserDomainPasswordInformation on a handle with %#x: status %#x, want %#x", tc.access, st, tc.status)
		}
	}
}
