package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
)

// TestChangelogVersion: the package version is CHANGELOG.md's newest
// release, not its Unreleased heading.
func TestChangelogVersion(t *testing.T) {
	p := filepath.Join(t.TempDir(), "CHANGELOG.md")
	os.WriteFile(p, []byte("# Changelog\n\n## [Unreleased]\n\n## [1.2.3] - 2026-01-01\n\n## [1.2.2]\n"), 0o644)
	if v, err := changelogVersion(p); err != nil || v != "1.2.3" {
		t.Errorf("got %q, %v", v, err)
	}
	os.WriteFile(p, []byte("# Changelog\n"), 0o644)
	if _, err := changelogVersion(p); err == nil || !strings.Contains(err.Error(), "no release heading") {
		t.Errorf("no release: %v", err)
	}
	if v, err := changelogVersion("../../CHANGELOG.md"); err != nil || !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Errorf("the repository's CHANGELOG.md: %q, %v", v, err)
	}
}

// unit is what the test needs of packaging/smbpipe.service.
type unit struct {
	typ, user, execStartPre, execStart, execReload string
}

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var u unit
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "Type":
			u.typ = v
		case "User":
			u.user = v
		case "ExecStartPre":
			u.execStartPre = v
		case "ExecStart":
			u.execStart = v
		case "ExecReload":
			u.execReload = v
		}
	}
	return u
}

// TestUnitFile: the unit is what the issue asks of it.
func TestUnitFile(t *testing.T) {
	data, err := os.ReadFile("../smbpipe.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nType=notify\n", "\nUser=smbpipe\n", "\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n",
		"\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n", "\nNoNewPrivileges=yes\n", "\nProtectSystem=strict\n",
		"\nExecStartPre=/usr/bin/smbpipe check --config /etc/smbpipe/smbpipe.toml\n",
		"\nExecReload=/bin/kill -HUP $MAINPID\n", "\nWantedBy=multi-user.target\n"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("smbpipe.service lacks %q", strings.TrimSpace(want))
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		// verify checks every directive; the binary it names is not
		// installed here, which is its only complaint.
		out, _ := exec.Command("systemd-analyze", "verify", "../smbpipe.service").CombinedOutput()
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l != "" && !strings.Contains(l, "/usr/bin/smbpipe is not executable") {
				t.Errorf("systemd-analyze verify: %s", l)
			}
		}
	}
}

// needRootDpkg skips the test unless it runs as root with dpkg (CI=true:
// fails instead).
func needRootDpkg(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "installing a package needs root"
	} else if _, err := exec.LookPath("dpkg"); err != nil {
		why = "no dpkg"
	} else if exec.Command("dpkg-query", "-W", "-f=${Status}", "smbpipe").Run() == nil {
		why = "a package smbpipe is installed on this machine already; the test would replace it"
	} else {
		for _, p := range []string{"/usr/bin/smbpipe", "/etc/smbpipe", "/lib/systemd/system/smbpipe.service"} {
			if _, err := os.Lstat(p); err == nil {
				why = p + " exists (not from a package); the test would replace it"
			}
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDebPackage builds the .deb, installs it with dpkg -i, starts the
// service on a loopback port (under systemd when this machine runs it,
// else the unit's ExecStartPre and ExecStart lines as its user, with a
// notify socket as systemd gives one), opens its echo pipe with the Go
// client, reloads it as ExecReload does, stops it by PID and purges the
// package.
func TestDebPackage(t *testing.T) {
	needRootDpkg(t)
	deb, err := build(&options{arch: runtime.GOARCH, out: t.TempDir(), root: "../..", maintainer: defaultMaintainer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "--purge", "smbpipe").CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge: %v\n%s", err, out)
		}
		if _, err := os.Stat("/usr/bin/smbpipe"); err == nil {
			t.Error("/usr/bin/smbpipe is still there after the purge")
		}
		if _, err := user.Lookup("smbpipe"); err == nil {
			t.Error("the user smbpipe is still there after the purge")
		}
		if _, err := os.Stat("/etc/smbpipe"); err == nil {
			t.Error("/etc/smbpipe is still there after the purge")
		}
	})
	run(t, "dpkg", "-i", deb)

	// The package's user, its config readable by root and that group.
	u, err := user.Lookup("smbpipe")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	const conf = "/etc/smbpipe/smbpipe.toml"
	fi, err := os.Stat(conf)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o640 || st.Uid != 0 || int(st.Gid) != gid {
		t.Errorf("%s: mode %04o owner %d:%d, want 0640 root:smbpipe", conf, fi.Mode().Perm(), st.Uid, st.Gid)
	}
	if out := run(t, "/usr/bin/smbpipe", "check", "--config", conf); !strings.Contains(out, "ok") {
		t.Errorf("check: %s", out)
	}

	// A free loopback port in the installed config.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	listen := regexp.MustCompile(`(?m)^listen = .*$`)
	if !listen.Match(data) {
		t.Fatalf("%s has no listen line", conf)
	}
	data = listen.ReplaceAll(data, []byte(fmt.Sprintf(`listen = "127.0.0.1:%d"`, port)))
	if err := os.WriteFile(conf, data, 0o640); err != nil {
		t.Fatal(err)
	}

	un := readUnit(t, "/lib/systemd/system/smbpipe.service")
	if un.typ != "notify" || un.user != "smbpipe" || un.execStart == "" || un.execStartPre == "" || un.execReload == "" {
		t.Fatalf("installed unit: %+v", un)
	}
	if comm, _ := os.ReadFile("/proc/1/comm"); strings.TrimSpace(string(comm)) == "systemd" {
		underSystemd(t, port)
		return
	}
	commandLine(t, un, uint32(uid), uint32(gid), port)
}

// echo opens the echo pipe anonymously and checks a round trip.
func echo(t *testing.T, port int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d := client.Dialer{Port: port}
	p, err := d.DialContext(ctx, "//127.0.0.1/pipe/echo")
	if err != nil {
		t.Fatalf("dial the installed service: %v", err)
	}
	defer p.Close()
	if _, err := p.WriteMsg(ctx, []byte("hello from the package test")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	n, _, err := p.ReadMsg(ctx, buf)
	if err != nil || string(buf[:n]) != "hello from the package test" {
		t.Fatalf("echo: %q, %v", buf[:n], err)
	}
}

func underSystemd(t *testing.T, port int) {
	run(t, "systemctl", "daemon-reload")
	run(t, "systemctl", "start", "smbpipe.service") // returns once READY=1 came
	t.Cleanup(func() { exec.Command("systemctl", "stop", "smbpipe.service").Run() })
	pid := strings.TrimSpace(strings.TrimPrefix(run(t, "systemctl", "show", "-p", "MainPID", "smbpipe.service"), "MainPID="))
	echo(t, port)
	run(t, "systemctl", "reload", "smbpipe.service") // waits for RELOADING=1 ... READY=1
	echo(t, port)
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		t.Fatalf("MainPID %q", pid)
	}
	if err := syscall.Kill(n, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for exec.Command("systemctl", "is-active", "--quiet", "smbpipe.service").Run() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the service is still active 20 s after SIGTERM")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// commandLine runs the unit's commands as its user, as systemd would
// without the sandbox: ExecStartPre must exit 0, ExecStart must send
// READY=1 to $NOTIFY_SOCKET, ExecReload (kill -HUP $MAINPID) RELOADING=1
// and READY=1, and SIGTERM STOPPING=1 and a clean exit.
func commandLine(t *testing.T, un unit, uid, gid uint32, port int) {
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	pre := strings.Fields(un.execStartPre)
	cmd := exec.Command(pre[0], pre[1:]...)
	cmd.SysProcAttr = cred
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ExecStartPre %s: %v\n%s", un.execStartPre, err, out)
	}

	// An abstract socket: the service's user cannot enter the test's
	// temporary directory.
	name := fmt.Sprintf("smbpipe-mkdeb-test-%d", os.Getpid())
	ns, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "\x00" + name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	notes := make(chan string, 8)
	go func() {
		buf := make([]byte, 1024)
		for {
			n, _, err := ns.ReadFromUnix(buf)
			if err != nil {
				close(notes)
				return
			}
			notes <- string(buf[:n])
		}
	}()
	var logs func() string
	next := func(want string) {
		t.Helper()
		select {
		case m := <-notes:
			if !strings.HasPrefix(m, want) {
				t.Fatalf("notification %q, want %q; the service's log:\n%s", m, want, logs())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no %s within 20 s; the service's log:\n%s", want, logs())
		}
	}

	start := strings.Fields(un.execStart)
	logf, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	logs = func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
	srv := exec.Command(start[0], start[1:]...)
	srv.SysProcAttr = cred
	srv.Env = []string{"NOTIFY_SOCKET=@" + name, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	srv.Stderr = logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			srv.Process.Kill()
			<-exited
		}
	})
	next("READY=1")
	echo(t, port)

	reload := strings.Fields(strings.ReplaceAll(un.execReload, "$MAINPID", strconv.Itoa(srv.Process.Pid)))
	run(t, reload[0], reload[1:]...)
	next("RELOADING=1")
	next("READY=1")
	echo(t, port)

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	next("STOPPING=1")
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("the service exited with %v:\n%s", waitErr, logs())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the service did not exit 20 s after SIGTERM")
	}
	if l := logs(); strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
		t.Errorf("the service logged warnings:\n%s", l)
	}
}
