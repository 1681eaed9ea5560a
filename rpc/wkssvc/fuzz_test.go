package wkssvc_test

import (
	"testing"

	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
	"github.com/smbpipe/smbpipe/rpc/wkssvc"
)

// FuzzRequests sends any stub to NetrWkstaGetInfo: an answer or a fault,
// never a panic.
func FuzzRequests(f *testing.F) {
	c := svctest.Dial(f, wkssvc.Interface(svctest.Env(svctest.Snapshot(f, ""), nil)), svctest.Root)
	f.Add([]byte{0, 0, 0, 0, 100, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0xF6, 1, 0, 0}) // 502
	f.Add([]byte{0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 's', 0, 'r', 0, 'v', 0, 0, 0, 102, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		svctest.Call(t, c, wkssvc.OpNetrWkstaGetInfo, data)
		if _, err := svctest.Call(t, c, wkssvc.OpNetrWkstaGetInfo, []byte{0, 0, 0, 0, 100, 0, 0, 0}); err != nil {
			t.Fatalf("the association did not survive: %v", err)
		}
	})
}
