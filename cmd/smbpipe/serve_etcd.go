package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/grpclog"

	"github.com/smbpipe/smbpipe/metrics"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/policy/etcdsource"
)

// fleetUsage is the part of serve's usage about a policy shared by a
// fleet through etcd.
const fleetUsage = `
A fleet (see "Running a fleet" in the README):
  --policy etcd://HOST:PORT[,HOST:PORT...]/KEY
                       take the policy from the etcd key KEY (its TOML, as
                       "smbpipe policy push" writes it) instead of --config,
                       and apply each new revision within a second. The
                       --config file then holds only this server's own
                       settings: listen and [limits]; any other key there
                       is an error. Revisions that do not compile are
                       refused (logged); the policy in force stays.
  --policy-cache FILE  where the last revision applied is kept (mode 0600,
                       written atomically), so that the server starts from
                       it while etcd is unreachable (default: under
                       $STATE_DIRECTORY, $XDG_STATE_HOME/smbpipe or
                       ~/.local/state/smbpipe). Without etcd and without a
                       cache, serve refuses to start. SIGHUP reads the
                       --config file again (listen applies after a
                       restart) and the key (after restoring etcd from a
                       backup).
` + etcdFlagsUsage

// etcdFlagsUsage describes how to reach etcd, for serve and policy.
const etcdFlagsUsage = `  --etcd-cacert FILE   CA certificate (PEM) of the etcd members; turns TLS on
  --etcd-cert FILE     client certificate (PEM) for etcd, with --etcd-key
  --etcd-key FILE      client key (PEM)
  --etcd-user USER[:PASSWORD]
                       authenticate to etcd (as etcdctl --user); without a
                       password here, --etcd-password or the environment
                       variable SMBPIPE_ETCD_PASSWORD gives it
  --etcd-password PASS the password of --etcd-user (visible to ps: prefer
                       SMBPIPE_ETCD_PASSWORD)
`

// etcdFlags are the flags naming how to reach etcd, as etcdctl names
// them (serve --policy etcd://... and the policy command).
type etcdFlags struct {
	cacert, cert, key, user, password string
}

func (e *etcdFlags) flags(f *flag.FlagSet) {
	f.StringVar(&e.cacert, "etcd-cacert", "", "")
	f.StringVar(&e.cert, "etcd-cert", "", "")
	f.StringVar(&e.key, "etcd-key", "", "")
	f.StringVar(&e.user, "etcd-user", "", "")
	f.StringVar(&e.password, "etcd-password", "", "")
}

func (e *etcdFlags) set() bool {
	return e.cacert != "" || e.cert != "" || e.key != "" || e.user != "" || e.password != ""
}

// clientOptions checks the flags and returns the etcd client's options
// for endpoints.
func (e *etcdFlags) clientOptions(endpoints []string) (etcdsource.ClientOptions, error) {
	o := etcdsource.ClientOptions{Endpoints: endpoints, CAFile: e.cacert, CertFile: e.cert, KeyFile: e.key}
	if (e.cert == "") != (e.key == "") {
		return o, errors.New("--etcd-cert and --etcd-key go together")
	}
	user, pass, hasPass := strings.Cut(e.user, ":")
	switch {
	case e.user == "" && e.password != "":
		return o, errors.New("--etcd-password needs --etcd-user")
	case e.user == "":
	case user == "":
		return o, errors.New("--etcd-user: empty user name")
	case hasPass && e.password != "":
		return o, errors.New("--etcd-user USER:PASSWORD and --etcd-password: give the password once")
	case !hasPass && e.password != "":
		pass = e.password
	case !hasPass:
		pass = os.Getenv("SMBPIPE_ETCD_PASSWORD")
		if pass == "" {
			return o, errors.New("--etcd-user without a password: give --etcd-user USER:PASSWORD, --etcd-password or SMBPIPE_ETCD_PASSWORD")
		}
	}
	o.User, o.Password = user, pass
	return o, nil
}

// fleetOptions are serve's flags for a policy taken from etcd.
type fleetOptions struct {
	url, cache string
	etcd       etcdFlags

	client etcdsource.ClientOptions // from url and etcd, by check
	key    string
}

func (f *fleetOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "policy", "", "")
	fs.StringVar(&f.cache, "policy-cache", "", "")
	f.etcd.flags(fs)
}

// check parses --policy and the etcd flags, which need it.
func (f *fleetOptions) check() error {
	if f.url == "" {
		if f.cache != "" || f.etcd.set() {
			return errors.New("--policy-cache and the --etcd-* flags need --policy etcd://...")
		}
		return nil
	}
	endpoints, key, err := etcdsource.ParseURL(f.url)
	if err != nil {
		return fmt.Errorf("--policy: %w", err)
	}
	if f.client, err = f.etcd.clientOptions(endpoints); err != nil {
		return err
	}
	f.key = key
	if f.cache == "" {
		if f.cache, err = defaultPolicyCache(key); err != nil {
			return fmt.Errorf("--policy-cache: %w", err)
		}
	}
	return nil
}

// defaultPolicyCache is where the cache of key goes without
// --policy-cache: the state directory systemd gives the service
// ($STATE_DIRECTORY, from StateDirectory=), else $XDG_STATE_HOME/smbpipe,
// else ~/.local/state/smbpipe; the file is named after the key
// ("/smbpipe/policy": policy-smbpipe_policy.toml).
func defaultPolicyCache(key string) (string, error) {
	dir, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":")
	if dir == "" {
		if x := os.Getenv("XDG_STATE_HOME"); x != "" {
			dir = filepath.Join(x, "smbpipe")
		} else {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("no state directory: %w", err)
			}
			dir = filepath.Join(home, ".local", "state", "smbpipe")
		}
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, strings.Trim(key, "/"))
	return filepath.Join(dir, "policy-"+name+".toml"), nil
}

// fleetSource is serve's policy when it comes from etcd: the etcd source
// and how it reaches the server.
type fleetSource struct {
	o   *fleetOptions
	src *etcdsource.Source
	log *slog.Logger
	// apply is set by run before the source's goroutine starts, which
	// alone calls it.
	apply func(*policy.Snapshot)
}

// openPolicy returns the policy store serve decides with: the --config
// file's, or with --policy etcd://..., the etcd source's (whose first
// policy is the key's, or the cache's while etcd is unreachable), with
// the --config file as the local settings. fleet is nil for a file.
func openPolicy(o *serveOptions, log *slog.Logger) (store *policy.Store, fleet *fleetSource, err error) {
	if o.fleet.url == "" {
		store, err = policy.NewStore(o.config, log)
		return store, nil, err
	}
	var local *policy.Config
	if o.config != "" {
		data, err := os.ReadFile(o.config)
		if err != nil {
			return nil, nil, err
		}
		if local, err = policy.ParseLocal(data, o.config); err != nil {
			return nil, nil, err
		}
	}
	// gRPC, under etcd's client, logs reconnection attempts of its own on
	// stderr; the source logs what an operator needs (lost, back, the
	// revision in force) in serve's log instead.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, io.Discard))
	f := &fleetSource{o: &o.fleet, log: log}
	src, err := etcdsource.Open(context.Background(), etcdsource.Options{
		ClientOptions: o.fleet.client,
		Key:           o.fleet.key,
		Local:         local,
		CachePath:     o.fleet.cache,
		Logger:        log,
		OnApply:       func(s *policy.Snapshot) { f.apply(s) },
	})
	if err != nil {
		return nil, nil, fmt.Errorf("--policy %s: %w", o.fleet.url, err)
	}
	f.src = src
	return src.Store(), f, nil
}

// policyName names the policy source in the log and the admin view: the
// etcd URL, or the config file.
func policyName(o *serveOptions) string {
	if o.fleet.url != "" {
		return o.fleet.url
	}
	return o.config
}

// secretsFile is the file that holds the accounts' passwords, which serve
// warns about when others may read it: the config file, or with --policy
// etcd://... none of the operator's (the local --config file holds no
// accounts, and the cache is written 0600).
func secretsFile(o *serveOptions) string {
	if o.fleet.url != "" {
		return ""
	}
	return o.config
}

// run watches etcd and applies each new revision with apply (the
// server's SetPolicy) until the returned func is called, which stops the
// watch, closes the etcd client and waits. With m, it exports
// smbpipe_policy_revision. Nil-safe: a nil fleet (a file's policy) does
// nothing.
func (f *fleetSource) run(apply func(*policy.Snapshot), m *metrics.Prometheus) (stop func()) {
	if f == nil {
		return func() {}
	}
	store := f.src.Store()
	if m != nil {
		m.Registry().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smbpipe_policy_revision",
			Help: "The etcd revision of the policy in force (serve --policy etcd://...): the key's ModRevision, as smbpipe policy push prints it."},
			func() float64 { return float64(store.Current().Revision()) }))
	}
	f.log.Info("policy from etcd", "policy", f.o.url, "policy_revision", store.Current().Revision(),
		"from_cache", f.src.FromCache(), "cache", f.o.cache)
	f.apply = apply
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { f.src.Run(ctx) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// reloadLocal reads the local --config file (listen and [limits]) again
// and applies it to the policy in force (serve on SIGHUP). A file that
// cannot be read or parsed, or settings the policy does not compile
// with, change nothing and are logged.
func (f *fleetSource) reloadLocal(config string) {
	if config == "" {
		return
	}
	data, err := os.ReadFile(config)
	var local *policy.Config
	if err == nil {
		local, err = policy.ParseLocal(data, config)
	}
	if err == nil {
		err = f.src.SetLocal(local)
	}
	if err != nil {
		f.log.Error("local settings not reloaded; keeping those in force", "config", config, "error", err.Error())
		return
	}
	f.log.Info("local settings reloaded", "config", config)
}

// close closes the etcd client when run was never called (serve failed
// before it). Nil-safe.
func (f *fleetSource) close() {
	if f != nil {
		f.src.Close()
	}
}
