package interop

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestServeReload: a pipe added to the config file is served after the
// file changes (watch) and after SIGHUP, without a restart.
func TestServeReload(t *testing.T) {
	need(t, python, "-c", "import impacket")
	s := startServer(t, testConfig)
	open := func() string {
		lines := impacket(t, s, "alice", "Passw0rd!", "default", "later")
		return lines[len(lines)-1]
	}
	if got := open(); got != "FAIL open STATUS_OBJECT_NAME_NOT_FOUND" {
		t.Fatalf("before reload: %q", got)
	}
	cfg := testConfig + messagePipe("later", "echo", "D:(A;;0x12019B;;;AU)")
	if err := os.WriteFile(filepath.Join(s.configDir, "smbpipe.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(s.cmd.Process.Pid, syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := open()
		if got == "OK logoff" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after reload: %q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitLog(t, s, "policy reloaded")
}
