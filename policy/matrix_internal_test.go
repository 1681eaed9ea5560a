package policy

import "testing"

// TestRPCClassesCoverKinds: every kind of call the policy knows has a row
// in the matrix, and every row names a call the policy knows.
func TestRPCClassesCoverKinds(t *testing.T) {
	covered := map[rpcKind]bool{}
	for _, c := range RPCClasses() {
		op, ok := LookupRPCOp(c.Interface, c.Op)
		if !ok {
			t.Errorf("class %q: %s.%s is not a known call", c.Name, c.Interface, c.Op)
			continue
		}
		covered[op.kind] = true
	}
	for _, op := range rpcOps {
		if !covered[op.kind] {
			t.Errorf("%s.%s: its kind of call has no matrix class", op.Interface, op.Name)
		}
	}
	if got := (RPCClass{Interface: ServiceSrvsvc, Op: "NetrShareEnum", Level: 2}).Call(); got != "srvsvc.NetrShareEnum --level 2" {
		t.Errorf("Call() = %q", got)
	}
	if got := (RPCClass{Interface: ServiceSamr, Op: "SamrConnect5"}).Call(); got != "samr.SamrConnect5" {
		t.Errorf("Call() = %q", got)
	}
}
