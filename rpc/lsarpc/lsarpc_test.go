package lsarpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/lsarpc"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
	"github.com/smbpipe/smbpipe/security"
)

// TestQuerySecurity: LsarQuerySecurityObject returns the parts of the
// policy object's descriptor asked for; nothing asked needs no right; the
// DACL needs READ_CONTROL, which a handle opened with
// POLICY_LOOKUP_NAMES only lacks (STATUS_ACCESS_DENIED, rule
// object-access); the SACL needs ACCESS_SYSTEM_SECURITY, never granted.
func TestQuerySecurity(t *testing.T) {
	var audit svctest.Audit
	c := svctest.Dial(t, lsarpc.Interface(svctest.Env(svctest.Snapshot(t, ""), &audit)), svctest.Root)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := lsarpc.OpenPolicy2(ctx, c, "srv", 0x02000000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := lsarpc.QuerySecurity(ctx, c, h, 0x7)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := security.DecodeSecurityDescriptor(b)
	if err != nil || sd.Owner == nil || *sd.Owner != security.BuiltinAdministrators() || !sd.DACLPresent || sd.DACL == nil {
		t.Errorf("descriptor %+v, %v", sd, err)
	}
	b, err = lsarpc.QuerySecurity(ctx, c, h, 0)
	if sd, derr := security.DecodeSecurityDescriptor(b); err != nil || derr != nil || sd.Owner != nil || sd.DACLPresent {
		t.Errorf("nothing asked: %x %v %v", b, err, derr)
	}
	look, err := lsarpc.OpenPolicy2(ctx, c, "srv", 0x800)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lsarpc.QuerySecurity(ctx, c, look, 0x4); !errors.Is(err, svc.StatusError(svc.StatusAccessDenied)) {
		t.Errorf("DACL on a LOOKUP_NAMES handle: %v, want STATUS_ACCESS_DENIED", err)
	}
	if _, err := lsarpc.QuerySecurity(ctx, c, h, 0x8); !errors.Is(err, svc.StatusError(svc.StatusAccessDenied)) {
		t.Errorf("SACL: %v, want STATUS_ACCESS_DENIED", err)
	}
	if got := audit.Snapshot(); len(got) != 2 || got[0] != "lsarpc.LsarQuerySecurityObject:object-access" {
		t.Errorf("audit %v", got)
	}
}

// dialPolicy dials the service as root and opens a policy handle with
// access.
func dialPolicy(t *testing.T, access uint32) (context.Context, *dcerpc.Client, ndr.ContextHandle) {
	c := svctest.Dial(t, lsarpc.Interface(svctest.Env(svctest.Snapshot(t, ""), nil)), svctest.Root)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	h, err := lsarpc.OpenPolicy2(ctx, c, "srv", access)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, c, h
}

// TestClose: LsarClose ends the policy handle; the handle is then unknown
// to every call, LsarClose included (nca_s_fault_context_mismatch).
func TestClose(t *testing.T) {
	ctx, c, h := dialPolicy(t, 0x02000000)
	if err := lsarpc.Close(ctx, c, h); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mismatch := dcerpc.Fault(dcerpc.FaultContextMismatch)
	if _, err := lsarpc.QuerySecurity(ctx, c, h, 0x7); !errors.Is(err, mismatch) {
		t.Errorf("QuerySecurity on a closed handle: %v, want %v", err, mismatch)
	}
	if err := lsarpc.Close(ctx, c, h); !errors.Is(err, mismatch) {
		t.Errorf("a second Close: %v, want %v", err, mismatch)
	}
}

// TestLookup: LsarLookupNames and LsarLookupSids translate
// Administrators both ways (an alias of BUILTIN, RID 544).
func TestLookup(t *testing.T) {
	ctx, c, h := dialPolicy(t, 0x800)
	inBuiltin := func(call string, doms lsarpc.RefDomains, tr lsarpc.Translated) {
		if i := tr.DomainIndex; i < 0 || int(i) >= len(doms.Domains) || doms.Domains[i].Name != "BUILTIN" {
			t.Errorf("%s: domain %d of %+v, want BUILTIN", call, i, doms.Domains)
		}
	}
	doms, sids, err := lsarpc.LookupNames(ctx, c, h, []string{"Administrators"})
	if err != nil || len(sids) != 1 || sids[0].Use != svc.SidTypeAlias || sids[0].RID != 544 {
		t.Fatalf("LookupNames: %+v, %v", sids, err)
	}
	inBuiltin("LookupNames", doms, sids[0])
	doms, names, err := lsarpc.LookupSIDs(ctx, c, h, []security.SID{security.BuiltinAdministrators()})
	if err != nil || len(names) != 1 || names[0].Use != svc.SidTypeAlias || names[0].Name != "Administrators" {
		t.Fatalf("LookupSIDs: %+v, %v", names, err)
	}
	inBuiltin("LookupSIDs", doms, names[0])
}
