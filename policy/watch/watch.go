// Package watch applies a policy file's changes as they land: it watches
// the file (through editors' rename-replace and symbolic-link swaps) and
// reloads a policy.Store. It is the only part of smbpipe that needs
// fsnotify, kept out of package policy so that a Go program embedding the
// server does not pay for it; the smbpipe command wires it in.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/smbpipe/smbpipe/policy"
)

// debounce is how long Watch waits after the last event for the config
// file before it reloads, so an editor's burst of writes becomes one reload.
// maxDelay bounds the wait from the first event: a file that keeps changing
// is still re-read within maxDelay.
const (
	debounce = 50 * time.Millisecond
	maxDelay = 250 * time.Millisecond
)

// Watch reloads store whenever the file at path changes, until ctx ends.
//
// Only events for the config file count, however busy its directory is (a
// log file written beside it does not delay a reload). It watches the
// directories, not the file, so it survives editors and tools that replace
// the file by rename, and it follows symbolic links: when path or any
// directory on the way to it is a link, the directories holding each link
// and the one holding the final file are watched, and an event for any of
// those links or for the file counts. A Kubernetes ConfigMap volume is that
// case: config.toml -> ..data/config.toml, and an update renames a new
// ..data symlink over the old one. After each event the links are resolved
// again and the watched directories follow.
//
// A change is applied once no further event came for 50 ms, and at most
// 250 ms after its first event, however many events follow; a file whose
// bytes did not change is ignored. A file that is briefly missing (between
// an unlink and a rename) is waited for. onChange, if non-nil, is called
// with each new snapshot after it became current. Watch returns nil when
// ctx ends, or an error if the watch cannot be set up. path must be the
// store's path.
func Watch(ctx context.Context, path string, store *policy.Store, logger *slog.Logger, onChange func(*policy.Snapshot)) error {
	if logger == nil {
		logger = store.Logger()
	}
	if path == "" || path != store.Path() {
		return errors.New("watch: Watch: path must be the store's file")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer w.Close()
	fw := &fileWatch{w: w, path: abs, logger: logger, dirs: map[string]bool{}, failed: map[string]bool{}}
	if err := fw.update(); err != nil {
		return err
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var first time.Time // of the events not yet acted on; zero when none
	schedule := func() {
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		wait := debounce
		if left := first.Add(maxDelay).Sub(now); left < wait {
			wait = max(left, 0)
		}
		timer.Reset(wait)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod || !fw.names[filepath.Clean(ev.Name)] {
				continue
			}
			_ = fw.update() // a link on the way may have changed
			schedule()
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			logger.Warn("policy watch error", "file", path, "error", err.Error())
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				schedule() // an event for the file may be among those lost
			}
		case <-timer.C:
			first = time.Time{}
			_ = fw.update()
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				continue // mid-replace; the next event brings the file back
			}
			snap, err := store.ReloadIfChanged()
			if err == nil && snap != nil && onChange != nil {
				onChange(snap)
			}
		}
	}
}

// fileWatch keeps the watches of one config file: the directories that
// hold it and each symbolic link on the way to it, and the names whose
// events count. It belongs to Watch's goroutine.
type fileWatch struct {
	w      *fsnotify.Watcher
	path   string // absolute, as given
	logger *slog.Logger
	dirs   map[string]bool // watched, symlink-free
	names  map[string]bool // dir/name of each link and of the file, as events name them
	failed map[string]bool // directories that could not be watched (warned once)
}

// update resolves the file's links again and adjusts the watched
// directories. It fails only when no directory could be watched.
func (fw *fileWatch) update() error {
	links, final := symlinkChain(fw.path)
	names := map[string]bool{}
	dirs := map[string]bool{}
	for _, p := range append(links, final) {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			continue // a directory that is not there yet: the link to it changes first
		}
		names[filepath.Join(dir, filepath.Base(p))] = true
		dirs[dir] = true
	}
	var first error
	for dir := range dirs {
		if fw.dirs[dir] {
			continue
		}
		if err := fw.w.Add(dir); err != nil {
			if first == nil {
				first = fmt.Errorf("watch %s: %w", dir, err)
			}
			if !fw.failed[dir] {
				fw.failed[dir] = true
				fw.logger.Warn("policy watch: cannot watch a directory of the config file", "dir", dir, "error", err.Error())
			}
			delete(dirs, dir)
		}
	}
	for dir := range fw.dirs {
		if !dirs[dir] {
			_ = fw.w.Remove(dir) // may be gone already
		}
	}
	fw.dirs, fw.names = dirs, names
	if len(dirs) == 0 {
		if first == nil {
			first = fmt.Errorf("watch: no directory of %s exists", fw.path)
		}
		return first
	}
	return nil
}

// maxLinks bounds symlinkChain (Linux's own limit is 40).
const maxLinks = 40

// symlinkChain resolves the absolute path p one symbolic link at a time and
// returns each link it passed (as the path that named it) and the final
// path. A component that does not exist ends the resolution there.
func symlinkChain(p string) (links []string, final string) {
	for range maxLinks {
		link, next, ok := firstLink(p)
		if !ok {
			return links, p
		}
		links = append(links, link)
		p = next
	}
	return links, p
}

// firstLink finds the first component of the absolute path p that is a
// symbolic link and returns it and p with that component replaced by its
// target.
func firstLink(p string) (link, next string, ok bool) {
	var parts []string // components of p, last first
	root := p
	for {
		dir := filepath.Dir(root)
		if dir == root {
			break
		}
		parts = append(parts, filepath.Base(root))
		root = dir
	}
	cur := root
	for i := len(parts) - 1; i >= 0; i-- {
		cur = filepath.Join(cur, parts[i])
		fi, err := os.Lstat(cur)
		if err != nil {
			return "", "", false
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return "", "", false
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(cur), target)
		}
		rest := []string{target}
		for j := i - 1; j >= 0; j-- {
			rest = append(rest, parts[j])
		}
		return cur, filepath.Join(rest...), true
	}
	return "", "", false
}
