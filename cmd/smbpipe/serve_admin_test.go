package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
)

// TestAdminBeyondLoopbackWarns: --admin on an address other machines
// reach serves the token and the page over plain HTTP; serve says so. On
// 127.0.0.1 (a bare port) it says nothing.
func TestAdminBeyondLoopbackWarns(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "smbpipe.toml")
	if err := os.WriteFile(cfg, []byte(testserver.AliceEcho), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := policy.NewStore(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Snapshot: store.Current(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, c := range []struct {
		addr string
		warn bool
	}{{":0", false}, {"0.0.0.0:0", true}} {
		o := &serveOptions{config: cfg, admin: adminOptions{addr: c.addr, tokenFile: filepath.Join(dir, "admin.token")}}
		if err := o.admin.check(); err != nil {
			t.Fatal(err)
		}
		var logs testlog.Buffer
		stop, err := startAdmin(o, srv, nil, store, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		stop()
		if got := strings.Contains(logs.String(), "reachable beyond this machine over plain HTTP"); got != c.warn {
			t.Errorf("--admin %s: warning %v, want %v:\n%s", c.addr, got, c.warn, logs.String())
		}
	}
}
