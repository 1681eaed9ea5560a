package watch_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/policy/watch"
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
	go func() { done <- watch.Watch(ctx, path, st, logger, func(s *policy.Snapshot) { changes <- s }) }()
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

// watchStore starts Watch on a store of path and returns the store; the
// watch ends with the test.
func watchStore(t *testing.T, path string) *policy.Store {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(&testlog.Buffer{}, nil))
	st, err := policy.NewStore(path, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watch.Watch(ctx, path, st, logger, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	time.Sleep(50 * time.Millisecond) // let the watcher start
	return st
}

// hammer writes to file every 2 ms until the test ends: appends, as a
// server's log beside its config does under a stream of opens, or
// replacements by rename.
func hammer(t *testing.T, file string, data func(i int) []byte, appendTo bool) {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if appendTo {
				f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
				if err == nil {
					f.Write(data(i))
					f.Close()
				}
			} else { // replace it whole, so that a reload never reads half a file
				tmp := file + ".hammer"
				if os.WriteFile(tmp, data(i), 0o600) == nil {
					os.Rename(tmp, file)
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// TestWatchBusyDirectory is issue 9's finding: the watcher restarted its
// settle timer on every event in the config's directory, so a log file
// written beside the config kept a change from applying (35 s in the
// report). Only the config file's events count now.
func TestWatchBusyDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "smbpipe.toml")
	os.WriteFile(path, []byte(configWith(`"echo"`)), 0o600)
	st := watchStore(t, path)
	hammer(t, filepath.Join(dir, "smbpipe.log"), func(i int) []byte { return []byte(fmt.Sprintf("line %d\n", i)) }, true)
	time.Sleep(100 * time.Millisecond)

	if err := os.WriteFile(path, []byte(configWith("")), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "in-place rewrite applied beside a busy log", func() bool { return anonOpen(st) == ntstatus.AccessDenied })

	tmp := filepath.Join(dir, ".smbpipe.toml.tmp")
	os.WriteFile(tmp, []byte(configWith(`"echo"`)), 0o600)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rename-replace applied beside a busy log", func() bool { return anonOpen(st) == ntstatus.Success })
	if n := st.Reloads(); n != 2 {
		t.Errorf("%d reloads, want 2 (the log's events must not cause any)", n)
	}
}

// TestWatchMaxDelay: a config file replaced every 2 ms still has a change
// applied within a second (the settle timer is not restarted forever).
func TestWatchMaxDelay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smbpipe.toml")
	os.WriteFile(path, []byte(configWith("")), 0o600)
	st := watchStore(t, path)
	var listed atomic.Bool
	hammer(t, path, func(int) []byte {
		if listed.Load() {
			return []byte(configWith(`"echo"`))
		}
		return []byte(configWith(""))
	}, false)
	time.Sleep(100 * time.Millisecond)
	listed.Store(true)
	waitFor(t, "change under constant rewrites applied", func() bool { return anonOpen(st) == ntstatus.Success })
}

// TestWatchConfigMap: a Kubernetes ConfigMap volume. config.toml is a
// symlink to ..data/config.toml, ..data a symlink to a timestamped
// directory; an update writes a new directory, points a new ..data_tmp
// link at it and renames that over ..data, then removes the old directory.
func TestWatchConfigMap(t *testing.T) {
	dir := t.TempDir()
	n := 0
	publish := func(text string) {
		t.Helper()
		n++
		ts := fmt.Sprintf("..2026_11_26_12_00_%02d.%d", n, n)
		if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, ts, "config.toml"), []byte(text), 0o600)
		old, _ := os.Readlink(filepath.Join(dir, "..data"))
		if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		if old != "" {
			os.RemoveAll(filepath.Join(dir, old))
		}
	}
	publish(configWith(""))
	if err := os.Symlink("..data/config.toml", filepath.Join(dir, "config.toml")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.toml")
	st := watchStore(t, path)
	hammer(t, filepath.Join(dir, "unrelated.log"), func(i int) []byte { return []byte("x\n") }, true)

	publish(configWith(`"echo"`))
	waitFor(t, "first ConfigMap update applied", func() bool { return anonOpen(st) == ntstatus.Success })
	publish(configWith(""))
	waitFor(t, "second ConfigMap update applied", func() bool { return anonOpen(st) == ntstatus.AccessDenied })
	publish(configWith(`"ECHO"`))
	waitFor(t, "third ConfigMap update applied", func() bool { return anonOpen(st) == ntstatus.Success })
}

// TestWatchSymlinkElsewhere: the config path is a symlink to a file in
// another directory. Editing the target in place, and repointing the link
// (ln -sfn: a new link renamed over the old), are both seen.
func TestWatchSymlinkElsewhere(t *testing.T) {
	etc, srv := t.TempDir(), t.TempDir()
	a, b := filepath.Join(srv, "a.toml"), filepath.Join(srv, "b.toml")
	os.WriteFile(a, []byte(configWith("")), 0o600)
	os.WriteFile(b, []byte(configWith(`"echo"`)), 0o600)
	path := filepath.Join(etc, "smbpipe.toml")
	if err := os.Symlink(a, path); err != nil {
		t.Fatal(err)
	}
	st := watchStore(t, path)

	os.WriteFile(a, []byte(configWith(`"echo"`)), 0o600)
	waitFor(t, "in-place edit of the link's target applied", func() bool { return anonOpen(st) == ntstatus.Success })

	os.WriteFile(b, []byte(configWith("")), 0o600)
	tmp := filepath.Join(etc, ".smbpipe.toml.new")
	os.Symlink(b, tmp)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "repointed link applied", func() bool { return anonOpen(st) == ntstatus.AccessDenied })

	// The new target's directory is watched: edit b in place.
	os.WriteFile(b, []byte(configWith(`"echo"`)), 0o600)
	waitFor(t, "in-place edit of the new target applied", func() bool { return anonOpen(st) == ntstatus.Success })
}
