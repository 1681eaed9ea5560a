package lsarpc_test

import (
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
