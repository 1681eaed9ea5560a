package policy

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"

	"github.com/pelletier/go-toml/v2"
)

// LocalKeys are the top-level keys of a configuration that stay with each
// server when the policy comes from a store shared by a fleet (serve
// --policy etcd://...): the address it listens on and the [limits] of its
// own machine. Every other key (server_name, domain, machine_sid,
// allow_anonymous, guest, signing, encryption, encryption_ciphers,
// services, [LanmanServer], [Lsa], [[account]], [[pipe]]) is fleet-wide:
// every server of the fleet decides with the same values, so a client
// gets the same answer whichever server the load balancer picked.
var localKeys = []string{"listen", "limits"}

// LocalKeys returns the keys that stay local under a shared policy.
func LocalKeys() []string { return slices.Clone(localKeys) }

// ParseLocal parses the local part of a fleet server's configuration
// (the --config file beside --policy etcd://...): only the LocalKeys may
// be set; a fleet-wide key is an error naming its line, so that a value
// an operator believes in force is never silently ignored. Absent keys
// take their defaults, as in Parse.
func ParseLocal(data []byte, filename string) (*Config, error) {
	if err := checkKeys(data, filename, func(k string) bool { return !slices.Contains(localKeys, k) },
		"a fleet-wide setting: with a shared policy it comes from the policy store; remove it from this file"); err != nil {
		return nil, err
	}
	return Parse(data, filename)
}

// CompileSource compiles a fleet-wide policy read from a shared store at
// revision (etcd: the key's ModRevision). name names it in errors (for
// example "/smbpipe/policy@12"). The policy must not set the LocalKeys;
// they come from local (nil: their defaults). The result is stamped with
// revision (Snapshot.Revision). A policy is validated whole: it compiles
// entirely or not at all.
func CompileSource(data []byte, name string, revision int64, local *Config) (*Snapshot, error) {
	if err := checkKeys(data, name, func(k string) bool { return slices.Contains(localKeys, k) },
		"a local setting: each server takes it from its own --config file, not from the shared policy"); err != nil {
		return nil, err
	}
	cfg, err := Parse(data, name)
	if err != nil {
		return nil, err
	}
	if local == nil {
		if local, err = Parse(nil, "local defaults"); err != nil {
			return nil, err
		}
	}
	cfg.Listen = local.Listen
	cfg.Limits = local.Limits
	snap, err := Compile(cfg)
	if err != nil {
		return nil, err
	}
	snap.revision = revision
	return snap, nil
}

// checkKeys reports the top-level keys of data for which bad is true, one
// *ConfigError each (with its line), joined.
func checkKeys(data []byte, filename string, bad func(string) bool, msg string) error {
	var top map[string]any
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&top); err != nil {
		return tomlError(err, filename)
	}
	var keys []string
	for k := range top {
		if bad(k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	loc := newLocator(data)
	errs := make([]error, len(keys))
	for i, k := range keys {
		errs[i] = &ConfigError{File: filename, Line: loc.line(k), Key: k, Msg: msg}
	}
	return errors.Join(errs...)
}

// NewSourceStore returns a store whose policy is first, applied later
// revision by revision with ApplySource (a shared policy store: no file
// to reload; Reload returns the policy in force).
func NewSourceStore(first *Snapshot, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.Default()
	}
	st := &Store{logger: logger}
	st.cur.Store(first)
	return st
}

// ApplySource compiles a new revision of a shared policy (CompileSource)
// and, when it is valid, makes it current: the same validation and atomic
// swap as a file reload, so a bad revision never half-applies. On failure
// nothing changes; the refusal is counted (Failures) and logged with the
// revision refused and the revision still in force. Revisions are applied
// in the order of the calls; ApplySource is safe for concurrent use.
func (st *Store) ApplySource(data []byte, name string, revision int64, local *Config) (*Snapshot, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	snap, err := CompileSource(data, name, revision, local)
	if err != nil {
		n := st.failures.Add(1)
		st.logger.Error("policy revision refused; keeping the policy in force",
			"source", name, "revision", revision, "policy_revision", st.Current().Revision(),
			"error", err.Error(), "failures", n)
		return nil, fmt.Errorf("policy: revision %d refused: %w", revision, err)
	}
	st.lastData = data
	st.cur.Store(snap)
	st.reloads.Add(1)
	st.logger.Info("policy revision applied", "source", name, "policy_revision", revision)
	return snap, nil
}
