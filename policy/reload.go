package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Store holds the current policy snapshot for a config file and swaps it
// atomically on reload. Readers call Current at the moment of use (the
// crypto/tls GetConfigForClient model), so a reload applies to the next
// SESSION_SETUP or CREATE and never to work in flight. All methods are
// safe for concurrent use.
type Store struct {
	path   string
	logger *slog.Logger

	cur      atomic.Pointer[Snapshot]
	failures atomic.Uint64
	reloads  atomic.Uint64

	mu       sync.Mutex // serialises reloads
	lastData []byte     // bytes of the file the current snapshot came from
}

// NewStore loads and compiles the file at path. An empty path serves the
// embedded default and never reloads. logger nil means slog.Default().
func NewStore(path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.Default()
	}
	st := &Store{path: path, logger: logger}
	data, snap, err := st.load()
	if err != nil {
		return nil, err
	}
	st.lastData = data
	st.cur.Store(snap)
	return st, nil
}

// NewStaticStore wraps a snapshot that is never reloaded (tests, Go users
// without a file).
func NewStaticStore(s *Snapshot) *Store {
	st := &Store{logger: slog.Default()}
	st.cur.Store(s)
	return st
}

// Current returns the current snapshot.
func (st *Store) Current() *Snapshot { return st.cur.Load() }

// Set replaces the current snapshot (e.g. a Go user's own policy).
func (st *Store) Set(s *Snapshot) { st.cur.Store(s) }

// Path is the watched file ("" for the embedded default).
func (st *Store) Path() string { return st.path }

// Failures is the number of reloads that failed to read, parse or
// validate since the store was made.
func (st *Store) Failures() uint64 { return st.failures.Load() }

// Reloads is the number of successful reloads.
func (st *Store) Reloads() uint64 { return st.reloads.Load() }

func (st *Store) load() ([]byte, *Snapshot, error) {
	data := defaultTOML
	name := "default.toml"
	if st.path != "" {
		var err error
		if data, err = os.ReadFile(st.path); err != nil {
			return nil, nil, fmt.Errorf("policy: %w", err)
		}
		name = st.path
	}
	cfg, err := Parse(data, name)
	if err != nil {
		return nil, nil, err
	}
	snap, err := Compile(cfg)
	if err != nil {
		return nil, nil, err
	}
	return data, snap, nil
}

// Reload re-reads the file (the CLI calls it on SIGHUP). On success the
// new snapshot is current and returned. On failure nothing changes: the
// error (with file, line and reason) is logged with the new Failures count
// ("failures") and returned.
func (st *Store) Reload() (*Snapshot, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.reloadLocked(true)
}

// reloadLocked reloads; with force false an unchanged file is a no-op
// (returns nil, nil).
func (st *Store) reloadLocked(force bool) (*Snapshot, error) {
	if st.path == "" {
		return st.Current(), nil
	}
	data, err := os.ReadFile(st.path)
	if err == nil && !force && bytes.Equal(data, st.lastData) {
		return nil, nil
	}
	var snap *Snapshot
	if err == nil {
		var cfg *Config
		if cfg, err = Parse(data, st.path); err == nil {
			snap, err = Compile(cfg)
		}
	} else {
		err = fmt.Errorf("policy: %w", err)
	}
	if err != nil {
		n := st.failures.Add(1)
		st.logger.Error("policy reload failed; keeping the previous policy", "file", st.path, "error", err.Error(), "failures", n)
		return nil, err
	}
	st.lastData = data
	st.cur.Store(snap)
	st.reloads.Add(1)
	st.logger.Info("policy reloaded", "file", st.path)
	return snap, nil
}

// debounce is how long Watch waits after the last file event before it
// reloads, so an editor's burst of writes becomes one reload.
const debounce = 50 * time.Millisecond

// Watch reloads store whenever the file at path changes, until ctx ends. It
// watches the file's directory, so it survives editors and tools that
// replace the file by rename (and symlink swaps): any event in the
// directory leads, after a short debounce, to a re-read, and a file whose
// bytes did not change is ignored. A file that is briefly missing (between
// an unlink and a rename) is waited for. onChange, if non-nil, is called
// with each new snapshot after it became current. Watch returns nil when
// ctx ends, or an error if the watch cannot be set up. path must be the
// store's path.
func Watch(ctx context.Context, path string, store *Store, logger *slog.Logger, onChange func(*Snapshot)) error {
	if logger == nil {
		logger = store.logger
	}
	if path == "" || path != store.path {
		return errors.New("policy: Watch: path must be the store's file")
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("policy: watch: %w", err)
	}
	defer w.Close()
	dir := filepath.Dir(path)
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("policy: watch %s: %w", dir, err)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			_ = ev
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			logger.Warn("policy watch error", "dir", dir, "error", err.Error())
		case <-timer.C:
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				continue // mid-replace; the next event brings the file back
			}
			store.mu.Lock()
			snap, err := store.reloadLocked(false)
			store.mu.Unlock()
			if err == nil && snap != nil && onChange != nil {
				onChange(snap)
			}
		}
	}
}
