package robust

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestLimits: each [limits] value is enforced, counted once per hit and
// logged once per connection, and the server keeps serving others.
func TestLimits(t *testing.T) {
	t.Run("max_connections", func(t *testing.T) {
		ts := start(t, "[limits]\nmax_connections = 3\n")
		for range 3 {
			dial(t, ts.addr, anon)
		}
		for range 2 {
			expectClosed(t, rawDial(t, ts.addr), 5*time.Second)
		}
		if n := ts.metric(t, `smbpipe_limit_hits_total{limit="max_connections"}`); n != 2 {
			t.Fatalf("%v hits, want 2", n)
		}
	})
	t.Run("max_sessions_per_connection", func(t *testing.T) {
		ts := start(t, "[limits]\nmax_sessions_per_connection = 2\n")
		c := dial(t, ts.addr, anon) // session 1
		setup := func() ntstatus.Status {
			return raw(t, c, &client.RawRequest{Header: smb2.Header{Command: smb2.CmdSessionSetup},
				Body: (&smb2.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2")}).Append(nil)})
		}
		if st := setup(); st != ntstatus.MoreProcessingRequired { // session 2, in progress
			t.Fatalf("second session: %v", st)
		}
		for range 3 {
			if st := setup(); st != ntstatus.RequestNotAccepted {
				t.Fatalf("third session: %v, want STATUS_REQUEST_NOT_ACCEPTED", st)
			}
		}
		if n := ts.metric(t, `smbpipe_limit_hits_total{limit="max_sessions_per_connection"}`); n != 3 {
			t.Fatalf("%v hits, want 3", n)
		}
		if n := countLines(ts.log.String(), "max_sessions_per_connection"); n != 1 {
			t.Fatalf("logged %d times, want once per connection", n)
		}
	})
	t.Run("max_opens_per_session", func(t *testing.T) {
		ts := start(t, "[limits]\nmax_opens_per_session = 4\n")
		c := dial(t, ts.addr, alice)
		var ps []*client.Pipe
		for range 4 {
			ps = append(ps, testclient.Open(t, c, "echo"))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.OpenPipe(ctx, "echo")
		if !errors.Is(err, ntstatus.TooManyOpenedFiles) {
			t.Fatalf("fifth open: %v, want STATUS_TOO_MANY_OPENED_FILES", err)
		}
		ps[0].Close()
		testclient.Open(t, c, "echo") // room again
		if n := ts.metric(t, "smbpipe_opens"); n != 4 {
			t.Fatalf("opens gauge %v, want 4", n)
		}
	})
	t.Run("max_async_per_connection and thousands of pending READs", func(t *testing.T) {
		ts := start(t, "[limits]\nmax_async_per_connection = 100\n")
		good := testclient.Open(t, dial(t, ts.addr, alice), "echo")
		g0 := baseline()
		c := dial(t, ts.addr, client.Config{User: "alice", Password: "Passw0rd!", Credits: 512})
		p := testclient.Open(t, c, "echo")
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[ntstatus.Status]int{}
		for range 2000 {
			wg.Go(func() {
				_, _, err := p.ReadMsg(ctx, make([]byte, 16))
				var st ntstatus.Status
				if !errors.As(err, &st) {
					st = ntstatus.Cancelled
				}
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			})
		}
		deadline := time.Now().Add(20 * time.Second)
		for ts.metric(t, `smbpipe_limit_hits_total{limit="max_async_per_connection"}`) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		transact(t, good, 1) // the other client is unaffected
		cancel()
		wg.Wait()
		if statuses[ntstatus.InsufficientResources] == 0 {
			t.Fatalf("no READ refused with STATUS_INSUFFICIENT_RESOURCES: %v", statuses)
		}
		c.Close()
		settle(t, g0+2)
		transact(t, good, 2)
	})
	t.Run("handshake_timeout: slowloris", func(t *testing.T) {
		ts := start(t, "[limits]\nhandshake_timeout = \"300ms\"\n")
		// Silent, and trickling one byte at a time: both dropped.
		silent := rawDial(t, ts.addr)
		trickle := rawDial(t, ts.addr)
		m := frame(message(smb2.Header{Command: smb2.CmdNegotiate}, negotiateBody()))
		start := time.Now()
		go func() {
			for _, b := range m {
				if _, err := trickle.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		expectClosed(t, silent, 5*time.Second)
		expectClosed(t, trickle, 5*time.Second)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("dropped after %v", d)
		}
		// Negotiating without a session does not finish the handshake.
		c := negotiated(t, ts.addr, anon)
		time.Sleep(500 * time.Millisecond)
		expectConnGone(t, c)
		// A prompt client keeps its connection beyond the deadline.
		ok := dial(t, ts.addr, anon)
		time.Sleep(500 * time.Millisecond)
		if err := ok.Echo(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := ts.metric(t, `smbpipe_limit_hits_total{limit="handshake_timeout"}`); n != 3 {
			t.Fatalf("%v hits, want 3", n)
		}
	})
	t.Run("idle_timeout", func(t *testing.T) {
		ts := start(t, "[limits]\nidle_timeout = \"300ms\"\n")
		idle := dial(t, ts.addr, anon)
		busy := dial(t, ts.addr, anon)
		p := testclient.Open(t, busy, "echo") // a connection with an open pipe is not idle
		time.Sleep(700 * time.Millisecond)
		expectConnGone(t, idle)
		transact(t, p, 1)
		if n := ts.metric(t, `smbpipe_limit_hits_total{limit="idle_timeout"}`); n != 1 {
			t.Fatalf("%v hits, want 1", n)
		}
	})
}

func countLines(log, substr string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// TestLimitsAsyncMemory: requests that go async while holding client data
// (a WRITE or a TRANSCEIVE over the pipe's quota) are bounded per
// connection and server-wide; beyond the bound they are answered
// STATUS_INSUFFICIENT_RESOURCES and the server's heap stays flat.
func TestLimitsAsyncMemory(t *testing.T) {
	const size = 8 << 20 // the largest WRITE a client may send
	for _, tc := range []struct {
		name string
		send func(ctx context.Context, p *client.Pipe, b []byte) error
	}{
		{"WRITE", func(ctx context.Context, p *client.Pipe, b []byte) error {
			_, err := p.WriteMsg(ctx, b)
			return err
		}},
		{"TRANSCEIVE", func(ctx context.Context, p *client.Pipe, b []byte) error {
			_, _, err := p.Transact(ctx, b, nil)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, "") // the default limits
			sink(t, ts)
			good := testclient.Open(t, dial(t, ts.addr, alice), "echo")
			g0 := baseline()
			// At most four 8 MiB requests in flight at once (512 credits):
			// with the 8192 credits the server grants, the client would
			// hold all 64 in memory at once and a loaded machine would not
			// move 512 MiB within the deadline.
			cfg := alice
			cfg.Credits = 512
			c := dial(t, ts.addr, cfg)
			p := testclient.Open(t, c, "sink")
			big := make([]byte, size)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var wg sync.WaitGroup
			before := heapAlloc()

			// 64 more: one is held (the connection holds nothing else), the
			// others are refused.
			const n = 64
			var mu sync.Mutex
			statuses := map[string]int{}
			for range n {
				wg.Go(func() {
					err := tc.send(ctx, p, big)
					var st ntstatus.Status
					k := "pending"
					if errors.As(err, &st) {
						k = st.String()
					}
					mu.Lock()
					statuses[k]++
					mu.Unlock()
				})
			}
			refused := func() int {
				mu.Lock()
				defer mu.Unlock()
				return statuses[ntstatus.InsufficientResources.String()]
			}
			deadline := time.Now().Add(60 * time.Second)
			for refused() < n-1 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			grown := int64(heapAlloc()) - int64(before)
			t.Logf("heap grew %d MiB with %d %ss of 8 MiB sent over the quota", grown>>20, n, tc.name)
			if got := refused(); got != n-1 {
				t.Errorf("%d refused with STATUS_INSUFFICIENT_RESOURCES, want %d", got, n-1)
			}
			if grown > 40<<20 {
				t.Errorf("the heap grew by %d MiB, want less than 40", grown>>20)
			}
			if h := ts.metric(t, `smbpipe_limit_hits_total{limit="max_async_bytes_per_connection"}`); h != n-1 {
				t.Errorf("%v hits of max_async_bytes_per_connection, want %d", h, n-1)
			}
			if h := ts.metric(t, "smbpipe_async_bytes"); h != size {
				t.Errorf("smbpipe_async_bytes = %v, want %d (one request's data)", h, size)
			}
			if l := countLines(ts.log.String(), "max_async_bytes_per_connection"); l != 1 {
				t.Errorf("logged %d times, want once per connection", l)
			}
			transact(t, good, 1)
			cancel()
			wg.Wait()
			c.Close()
			settle(t, g0+2)
			waitFor(t, func() bool { return ts.metric(t, "smbpipe_async_bytes") == 0 })
			mu.Lock()
			t.Logf("statuses: %v", statuses)
			mu.Unlock()
		})
	}

	t.Run("max_async_bytes: server-wide", func(t *testing.T) {
		// Three connections each hold one 3 MiB WRITE: the third passes
		// the 8 MiB server-wide bound.
		ts := start(t, "[limits]\nmax_async_bytes = 8388608\n")
		sink(t, ts)
		msg := make([]byte, 3<<20)
		pending := func(t *testing.T) (*client.Conn, chan error) {
			c := dial(t, ts.addr, alice)
			p := testclient.Open(t, c, "sink")
			done := make(chan error, 1)
			go func() {
				_, err := p.WriteMsg(t.Context(), msg)
				done <- err
			}()
			return c, done
		}
		held := func(want float64) {
			t.Helper()
			waitFor(t, func() bool { return ts.metric(t, "smbpipe_async_bytes") == want })
		}
		c1, done1 := pending(t)
		held(3 << 20)
		_, done2 := pending(t)
		held(6 << 20)
		_, done3 := pending(t)
		select {
		case err := <-done3:
			if !errors.Is(err, ntstatus.InsufficientResources) {
				t.Fatalf("third connection's WRITE: %v, want STATUS_INSUFFICIENT_RESOURCES", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("third connection's WRITE still pending; want it refused")
		}
		if h := ts.metric(t, `smbpipe_limit_hits_total{limit="max_async_bytes"}`); h != 1 {
			t.Fatalf("%v hits of max_async_bytes, want 1", h)
		}
		// The first connection leaves: its bytes are free again.
		c1.Close()
		if err := <-done1; err == nil {
			t.Fatal("the closed connection's WRITE succeeded")
		}
		held(3 << 20)
		_, done4 := pending(t)
		held(6 << 20)
		select {
		case err := <-done2:
			t.Fatalf("second connection's WRITE completed: %v", err)
		case err := <-done4:
			t.Fatalf("fourth connection's WRITE completed: %v", err)
		default:
		}
	})

	t.Run("pending READs take buffers the size of the data", func(t *testing.T) {
		// 16 READs of 8 MiB wait on an empty pipe; 16 messages of 10
		// bytes complete them. Each completion used to take an 8 MiB
		// buffer (and hold it while its response waited to be sent).
		const n = 16
		ts := start(t, fmt.Sprintf("[limits]\nmax_async_per_connection = %d\n", n))
		l := sink(t, ts)
		c := dial(t, ts.addr, client.Config{User: "alice", Password: "Passw0rd!", Credits: 512})
		p := testclient.Open(t, c, "sink")
		e, err := l.AcceptEnd(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		read := func() ntstatus.Status {
			return raw(t, c, &client.RawRequest{
				Header: smb2.Header{Command: smb2.CmdRead, SessionID: c.SessionID(), TreeID: c.TreeID()},
				Body:   (&smb2.ReadRequest{Padding: 0x50, Length: size, FileID: p.FileID()}).Append(nil),
				Size:   size,
			})
		}
		// n+1 READs: n wait, one is refused (max_async_per_connection).
		var wg sync.WaitGroup
		statuses := make(chan ntstatus.Status, n+1)
		for range n + 1 {
			wg.Go(func() { statuses <- read() })
		}
		waitFor(t, func() bool {
			return ts.metric(t, `smbpipe_limit_hits_total{limit="max_async_per_connection"}`) == 1
		})
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		for i := range n {
			if _, err := e.Write(fmt.Appendf(nil, "message %02d", i)); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		runtime.ReadMemStats(&m1)
		close(statuses)
		count := map[ntstatus.Status]int{}
		for st := range statuses {
			count[st]++
		}
		if count[ntstatus.Success] != n || count[ntstatus.InsufficientResources] != 1 {
			t.Fatalf("READs: %v, want %d successes and one STATUS_INSUFFICIENT_RESOURCES", count, n)
		}
		alloc := m1.TotalAlloc - m0.TotalAlloc
		t.Logf("%d pending READs of 8 MiB completed with 10 bytes each: %d KiB allocated", n, alloc>>10)
		if alloc > n<<20 {
			t.Fatalf("%d MiB allocated to complete them, want less than %d", alloc>>20, n)
		}
	})
}

// TestLimitsProcesses: max_processes bounds the backend processes of the
// whole server; an open beyond it fails at CREATE with
// STATUS_INSUFFICIENT_RESOURCES, and closing frees the slots.
func TestLimitsProcesses(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep command")
	}
	const max = 4
	ts := start(t, fmt.Sprintf(`[limits]
max_processes = %d

[[pipe]]
name = "slow"
backend = "exec:sleep 30"
sddl = "D:(A;;0x12019B;;;AU)"
`, max))
	g0 := baseline()
	c1 := dial(t, ts.addr, alice)
	c2 := dial(t, ts.addr, alice)
	var ps []*client.Pipe
	refused := 0
	for i := range 3 * max {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		p, err := c.OpenPipe(ctx, "slow")
		cancel()
		switch {
		case err == nil:
			ps = append(ps, p)
		case errors.Is(err, ntstatus.InsufficientResources):
			refused++
		default:
			t.Fatalf("open %d: %v", i, err)
		}
	}
	if len(ps) != max || refused != 2*max {
		t.Fatalf("%d opens succeeded and %d were refused, want %d and %d", len(ps), refused, max, 2*max)
	}
	if n := ts.metric(t, "smbpipe_processes"); n != max {
		t.Fatalf("smbpipe_processes = %v, want %d", n, max)
	}
	// The processes start once the backend accepts the instances.
	waitFor(t, func() bool { n := children(t, "sleep"); return n < 0 || n >= max })
	time.Sleep(100 * time.Millisecond)
	if n := children(t, "sleep"); n >= 0 && n != max {
		t.Fatalf("%d sleep processes run, want %d", n, max)
	}
	if h := ts.metric(t, `smbpipe_limit_hits_total{limit="max_processes"}`); h != 2*max {
		t.Fatalf("%v hits, want %d", h, 2*max)
	}
	if n := countLines(ts.log.String(), "max_processes"); n != 2 {
		t.Fatalf("logged %d times, want once per connection (2)", n)
	}

	// An instance opened by Go code beyond the bound is closed at once.
	e, err := ts.srv.Namespace().Open("slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := e.Read(make([]byte, 1)); !errors.Is(err, pipe.ErrBroken) {
		t.Fatalf("read on an instance past max_processes: %v, want ErrBroken", err)
	}
	e.Close()
	if h := ts.metric(t, `smbpipe_limit_hits_total{limit="max_processes"}`); h != 2*max+1 {
		t.Fatalf("%v hits, want %d", h, 2*max+1)
	}

	// Closing a handle ends its process and frees its slot, even when the
	// process does not read its stdin: fill it first (the WRITE waits for
	// room, then is cancelled).
	wctx, wcancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	if _, err := ps[0].WriteMsg(wctx, make([]byte, 1<<20)); err == nil {
		t.Fatal("1 MiB written to a process that reads nothing")
	}
	wcancel()
	ps[0].Close()
	waitFor(t, func() bool { return ts.metric(t, "smbpipe_processes") == max-1 })
	p, err := c1.OpenPipe(t.Context(), "slow")
	if err != nil {
		t.Fatalf("open after a close: %v", err)
	}
	ps[0] = p
	for _, p := range ps {
		p.Close()
	}
	waitFor(t, func() bool { return ts.metric(t, "smbpipe_processes") == 0 })
	if n := children(t, "sleep"); n > 0 {
		t.Fatalf("%d sleep processes left after every handle closed", n)
	}
	c1.Close()
	c2.Close()
	settle(t, g0)
}

// sink creates the message pipe "sink", which everyone may open and whose
// server ends nobody accepts unless the test does: what a client writes
// stays queued, and a message over the quota waits.
func sink(t *testing.T, ts *testServer) *pipe.Listener {
	t.Helper()
	l, err := ts.srv.Listen("sink", pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex}, "D:(A;;FA;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// heapAlloc is the live heap after a collection.
func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// children counts this process's child processes named comm (Linux; -1
// elsewhere).
func children(t *testing.T, comm string) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return -1
	}
	n := 0
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
		if err != nil {
			return -1
		}
		for _, pid := range strings.Fields(string(b)) {
			name, err := os.ReadFile("/proc/" + pid + "/comm")
			if err == nil && strings.TrimSpace(string(name)) == comm {
				n++
			}
		}
	}
	return n
}
