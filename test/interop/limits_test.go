package interop

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testbin"
	"github.com/smbpipe/smbpipe/internal/testlog"
)

// TestImpacketMaxProcesses: with max_processes = 2, impacket's third
// open of an exec pipe fails at CREATE with STATUS_INSUFFICIENT_RESOURCES
// (the server logs the limit); the two open ones work, and closing one
// frees its slot once its process is reaped.
func TestImpacketMaxProcesses(t *testing.T) {
	need(t, python, "-c", "import impacket")
	need(t, "/bin/cat")
	s := startServer(t, testConfig+messagePipe("cat", "exec:cat", "D:(A;;0x12019B;;;AU)")+`
[limits]
max_processes = 2
`)
	o := startOpener(t, s)
	o.login(t, "a", "alice", "Passw0rd!")
	const rw = "12019f"
	for _, h := range []string{"c1", "c2"} {
		if got := o.do(t, "hold a %s cat %s", h, rw); got != h+" STATUS_SUCCESS" {
			t.Fatalf("open %s: %q", h, got)
		}
	}
	if got := o.do(t, "hold a c3 cat %s", rw); got != "c3 STATUS_INSUFFICIENT_RESOURCES" {
		t.Fatalf("third open: %q, want STATUS_INSUFFICIENT_RESOURCES", got)
	}
	waitLog(t, s, "limit=max_processes")
	if got := o.do(t, "echo a c1 hello"); got != "c1 echo OK" {
		t.Fatalf("echo through cat: %q", got)
	}
	if got := o.do(t, "close a c1"); got != "c1 close OK" {
		t.Fatalf("close: %q", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := o.do(t, "hold a c4 cat %s", rw)
		if got == "c4 STATUS_SUCCESS" {
			break
		}
		if !strings.HasSuffix(got, "STATUS_INSUFFICIENT_RESOURCES") || time.Now().After(deadline) {
			t.Fatalf("open after a close: %q", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := o.do(t, "echo a c4 again"); got != "c4 echo OK" {
		t.Fatalf("echo on the new open: %q", got)
	}
}

// TestImpacketPendingWrites: impacket sends 40 WRITEs of 8 MiB to a pipe
// whose backend does not read, without waiting for them. The first waits
// (a pipe queues at most its quota, 64 KiB, as npfs does; a connection
// holding nothing may always hold one request), the others are refused
// with STATUS_INSUFFICIENT_RESOURCES, and the serve process's resident
// memory stays bounded (it grew by about 420 MB before max_async_bytes*).
func TestImpacketPendingWrites(t *testing.T) {
	need(t, python, "-c", "import impacket")
	need(t, "/bin/sleep")
	s := startServer(t, testConfig+messagePipe("slow", "exec:sleep 60", "D:(A;;0x12019B;;;AU)"))
	rss0 := rss(t, s.cmd.Process.Pid)
	const n = 40
	cmd := exec.Command(python, "testdata/impacket_flood.py", s.port, "alice", "Passw0rd!", "slow", fmt.Sprint(n), fmt.Sprint(8<<20))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out testlog.Buffer // written by the child's output copier, read here
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "ready\n") {
		if cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("impacket_flood.py did not finish:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	grown := rss(t, s.cmd.Process.Pid) - rss0
	t.Logf("serve RSS grew by %d MB with %d WRITEs of 8 MiB pending or refused", grown>>20, n)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	count := map[string]int{}
	for _, l := range lines[:len(lines)-1] {
		f := strings.Fields(l)
		count[f[len(f)-1]]++
	}
	if !strings.HasPrefix(lines[0], "write 0 STATUS_PENDING") || count["STATUS_INSUFFICIENT_RESOURCES"] != n-1 {
		t.Fatalf("statuses %v, want the first pending and %d refused:\n%s", count, n-1, out.String())
	}
	if grown > 128<<20 {
		t.Fatalf("serve RSS grew by %d MB, want less than 128", grown>>20)
	}
	waitLog(t, s, "limit=max_async_bytes_per_connection")
}

// rss is the resident set size of process pid, in bytes (Linux).
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	n, err := testbin.RSS(pid)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no /proc: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	return n
}
