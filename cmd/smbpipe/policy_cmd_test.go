package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/internal/testetcd"
)

const fleetPolicy = `server_name = "FLEET"

[LanmanServer]
NullSessionPipes = []

[[pipe]]
name = "echo"
backend = "echo"
sddl = "D:(A;;0x12019B;;;WD)"
`

// runPolicyCmd runs "smbpipe policy ARGS" and returns its exit status and
// outputs.
func runPolicyCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := policyCmd(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var revisionLine = regexp.MustCompile(`^/smbpipe/policy: revision (\d+)\n$`)

// pushed runs "smbpipe policy ARGS", checks push's output and returns
// the revision it printed.
func pushed(t *testing.T, args ...string) int64 {
	t.Helper()
	code, out, errOut := runPolicyCmd(t, args...)
	m := revisionLine.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("push: exit %d, stdout %q, stderr %q; want 0 and the new revision", code, out, errOut)
	}
	rev, _ := strconv.ParseInt(m[1], 10, 64)
	return rev
}

// TestPolicyPushGet: push validates with serve's compiler and writes
// nothing invalid; it writes with a compare-and-swap on the revision the
// edited copy came from, so a change pushed meanwhile is not overwritten
// (unless --force); get prints the revision and the TOML, which push
// takes back.
func TestPolicyPushGet(t *testing.T) {
	e := testetcd.Start(t)
	ep := []string{"--etcd", e.Endpoint(), "--key", "/smbpipe/policy"}
	key := "/smbpipe/policy"

	for name, text := range map[string]string{
		"syntax":    "[[pipe]\n",
		"unknown":   "nul_session_pipes = []\n",
		"sddl":      strings.Replace(fleetPolicy, "D:(A;;0x12019B;;;WD)", "D:(A;;XX;;;WD)", 1),
		"local key": "listen = \"0.0.0.0:445\"\n" + fleetPolicy,
	} {
		code, out, errOut := runPolicyCmd(t, append([]string{"push"}, append(ep, writeFile(t, "bad.toml", text))...)...)
		if code != 1 || out != "" || !strings.Contains(errOut, "not a valid fleet policy; nothing written") {
			t.Errorf("push of an invalid policy (%s): exit %d, stdout %q, stderr %q", name, code, out, errOut)
		}
	}
	if got := e.Ctl("get", key); got != "" {
		t.Fatalf("invalid pushes wrote the key: %s", got)
	}
	code, _, errOut := runPolicyCmd(t, append([]string{"get"}, ep...)...)
	if code != 1 || !strings.Contains(errOut, "no such key") {
		t.Errorf("get of an absent key: exit %d, stderr %q", code, errOut)
	}

	file := writeFile(t, "p.toml", fleetPolicy)
	rev1 := pushed(t, append([]string{"push"}, append(ep, file)...)...)
	if got := e.Ctl("get", "--print-value-only", key); strings.TrimSpace(got) != strings.TrimSpace(fleetPolicy) {
		t.Fatalf("etcd holds %q after push", got)
	}

	code, out, errOut := runPolicyCmd(t, append([]string{"get"}, ep...)...)
	wantHead := "# etcd key /smbpipe/policy, revision " + strconv.FormatInt(rev1, 10) + " (policy push compares with this revision)\n"
	if code != 0 || out != wantHead+fleetPolicy {
		t.Fatalf("get: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, wantHead+fleetPolicy)
	}
	// Edit the copy get printed; meanwhile someone else pushes.
	edited := writeFile(t, "edited.toml", strings.Replace(out, "NullSessionPipes = []", `NullSessionPipes = ["echo"]`, 1))
	rev2 := pushed(t, append([]string{"push"}, append(ep, writeFile(t, "other.toml", strings.Replace(fleetPolicy, "FLEET", "OTHER", 1)))...)...)
	code, out, errOut = runPolicyCmd(t, append([]string{"push"}, append(ep, edited)...)...)
	if code != 1 || out != "" || !strings.Contains(errOut, "changed: it is at revision "+strconv.FormatInt(rev2, 10)+", not "+strconv.FormatInt(rev1, 10)) {
		t.Fatalf("push of a copy of revision %d over %d: exit %d, stdout %q, stderr %q; want a refusal", rev1, rev2, code, out, errOut)
	}
	if got := e.Ctl("get", "--print-value-only", key); !strings.Contains(got, "OTHER") {
		t.Fatalf("the refused push overwrote the key: %q", got)
	}
	code, _, errOut = runPolicyCmd(t, append([]string{"push", "--revision", strconv.FormatInt(rev1, 10)}, append(ep, file)...)...)
	if code != 1 || !strings.Contains(errOut, "changed") {
		t.Errorf("push --revision %d over %d: exit %d, stderr %q", rev1, rev2, code, errOut)
	}
	code, _, errOut = runPolicyCmd(t, append([]string{"push", "--revision", "0"}, append(ep, file)...)...)
	if code != 1 || !strings.Contains(errOut, "changed") {
		t.Errorf("push --revision 0 over an existing key: exit %d, stderr %q", code, errOut)
	}
	rev3 := pushed(t, append([]string{"push", "--force"}, append(ep, edited)...)...)
	got := e.Ctl("get", "--print-value-only", key)
	if rev3 <= rev2 || !strings.Contains(got, `NullSessionPipes = ["echo"]`) || strings.Contains(got, "# etcd key") {
		t.Fatalf("push --force of the edited copy: revision %d, etcd holds %q; want the TOML without get's line", rev3, got)
	}
	// A copy of the current revision goes through without --force.
	code, out, _ = runPolicyCmd(t, append([]string{"get"}, ep...)...)
	if code != 0 {
		t.Fatal("get failed")
	}
	pushed(t, append([]string{"push"}, append(ep, writeFile(t, "again.toml", strings.Replace(out, "FLEET", "AGAIN", 1)))...)...)
}

func TestPolicyUsage(t *testing.T) {
	f := writeFile(t, "p.toml", fleetPolicy)
	for _, args := range [][]string{
		nil,
		{"pull"},
		{"push", f},
		{"push", "--etcd", "127.0.0.1:1", f},
		{"push", "--etcd", "127.0.0.1:1", "--key", "nokey", f},
		{"push", "--etcd", "nohost", "--key", "/k", f},
		{"push", "--etcd", "127.0.0.1:1", "--key", "/k"},
		{"push", "--etcd", "127.0.0.1:1", "--key", "/k", "--force", "--revision", "3", f},
		{"push", "--etcd", "127.0.0.1:1", "--key", "/k", "--etcd-cert", "c.pem", f},
		{"push", "--etcd", "127.0.0.1:1", "--key", "/k", "--etcd-password", "x", f},
		{"get", "--etcd", "127.0.0.1:1", "--key", "/k", "extra"},
	} {
		code, out, errOut := runPolicyCmd(t, args...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "smbpipe policy") || !strings.Contains(errOut, "usage: smbpipe policy push") {
			t.Errorf("policy %q: exit %d, stdout %q, stderr %q; want a usage error", args, code, out, errOut)
		}
	}
	code, out, _ := runPolicyCmd(t, "push", "-h")
	if code != 0 || !strings.HasPrefix(out, "usage: smbpipe policy push") {
		t.Errorf("policy push -h: exit %d, %q", code, out)
	}
}

// TestServeFleetFlags: --policy etcd://... and its flags as serve parses
// them.
func TestServeFleetFlags(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("XDG_STATE_HOME", "/state")
	t.Setenv("SMBPIPE_ETCD_PASSWORD", "")
	o, err := parseServeArgs([]string{"--policy", "etcd://10.0.0.1:2379,10.0.0.2:2379/smbpipe/policy", "--etcd-user", "smb:pw"})
	if err != nil {
		t.Fatal(err)
	}
	f := o.fleet
	if f.key != "/smbpipe/policy" || strings.Join(f.client.Endpoints, " ") != "10.0.0.1:2379 10.0.0.2:2379" ||
		f.client.User != "smb" || f.client.Password != "pw" || f.cache != "/state/smbpipe/policy-smbpipe_policy.toml" {
		t.Errorf("parsed %+v", f)
	}
	t.Setenv("STATE_DIRECTORY", "/var/lib/smbpipe:/other")
	t.Setenv("SMBPIPE_ETCD_PASSWORD", "envpw")
	o, err = parseServeArgs([]string{"--policy", "etcd://h:2379/a b", "--etcd-user", "smb"})
	if err != nil {
		t.Fatal(err)
	}
	if o.fleet.cache != "/var/lib/smbpipe/policy-a_b.toml" || o.fleet.client.Password != "envpw" {
		t.Errorf("cache %q, password %q", o.fleet.cache, o.fleet.client.Password)
	}
	t.Setenv("SMBPIPE_ETCD_PASSWORD", "")
	for _, args := range [][]string{
		{"--policy", "http://h:2379/k"},
		{"--policy", "etcd://h:2379"},
		{"--policy", "etcd://h/k"},
		{"--policy-cache", "/tmp/x"},
		{"--etcd-cacert", "ca.pem"},
		{"--policy", "etcd://h:2379/k", "--etcd-key", "k.pem"},
		{"--policy", "etcd://h:2379/k", "--etcd-user", "smb"},
		{"--policy", "etcd://h:2379/k", "--etcd-user", "smb:pw", "--etcd-password", "pw"},
	} {
		if _, err := parseServeArgs(args); err == nil {
			t.Errorf("serve %q parsed", args)
		}
	}
}

// TestPolicyTLSAndAuth: push and get reach etcd with etcdctl's TLS flags
// (--etcd-cacert, --etcd-cert, --etcd-key) and log on with --etcd-user,
// its password from the flag or SMBPIPE_ETCD_PASSWORD; a user whose role
// may only read the key (the servers') cannot push.
func TestPolicyTLSAndAuth(t *testing.T) {
	file := writeFile(t, "p.toml", fleetPolicy)
	t.Run("tls", func(t *testing.T) {
		e, f := testetcd.StartTLS(t)
		ep := []string{"--etcd", e.Endpoint(), "--key", "/smbpipe/policy", "--etcd-cacert", f.CACert, "--etcd-cert", f.Cert, "--etcd-key", f.Key}
		rev := pushed(t, append([]string{"push"}, append(ep, file)...)...)
		code, out, errOut := runPolicyCmd(t, append([]string{"get"}, ep...)...)
		if code != 0 || !strings.Contains(out, "revision "+strconv.FormatInt(rev, 10)+" ") {
			t.Errorf("get over TLS: exit %d, %q, %q", code, out, errOut)
		}
		code, _, errOut = runPolicyCmd(t, "get", "--etcd", e.Endpoint(), "--key", "/smbpipe/policy", "--etcd-cacert", f.CACert, "--timeout", "2s")
		if code != 1 {
			t.Errorf("get without the client certificate: exit %d, %q", code, errOut)
		}
	})
	t.Run("auth", func(t *testing.T) {
		e := testetcd.Start(t)
		e.Ctl("role", "add", "smbpipe-server")
		e.Ctl("role", "grant-permission", "smbpipe-server", "read", "/smbpipe/policy")
		e.Ctl("user", "add", "server:s3rver", "--interactive=false")
		e.Ctl("user", "grant-role", "server", "smbpipe-server")
		e.Ctl("user", "add", "ops:0ps", "--interactive=false")
		e.Ctl("user", "grant-role", "ops", "root")
		e.EnableAuth("r00t")
		ep := []string{"--etcd", e.Endpoint(), "--key", "/smbpipe/policy"}
		code, out, errOut := runPolicyCmd(t, append([]string{"push", "--etcd-user", "server:s3rver"}, append(ep, file)...)...)
		if code != 1 || out != "" || !strings.Contains(errOut, "permission denied") {
			t.Errorf("push as the servers' read-only user: exit %d, %q, %q", code, out, errOut)
		}
		t.Setenv("SMBPIPE_ETCD_PASSWORD", "0ps")
		pushed(t, append([]string{"push", "--etcd-user", "ops"}, append(ep, file)...)...)
		code, out, errOut = runPolicyCmd(t, append([]string{"get", "--etcd-user", "server", "--etcd-password", "s3rver"}, ep...)...)
		if code != 0 || !strings.Contains(out, `server_name = "FLEET"`) {
			t.Errorf("get as the servers' user: exit %d, %q, %q", code, out, errOut)
		}
		code, _, errOut = runPolicyCmd(t, append([]string{"get", "--etcd-user", "server:wrong"}, ep...)...)
		if code != 1 || !strings.Contains(errOut, "authentication failed") {
			t.Errorf("get with a wrong password: exit %d, %q", code, errOut)
		}
	})
}
