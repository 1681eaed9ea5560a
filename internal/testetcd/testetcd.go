// Package testetcd starts Debian's etcd (package etcd-server) for tests:
// one member on free loopback ports with its data in t.TempDir(), stopped
// by process id when the test ends; and a TCP proxy a test can cut to
// take etcd away from one client. Test support only.
package testetcd

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testbin"
)

const (
	etcdPath    = "/usr/bin/etcd"
	etcdctlPath = "/usr/bin/etcdctl"
	// startTimeout bounds how long a start may take on a loaded machine.
	startTimeout = 30 * time.Second
)

// Etcd is one running (or stopped) etcd member.
type Etcd struct {
	t          testing.TB
	dir        string
	clientPort int
	peerPort   int

	name    string    // member name
	cluster string    // --initial-cluster
	tls     *TLSFiles // nil: plain HTTP
	certDir string    // the member's certificate and key (TLS)
	ctlUser string    // USER:PASSWORD etcdctl authenticates with (EnableAuth)
	args    []string  // more etcd flags

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *bytes.Buffer
}

// Start runs etcd on two free loopback ports (client and peer) with its
// data in a temporary directory, waits until it is healthy, and stops it
// by process id at cleanup (printing its log when the test failed).
// args are more etcd flags (for example "--auth-token-ttl=1").
func Start(t testing.TB, args ...string) *Etcd {
	t.Helper()
	testbin.Need(t, etcdPath)
	return start(t, nil, "", args)
}

func start(t testing.TB, tlsFiles *TLSFiles, certDir string, args []string) *Etcd {
	t.Helper()
	e := newMember(t, "t", tlsFiles, certDir, args)
	e.cluster = "t=" + e.peerURL()
	e.Restart()
	return e
}

// StartCluster runs a cluster of n members, each as Start runs one, and
// waits until every member is healthy (the cluster has a leader).
func StartCluster(t testing.TB, n int) []*Etcd {
	t.Helper()
	testbin.Need(t, etcdPath)
	members := make([]*Etcd, n)
	var cluster []string
	for i := range members {
		members[i] = newMember(t, "m"+strconv.Itoa(i), nil, "", nil)
		cluster = append(cluster, members[i].name+"="+members[i].peerURL())
	}
	for _, m := range members {
		m.cluster = strings.Join(cluster, ",")
		m.mu.Lock()
		m.launch()
		m.mu.Unlock()
	}
	for _, m := range members {
		m.mu.Lock()
		m.waitHealthy()
		m.mu.Unlock()
	}
	return members
}

// newMember makes a member on free ports, stopped at cleanup; it is not
// started.
func newMember(t testing.TB, name string, tlsFiles *TLSFiles, certDir string, args []string) *Etcd {
	e := &Etcd{t: t, name: name, dir: t.TempDir(), clientPort: testbin.FreePort(t), peerPort: testbin.FreePort(t), tls: tlsFiles, certDir: certDir, args: args}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			e.mu.Lock()
			if e.log != nil {
				t.Logf("etcd log:\n%s", tail(e.log.String(), 4000))
			}
			e.mu.Unlock()
		}
	})
	return e
}

func (e *Etcd) peerURL() string { return "http://127.0.0.1:" + strconv.Itoa(e.peerPort) }

func (e *Etcd) clientURL() string {
	if e.tls != nil {
		return "https://" + e.Endpoint()
	}
	return "http://" + e.Endpoint()
}

// Endpoint is the member's client address, HOST:PORT.
func (e *Etcd) Endpoint() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(e.clientPort)) }

// Restart starts the member again after Stop, on the same ports and data
// (Start calls it the first time), and waits until it is healthy.
func (e *Etcd) Restart() {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.launch()
	e.waitHealthy()
}

// launch starts the process; e.mu is held.
func (e *Etcd) launch() {
	e.t.Helper()
	if e.cmd != nil {
		e.t.Fatal("testetcd: Restart while running")
	}
	client := e.clientURL()
	var tlsArgs []string
	if e.tls != nil {
		tlsArgs = []string{"--cert-file", filepath.Join(e.certDir, "server.pem"),
			"--key-file", filepath.Join(e.certDir, "server-key.pem"),
			"--trusted-ca-file", e.tls.CACert, "--client-cert-auth"}
	}
	peer := e.peerURL()
	e.log = &bytes.Buffer{}
	cmd := exec.Command(etcdPath, append([]string{
		"--name", e.name,
		"--data-dir", filepath.Join(e.dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", e.cluster,
		"--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn",
	}, append(tlsArgs, e.args...)...)...)
	w := &lockedWriter{mu: &e.mu, w: e.log}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	e.cmd, e.exited = cmd, exited
}

// waitHealthy waits until the member says it is healthy; e.mu is held
// (and let go between checks).
func (e *Etcd) waitHealthy() {
	e.t.Helper()
	client, exited := e.clientURL(), e.exited
	hc := &http.Client{Timeout: 2 * time.Second}
	if e.tls != nil {
		tc, err := httpsClient(e.tls)
		if err != nil {
			e.t.Fatal(err)
		}
		hc.Transport = &http.Transport{TLSClientConfig: tc}
	}
	deadline := time.Now().Add(startTimeout)
	for {
		e.mu.Unlock()
		ok := healthy(hc, client+"/health")
		e.mu.Lock()
		if ok {
			return
		}
		select {
		case <-exited:
			e.t.Fatalf("etcd exited at start:\n%s", tail(e.log.String(), 4000))
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("etcd not healthy on %s within %v:\n%s", client, startTimeout, tail(e.log.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func healthy(hc *http.Client, url string) bool {
	resp, err := hc.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"health":"true"`))
}

// Stop stops the member by process id (SIGTERM, SIGKILL after 10 s) and
// waits for it to exit. Stopping a stopped member does nothing.
func (e *Etcd) Stop() {
	e.mu.Lock()
	cmd, exited := e.cmd, e.exited
	e.cmd = nil
	e.mu.Unlock()
	if cmd == nil {
		return
	}
	testbin.StopGroup(cmd.Process.Pid, exited, 10*time.Second)
}

// Ctl runs etcdctl (API v3) against the member with args and returns
// its standard output; a failure fails the test.
func (e *Etcd) Ctl(args ...string) string {
	e.t.Helper()
	out, err := e.TryCtl(args...)
	if err != nil {
		e.t.Fatalf("etcdctl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TryCtl is Ctl returning the error (with etcdctl's standard error) instead.
func (e *Etcd) TryCtl(args ...string) (string, error) {
	e.t.Helper()
	testbin.Need(e.t, etcdctlPath)
	base := []string{"--endpoints", e.Endpoint(), "--dial-timeout", "5s", "--command-timeout", "10s"}
	if e.tls != nil {
		base = append(base, "--cacert", e.tls.CACert, "--cert", e.tls.Cert, "--key", e.tls.Key)
	}
	if e.ctlUser != "" {
		base = append(base, "--user", e.ctlUser)
	}
	cmd := exec.Command(etcdctlPath, append(base, args...)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

// Write is called by the exec package's copying goroutine. Restart holds
// e.mu only between health checks, so the lock here never waits long.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// PID is the process id of the running member (0 when stopped), for a
// test that measures it (its memory in /proc/PID/status).
func (e *Etcd) PID() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return 0
	}
	return e.cmd.Process.Pid
}

// EnableAuth turns etcd's authentication on with a root user whose
// password is rootPassword; etcdctl (Ctl) then authenticates as root.
// Add users and roles with Ctl before or after.
func (e *Etcd) EnableAuth(rootPassword string) {
	e.t.Helper()
	e.Ctl("user", "add", "root:"+rootPassword, "--interactive=false")
	e.Ctl("auth", "enable")
	e.ctlUser = "root:" + rootPassword
}

// Wipe stops the member and removes its data, so that Restart starts an
// empty member whose revisions begin again at 1: what restoring an older
// backup looks like to a client.
func (e *Etcd) Wipe() {
	e.t.Helper()
	e.Stop()
	if err := os.RemoveAll(filepath.Join(e.dir, "data")); err != nil {
		e.t.Fatal(err)
	}
}
