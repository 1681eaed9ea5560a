package testkdc

import (
	"net"
	"testing"
)

// TestClaimAddr: two KDCs (here two claims in one process; in go test ./...
// two test binaries) get different addresses, and an address is free for
// the next claim once its lock is released.
func TestClaimAddr(t *testing.T) {
	a1, l1, err := claimAddr()
	if err != nil {
		t.Skipf("no address to claim (port 88 needs privileges): %v", err)
	}
	a2, l2, err := claimAddr()
	if err != nil {
		l1.Close()
		t.Skipf("no second address: %v", err)
	}
	defer l2.Close()
	if a1 == a2 {
		t.Fatalf("both claims got %s", a1)
	}
	for _, a := range []string{a1, a2} {
		if ip := net.ParseIP(a).To4(); ip == nil || ip[0] != 127 || ip[3] < 88 || ip[3] >= 88+addrs {
			t.Fatalf("claimed %s", a)
		}
	}
	l1.Close()
	a3, l3, err := claimAddr()
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Close()
	if a3 == a2 {
		t.Fatalf("the held address %s claimed again", a3)
	}
}
