package interop

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// opener is a running testdata/impacket_opens.py: one Python process that
// holds impacket connections and opens pipes on command.
type opener struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	mu    sync.Mutex
	out   strings.Builder // everything it printed, for failures
}

// startOpener starts the script against s; it is stopped (quit, then by
// PID) when the test ends.
func startOpener(t *testing.T, s *server) *opener {
	t.Helper()
	o := &opener{cmd: exec.Command(python, "testdata/impacket_opens.py", s.port), lines: make(chan string, 1024)}
	var err error
	if o.in, err = o.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := o.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	o.cmd.Stderr = o.cmd.Stdout
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			o.mu.Lock()
			o.out.WriteString(sc.Text() + "\n")
			o.mu.Unlock()
			o.lines <- sc.Text()
		}
		close(o.lines)
	}()
	t.Cleanup(func() {
		io.WriteString(o.in, "quit\n")
		o.in.Close()
		done := make(chan error, 1)
		go func() { done <- o.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(o.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			o.mu.Lock()
			t.Logf("impacket_opens.py output:\n%s", o.out.String())
			o.mu.Unlock()
		}
	})
	return o
}

// send writes commands without waiting for their answers.
func (o *opener) send(t *testing.T, cmds ...string) {
	t.Helper()
	if _, err := io.WriteString(o.in, strings.Join(cmds, "\n")+"\n"); err != nil {
		t.Fatal(err)
	}
}

// next returns the next line the script prints.
func (o *opener) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-o.lines:
		if !ok {
			t.Fatal("impacket_opens.py exited")
		}
		return l
	case <-time.After(60 * time.Second):
		t.Fatal("impacket_opens.py did not answer in 60 s")
	}
	return ""
}

// do runs one command and returns its line.
func (o *opener) do(t *testing.T, format string, args ...any) string {
	t.Helper()
	o.send(t, fmt.Sprintf(format, args...))
	return o.next(t)
}

// login opens connection id as user ("-" anonymous) and fails the test
// unless it logs on.
func (o *opener) login(t *testing.T, id, user, password string) {
	t.Helper()
	if got := o.do(t, "login %s %s %s", id, user, password); !strings.HasPrefix(got, id+" login OK") {
		t.Fatalf("login %s as %s: %q", id, user, got)
	}
}

// open opens pipe on connection id with mask and returns the status name.
func (o *opener) open(t *testing.T, id, pipe string, mask uint32) string {
	t.Helper()
	got := o.do(t, "open %s x %s %x", id, pipe, mask)
	status, ok := strings.CutPrefix(got, "x ")
	if !ok {
		t.Fatalf("open %s: %q", pipe, got)
	}
	return status
}
