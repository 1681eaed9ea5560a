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
		}
	}
}
