package bench

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestRunTCPConnect runs the connect floor against the in-process echo
// server: each op is a connection with RoundTrips ping-pongs.
func TestRunTCPConnect(t *testing.T) {
	for _, rt := range []int{0, 3} {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		res, err := Run(ctx, Options{Workload: TCPConnect, Size: 70, RoundTrips: rt, Concurrency: 2, Count: 40})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		want := rt
		if want == 0 {
			want = 7
		}
		if res.Ops != 40 || res.Errors != 0 || res.Bytes != int64(40*70*want) || res.Pipe != "" {
			t.Errorf("round trips %d: ops %d errors %d bytes %d pipe %q", rt, res.Ops, res.Errors, res.Bytes, res.Pipe)
		}
	}
	if _, err := Run(t.Context(), Options{Workload: TCPConnect, RoundTrips: -1}); err == nil {
		t.Error("negative round trips accepted")
	}
}

// TestRunSessionsInterval: sessions spread over loopback source
// addresses, one transact each every 200 ms for one second: five each.
func TestRunSessionsInterval(t *testing.T) {
	addr := startServer(t)
	res, err := Run(t.Context(), Options{
		Workload:      Sessions,
		Addr:          addr,
		Concurrency:   10,
		Duration:      time.Second,
		Interval:      200 * time.Millisecond,
		SpreadSources: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.SessionsOpen != 10 || res.SessionsFailed != 0 || res.Errors != 0 {
		t.Fatalf("open %d failed %d errors %d (%s)", res.SessionsOpen, res.SessionsFailed, res.Errors, res.FirstError)
	}
	// Each session starts within the first interval and then keeps to a
	// 200 ms grid that ends after one second: five transacts each.
	if res.Ops != 50 {
		t.Errorf("%d transacts, want 50", res.Ops)
	}
}

// TestDialFromSource: a connection dialled for a spread session comes
// from that session's loopback address.
func TestDialFromSource(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan net.Addr, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			got <- nil
			return
		}
		got <- nc.RemoteAddr()
		nc.Close() // not an SMB server: the client's NEGOTIATE fails
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	o := &Options{Addr: l.Addr().String()}
	if _, err := dialFrom(ctx, o, &net.TCPAddr{IP: SourceAddr(3)}); err == nil {
		t.Error("dial of a non-SMB listener succeeded")
	}
	ra, _ := (<-got).(*net.TCPAddr)
	if ra == nil || !ra.IP.Equal(net.IPv4(127, 100, 1, 4)) {
		t.Errorf("remote address %v, want 127.100.1.4", ra)
	}
}

func TestSourceAddr(t *testing.T) {
	seen := make(map[string]int)
	for i := range 252 * 252 {
		ip := SourceAddr(i).To4()
		if ip == nil || ip[0] != 127 || ip[2] == 0 || ip[2] == 255 || ip[3] == 0 || ip[3] == 255 {
			t.Fatalf("SourceAddr(%d) = %v", i, ip)
		}
		if j, ok := seen[ip.String()]; ok {
			t.Fatalf("SourceAddr(%d) = SourceAddr(%d) = %v", i, j, ip)
		}
		seen[ip.String()] = i
	}
	if !SourceAddr(252 * 252).Equal(SourceAddr(0)) {
		t.Error("SourceAddr does not wrap")
	}
	for addr, want := range map[string]bool{"127.0.0.1:445": true, "127.9.9.9:1": true, "[::1]:445": false, "10.0.0.1:445": false, "nohost": false} {
		if isLoopback(addr) != want {
			t.Errorf("isLoopback(%q) = %v", addr, !want)
		}
	}
}

// TestTCPFloorChecksEcho: the TCP ping-pong floor checks the echo as the
// transact op does, so a server that answers other bytes is an error.
func TestTCPFloorChecksEcho(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			for i := range buf[:n] {
				buf[i] ^= 0xFF
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := Run(ctx, Options{Workload: TCP, Addr: l.Addr().String(), Size: 64, Count: 3})
	if err == nil && res.Errors == 0 {
		t.Fatalf("a server answering other bytes: %d ops, no error", res.Ops)
	}
}
