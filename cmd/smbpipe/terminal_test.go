package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/server"
)

// The terminal tests run the smbpipe binary on a pseudo-terminal, as a
// user at a shell: the password prompts without echo, Ctrl-C.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// smbpipeBinary builds this command once per test run.
func smbpipeBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "smbpipe-terminal-test")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "smbpipe")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// onTerminal is a command running with a pseudo-terminal as its
// controlling terminal and stdin, stdout and stderr.
type onTerminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	out  testlog.Buffer
	done chan struct{}
}

func startOnTerminal(t *testing.T, args ...string) *onTerminal {
	t.Helper()
	cmd := exec.Command(smbpipeBinary(t), args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PASSWD=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	r := &onTerminal{t: t, cmd: cmd, tty: tty, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			r.out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		tty.Close()
	})
	return r
}

// waitFor waits until the terminal has shown s count times.
func (r *onTerminal) waitFor(s string, count int) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(r.out.String(), s) < count {
		if time.Now().After(deadline) {
			r.t.Fatalf("the terminal did not show %q %d times within 20 s:\n%s", s, count, r.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *onTerminal) typeIn(s string) {
	r.t.Helper()
	if _, err := r.tty.WriteString(s); err != nil {
		r.t.Fatal(err)
	}
}

// exit waits for the command and returns its exit status.
func (r *onTerminal) exit() int {
	r.t.Helper()
	waited := make(chan error, 1)
	go func() { waited <- r.cmd.Wait() }()
	select {
	case err := <-waited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			r.t.Fatal(err)
		}
		select { // the rest of the output
		case <-r.done:
		case <-time.After(2 * time.Second):
		}
		return 0
	case <-time.After(20 * time.Second):
		r.t.Fatalf("still running 20 s later:\n%s", r.out.String())
		return -1
	}
}

// TestHashOnTerminal: smbpipe hash prompts, reads without echo and prints
// the hash.
func TestHashOnTerminal(t *testing.T) {
	r := startOnTerminal(t, "hash")
	r.waitFor("Password: ", 1)
	r.typeIn("S3cret-Pw\r")
	r.waitFor(ntHashHex("S3cret-Pw"), 1)
	if code := r.exit(); code != 0 {
		t.Errorf("exit %d:\n%s", code, r.out.String())
	}
	if strings.Contains(r.out.String(), "S3cret") {
		t.Errorf("the password was echoed:\n%s", r.out.String())
	}
}

// TestDialOnTerminal: dial -U alice asks for the password on the terminal
// without echo, then copies typed lines to the pipe and the replies back;
// Ctrl-D ends it with 0, Ctrl-C with 130 and no message.
func TestDialOnTerminal(t *testing.T) {
	srv, addr := testserver.StartWith(t, server.Options{Snapshot: testserver.Snapshot(t, testserver.AliceEcho, "t.toml")})
	for _, end := range []struct {
		name, keys string
		code       int
	}{{"ctrl-d", "\x04", 0}, {"ctrl-c", "\x03", 130}} {
		t.Run(end.name, func(t *testing.T) {
			for len(srv.Opens()) > 0 { // the previous run's pipe
				time.Sleep(20 * time.Millisecond)
			}
			r := startOnTerminal(t, "dial", "-U", "alice", "--idle", "500ms", "//"+addr+"/pipe/echo")
			r.waitFor("Password for alice: ", 1)
			r.typeIn("Passw0rd!\r")
			// Once the pipe is open the prompt has restored the echo.
			deadline := time.Now().Add(20 * time.Second)
			for len(srv.Opens()) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("no open pipe 20 s after the password:\n%s", r.out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			r.typeIn("hello over the pipe\r")
			r.waitFor("hello over the pipe", 2) // the terminal's echo, then the pipe's reply
			r.typeIn(end.keys)
			if code := r.exit(); code != end.code {
				t.Errorf("exit %d, want %d:\n%s", code, end.code, r.out.String())
			}
			out := r.out.String()
			if strings.Contains(out, "Passw0rd") {
				t.Errorf("the password was echoed:\n%s", out)
			}
			if strings.Contains(out, "smbpipe dial:") {
				t.Errorf("a message:\n%s", out)
			}
		})
	}
}

// TestDialNoTerminal: without a terminal, -U alice and no $PASSWD is a
// usage error that says how to give the password.
func TestDialNoTerminal(t *testing.T) {
	cmd := exec.Command(smbpipeBinary(t), "dial", "-U", "alice", "//127.0.0.1/pipe/echo")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = noControllingTerminal()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "no password for alice: use -U alice%PASS, set $PASSWD, or run on a terminal to be asked") {
		t.Errorf("%v:\n%s", err, out)
	}
}

// TestRPCOnTerminal: smbpipe rpc -U alice asks for the password as dial
// does.
func TestRPCOnTerminal(t *testing.T) {
	addr := testserver.Start(t, testserver.AliceEcho)
	r := startOnTerminal(t, "rpc", "-U", "alice", "//"+addr, "srvinfo")
	r.waitFor("Password for alice: ", 1)
	r.typeIn("Passw0rd!\r")
	if code := r.exit(); code != 0 {
		t.Errorf("exit %d:\n%s", code, r.out.String())
	}
	if out := r.out.String(); strings.Contains(out, "Passw0rd") || !strings.Contains(strings.ToLower(out), "platform") {
		t.Errorf("output:\n%s", out)
	}
}
