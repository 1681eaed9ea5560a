package main

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/internal/testserver"
)

// notifySocket listens on a unixgram socket as systemd does for
// Type=notify and sets $NOTIFY_SOCKET to it; it returns the messages'
// channel.
func notifySocket(t *testing.T, abstract bool) <-chan string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify")
	env := name
	if abstract {
		name = "\x00smbpipe-test-" + filepath.Base(t.TempDir())
		env = "@" + name[1:]
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", env)
	ch := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := c.ReadFromUnix(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

func nextNotify(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no sd_notify message within 10 s")
		return ""
	}
}

func TestSdNotify(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		ch := notifySocket(t, abstract)
		if err := sdNotify("READY=1"); err != nil {
			t.Fatal(err)
		}
		if m := nextNotify(t, ch); m != "READY=1" {
			t.Errorf("abstract %v: got %q", abstract, m)
		}
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := sdNotify("READY=1"); err != nil {
		t.Errorf("without NOTIFY_SOCKET: %v", err)
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "absent"))
	if err := sdNotify("READY=1"); err == nil || !strings.Contains(err.Error(), "sd_notify") {
		t.Errorf("absent socket: %v", err)
	}
}

// TestServeNotifies runs serve as systemd would see it: READY=1 once it
// listens, RELOADING=1 (with MONOTONIC_USEC) and READY=1 around a SIGHUP,
// STOPPING=1 on SIGTERM, and then serve returns.
func TestServeNotifies(t *testing.T) {
	ch := notifySocket(t, false)
	cfg := filepath.Join(t.TempDir(), "smbpipe.toml")
	if err := os.WriteFile(cfg, []byte(testserver.AliceEcho), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testlog.Buffer
	o := &serveOptions{config: cfg, listen: "127.0.0.1:0", logFormat: "text", logLevel: "info", shutdownTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- serve(o, newLogger("text", "info", &logs)) }()
	if m := nextNotify(t, ch); m != "READY=1" {
		t.Fatalf("first message %q", m)
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("warnings for a 0600 config:\n%s", logs.String())
	}
	// Made readable by others, the reload warns.
	if err := os.Chmod(cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if m := nextNotify(t, ch); !strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") || len(m) < len("RELOADING=1\nMONOTONIC_USEC=1") {
		t.Errorf("reload message %q", m)
	}
	if m := nextNotify(t, ch); m != "READY=1" {
		t.Errorf("after reload %q", m)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if m := nextNotify(t, ch); m != "STOPPING=1" {
		t.Errorf("at shutdown %q", m)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after SIGTERM")
	}
	if !strings.Contains(logs.String(), "holds a password and others may read it") {
		t.Errorf("no warning after the reload of a 0644 config:\n%s", logs.String())
	}
}

// TestWarnReadablePassword: a password in a config others may read is a
// warning at start; mode 0600 or an nt_hash is not.
func TestWarnReadablePassword(t *testing.T) {
	dir := t.TempDir()
	withPW := filepath.Join(dir, "pw.toml")
	withHash := filepath.Join(dir, "hash.toml")
	os.WriteFile(withPW, []byte(testserver.AliceEcho), 0o644)
	os.WriteFile(withHash, []byte(strings.Replace(testserver.AliceEcho, `password = "Passw0rd!"`,
		`nt_hash = "`+ntHashHex("Passw0rd!")+`"`, 1)), 0o644)
	os.Chmod(withPW, 0o644) // whatever the umask
	os.Chmod(withHash, 0o644)
	for _, c := range []struct {
		path string
		mode os.FileMode
		warn bool
	}{{withPW, 0o644, true}, {withPW, 0o640, true}, {withPW, 0o600, false}, {withHash, 0o644, false}} {
		if err := os.Chmod(c.path, c.mode); err != nil {
			t.Fatal(err)
		}
		var logs testlog.Buffer
		o := &serveOptions{config: c.path, listen: "127.0.0.1:0", shutdownTimeout: time.Second}
		// serve logs the warning before it listens; a listen address
		// already in use stops it right after.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		o.listen = l.Addr().String()
		err = serve(o, slog.New(slog.NewTextHandler(&logs, nil)))
		l.Close()
		if err == nil {
			t.Fatal("serve on a busy address returned nil")
		}
		got := strings.Contains(logs.String(), "holds a password and others may read it")
		if got != c.warn {
			t.Errorf("%s mode %04o: warning %v, want %v:\n%s", filepath.Base(c.path), c.mode, got, c.warn, logs.String())
		}
		if c.warn && !strings.Contains(logs.String(), "smbpipe hash") {
			t.Errorf("the warning does not say what to do: %s", logs.String())
		}
	}
}

// TestWarnReadableNTHash: an nt_hash logs on over NTLM as the password
// does (pass-the-hash), so a config every user may read that holds one is
// a warning too; the service group's 0640 and 0600 are not.
func TestWarnReadableNTHash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hash.toml")
	os.WriteFile(path, []byte(strings.Replace(testserver.AliceEcho, `password = "Passw0rd!"`,
		`nt_hash = "`+ntHashHex("Passw0rd!")+`"`, 1)), 0o600)
	for _, c := range []struct {
		mode os.FileMode
		warn bool
	}{{0o644, true}, {0o604, true}, {0o640, false}, {0o600, false}} {
		if err := os.Chmod(path, c.mode); err != nil {
			t.Fatal(err)
		}
		var logs testlog.Buffer
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		o := &serveOptions{config: path, listen: l.Addr().String(), shutdownTimeout: time.Second}
		err = serve(o, slog.New(slog.NewTextHandler(&logs, nil)))
		l.Close()
		if err == nil {
			t.Fatal("serve on a busy address returned nil")
		}
		got := strings.Contains(logs.String(), "holds an nt_hash and every user may read it")
		if got != c.warn {
			t.Errorf("mode %04o: warning %v, want %v:\n%s", c.mode, got, c.warn, logs.String())
		}
	}
}
