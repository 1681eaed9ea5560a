package lsarpc_test

import (
	"testing"

	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/lsarpc"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
)

// TestDSSetup: DsRolerGetPrimaryDomainInformation (dssetup, on
// \pipe\lsarpc as on Windows) says a stand-alone server in its workgroup
// at level 1, no upgrade at 2, no operation at 3, and
// ERROR_INVALID_PARAMETER at others; under RestrictAnonymous = 2 an
// anonymous caller gets ERROR_ACCESS_DENIED.
func TestDSSetup(t *testing.T) {
	call := func(cfg string, anon bool, level uint16) *ndr.Reader {
		who := svctest.Alice
		if anon {
			who.User, who.Anonymous = "", true
		}
		c := svctest.Dial(t, lsarpc.DSSetupInterface(svctest.Env(svctest.Snapshot(t, cfg), nil)), who)
		out, err := svctest.Call(t, c, lsarpc.OpDsRolerGetPrimaryDomainInformation, []byte{byte(level), byte(level >> 8)})
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		return ndr.NewReader(out, ndr.LittleEndian)
	}
	r := call("", false, 1)
	var flat string
	if !r.UniquePtr() || r.Enum() != 1 {
		t.Fatal("level 1: no DSROLER_PRIMARY_DOMAIN_INFO_BASIC")
	}
	r.Align(4)
	role, flags := r.Enum(), r.Uint32()
	r.DeferUnique(func(r *ndr.Reader) { flat = r.WString() })
	dns, forest := r.UniquePtr(), r.UniquePtr()
	guid := r.UUID()
	r.Flush()
	if st := r.Uint32(); r.Err() != nil || st != 0 || role != lsarpc.DsRoleStandaloneServer || flags != 0 || flat != "TESTDOM" ||
		dns || forest || guid != (ndr.UUID{}) {
		t.Errorf("level 1: role %d flags %#x %q dns %v forest %v guid %v status %d %v", role, flags, flat, dns, forest, guid, st, r.Err())
	}
	r = call("", false, 3)
	if !r.UniquePtr() || r.Enum() != 3 || r.Enum() != 0 || r.Uint32() != 0 || r.Err() != nil {
		t.Error("level 3: want DsRoleOperationIdle")
	}
	r = call("", false, 4)
	if r.UniquePtr() || r.Uint32() != svc.ErrInvalidParameter {
		t.Error("level 4: want ERROR_INVALID_PARAMETER")
	}
	r = call(svctest.Config+"\n[Lsa]\nRestrictAnonymous = 2\n", true, 1)
	if r.UniquePtr() || r.Uint32() != svc.ErrAccessDenied {
		t.Error("anonymous under RestrictAnonymous = 2: want ERROR_ACCESS_DENIED")
	}
}

// FuzzDSSetup sends any stub to DsRolerGetPrimaryDomainInformation: an
// answer or a fault, never a panic, and the association survives.
func FuzzDSSetup(f *testing.F) {
	c := svctest.Dial(f, lsarpc.DSSetupInterface(svctest.Env(svctest.Snapshot(f, ""), nil)), svctest.Root)
	for _, seed := range [][]byte{{1, 0}, {2, 0}, {3, 0}, {9, 0}, {1}, nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, stub []byte) {
		svctest.Call(t, c, lsarpc.OpDsRolerGetPrimaryDomainInformation, stub)
		if _, err := svctest.Call(t, c, lsarpc.OpDsRolerGetPrimaryDomainInformation, []byte{1, 0}); err != nil {
			t.Fatalf("the association did not survive: %v", err)
		}
	})
}
