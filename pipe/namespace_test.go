package pipe

import (
	"context"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newPipe creates a pipe in a fresh namespace and closes it with the test.
func newPipe(t testing.TB, cfg Config) (*Namespace, *Listener) {
	t.Helper()
	ns := new(Namespace)
	l, err := ns.Create("test", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return ns, l
}

// connect opens one instance and accepts its server end.
func connect(t testing.TB, ns *Namespace, l *Listener) (client, server *End) {
	t.Helper()
	c, err := ns.Open(l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.AcceptEnd(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func TestCreateLookup(t *testing.T) {
	var ns Namespace // zero value usable
	l, err := ns.Create("Echo", Config{Mode: MessageMode})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := ns.Create("ECHO", Config{}); !errors.Is(err, ErrExists) {
		t.Fatalf("Create duplicate: %v, want ErrExists", err)
	}
	for _, name := range []string{"Echo", "echo", "ECHO", "eCHo"} {
		p, ok := ns.Lookup(name)
		if !ok || p.Name() != "Echo" {
			t.Errorf("Lookup(%q) = %v, %v", name, p, ok)
		}
	}
	if _, ok := ns.Lookup("echo2"); ok {
		t.Error("Lookup(echo2) found a pipe")
	}
	p, _ := ns.Lookup("echo")
	if cfg := p.Config(); cfg.InQuota != DefaultQuota || cfg.OutQuota != DefaultQuota || cfg.Mode != MessageMode {
		t.Errorf("Config() = %+v, want defaulted quotas", cfg)
	}
	if a := l.Addr(); a.Network() != "pipe" || a.String() != "Echo" {
		t.Errorf("Addr = %s %s", a.Network(), a)
	}
	l2, err := ns.Create("alpha", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if got := ns.Names(); !slices.Equal(got, []string{"alpha", "Echo"}) {
		t.Errorf("Names() = %q", got)
	}
}

func TestCreateInvalid(t *testing.T) {
	tests := []struct {
		name string
		pipe string
		cfg  Config
	}{
		{"empty name", "", Config{}},
		{"mode", "p", Config{Mode: 2}},
		{"direction", "p", Config{Direction: 3}},
		{"instances", "p", Config{MaxInstances: -1}},
		{"in quota", "p", Config{InQuota: -1}},
		{"out quota", "p", Config{OutQuota: -5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ns Namespace
			if _, err := ns.Create(tt.pipe, tt.cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Create: %v, want ErrInvalidConfig", err)
			}
			if len(ns.Names()) != 0 {
				t.Fatal("invalid pipe registered")
			}
		})
	}
}

func TestListenerClose(t *testing.T) {
	var ns Namespace
	l, err := ns.Create("p", Config{Mode: MessageMode})
	if err != nil {
		t.Fatal(err)
	}
	// One instance accepted, one still in the backlog.
	c1, err := ns.Open("p", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	s1, err := l.AcceptEnd(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	c2, err := ns.Open("P", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()

	acceptErr := make(chan error, 1)
	go func() {
		s2, err := l.AcceptEnd(context.Background()) // c2's server end
		if err == nil {
			s2.Close()
			_, err = l.Accept() // blocks until Close
		}
		acceptErr <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := <-acceptErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept after Close: %v, want ErrClosed", err)
	}
	if _, err := ns.Open("p", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after Close: %v, want ErrNotFound", err)
	}
	if _, ok := ns.Lookup("p"); ok {
		t.Fatal("pipe still in namespace")
	}
	// The accepted instance carries on.
	if _, err := c1.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, _, err := s1.ReadMsg(context.Background(), buf); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("ReadMsg = %q, %v", buf[:n], err)
	}
	// The name is free for a new pipe.
	l2, err := ns.Create("p", Config{})
	if err != nil {
		t.Fatalf("re-Create: %v", err)
	}
	l2.Close()
}

func TestListenerCloseDropsBacklog(t *testing.T) {
	var ns Namespace
	l, _ := ns.Create("p", Config{Direction: Duplex})
	c, err := ns.Open("p", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l.Close()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, ErrBroken) {
		t.Fatalf("client Read after listener dropped its server end: %v, want ErrBroken", err)
	}
	c.Close()
	if n := l.Pipe().Instances(); n != 0 {
		t.Fatalf("Instances = %d, want 0", n)
	}
}

func TestAcceptContext(t *testing.T) {
	_, l := newPipe(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := l.AcceptEnd(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AcceptEnd: %v", err)
	}
}

func TestAcceptOrder(t *testing.T) {
	ns, l := newPipe(t, Config{})
	var clients []*End
	for i := range 3 {
		c, err := ns.Open("test", i)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	for i := range 3 {
		s, err := l.AcceptEnd(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Info() != i || !s.IsServer() || clients[i].IsServer() || clients[i].Info() != i {
			t.Errorf("accept %d: info %v", i, s.Info())
		}
		if s.Pipe() != l.Pipe() {
			t.Error("Pipe() differs")
		}
		s.Close()
		clients[i].Close()
	}
}

func TestMaxInstancesAndWait(t *testing.T) {
	ns, l := newPipe(t, Config{MaxInstances: 2})
	c1, s1 := connect(t, ns, l)
	connect(t, ns, l)
	if n := l.Pipe().Instances(); n != 2 {
		t.Fatalf("Instances = %d", n)
	}
	if _, err := ns.Open("test", nil); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("Open over max: %v, want ErrNotAvailable", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := ns.Wait(ctx, "TEST"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on a busy pipe: %v", err)
	}
	if err := ns.Wait(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Wait on no pipe: %v", err)
	}

	done := make(chan error, 1)
	go func() { done <- ns.Wait(context.Background(), "test") }()
	time.Sleep(5 * time.Millisecond)
	c1.Close()
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v with one end still open", err)
	case <-time.After(10 * time.Millisecond):
	}
	s1.Close() // the instance is released now
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	c3, err := ns.Open("test", nil)
	if err != nil {
		t.Fatalf("Open after release: %v", err)
	}
	c3.Close()
}

func TestWaitPipeRemoved(t *testing.T) {
	ns, l := newPipe(t, Config{MaxInstances: 1})
	connect(t, ns, l)
	done := make(chan error, 1)
	go func() { done <- ns.Wait(context.Background(), "test") }()
	time.Sleep(5 * time.Millisecond)
	l.Close()
	if err := <-done; !errors.Is(err, ErrNotFound) {
		t.Fatalf("Wait while removed: %v, want ErrNotFound", err)
	}
}

// TestImports guards the architecture: pipe knows nothing of SMB. It may
// use internal/ntname, the pure leaf package that compares names as
// Windows does.
func TestImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/smbpipe/smbpipe/") && path != "github.com/smbpipe/smbpipe/internal/ntname" {
				t.Errorf("%s imports %s; pipe must not depend on the rest of smbpipe", f, path)
			}
		}
	}
	if _, err := os.Stat("stubs.go"); err == nil {
		t.Error("stubs.go is back")
	}
}
