package robust

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/ntstatus"
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
			ps = append(ps, openEcho(t, c))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.OpenPipe(ctx, "echo")
		if !errors.Is(err, ntstatus.TooManyOpenedFiles) {
			t.Fatalf("fifth open: %v, want STATUS_TOO_MANY_OPENED_FILES", err)
		}
		ps[0].Close()
		openEcho(t, c) // room again
		if n := ts.metric(t, "smbpipe_opens"); n != 4 {
			t.Fatalf("opens gauge %v, want 4", n)
		}
	})
	t.Run("max_async_per_connection and thousands of pending READs", func(t *testing.T) {
		ts := start(t, "[limits]\nmax_async_per_connection = 100\n")
		good := openEcho(t, dial(t, ts.addr, alice))
		g0 := runtime.NumGoroutine()
		c := dial(t, ts.addr, client.Config{User: "alice", Password: "Passw0rd!", Credits: 512})
		p := openEcho(t, c)
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
		p := openEcho(t, busy) // a connection with an open pipe is not idle
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
