// Package testsmbd starts Samba's smbd as the reference peer of tests: a
// private configuration on a free loopback port, stopped by process id
// when the test ends. Test support only.
package testsmbd

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testbin"
)

const (
	smbdPath = "/usr/sbin/smbd"
	// User and Password are the account smbd knows.
	User     = "alice"
	Password = "Passw0rd!"
)

// Start runs Samba's smbd on a free loopback port with a private
// configuration and a passdb holding alice (password Passw0rd!), and
// returns its address. extra is appended to smb.conf (share sections; the
// word TEMPDIR in it becomes a fresh directory). smbd
// needs a Unix account for alice: the helper creates one with useradd when
// it is missing (and says so in the log). smbd and the samba-dcerpcd it
// starts are stopped by their process ids at cleanup.
func Start(t testing.TB, extra string) string {
	t.Helper()
	testbin.Need(t, smbdPath)
	if _, err := exec.LookPath("pdbedit"); err != nil {
		testbin.Need(t, "/usr/bin/pdbedit")
	}
	if err := exec.Command("id", User).Run(); err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("Unix user %s is missing and we are not root to create it", User)
		}
		t.Logf("creating Unix user %s for smbd (useradd)", User)
		if out, err := exec.Command("useradd", "-M", "-s", "/usr/sbin/nologin", User).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v\n%s", User, err, out)
		}
	}
	dir := t.TempDir()
	for _, d := range []string{"private", "lock", "state", "cache", "pid", "ncalrpc", "bind-dns"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := testbin.FreePort(t)
	conf := filepath.Join(dir, "smb.conf")
	body := fmt.Sprintf(`[global]
	workgroup = WORKGROUP
	netbios name = SMBPEER
	server role = standalone server
	smb ports = %d
	interfaces = lo
	bind interfaces only = yes
	disable netbios = yes
	private dir = %[2]s/private
	lock directory = %[2]s/lock
	state directory = %[2]s/state
	cache directory = %[2]s/cache
	pid directory = %[2]s/pid
	ncalrpc dir = %[2]s/ncalrpc
	binddns dir = %[2]s/bind-dns
	log file = %[2]s/log.%%m
	log level = 1
	passdb backend = tdbsam:%[2]s/private/passdb.tdb
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
	restrict anonymous = 0
	map to guest = never
	server min protocol = SMB2_02
`, port, dir) + strings.ReplaceAll(extra, "TEMPDIR", shareDir(t))
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	pdb := exec.Command("pdbedit", "--configfile="+conf, "-a", "-u", User, "-t")
	pdb.Stdin = strings.NewReader(Password + "\n" + Password + "\n")
	if out, err := pdb.CombinedOutput(); err != nil {
		t.Fatalf("pdbedit: %v\n%s", err, out)
	}

	var logBuf bytes.Buffer
	cmd := exec.Command(smbdPath, "--foreground", "--no-process-group", "--configfile="+conf, "--debug-stdout")
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// smbd runs in its own process group (Setpgid), samba-dcerpcd in
		// the session it makes for itself; stop both groups by id.
		if b, err := os.ReadFile(filepath.Join(dir, "pid", "samba-dcerpcd.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				syscall.Kill(-pid, syscall.SIGTERM)
			}
		}
		testbin.StopGroup(cmd.Process.Pid, exited, 10*time.Second)
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, "log.*"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", filepath.Base(l), b)
			}
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case <-exited:
			t.Fatalf("smbd exited: %s", logBuf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("smbd did not listen on %s: %s", addr, logBuf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shareDir returns a fresh directory that smbd, acting as alice, may
// write: the directory and its parent (t.TempDir makes both 0700 and
// root's) are opened up.
func shareDir(t testing.TB) string {
	d := t.TempDir()
	for _, x := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Dir(d), 0o755}, {d, 0o777}} {
		if err := os.Chmod(x.path, x.mode); err != nil {
			t.Fatal(err)
		}
	}
	return d
}
