package etcdsource_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/smbpipe/smbpipe/internal/testetcd"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/policy/etcdsource"
)

const key = "/smbpipe/policy"

// policyWith is a fleet-wide policy whose NullSessionPipes is pipes, so
// that revisions are told apart by what they hold.
func policyWith(pipes ...string) string {
	q := make([]string, len(pipes))
	for i, p := range pipes {
		q[i] = fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf(`server_name = "FLEET"

[LanmanServer]
NullSessionPipes = [%s]

[[pipe]]
name = "echo"
backend = "echo"
sddl = "D:(A;;0x12019B;;;WD)"
`, strings.Join(q, ", "))
}

func nullPipes(s *policy.Snapshot) []string { return s.Config().LanmanServer.NullSessionPipes }

// put writes value at key with a client of its own and returns the
// revision of the put.
func put(t *testing.T, endpoint, value string) int64 {
	t.Helper()
	c, err := etcdsource.NewClient(etcdsource.ClientOptions{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := c.Put(ctx, key, value)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// applied records what OnApply was called with.
type applied struct {
	mu   sync.Mutex
	revs []int64
	ch   chan *policy.Snapshot
}

func newApplied() *applied { return &applied{ch: make(chan *policy.Snapshot, 1000)} }

func (a *applied) on(s *policy.Snapshot) {
	a.mu.Lock()
	a.revs = append(a.revs, s.Revision())
	a.mu.Unlock()
	a.ch <- s
}

func (a *applied) list() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.revs)
}

// wait returns the next snapshot applied, failing after d.
func (a *applied) wait(t *testing.T, d time.Duration) *policy.Snapshot {
	t.Helper()
	select {
	case s := <-a.ch:
		return s
	case <-time.After(d):
		t.Fatalf("no revision applied within %v (applied so far: %v)", d, a.list())
		return nil
	}
}

// run starts Run and returns a func that stops it and waits.
func run(t *testing.T, src *etcdsource.Source) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx); close(done) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of its context's end")
		}
	}
	t.Cleanup(stop)
	return stop
}

// testLogger logs to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// mustOpen opens a source with o, failing the test if it cannot.
func mustOpen(t *testing.T, o etcdsource.Options) *etcdsource.Source {
	t.Helper()
	src, err := etcdsource.Open(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func options(t *testing.T, endpoint string, a *applied) etcdsource.Options {
	return etcdsource.Options{
		ClientOptions: etcdsource.ClientOptions{Endpoints: []string{endpoint}, DialTimeout: 2 * time.Second, MaxBackoff: 200 * time.Millisecond},
		Key:           key,
		CachePath:     filepath.Join(t.TempDir(), "cache", "policy.toml"),
		Logger:        testLogger(t),
		OnApply:       a.on,
	}
}

// TestWatchApplies: the first revision is read at Open; each later one is
// applied within a second of its put, in order, cached; a revision that
// does not compile (or sets a local key) is refused and the policy in
// force stays; a deleted key keeps the policy in force.
func TestWatchApplies(t *testing.T) {
	e := testetcd.Start(t)
	rev1 := put(t, e.Endpoint(), policyWith("a"))
	a := newApplied()
	o := options(t, e.Endpoint(), a)
	src := mustOpen(t, o)
	st := src.Store()
	if got := st.Current().Revision(); got != rev1 || src.FromCache() {
		t.Fatalf("after Open: revision %d (from cache %v), want %d from etcd", got, src.FromCache(), rev1)
	}
	if got := nullPipes(st.Current()); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("NullSessionPipes %v, want [a]", got)
	}
	run(t, src)

	start := time.Now()
	rev2 := put(t, e.Endpoint(), policyWith("a", "b"))
	s := a.wait(t, time.Second)
	t.Logf("revision %d applied %v after its put", rev2, time.Since(start))
	if s.Revision() != rev2 || st.Current() != s || !slices.Equal(nullPipes(s), []string{"a", "b"}) {
		t.Fatalf("applied revision %d %v, want %d [a b]", s.Revision(), nullPipes(s), rev2)
	}
	if k, rev, data, err := etcdsource.ReadCache(o.CachePath); err != nil || k != key || rev != rev2 || string(data) != policyWith("a", "b") {
		t.Fatalf("cache: key %q revision %d err %v, want %q %d with the policy", k, rev, err, key, rev2)
	}

	for _, bad := range []string{
		"this is not TOML",
		policyWith("a") + "\n[[pipe]]\nname = \"x\"\nbackend = \"nosuch\"\n",
		`listen = "0.0.0.0:445"` + "\n" + policyWith("c"), // a local key
	} {
		put(t, e.Endpoint(), bad)
	}
	if _, err := e.TryCtl("del", key); err != nil {
		t.Fatal(err)
	}
	rev3 := put(t, e.Endpoint(), policyWith("d"))
	s = a.wait(t, 2*time.Second)
	if s.Revision() != rev3 || !slices.Equal(nullPipes(s), []string{"d"}) {
		t.Fatalf("after three bad revisions and a delete: applied %d %v, want %d [d]", s.Revision(), nullPipes(s), rev3)
	}
	if got := st.Failures(); got != 3 {
		t.Errorf("Failures = %d, want 3 refused revisions", got)
	}
	if got := a.list(); !slices.Equal(got, []int64{rev2, rev3}) {
		t.Errorf("applied %v, want [%d %d]", got, rev2, rev3)
	}
}

// TestOpenFromCache: with etcd unreachable, Open starts from the cache
// of the last revision applied; without a cache it fails saying why
// etcd gave nothing and why there is no cache. A cache of another key is
// not used.
func TestOpenFromCache(t *testing.T) {
	e := testetcd.Start(t)
	rev := put(t, e.Endpoint(), policyWith("cached"))
	a := newApplied()
	o := options(t, e.Endpoint(), a)
	o.DialTimeout = 500 * time.Millisecond
	mustOpen(t, o).Close()
	e.Stop()

	src, err := etcdsource.Open(t.Context(), o)
	if err != nil {
		t.Fatalf("Open with etcd stopped and a cache: %v", err)
	}
	defer src.Close()
	if !src.FromCache() || src.Store().Current().Revision() != rev || !slices.Equal(nullPipes(src.Store().Current()), []string{"cached"}) {
		t.Fatalf("from cache %v, revision %d %v; want the cache's revision %d [cached]",
			src.FromCache(), src.Store().Current().Revision(), nullPipes(src.Store().Current()), rev)
	}

	other := o
	other.Key = "/other"
	if _, err := etcdsource.Open(t.Context(), other); err == nil || !strings.Contains(err.Error(), "holds key "+key) {
		t.Errorf("Open of another key with this cache: %v, want a refusal naming the cached key", err)
	}
	none := o
	none.CachePath = filepath.Join(t.TempDir(), "none.toml")
	_, err = etcdsource.Open(t.Context(), none)
	if err == nil || !errors.Is(err, etcdsource.ErrNoCache) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Open with etcd stopped and no cache: %v, want an error saying etcd is unreachable and there is no cache", err)
	}
	os.WriteFile(none.CachePath, []byte("listen = 1\n"), 0o600)
	if _, err := etcdsource.Open(t.Context(), none); err == nil || !strings.Contains(err.Error(), "not an smbpipe policy cache") {
		t.Errorf("Open with a file that is not a cache: %v", err)
	}
}

// TestResumeAfterOutage: while this source is cut off from etcd (the
// rest of the fleet still reaching it), two revisions are put; when the
// connection is back, both are applied, in order, each once.
func TestResumeAfterOutage(t *testing.T) {
	e := testetcd.Start(t)
	p := testetcd.NewProxy(t, e.Endpoint())
	rev1 := put(t, e.Endpoint(), policyWith("a"))
	a := newApplied()
	src := mustOpen(t, options(t, p.Addr(), a))
	run(t, src)
	rev2 := put(t, e.Endpoint(), policyWith("b"))
	a.wait(t, time.Second)

	p.Cut()
	rev3 := put(t, e.Endpoint(), policyWith("c"))
	rev4 := put(t, e.Endpoint(), policyWith("d"))
	time.Sleep(500 * time.Millisecond)
	if got := src.Store().Current().Revision(); got != rev2 {
		t.Fatalf("cut off: revision %d in force, want %d", got, rev2)
	}
	p.Restore()
	start := time.Now()
	a.wait(t, 10*time.Second)
	s := a.wait(t, 10*time.Second)
	t.Logf("reconnected and applied revision %d %v after the connection was restored", s.Revision(), time.Since(start))
	if s.Revision() != rev4 || !slices.Equal(nullPipes(s), []string{"d"}) {
		t.Fatalf("after the outage: %d %v, want %d [d]", s.Revision(), nullPipes(s), rev4)
	}
	time.Sleep(300 * time.Millisecond)
	if got := a.list(); !slices.Equal(got, []int64{rev2, rev3, rev4}) {
		t.Errorf("applied %v, want each revision after %d once, in order: [%d %d %d]", got, rev1, rev2, rev3, rev4)
	}
}

// TestCompacted: revisions put and compacted away while the source was
// cut off cannot be watched from; the source reads the key again and
// applies the latest.
func TestCompacted(t *testing.T) {
	e := testetcd.Start(t)
	p := testetcd.NewProxy(t, e.Endpoint())
	put(t, e.Endpoint(), policyWith("a"))
	a := newApplied()
	src := mustOpen(t, options(t, p.Addr(), a))
	run(t, src)
	p.Cut()
	var last int64
	for _, pipe := range []string{"b", "c", "d"} {
		last = put(t, e.Endpoint(), policyWith(pipe))
	}
	e.Ctl("compaction", fmt.Sprint(last))
	p.Restore()
	s := a.wait(t, 10*time.Second)
	if s.Revision() != last || !slices.Equal(nullPipes(s), []string{"d"}) {
		t.Fatalf("after compaction: applied %d %v, want %d [d]", s.Revision(), nullPipes(s), last)
	}
	next := put(t, e.Endpoint(), policyWith("e"))
	if s := a.wait(t, time.Second); s.Revision() != next {
		t.Fatalf("the watch after the re-read applied %d, want %d", s.Revision(), next)
	}
	if got := a.list(); len(got) != 2 {
		t.Errorf("applied %v, want the latest after compaction and the next one", got)
	}
}

// TestNoLeak100Revisions: across 100 revisions, the source keeps one
// connection to etcd (no redial, no second connection), applies every
// revision, and once Run returns no goroutine and no connection is left.
func TestNoLeak100Revisions(t *testing.T) {
	e := testetcd.Start(t)
	p := testetcd.NewProxy(t, e.Endpoint())
	put(t, e.Endpoint(), policyWith("p0"))
	writer, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if _, err := writer.Get(t.Context(), key); err != nil { // connected: its goroutines are running
		t.Fatal(err)
	}
	ignore := goleak.IgnoreCurrent()

	a := newApplied()
	o := options(t, p.Addr(), a)
	o.Logger = slog.New(slog.DiscardHandler)
	src := mustOpen(t, o)
	stop := run(t, src)
	var last int64
	for i := 1; i <= 100; i++ {
		resp, err := writer.Put(t.Context(), key, policyWith(fmt.Sprintf("p%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		last = resp.Header.Revision
		if open, _ := p.Conns(); open > 1 {
			t.Fatalf("after %d revisions: %d connections to etcd open, want 1", i, open)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	// OnApply is called after the swap (and the cache write): wait for it.
	for (src.Store().Current().Revision() != last || len(a.list()) < 100) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := src.Store().Current().Revision(); got != last {
		t.Fatalf("revision in force %d, want %d", got, last)
	}
	if got := len(a.list()); got != 100 {
		t.Errorf("%d revisions applied, want 100", got)
	}
	if _, total := p.Conns(); total != 1 {
		t.Errorf("the source opened %d connections to etcd, want 1", total)
	}
	stop()
	deadline = time.Now().Add(5 * time.Second)
	for {
		open, _ := p.Conns()
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to etcd still open after Run returned", open)
		}
		time.Sleep(10 * time.Millisecond)
	}
	goleak.VerifyNone(t, ignore)
}

// TestOversizedRevision: a value larger than MaxPolicySize (possible
// when etcd's request limit was raised) is refused without compiling it;
// the policy in force stays and the next revision applies.
func TestOversizedRevision(t *testing.T) {
	e := testetcd.Start(t, "--max-request-bytes=4194304")
	put(t, e.Endpoint(), policyWith("a"))
	a := newApplied()
	src := mustOpen(t, options(t, e.Endpoint(), a))
	run(t, src)
	big := policyWith("big") + "# " + strings.Repeat("x", etcdsource.MaxPolicySize) + "\n"
	w, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint()}, MaxCallSendMsgSize: 4 << 20, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Put(t.Context(), key, big); err != nil {
		t.Fatal(err)
	}
	rev := put(t, e.Endpoint(), policyWith("b"))
	if s := a.wait(t, 2*time.Second); s.Revision() != rev || !slices.Equal(nullPipes(s), []string{"b"}) {
		t.Fatalf("after an oversized revision: applied %d %v, want %d [b]", s.Revision(), nullPipes(s), rev)
	}
	if got := a.list(); len(got) != 1 {
		t.Errorf("applied %v: the oversized revision was applied", got)
	}
}

// TestEndpoints: of the members listed, one that does not answer is
// passed over: the source reads and watches through the one that does.
func TestEndpoints(t *testing.T) {
	e := testetcd.Start(t)
	put(t, e.Endpoint(), policyWith("a"))
	dead := testetcd.NewProxy(t, "127.0.0.1:1") // accepts, then closes every connection
	dead.Cut()
	a := newApplied()
	o := options(t, e.Endpoint(), a)
	o.Endpoints = []string{dead.Addr(), e.Endpoint()}
	src := mustOpen(t, o)
	if src.FromCache() {
		t.Fatal("started from the cache with one member up")
	}
	run(t, src)
	rev := put(t, e.Endpoint(), policyWith("b"))
	if s := a.wait(t, 2*time.Second); s.Revision() != rev {
		t.Fatalf("applied %d, want %d", s.Revision(), rev)
	}
}

// TestClusterMemberLoss: with the policy in a three-member cluster and
// every member listed, losing any one member (the one the source talks
// to, or the leader) costs nothing: each revision put meanwhile through
// the others is applied.
func TestClusterMemberLoss(t *testing.T) {
	members := testetcd.StartCluster(t, 3)
	var eps []string
	for _, m := range members {
		eps = append(eps, m.Endpoint())
	}
	put(t, eps[0], policyWith("p"))
	a := newApplied()
	o := options(t, eps[0], a)
	o.Endpoints = eps
	src := mustOpen(t, o)
	run(t, src)
	for i, m := range members {
		m.Stop()
		live := eps[(i+1)%len(eps)]
		start := time.Now()
		rev := put(t, live, policyWith(fmt.Sprintf("without-m%d", i)))
		s := a.wait(t, 10*time.Second)
		t.Logf("member %d stopped: revision %d applied %v after its put", i, rev, time.Since(start))
		if s.Revision() != rev {
			t.Fatalf("member %d stopped: applied %d, want %d", i, s.Revision(), rev)
		}
		m.Restart()
	}
}

// TestResync: after etcd is replaced by one whose revisions are lower
// (an older backup restored), the watch waits for revisions it will not
// see for a long time; Resync reads the key again and applies it, and the
// watch follows the new numbering.
func TestResync(t *testing.T) {
	e := testetcd.Start(t)
	for range 5 {
		e.Ctl("put", "/other", "x")
	}
	old := put(t, e.Endpoint(), policyWith("a"))
	a := newApplied()
	src := mustOpen(t, options(t, e.Endpoint(), a))
	run(t, src)
	e.Wipe()
	e.Restart()
	restored := put(t, e.Endpoint(), policyWith("restored"))
	if restored >= old {
		t.Fatalf("the new etcd is at revision %d, not below %d", restored, old)
	}
	select {
	case s := <-a.ch:
		t.Logf("applied %d %v before Resync (the watch caught up by itself)", s.Revision(), nullPipes(s))
	case <-time.After(time.Second):
	}
	src.Resync()
	s := a.wait(t, 5*time.Second)
	if s.Revision() != restored || !slices.Equal(nullPipes(s), []string{"restored"}) {
		t.Fatalf("after Resync: applied %d %v, want %d [restored]", s.Revision(), nullPipes(s), restored)
	}
	next := put(t, e.Endpoint(), policyWith("next"))
	if s := a.wait(t, 5*time.Second); s.Revision() != next {
		t.Fatalf("after Resync the watch applied %d, want %d", s.Revision(), next)
	}
}

// TestSetLocal: SetLocal applies new local settings ([limits]) to the
// revision in force at once, keeps them for the next revision, and
// refuses settings the policy does not compile with, changing nothing.
func TestSetLocal(t *testing.T) {
	e := testetcd.Start(t)
	first := put(t, e.Endpoint(), policyWith("a"))
	local := func(n int) *policy.Config {
		c, err := policy.ParseLocal(fmt.Appendf(nil, "[limits]\nmax_connections = %d\n", n), "local.toml")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := newApplied()
	o := options(t, e.Endpoint(), a)
	o.Local = local(10)
	src := mustOpen(t, o)
	run(t, src)
	limit := func(s *policy.Snapshot) int { return s.Config().Limits.MaxConnections }
	if s := src.Store().Current(); limit(s) != 10 {
		t.Fatalf("at Open: max_connections %d, want 10", limit(s))
	}

	if err := src.SetLocal(local(20)); err != nil {
		t.Fatal(err)
	}
	s := a.wait(t, time.Second)
	if s.Revision() != first || limit(s) != 20 || !slices.Equal(nullPipes(s), []string{"a"}) || src.Store().Current() != s {
		t.Fatalf("after SetLocal: revision %d, max_connections %d, %v; want %d, 20, [a], current", s.Revision(), limit(s), nullPipes(s), first)
	}

	bad := *local(30)
	bad.Limits.MaxConnections = -1
	if err := src.SetLocal(&bad); err == nil {
		t.Fatal("SetLocal with max_connections -1 succeeded")
	}
	if s := src.Store().Current(); limit(s) != 20 || s.Revision() != first {
		t.Fatalf("after a refused SetLocal: max_connections %d at revision %d, want 20 at %d", limit(s), s.Revision(), first)
	}

	next := put(t, e.Endpoint(), policyWith("b"))
	s = a.wait(t, 5*time.Second)
	if s.Revision() != next || limit(s) != 20 || !slices.Equal(nullPipes(s), []string{"b"}) {
		t.Fatalf("next revision: %d, max_connections %d, %v; want %d, 20, [b]", s.Revision(), limit(s), nullPipes(s), next)
	}
}
