package policy

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
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

// ReloadIfChanged re-reads the file and applies it when its bytes changed
// since the snapshot in force was read (a file watcher calls it after each
// change); nil, nil when they did not. Failures are logged and counted as
// Reload's are.
func (st *Store) ReloadIfChanged() (*Snapshot, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.reloadLocked(false)
}

// Logger is the store's logger.
func (st *Store) Logger() *slog.Logger { return st.logger }
