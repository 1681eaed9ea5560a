package testetcd

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testbin"
)

func TestStartPutGetRestart(t *testing.T) {
	e := Start(t)
	e.Ctl("put", "/k", "v1")
	if got := e.Ctl("get", "--print-value-only", "/k"); strings.TrimSpace(got) != "v1" {
		t.Fatalf("get /k = %q, want v1", got)
	}
	e.Stop()
	if _, err := e.TryCtl("--command-timeout", "1s", "get", "/k"); err == nil {
		t.Fatal("etcdctl reached a stopped etcd")
	}
	e.Restart()
	if got := e.Ctl("get", "--print-value-only", "/k"); strings.TrimSpace(got) != "v1" {
		t.Fatalf("after restart, get /k = %q, want v1 (same data dir)", got)
	}
}

func TestProxyCut(t *testing.T) {
	// A loopback echo server stands for etcd.
	addr := testbin.ServeTCP(t, func(c net.Conn) { io.Copy(c, c); c.Close() })
	p := NewProxy(t, addr)
	roundTrip := func() error {
		c, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		b := make([]byte, 4)
		_, err = io.ReadFull(c, b)
		return err
	}
	if err := roundTrip(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	held, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	held.Write([]byte("x"))
	held.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(held, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	if err := roundTrip(); err == nil {
		t.Fatal("a new connection went through a cut proxy")
	}
	if _, err := held.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection open before the cut still works")
	}
	p.Restore()
	if err := roundTrip(); err != nil {
		t.Fatalf("after Restore: %v", err)
	}
}
