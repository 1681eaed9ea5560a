package testbin

import (
	"net"
	"os"
	"strconv"
	"testing"
)

func TestRSS(t *testing.T) {
	n, err := RSS(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if n < 1<<20 {
		t.Errorf("this test binary's RSS is %d bytes, want at least 1 MiB", n)
	}
	if _, err := RSS(-1); err == nil {
		t.Error("RSS of pid -1: no error")
	}
}

func TestFreePort(t *testing.T) {
	p := FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d from FreePort: %v", p, err)
	}
	l.Close()
}

func TestNeed(t *testing.T) {
	if got := Need(t, "/bin/sh", "-c", "exit 0"); got != "/bin/sh" {
		t.Errorf("Need(/bin/sh) = %q", got)
	}
}
