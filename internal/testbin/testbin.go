// Package testbin is what tests that run programs share: skipping (or,
// under CI=true, failing) when a third-party tool is missing, building the
// smbpipe command once for a test binary, a free loopback port, a loopback
// TCP server, the two ends of a connection, and a process's resident
// memory. Test support only.
package testbin

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// SkipOrFail skips the test with the message, except when the environment
// variable CI is "true": then it fails it, so CI cannot pass without
// running it.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Need returns path, the path of a third-party tool, skipping the test
// when it is missing (failing it when CI=true). With args, the tool must
// also run with them and exit 0 (e.g. python3 -c "import impacket").
func Need(t testing.TB, path string, args ...string) string {
	t.Helper()
	_, err := os.Stat(path)
	if err == nil && len(args) > 0 {
		err = exec.Command(path, args...).Run()
	}
	if err != nil {
		SkipOrFail(t, "%s is not available (CI=true requires it): %v", strings.Join(append([]string{path}, args...), " "), err)
	}
	return path
}

// Main is a TestMain that builds the smbpipe command into a temporary
// directory, stores its path in *bin, runs the tests and removes the
// directory. A failed build ends the test binary with status 1.
func Main(m *testing.M, bin *string) {
	dir, err := os.MkdirTemp("", "smbpipe-testbin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = filepath.Join(dir, "smbpipe")
	build := exec.Command("go", "build", "-o", *bin, "github.com/smbpipe/smbpipe/cmd/smbpipe")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "testbin: building smbpipe:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ServeTCP listens on a free loopback port and runs handle on a goroutine
// of its own for each connection accepted, until the test's cleanup closes
// the listener; it returns the listener's address. handle owns the
// connection (closes it).
func ServeTCP(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return l.Addr().String()
}

// ConnPair returns the two ends of one connection over network ("tcp"
// listens on a free loopback port; "unix" at the path address), closed
// at the test's cleanup.
func ConnPair(t testing.TB, network, address string) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err = net.Dial(network, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// RSS returns the resident memory of process pid in bytes, from its
// /proc/PID/status (Linux only: elsewhere an error).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("testbin: process %d: VmRSS %q: %v", pid, v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("testbin: process %d: no VmRSS in its status", pid)
}
