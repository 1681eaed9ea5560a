package lsarpc_test

import (
	"errors"
	"testing"

	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/lsarpc"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
)

// TestEnumerateNone: LsarEnumerateAccounts (rpcclient lsaenumsid),
// LsarEnumerateTrustedDomains and LsarEnumerateTrustedDomainsEx answer a
// handle with POLICY_VIEW_LOCAL_INFORMATION an empty buffer and
// STATUS_NO_MORE_ENTRIES (smbpipe keeps no account objects and trusts no
// domain), a handle without it STATUS_ACCESS_DENIED; the first and the
// last used to fault with nca_s_op_rng_error.
func TestEnumerateNone(t *testing.T) {
	_, c, view := dialPolicy(t, 0x1)
	_, c2, look := dialPolicy(t, 0x800)
	for _, op := range []uint16{lsarpc.OpEnumerateAccounts, lsarpc.OpEnumerateTrustedDomains, lsarpc.OpEnumerateTrustedDomainsEx} {
		for _, tc := range []struct {
			h    ndr.ContextHandle
			want uint32
		}{{view, svc.StatusNoMoreEntries}, {look, svc.StatusAccessDenied}} {
			client := c
			if tc.h == look {
				client = c2
			}
			out, err := svctest.Call(t, client, op, handleStub(tc.h, func(w *ndr.Writer) {
				w.Uint32(0)
				w.Uint32(0xFFFFFFFF)
			}))
			if err != nil {
				t.Fatalf("opnum %d: %v", op, err)
			}
			r := ndr.NewReader(out, ndr.LittleEndian)
			r.Uint32() // EnumerationContext
			n, buf, st := r.Uint32(), r.UniquePtr(), r.Uint32()
			if r.Err() != nil || n != 0 || buf || st != tc.want || len(out) != 16 {
				t.Errorf("opnum %d: % x, want status %#x", op, out, tc.want)
			}
		}
	}
}

// TestLookupDomainNames: "DOMAIN\" translates to the domain and an empty
// name to BUILTIN (SidTypeDomain, RID -1), as Windows Server 2003 and
// later and Samba answer them (smbtorture rpc.lsa.lookupnames);
// "UNKNOWN\" maps nothing.
func TestLookupDomainNames(t *testing.T) {
	ctx, c, h := dialPolicy(t, 0x800)
	doms, sids, err := lsarpc.LookupNames(ctx, c, h, []string{`BUILTIN\`, `testsrv\`, ""})
	if err != nil || len(sids) != 3 {
		t.Fatalf("LookupNames: %+v, %v", sids, err)
	}
	for i, want := range []string{"BUILTIN", "TESTSRV", "BUILTIN"} {
		s := sids[i]
		if s.Use != svc.SidTypeDomain || s.RID != 0xFFFFFFFF || s.DomainIndex < 0 || int(s.DomainIndex) >= len(doms.Domains) ||
			doms.Domains[s.DomainIndex].Name != want {
			t.Errorf("name %d: %+v in %+v, want the domain %s", i, s, doms.Domains, want)
		}
	}
	if _, _, err := lsarpc.LookupNames(ctx, c, h, []string{`NOPE\`}); !errors.Is(err, svc.StatusError(svc.StatusNoneMapped)) {
		t.Errorf(`LookupNames NOPE\: %v, want STATUS_NONE_MAPPED`, err)
	}
}
