//go:build soak

// Package soak runs many clients for a long time against one in-process
// server: anonymous and user sessions, transacts, pending reads, random
// disconnects and policy reloads. Every payload carries the client's id and
// a sequence number, so a lost, duplicated or reordered pipe message is
// caught end to end. Run it with scripts/soak.sh (SOAK_CLIENTS,
// SOAK_DURATION); it is behind the "soak" build tag.
package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/bench"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/metrics"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
)

// snapshot is generation gen of the soak's policy: the alice/echo test
// config (testserver.AliceEcho) with room for 4096 connections.
func snapshot(t *testing.T, gen int) *policy.Snapshot {
	extra := ""
	if gen%2 == 1 { // every other reload adds a pipe, the next removes it
		extra = "\n[[pipe]]\nname = \"extra\"\nbackend = \"echo\"\n"
	}
	return testserver.Snapshot(t, testserver.AliceEcho+"\n[limits]\nmax_connections = 4096\n"+extra, "soak.toml")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

type stats struct {
	sessions, transacts, pendingReads, disconnects, reloads atomic.Int64
	unexpected                                              atomic.Int64
	mu                                                      sync.Mutex
	firstErrs                                               []string
}

func (s *stats) fail(format string, args ...any) {
	s.unexpected.Add(1)
	s.mu.Lock()
	if len(s.firstErrs) < 20 {
		s.firstErrs = append(s.firstErrs, fmt.Sprintf(format, args...))
	}
	s.mu.Unlock()
}

func rss(t *testing.T) int64 {
	n, err := bench.ProcessRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSoak(t *testing.T) {
	clients := envInt("SOAK_CLIENTS", 1000)
	duration := time.Duration(envInt("SOAK_SECONDS", 60)) * time.Second

	m := metrics.New()
	srv, err := server.New(server.Options{Snapshot: snapshot(t, 0), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	// Several listeners: every reconnect leaves a socket in TIME_WAIT for
	// 60 s, and one loopback address and port pair offers only ~28,000
	// ephemeral ports; spreading clients over listeners multiplies that.
	const listeners = 8
	served := make(chan error, listeners)
	addrs := make([]string, listeners)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { served <- srv.Serve(l) }()
		addrs[i] = l.Addr().String()
	}
	runtime.GC()
	g0, rss0 := runtime.NumGoroutine(), rss(t)
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	heap0 := ms0.HeapInuse
	t.Logf("start: %d clients for %v; goroutines %d, RSS %d MiB", clients, duration, g0, rss0>>20)

	var st stats
	ctx, stop := context.WithTimeout(context.Background(), duration)
	defer stop()
	var wg sync.WaitGroup
	for id := range clients {
		wg.Go(func() {
			time.Sleep(time.Duration(id) * 2 * time.Millisecond) // ramp up over 2s
			runClient(ctx, addrs[id%listeners], id, &st)
		})
	}
	// Reload the policy every 2s.
	var midRSS, midG int64
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for gen := 1; ; gen++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := srv.SetPolicy(snapshot(t, gen)); err != nil {
				st.fail("reload %d: %v", gen, err)
			}
			st.reloads.Add(1)
			if gen == int(duration/(4*time.Second)) {
				midRSS, midG = rss(t), int64(runtime.NumGoroutine())
			}
		}
	})
	wg.Wait()

	srvStats := fmt.Sprintf("connections %v, sessions %v, opens %v", gauge(t, m, "smbpipe_connections"),
		gauge(t, m, "smbpipe_sessions"), gauge(t, m, "smbpipe_opens"))
	// Every client closed its connections: the server's goroutines and
	// memory go back down.
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > g0+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// Return freed pages to the OS so RSS shows what is still live, and
	// read the live heap too: RSS alone also counts what the runtime keeps.
	// Buffers parked in sync.Pools survive one collection (the victim
	// cache), so collect once before FreeOSMemory's own collection.
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	g1, rss1 := runtime.NumGoroutine(), rss(t)
	srv.Close()
	for range listeners {
		<-served
	}

	t.Logf("sessions %d, transacts %d, pending reads completed %d, random disconnects %d, reloads %d",
		st.sessions.Load(), st.transacts.Load(), st.pendingReads.Load(), st.disconnects.Load(), st.reloads.Load())
	t.Logf("mid-run: goroutines %d, RSS %d MiB; after the run (before close): %s", midG, midRSS>>20, srvStats)
	t.Logf("end: goroutines %d (baseline %d), RSS %d MiB (baseline %d MiB), live heap %d MiB (baseline %d MiB), unexpected errors %d",
		g1, g0, rss1>>20, rss0>>20, ms.HeapInuse>>20, heap0>>20, st.unexpected.Load())
	for _, e := range st.firstErrs {
		t.Errorf("unexpected: %s", e)
	}
	if g1 > g0+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines %d, baseline %d:\n%s", g1, g0, buf[:runtime.Stack(buf, true)])
	}
	if ms.HeapInuse > heap0+32<<20 {
		t.Errorf("live heap %d MiB at the end, baseline %d MiB: memory not released", ms.HeapInuse>>20, heap0>>20)
	}
	if midRSS > 0 && rss1 > midRSS+64<<20 {
		t.Errorf("RSS grew: %d MiB at the end, %d MiB mid-run", rss1>>20, midRSS>>20)
	}
}

func gauge(t *testing.T, m *metrics.Prometheus, name string) float64 {
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// runClient connects again and again until ctx ends. Each connection
// opens the echo pipe and runs rounds of a transact, or of a pending read
// completed by writes, checking every echoed message against the sequence
// it sent; now and then it drops the connection abruptly mid-round.
func runClient(ctx context.Context, addr string, id int, st *stats) {
	rng := rand.New(rand.NewPCG(uint64(id), 7))
	cfg := client.Config{}
	if id%2 == 1 {
		cfg = client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP"}
	}
	seq := 0
	out := make([]byte, 256)
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := client.Dial(dctx, addr, &cfg)
		if err == nil {
			var p *client.Pipe
			p, err = c.OpenPipe(dctx, "echo")
			if err == nil {
				st.sessions.Add(1)
				roundsLeft := 20 + rng.IntN(200)
				for ; roundsLeft > 0 && ctx.Err() == nil; roundsLeft-- {
					if rng.IntN(100) == 0 {
						st.disconnects.Add(1)
						break // dropped below without a CLOSE or LOGOFF
					}
					if rng.IntN(4) == 0 {
						if !pendingRound(ctx, p, id, &seq, out, st) {
							break
						}
					} else if !transactRound(ctx, p, id, &seq, out, st) {
						break
					}
					time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
				}
			}
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			st.fail("client %d: connect/open: %v", id, err)
			time.Sleep(100 * time.Millisecond) // no busy loop on a failing dial
		}
		if c != nil {
			c.Close()
		}
	}
}

func payload(id, seq int) []byte { return fmt.Appendf(nil, "client %d seq %d", id, seq) }

// transactRound sends one message and expects it back in order.
func transactRound(ctx context.Context, p *client.Pipe, id int, seq *int, out []byte, st *stats) bool {
	in := payload(id, *seq)
	*seq++
	n, _, err := p.Transact(ctx, in, out)
	if err != nil {
		if ctx.Err() == nil {
			st.fail("client %d: transact: %v", id, err)
		}
		return false
	}
	if string(out[:n]) != string(in) {
		st.fail("client %d: sent %q, got %q (lost or reordered)", id, in, out[:n])
		return false
	}
	st.transacts.Add(1)
	return true
}

// pendingRound posts a READ on the empty pipe (it goes pending), then
// writes three messages; the READ completes with the first, and two more
// READs return the others, in order.
func pendingRound(ctx context.Context, p *client.Pipe, id int, seq *int, out []byte, st *stats) bool {
	type res struct {
		b   []byte
		err error
	}
	done := make(chan res, 1)
	go func() {
		buf := make([]byte, 256)
		n, _, err := p.ReadMsg(ctx, buf)
		done <- res{buf[:n], err}
	}()
	time.Sleep(2 * time.Millisecond) // let the READ reach the server first
	var sent [3][]byte
	for i := range sent {
		sent[i] = payload(id, *seq)
		*seq++
		if _, err := p.WriteMsg(ctx, sent[i]); err != nil {
			if ctx.Err() == nil {
				st.fail("client %d: write: %v", id, err)
			}
			<-done
			return false
		}
	}
	r := <-done
	if r.err != nil {
		if ctx.Err() == nil {
			st.fail("client %d: pending read: %v", id, r.err)
		}
		return false
	}
	got := [][]byte{r.b}
	for range 2 {
		n, _, err := p.ReadMsg(ctx, out)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				st.fail("client %d: read: %v", id, err)
			}
			return false
		}
		got = append(got, append([]byte(nil), out[:n]...))
	}
	for i := range sent {
		if string(got[i]) != string(sent[i]) {
			st.fail("client %d: message %d: sent %q, got %q (lost or reordered)", id, i, sent[i], got[i])
			return false
		}
	}
	st.pendingReads.Add(1)
	return true
}
