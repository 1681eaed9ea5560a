// Package interop drives real third-party SMB clients (impacket, Samba's
// smbclient) against a real `smbpipe serve` process on loopback.
//
// A missing client skips its tests, except when the environment variable CI
// is "true": then it fails them, so CI cannot pass without running them.
package interop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testbin"
	"github.com/smbpipe/smbpipe/internal/testserver"
)

// smbpipeBin is the binary built once by TestMain.
var smbpipeBin string

func TestMain(m *testing.M) { testbin.Main(m, &smbpipeBin) }

// need returns the path of an external client, skipping the test when it
// is missing (failing it when CI=true).
func need(t *testing.T, path string, args ...string) string {
	t.Helper()
	return testbin.Need(t, path, args...)
}

// testConfig is the policy the tests run against: the alice/echo test
// config (testserver.AliceEcho) with no guest, EveryoneIncludesAnonymous
// 0, and a pipe anonymous sessions may not open. Tests edit its text
// (listen, allow_anonymous, NullSessionPipes, [Lsa], alice's lines).
var testConfig = `listen = "127.0.0.1:4450"
allow_anonymous = true
guest = false
` + testserver.AliceEcho + `
[Lsa]
EveryoneIncludesAnonymous = 0

[[pipe]]
name = "private"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AU)(A;;FA;;;SY)"
`

// messagePipe is a [[pipe]] table: the message-mode pipe name, served
// by backend and secured by sddl.
func messagePipe(name, backend, sddl string) string {
	return fmt.Sprintf("\n[[pipe]]\nname = %q\nbackend = %q\nmode = \"message\"\nsddl = %q\n", name, backend, sddl)
}

// server is a running `smbpipe serve` child process.
type server struct {
	*testbin.Process
	cmd       *exec.Cmd // Process.Cmd
	addr      string    // host:port it listens on
	port      string
	configDir string // holds smbpipe.toml
}

var listeningRE = regexp.MustCompile(`msg="smbpipe listening" addr=(\S+)|"msg":"smbpipe listening".*"addr":"([^"]+)"`)

// startServer runs `smbpipe serve` with config on a free loopback port,
// waits for its listening line, and stops it (by its PID) when the test
// ends. The server's log is printed if the test failed.
func startServer(t *testing.T, config string) *server {
	t.Helper()
	return startServerArgs(t, config)
}

// startServerArgs is startServer with extra serve flags (e.g.
// "--log-format", "json").
func startServerArgs(t *testing.T, config string, extra ...string) *server {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "smbpipe.toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--config", cfgPath, "--listen", "127.0.0.1:0", "--log-level", "debug"}, extra...)
	addrc := make(chan string, 1)
	p := testbin.Start(t, "smbpipe serve", exec.Command(smbpipeBin, args...), func(line string) {
		if m := listeningRE.FindStringSubmatch(line); m != nil {
			select {
			case addrc <- m[1] + m[2]:
			default:
			}
		}
	})
	s := &server{Process: p, cmd: p.Cmd, configDir: dir}
	select {
	case addr := <-addrc:
		s.addr = addr
		s.port = addr[strings.LastIndexByte(addr, ':')+1:]
	case <-p.Exited():
		t.Fatalf("smbpipe serve exited before listening:\n%s", s.Log())
	case <-time.After(20 * time.Second):
		t.Fatalf("smbpipe serve did not report listening:\n%s", s.Log())
	}
	return s
}

// run runs a client with a timeout and returns its combined output.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	return runEnv(t, timeout, nil, name, args...)
}

// runEnv is run with the environment env (nil: this process's).
func runEnv(t *testing.T, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("%s timed out after %v", name, timeout)
	}
}
