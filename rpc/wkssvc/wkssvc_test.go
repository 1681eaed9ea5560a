package wkssvc_test

import (
	"testing"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
	"github.com/smbpipe/smbpipe/rpc/wkssvc"
)

// TestLevels: 100 and 101 for a user, 102 and 502 for administrators
// only; 1013 (an arm not served) and 7 (no arm) ERROR_INVALID_LEVEL.
func TestLevels(t *testing.T) {
	snap := svctest.Snapshot(t, "")
	for _, tc := range []struct {
		who    dcerpc.Caller
		level  uint32
		result uint32
	}{
		{svctest.Alice, 100, 0}, {svctest.Alice, 101, 0}, {svctest.Alice, 102, svc.ErrAccessDenied},
		{svctest.Alice, 502, svc.ErrAccessDenied}, {svctest.Root, 102, 0}, {svctest.Root, 502, 0},
		{svctest.Root, 1013, svc.ErrInvalidLevel}, {svctest.Root, 7, svc.ErrInvalidLevel},
	} {
		c := svctest.Dial(t, wkssvc.Interface(svctest.Env(snap, nil)), tc.who)
		out, err := svctest.Call(t, c, wkssvc.OpNetrWkstaGetInfo, []byte{0, 0, 0, 0, byte(tc.level), byte(tc.level >> 8), 0, 0})
		if err != nil {
			t.Fatal(err)
		}
		var p wkssvc.Reply
		if err := ndr.Unmarshal(out, ndr.LittleEndian, &p); err != nil {
			t.Fatalf("%s level %d: %v", tc.who.User, tc.level, err)
		}
		if p.Level != tc.level || p.Result != tc.result || (p.Info != nil) != (tc.result == 0) {
			t.Errorf("%s level %d: %+v, want result %d", tc.who.User, tc.level, p, tc.result)
			continue
		}
		switch {
		case p.Info == nil:
		case tc.level == 502 && (p.Info.Tunables[0] != 3600 || p.Info.Tunables[21] != 1):
			t.Errorf("level 502: %v", p.Info.Tunables)
		case tc.level != 502 && (p.Info.ComputerName != "TESTSRV" || p.Info.LanGroup != "TESTDOM"):
			t.Errorf("level %d: %+v", tc.level, p.Info)
		case tc.level == 102 && p.Info.LoggedOnUsers != 0: // as NetrWkstaUserEnum: none
			t.Errorf("level %d: %+v", tc.level, p.Info)
		}
	}
}

// TestUserEnum: NetrWkstaUserEnum (opnum 2) answers an administrator an
// empty list of interactive logons at levels 0 and 1 (ERROR_INVALID_LEVEL
// at others) and a user ERROR_ACCESS_DENIED with a NULL container, as
// Windows; it used to fault with nca_s_op_rng_error.
func TestUserEnum(t *testing.T) {
	snap := svctest.Snapshot(t, "")
	for _, tc := range []struct {
		who    dcerpc.Caller
		level  uint32
		result uint32
	}{
		{svctest.Root, 0, 0}, {svctest.Root, 1, 0}, {svctest.Root, 2, svc.ErrInvalidLevel},
		{svctest.Alice, 1, svc.ErrAccessDenied}, {svctest.Alice, 0, svc.ErrAccessDenied},
	} {
		c := svctest.Dial(t, wkssvc.Interface(svctest.Env(snap, nil)), tc.who)
		q := wkssvc.UserEnumRequest{ServerName: "srv", Level: tc.level, PrefMaxLen: 0xFFFFFFFF, ResumeIsNull: true}
		stub, err := ndr.Marshal(nil, ndr.LittleEndian, &q)
		if err != nil {
			t.Fatal(err)
		}
		out, err := svctest.Call(t, c, wkssvc.OpNetrWkstaUserEnum, stub)
		if err != nil {
			t.Fatalf("%s level %d: %v", tc.who.User, tc.level, err)
		}
		r := ndr.NewReader(out, ndr.LittleEndian)
		level, disc := r.Uint32(), r.Uint32()
		container, count := false, uint32(99)
		if tc.level <= 1 {
			r.DeferUnique(func(r *ndr.Reader) {
				container = true
				count = r.Uint32()
				r.UniquePtr()
			})
			r.Flush()
		}
		total := r.Uint32()
		resume := r.UniquePtr()
		result := r.Uint32()
		if r.Err() != nil || level != tc.level || disc != tc.level || total != 0 || resume || result != tc.result ||
			container != (tc.result == 0) || container && count != 0 {
			t.Errorf("%s level %d: level %d/%d container %v (%d) total %d result %d, want %d (%v)",
				tc.who.User, tc.level, level, disc, container, count, total, result, tc.result, r.Err())
		}
	}
}
