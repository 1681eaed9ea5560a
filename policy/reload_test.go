package policy_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
)

func configWith(pipes string) string {
	return "[LanmanServer]\nNullSessionPipes = [" + pipes + "]\n[[pipe]]\nname = \"echo\"\nbackend = \"echo\"\nsddl = \"D:NO_ACCESS_CONTROL\"\n"
}

func anonOpen(st *policy.Store) ntstatus.Status {
	s := st.Current()
	return s.Decide(policy.Request{Identity: policy.Identity{Kind: policy.Anonymous}, PipeName: "echo", DesiredAccess: 0x3, ImpersonationLevel: 2, Pipe: s.PipeInfo("echo")}).Status
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 1 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "smbpipe.toml")
	if err := os.WriteFile(path, []byte(configWith("")), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	st, err := policy.NewStore(path, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan *policy.Snapshot, 16)
	done := make(chan error)
	go func() { done <- policy.Watch(ctx, path, st, logger, func(s *policy.Snapshot) { changes <- s }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(50 * time.Millisecond) // let the watcher start

	if got := anonOpen(st); got != ntstatus.AccessDenied {
		t.Fatalf("before: %v", got)
	}

	// 1. Rewrite in place: the pipe becomes listed.
	if err := os.WriteFile(path, []byte(configWith(`"echo"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "in-place rewrite applied", func() bool { return anonOpen(st) == ntstatus.Success })
	<-changes

	// 2. Replace by rename, as editors do: unlisted again.
	tmp := filepath.Join(dir, ".smbpipe.toml.swp")
	if err := os.WriteFile(tmp, []byte(configWith(`"other"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rename-replace applied", func() bool { return anonOpen(st) == ntstatus.AccessDenied })

	// 3. And again by rename, listed, to show the watch survived.
	if err := os.WriteFile(tmp, []byte(configWith(`"\\ECHO"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "second rename applied", func() bool { return anonOpen(st) == ntstatus.Success })

	// 4. A broken file changes nothing, is logged with file and line, and counted.
	before := st.Current()
	if err := os.WriteFile(path, []byte("[LanmanServer]\nNullSessionPipes = []\n[[pipe]]\nname = \"echo\"\nbackend = \"echo\"\nsddl = \"D:(A;;XX;;;WD)\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failure counted", func() bool { return st.Failures() >= 1 })
	if st.Current() != before || anonOpen(st) != ntstatus.Success {
		t.Fatal("a broken file changed the policy")
	}
	if l := logs.String(); !strings.Contains(l, path+`:6: pipe[0].sddl: ACE 1 (A;;XX;;;WD): unknown right \"XX\"`) {
		t.Fatalf("log lacks file, line and reason:\n%s", l)
	}

	// 5. SIGHUP path: Reload on demand.
	if err := os.WriteFile(path, []byte(configWith("")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Reload(); err != nil {
		t.Fatal(err)
	}
	if anonOpen(st) != ntstatus.AccessDenied {
		t.Fatal("Reload did not apply")
	}
}

func TestStoreReloadFailureKeepsPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.toml")
	os.WriteFile(path, []byte(configWith(`"echo"`)), 0o600)
	st, err := policy.NewStore(path, slog.New(slog.NewTextHandler(&testlog.Buffer{}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	old := st.Current()
	os.WriteFile(path, []byte("guest = = true"), 0o600)
	if _, err := st.Reload(); err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Fatalf("%v", err)
	}
	os.Remove(path)
	if _, err := st.Reload(); err == nil {
		t.Fatal("missing file reloaded")
	}
	if st.Current() != old || st.Failures() != 2 {
		t.Fatalf("failures %d", st.Failures())
	}
	if _, err := policy.NewStore(path, nil); err == nil {
		t.Fatal("NewStore of a missing file")
	}
	def, err := policy.NewStore("", nil)
	if err != nil || def.Current().Config().Pipes[0].Name != "echo" {
		t.Fatal("embedded default store")
	}
}
