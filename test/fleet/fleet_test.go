// Package fleet runs a fleet of real `smbpipe serve` processes on one
// policy in a real etcd (Debian's etcd-server, on loopback ports in a
// temporary directory) and watches impacket, an anonymous SMB client,
// get the answers the fleet's policy gives, as it changes, while etcd
// refuses a bad revision, while one server is cut off from etcd, while
// etcd is down, and while a server starts without it.
//
// A missing tool skips the test, except when CI is "true": then it fails.
package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testbin"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/internal/testetcd"
	"github.com/smbpipe/smbpipe/ntstatus"
)

// smbpipeBin is the binary TestMain builds once.
var smbpipeBin string

func TestMain(m *testing.M) { testbin.Main(m, &smbpipeBin) }

const (
	python = "/usr/bin/python3"
	key    = "/smbpipe/policy"
	// applyWithin is the bound: every server applies a put
	// within a second.
	applyWithin = time.Second
)

// fleetPolicy is the fleet-wide policy with nullPipes as its
// NullSessionPipes: the echo pipe's DACL lets anonymous, alice and
// everyone in, so NullSessionPipes alone decides an anonymous open.
func fleetPolicy(nullPipes string) string {
	return `server_name = "FLEET"
allow_anonymous = true

[LanmanServer]
RestrictNullSessAccess = 1
NullSessionPipes = [` + nullPipes + `]

[[account]]
name = "alice"
password = "Passw0rd!"

[[pipe]]
name = "echo"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;0x12019B;;;WD)(A;;FA;;;SY)"
`
}

// localConfig is each server's own --config: only local settings.
const localConfig = `listen = "127.0.0.1:0"

[limits]
max_opens_per_session = 64
`

// server is one running `smbpipe serve --policy etcd://...`.
type server struct {
	*testbin.Process
	name    string
	cmd     *exec.Cmd // Process.Cmd
	addr    string    // SMB, HOST:PORT
	port    string
	config  string // the local --config file; "": none
	metrics string // HOST:PORT of /metrics
}

// records returns the server's JSON log records with message msg.
func (s *server) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(s.Log(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%s: log line %q: %v", s.name, line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// waitRecord waits up to d for a record with message msg whose attribute
// attr is val (a number as JSON decodes it, or a string).
func (s *server) waitRecord(t *testing.T, d time.Duration, msg, attr string, val any) map[string]any {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, rec := range s.records(t, msg) {
			if rec[attr] == val {
				return rec
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q record with %s=%v within %v", s.name, msg, attr, val, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric reads smbpipe_policy_revision from the server's /metrics.
func (s *server) metric(t *testing.T) int64 {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + s.metrics + "/metrics")
	if err != nil {
		t.Fatalf("%s: metrics: %v", s.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	m := regexp.MustCompile(`(?m)^smbpipe_policy_revision (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("%s: no smbpipe_policy_revision in /metrics", s.name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return int64(v)
}

var (
	listeningRE = regexp.MustCompile(`"msg":"smbpipe listening".*"addr":"([^"]+)"`)
	metricsRE   = regexp.MustCompile(`"msg":"metrics listening".*"addr":"([^"]+)"`)
)

// startServer runs smbpipe serve with the policy at etcd endpoint ep, its
// cache at cache and local (a --config file's text; "": no --config, the
// local defaults and --listen), waits until it listens and stops it by
// PID at the end of the test. With wantFail it instead waits for serve to
// exit and returns it with its log.
func startServer(t *testing.T, name, ep, cache, local string, wantFail bool) *server {
	t.Helper()
	args := []string{"serve", "--policy", "etcd://" + ep + key, "--policy-cache", cache,
		"--metrics", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"}
	if local == "" {
		args = append(args, "--listen", "127.0.0.1:0")
	} else {
		cfg := filepath.Join(t.TempDir(), "local.toml")
		// 0644: the local file holds no secret (serve warns about a
		// readable file with passwords; the fleet's are in etcd).
		if err := os.WriteFile(cfg, []byte(local), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", cfg)
	}
	s := &server{name: name}
	if local != "" {
		s.config = args[len(args)-1]
	}
	ready := make(chan struct{})
	s.Process = testbin.Start(t, name, exec.Command(smbpipeBin, args...), func(line string) {
		if m := metricsRE.FindStringSubmatch(line); m != nil {
			s.metrics = m[1]
		}
		if m := listeningRE.FindStringSubmatch(line); m != nil && s.addr == "" {
			s.addr = m[1]
			s.port = m[1][strings.LastIndexByte(m[1], ':')+1:]
			close(ready)
		}
	})
	s.cmd = s.Cmd
	s.MayFail = wantFail
	if wantFail {
		select {
		case <-s.Exited():
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: serve did not exit", name)
		}
		return s
	}
	select {
	case <-ready:
	case <-s.Exited():
		t.Fatalf("%s: serve exited before listening:\n%s", name, s.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: serve did not report listening:\n%s", name, s.Log())
	}
	return s
}

// rssKiB is the server's resident memory, from /proc.
func (s *server) rssKiB(t *testing.T) int64 {
	t.Helper()
	n, err := testbin.RSS(s.cmd.Process.Pid)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	return n >> 10
}

// poller is testdata/impacket_fleet.py: impacket's anonymous sessions on
// the servers, asked to open the echo pipe.
type poller struct {
	t     *testing.T
	in    io.WriteCloser
	lines <-chan string
}

func startPoller(t *testing.T) *poller {
	t.Helper()
	p := &poller{t: t}
	cmd := exec.Command(python, "testdata/impacket_fleet.py", "echo")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t.Cleanup(func() { // after the script ended (cleanups run last first)
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("impacket_fleet.py stderr:\n%s", stderr.String())
		}
	})
	p.in, p.lines = testbin.Lines(t, cmd, 100, 10*time.Second) // the script ends at the end of its input
	return p
}

// do sends one command and returns its answer lines (before DONE).
func (p *poller) do(command string) []string {
	p.t.Helper()
	if _, err := io.WriteString(p.in, command+"\n"); err != nil {
		p.t.Fatalf("impacket_fleet.py: %v", err)
	}
	var out []string
	timeout := time.After(90 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("impacket_fleet.py ended; answer so far %q", out)
			}
			if l == "DONE" {
				return out
			}
			out = append(out, l)
		case <-timeout:
			p.t.Fatalf("impacket_fleet.py: no answer to %q within 90 s (so far %q)", command, out)
		}
	}
}

func ports(servers ...*server) string {
	var ps []string
	for _, s := range servers {
		ps = append(ps, s.port)
	}
	return strings.Join(ps, ",")
}

// expectOpen checks one open on each server answers want (GRANTED or an
// NTSTATUS name).
func (p *poller) expectOpen(want string, servers ...*server) {
	p.t.Helper()
	got := p.do("open " + ports(servers...))
	for i, s := range servers {
		if w := "RESULT " + s.port + " " + want; i >= len(got) || got[i] != w {
			p.t.Fatalf("%s: impacket anonymous open of echo: %q, want %q", s.name, got, w)
		}
	}
}

// until waits (at most d) for each server to answer want (GRANTED or
// DENIED) and returns how long each took, by name.
func (p *poller) until(want string, d time.Duration, servers ...*server) map[string]time.Duration {
	p.t.Helper()
	got := p.do(fmt.Sprintf("until %s %d %s", want, d.Milliseconds(), ports(servers...)))
	took := map[string]time.Duration{}
	for _, l := range got {
		f := strings.Fields(l)
		if len(f) < 3 {
			p.t.Fatalf("impacket_fleet.py: %q", got)
		}
		for _, s := range servers {
			if s.port != f[1] {
				continue
			}
			if f[0] != "REACHED" {
				p.t.Fatalf("%s did not answer %s within %v: %s", s.name, want, d, l)
			}
			ms, _ := strconv.Atoi(f[2])
			took[s.name] = time.Duration(ms) * time.Millisecond
		}
	}
	if len(took) != len(servers) {
		p.t.Fatalf("impacket_fleet.py answered %q for %d servers", got, len(servers))
	}
	return took
}

// smbpipe runs the smbpipe binary (policy push or get) and returns its
// exit status, standard output and standard error.
func smbpipe(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(smbpipeBin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

var pushedRE = regexp.MustCompile(`^` + regexp.QuoteMeta(key) + `: revision (\d+)\n$`)

// push pushes policy with smbpipe policy push and returns the new
// revision.
func push(t *testing.T, ep, policy string) int64 {
	t.Helper()
	f := filepath.Join(t.TempDir(), "policy.toml")
	if err := os.WriteFile(f, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := smbpipe(t, "policy", "push", "--etcd", ep, "--key", key, f)
	m := pushedRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("policy push: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	rev, _ := strconv.ParseInt(m[1], 10, 64)
	return rev
}

// impacketAlice runs the interop tests' impacket_pipe.py as alice on s
// (a full log on, open, echo, close) and fails unless every step passes.
func impacketAlice(t *testing.T, s *server) {
	t.Helper()
	cmd := exec.Command(python, "../interop/testdata/impacket_pipe.py", s.port, "alice", "Passw0rd!", "3.0", "echo", "4096")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK logoff") || strings.Contains(string(out), "FAIL") {
		t.Fatalf("%s: impacket as alice: %v\n%s", s.name, err, out)
	}
}

func num(v int64) float64 { return float64(v) }

// TestFleet: three servers on one etcd key.
func TestFleet(t *testing.T) {
	testbin.Need(t, python, "-c", "import impacket")
	e := testetcd.Start(t)
	ep := e.Endpoint()
	proxy := testetcd.NewProxy(t, ep) // server c reaches etcd through it
	cacheDir := t.TempDir()
	cache := func(name string) string { return filepath.Join(cacheDir, name, "policy.toml") }

	rev1 := push(t, ep, fleetPolicy(""))
	a := startServer(t, "a", ep, cache("a"), localConfig, false)
	b := startServer(t, "b", ep, cache("b"), "", false) // no --config: the local defaults
	c := startServer(t, "c", proxy.Addr(), cache("c"), localConfig, false)
	fleet := []*server{a, b, c}

	// A fleet-wide setting in a server's local file is refused, naming
	// its line: the policy comes from etcd.
	bad := startServer(t, "local file with a fleet-wide key", ep, cache("bad"), "allow_anonymous = false\n"+localConfig, true)
	if bad.cmd.ProcessState.ExitCode() != 1 || !regexp.MustCompile(`local.toml:1: allow_anonymous: a fleet-wide setting`).MatchString(bad.Log()) {
		t.Errorf("serve with allow_anonymous in its local file: exit %v, log:\n%s", bad.cmd.ProcessState, bad.Log())
	}
	for _, s := range fleet {
		s.waitRecord(t, 5*time.Second, "policy from etcd", "policy_revision", num(rev1))
		if strings.Contains(s.Log(), "holds a password") {
			t.Errorf("%s warns about passwords in its local config file, which has none", s.name)
		}
		if got := s.metric(t); got != rev1 {
			t.Fatalf("%s: smbpipe_policy_revision %d, want %d", s.name, got, rev1)
		}
	}
	var rss []string
	for _, s := range fleet {
		rss = append(rss, fmt.Sprintf("%s %d KiB", s.name, s.rssKiB(t)))
	}
	t.Logf("idle servers' RSS with their etcd client: %s", strings.Join(rss, ", "))
	p := startPoller(t)

	t.Run("push grants within a second", func(t *testing.T) {
		p.t = t
		p.expectOpen("STATUS_ACCESS_DENIED", fleet...)
		for _, s := range fleet {
			rec := s.waitRecord(t, time.Second, "pipe open", "status", "STATUS_ACCESS_DENIED")
			if rec["policy_revision"] != num(rev1) || rec["rule"] != "null-session-pipes" {
				t.Errorf("%s: denial record %v, want rule null-session-pipes, policy_revision %d", s.name, rec, rev1)
			}
		}
		// The poller starts timing when it reads the command, before
		// push runs: each time includes push's own start and write.
		done := make(chan map[string]time.Duration, 1)
		go func() { done <- p.until("GRANTED", 5*time.Second, fleet...) }()
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		rev2 := push(t, ep, fleetPolicy(`"echo"`))
		pushTook := time.Since(start)
		took := <-done
		t.Logf("policy push (process start to new revision %d printed): %v; impacket granted on a %v, b %v, c %v after the command (push included)",
			rev2, pushTook, took["a"], took["b"], took["c"])
		for name, d := range took {
			if d > applyWithin+pushTook {
				t.Errorf("%s granted %v after the push began; want within %v of the put", name, d, applyWithin)
			}
		}
		var applied []string
		for _, s := range fleet {
			rec := s.waitRecord(t, time.Second, "pipe open", "status", "STATUS_SUCCESS")
			if rec["policy_revision"] != num(rev2) {
				t.Errorf("%s: grant record %v, want policy_revision %d", s.name, rec, rev2)
			}
			rec = s.waitRecord(t, time.Second, "policy revision applied", "policy_revision", num(rev2))
			at, err := time.Parse(time.RFC3339Nano, rec["time"].(string))
			if err != nil {
				t.Fatal(err)
			}
			applied = append(applied, fmt.Sprintf("%s %v", s.name, at.Sub(start).Round(time.Millisecond)))
			if got := s.metric(t); got != rev2 {
				t.Errorf("%s: smbpipe_policy_revision %d, want %d", s.name, got, rev2)
			}
		}
		t.Logf("revision %d applied (the servers' log) after the push began: %s", rev2, strings.Join(applied, ", "))
	})
	p.t = t
	rev2 := a.metric(t)

	t.Run("invalid push refused", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "bad.toml")
		os.WriteFile(f, []byte(strings.Replace(fleetPolicy(`"echo"`), "backend = \"echo\"", "backend = \"nosuch\"", 1)), 0o600)
		code, out, errOut := smbpipe(t, "policy", "push", "--etcd", ep, "--key", key, f)
		if code != 1 || out != "" || !strings.Contains(errOut, "nothing written") {
			t.Fatalf("push of an invalid policy: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		code, out, _ = smbpipe(t, "policy", "get", "--etcd", ep, "--key", key)
		if code != 0 || !strings.HasPrefix(out, fmt.Sprintf("# etcd key %s, revision %d ", key, rev2)) {
			t.Fatalf("policy get after the refused push: exit %d, %q; want revision %d", code, out, rev2)
		}
	})

	t.Run("bad value put with etcdctl leaves the old policy", func(t *testing.T) {
		p.t = t
		e.Ctl("put", key, "NullSessionPipes = [\"echo\"\n")
		var bad int64
		for _, s := range fleet {
			rec := s.waitRecord(t, 2*time.Second, "policy revision refused; keeping the policy in force", "policy_revision", num(rev2))
			bad = int64(rec["revision"].(float64))
			if bad <= rev2 {
				t.Errorf("%s: refused revision %d, want one after %d", s.name, bad, rev2)
			}
			if got := s.metric(t); got != rev2 {
				t.Errorf("%s: smbpipe_policy_revision %d after a bad put, want %d", s.name, got, rev2)
			}
		}
		p.expectOpen("GRANTED", fleet...)
		t.Logf("revision %d refused by all three; %d stays in force", bad, rev2)
	})

	t.Run("a server cut off applies the change when it reconnects", func(t *testing.T) {
		p.t = t
		proxy.Cut()
		c.waitRecord(t, 10*time.Second, "etcd connection lost; serving the policy in force, reconnecting", "policy_revision", num(rev2))
		rev3 := push(t, ep, fleetPolicy(""))
		took := p.until("DENIED", 5*time.Second, a, b)
		t.Logf("revision %d: a denies after %v, b after %v", rev3, took["a"], took["b"])
		time.Sleep(time.Second)
		p.expectOpen("GRANTED", c) // still revision rev2: cut off
		if got := c.metric(t); got != rev2 {
			t.Fatalf("c cut off: smbpipe_policy_revision %d, want %d", got, rev2)
		}
		proxy.Restore()
		took = p.until("DENIED", 15*time.Second, c)
		t.Logf("c reconnected and denies %v after its connection to etcd was restored", took["c"])
		c.waitRecord(t, time.Second, "policy revision applied", "policy_revision", num(rev3))
		if got := c.metric(t); got != rev3 {
			t.Errorf("c: smbpipe_policy_revision %d, want %d", got, rev3)
		}
	})
	p.t = t
	rev3 := a.metric(t)

	t.Run("etcd down: servers keep serving and deciding", func(t *testing.T) {
		p.t = t
		e.Stop()
		for _, s := range fleet {
			s.waitRecord(t, 10*time.Second, "etcd connection lost; serving the policy in force, reconnecting", "policy_revision", num(rev3))
		}
		p.expectOpen("STATUS_ACCESS_DENIED", fleet...)
		for _, s := range fleet {
			impacketAlice(t, s)
		}
	})

	outer := t
	t.Run("a server started while etcd is down comes up from its cache", func(t *testing.T) {
		p.t = t
		a.Stop(t)
		a2 := startServer(outer, "a (restarted)", ep, cache("a"), localConfig, false) // runs to the end of TestFleet
		rec := a2.waitRecord(t, time.Second, "starting from the cached policy; etcd gave none", "policy_revision", num(rev3))
		if !strings.Contains(rec["reason"].(string), "unreachable") {
			t.Errorf("the cache start's reason: %v", rec["reason"])
		}
		if got := a2.metric(t); got != rev3 {
			t.Errorf("a restarted: smbpipe_policy_revision %d, want the cache's %d", got, rev3)
		}
		p.expectOpen("STATUS_ACCESS_DENIED", a2)
		impacketAlice(t, a2)

		d := startServer(t, "d (no cache)", ep, cache("d"), localConfig, true)
		if d.cmd.ProcessState.ExitCode() != 1 || !strings.Contains(d.Log(), "no usable cached policy") || !strings.Contains(d.Log(), "unreachable") {
			t.Errorf("a server with neither etcd nor a cache: exit %v, log:\n%s", d.cmd.ProcessState, d.Log())
		}
		fleet[0] = a2
	})
	p.t = t

	t.Run("etcd back: every server follows again", func(t *testing.T) {
		p.t = t
		e.Restart()
		for _, s := range fleet[1:] {
			s.waitRecord(t, 15*time.Second, "etcd connection back; resuming the watch", "policy_revision", num(rev3))
		}
		// a never reached etcd since its restart: it reads the key first.
		fleet[0].waitRecord(t, 15*time.Second, "etcd reachable; policy in sync", "policy_revision", num(rev3))
		rev4 := push(t, ep, fleetPolicy(`"echo"`))
		took := p.until("GRANTED", 5*time.Second, fleet...)
		t.Logf("revision %d after etcd's restart: granted on a %v, b %v, c %v", rev4, took[fleet[0].name], took["b"], took["c"])
		for _, s := range fleet {
			if got := s.metric(t); got != rev4 {
				t.Errorf("%s: smbpipe_policy_revision %d, want %d", s.name, got, rev4)
			}
		}
		// SIGHUP reads the key again (what an operator does after
		// restoring etcd from a backup); the revision is the same.
		syscall.Kill(b.cmd.Process.Pid, syscall.SIGHUP)
		b.waitRecord(t, 5*time.Second, "reading the policy key again, as asked", "policy_revision", num(rev4))
		p.expectOpen("GRANTED", b)
	})

	t.Run("SIGHUP reads the local file again", func(t *testing.T) {
		// c's [limits] allow 64 opens per session: two opens succeed.
		opens := func() error {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			conn := testclient.Dial(t, c.addr, client.Config{})
			defer conn.Close()
			for range 2 {
				if _, err := conn.OpenPipe(ctx, "echo"); err != nil {
					return err
				}
			}
			return nil
		}
		if err := opens(); err != nil {
			t.Fatalf("two opens with max_opens_per_session = 64: %v", err)
		}
		// A local file a fleet-wide key makes invalid is refused on
		// SIGHUP, and the settings in force stay.
		write := func(local string) {
			if err := os.WriteFile(c.config, []byte(local), 0o644); err != nil {
				t.Fatal(err)
			}
			syscall.Kill(c.cmd.Process.Pid, syscall.SIGHUP)
		}
		write("guest = true\n" + strings.Replace(localConfig, "64", "1", 1))
		rec := c.waitRecord(t, 5*time.Second, "local settings not reloaded; keeping those in force", "config", c.config)
		if e, _ := rec["error"].(string); !strings.Contains(e, "local.toml:1: guest: a fleet-wide setting") {
			t.Errorf("refusal: %v", rec)
		}
		if err := opens(); err != nil {
			t.Fatalf("two opens after a refused local file: %v", err)
		}
		write(strings.Replace(localConfig, "64", "1", 1))
		c.waitRecord(t, 5*time.Second, "local settings reloaded", "config", c.config)
		err := opens()
		var st ntstatus.Status
		if !errors.As(err, &st) || st != ntstatus.TooManyOpenedFiles {
			t.Fatalf("second open with max_opens_per_session = 1: %v, want STATUS_TOO_MANY_OPENED_FILES", err)
		}
	})
}
