package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"

	"github.com/smbpipe/smbpipe/admin"
	"github.com/smbpipe/smbpipe/metrics"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
)

// adminUsage is the part of serve's usage about the admin endpoint.
const adminUsage = `  --admin ADDR         serve the live view (sessions, open pipes, decisions;
                       close actions) at http://ADDR/ on its own listener,
                       never the SMB one. A bare port (":9465") listens on
                       127.0.0.1 only. With --metrics at the same address,
                       /metrics is served there too. GET /healthz needs no
                       token; everything else does (see "smbpipe help status").
  --admin-token-file F the token file (default: a new random token in
                       $RUNTIME_DIRECTORY/admin-PORT.token under systemd
                       (/run/smbpipe for the packaged unit), else
                       $XDG_RUNTIME_DIR/smbpipe/admin-PORT.token, or under
                       ~/.local/state/smbpipe; mode 0600; path in the log).
                       An existing F is read, not replaced; it must
                       belong to serve's user.
`

// adminOptions are serve's admin flags.
type adminOptions struct {
	addr, tokenFile string
}

func (a *adminOptions) flags(f *flag.FlagSet) {
	f.StringVar(&a.addr, "admin", "", "")
	f.StringVar(&a.tokenFile, "admin-token-file", "", "")
}

// check completes a bare port with 127.0.0.1.
func (a *adminOptions) check() error {
	if a.addr == "" {
		if a.tokenFile != "" {
			return errors.New("--admin-token-file needs --admin")
		}
		return nil
	}
	addr, err := loopbackDefault(a.addr)
	if err != nil {
		return fmt.Errorf("--admin %q: want HOST:PORT or :PORT", a.addr)
	}
	a.addr = addr
	return nil
}

// loopbackDefault returns addr with an empty host replaced by 127.0.0.1.
func loopbackDefault(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// startAdmin serves the admin endpoint when --admin is set (and /metrics
// on it when --metrics names the same address: m then holds the metrics);
// the returned func stops it.
func startAdmin(o *serveOptions, srv *server.Server, m *metrics.Prometheus, store *policy.Store, log *slog.Logger) (func(), error) {
	a := o.admin
	if a.addr == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", a.addr)
	if err != nil {
		return nil, fmt.Errorf("--admin: %w", err)
	}
	tokenFile, tok := a.tokenFile, ""
	if tokenFile != "" {
		tok, err = admin.ReadOwnToken(tokenFile)
		if errors.Is(err, fs.ErrNotExist) {
			tok, err = admin.CreateToken(tokenFile)
		}
	} else if tokenFile, err = admin.DefaultTokenFile(l.Addr().String()); err == nil {
		tok, err = admin.CreateToken(tokenFile)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("--admin: %w", err)
	}
	opts := admin.Options{Server: srv, Token: tok, PolicyFile: policyName(o), ReloadFailures: store.Failures, Logger: log}
	if m != nil && o.metrics == a.addr {
		addServeCollectors(m, store)
		opts.Metrics = m.Handler()
	}
	h, err := admin.Handler(opts)
	if err != nil {
		l.Close()
		return nil, err
	}
	hs := admin.NewServer(h)
	go func() {
		if err := hs.Serve(admin.LimitListener(l, admin.MaxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener failed", "error", err.Error())
		}
	}()
	log.Info("admin listening", "addr", l.Addr().String(), "token_file", tokenFile, "metrics", opts.Metrics != nil)
	if ta, ok := l.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		log.Warn("the admin endpoint is reachable beyond this machine over plain HTTP: its token and the page cross the network in clear; keep it on 127.0.0.1 or put TLS in front of it",
			"addr", l.Addr().String())
	}
	return func() { hs.Close() }, nil
}
