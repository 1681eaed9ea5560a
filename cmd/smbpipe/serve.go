package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/smbpipe/smbpipe/metrics"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/policy/watch"
	"github.com/smbpipe/smbpipe/server"
)

const serveUsage = `usage: smbpipe serve [--config FILE] [--listen ADDR] [--metrics ADDR] [--log-format text|json]
       smbpipe serve --policy etcd://HOST:PORT[,HOST:PORT...]/KEY [--config LOCAL-FILE] [flags]

Serves the named pipes of the configuration over SMB2/SMB3 (IPC$). Without
--config it serves the embedded default: a demo "echo" pipe on
127.0.0.1:4450 that anonymous clients may use. The config file is watched
and SIGHUP reloads it; SIGINT or SIGTERM shut down gracefully.

flags:
  --config FILE        TOML configuration file
  --listen ADDR        address to listen on (overrides the file's listen)
  --metrics ADDR       serve Prometheus metrics at http://ADDR/metrics on a
                       separate listener (default: off). A bare port
                       (":9464") listens on 127.0.0.1 only.
  --log-format FORMAT  text (default) or json, on stderr
  --log-level LEVEL    debug, info (default), warn or error
  --shutdown-timeout D how long in-flight requests may take at shutdown (default 10s)
` + adminUsage + fleetUsage

// serveOptions is the parsed command line.
type serveOptions struct {
	config, listen, metrics, logFormat, logLevel string
	shutdownTimeout                              time.Duration
	admin                                        adminOptions // serve_admin.go
	fleet                                        fleetOptions // serve_etcd.go
}

func parseServeArgs(args []string) (*serveOptions, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &serveOptions{}
	fs.StringVar(&o.config, "config", "", "")
	fs.StringVar(&o.listen, "listen", "", "")
	fs.StringVar(&o.metrics, "metrics", "", "")
	fs.StringVar(&o.logFormat, "log-format", "text", "")
	fs.StringVar(&o.logLevel, "log-level", "info", "")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "")
	o.admin.flags(fs)
	o.fleet.flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := o.admin.check(); err != nil {
		return nil, err
	}
	if err := o.fleet.check(); err != nil {
		return nil, err
	}
	if o.metrics != "" {
		host, port, err := net.SplitHostPort(o.metrics)
		if err != nil {
			return nil, fmt.Errorf("--metrics %q: want HOST:PORT or :PORT", o.metrics)
		}
		if host == "" {
			o.metrics = net.JoinHostPort("127.0.0.1", port)
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	return o, nil
}

func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runServe(args []string) int {
	o, err := parseServeArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Print(serveUsage)
		return 0
	}
	if err != nil {
		return usageError(os.Stderr, "serve", err.Error(), serveUsage)
	}
	log := newLogger(o.logFormat, o.logLevel, os.Stderr)
	if err := serve(o, log); err != nil {
		log.Error("smbpipe serve failed", "error", err.Error())
		return 1
	}
	return 0
}

// serve runs the server until SIGINT or SIGTERM.
func serve(o *serveOptions, log *slog.Logger) error {
	store, fleet, err := openPolicy(o, log) // the file's, or etcd's (serve_etcd.go)
	if err != nil {
		return err
	}
	defer fleet.close()
	snap := store.Current()
	warnReadablePassword(log, secretsFile(o), len(snap.Config().Accounts), hasPassword(snap.Config()), hasNTHash(snap.Config()))
	addr := snap.Config().Listen
	if o.listen != "" {
		addr = o.listen
	}
	var m *metrics.Prometheus
	if o.metrics != "" {
		m = metrics.New()
	}
	opts := server.Options{Snapshot: snap, Logger: log}
	if m != nil {
		opts.Metrics = m
	}
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Close()
		return err
	}
	if o.metrics != "" && o.metrics != o.admin.addr {
		stopMetrics, err := serveMetrics(o.metrics, m, store, log)
		if err != nil {
			l.Close()
			srv.Close()
			return err
		}
		defer stopMetrics()
	}
	stopAdmin, err := startAdmin(o, srv, m, store, log)
	if err != nil {
		l.Close()
		srv.Close()
		return err
	}
	defer stopAdmin()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	apply := func(s *policy.Snapshot) {
		warnReadablePassword(log, secretsFile(o), len(s.Config().Accounts), hasPassword(s.Config()), hasNTHash(s.Config()))
		if s.Config().Listen != snap.Config().Listen && o.listen == "" {
			log.Warn("policy reload: a new listen address applies after a restart", "listen", s.Config().Listen)
		}
		if err := srv.SetPolicy(s); err != nil {
			log.Error("policy reload: some pipes could not be updated", "error", err.Error())
		}
	}
	if fleet != nil {
		defer fleet.run(apply, m)()
	} else if o.config != "" {
		go func() {
			if err := watch.Watch(ctx, o.config, store, log, apply); err != nil {
				log.Warn("config file not watched; SIGHUP still reloads", "error", err.Error())
			}
		}()
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	log.Info("smbpipe listening", "addr", l.Addr().String(), "config", configName(o.config))
	notify(log, "READY=1") // systemd Type=notify (notify.go)

	for {
		select {
		case err := <-served:
			srv.Close()
			return err
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				notifyReloading(log)
				if fleet != nil {
					fleet.reloadLocal(o.config) // listen and [limits]
					fleet.src.Resync()          // read the etcd key again (serve_etcd.go)
				} else if s, err := store.Reload(); err == nil {
					apply(s)
				}
				notify(log, "READY=1")
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			notify(log, "STOPPING=1")
			sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
			err := srv.Shutdown(sctx)
			cancel()
			<-served
			if err != nil {
				log.Warn("shutdown timed out; connections closed", "error", err.Error())
			}
			return nil
		}
	}
}

// serveMetrics serves the server's metrics, with the policy
// store's reload failures and the Go runtime's and process's collectors
// added, on its own listener at addr. The returned func stops it.
func serveMetrics(addr string, m *metrics.Prometheus, store *policy.Store, log *slog.Logger) (func(), error) {
	addServeCollectors(m, store)
	ml, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ml); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "error", err.Error())
		}
	}()
	log.Info("metrics listening", "addr", ml.Addr().String())
	return func() { hs.Close() }, nil
}

// addServeCollectors adds the policy store's reload failures and the Go
// runtime's and process's collectors to m (once, for whichever listener
// serves /metrics).
func addServeCollectors(m *metrics.Prometheus, store *policy.Store) {
	m.Registry().MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smbpipe_policy_reload_failures_total",
			Help: "Config reloads (file change or SIGHUP) that failed to read, parse or validate."},
			func() float64 { return float64(store.Failures()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

func configName(path string) string {
	if path == "" {
		return "(embedded default)"
	}
	return path
}
