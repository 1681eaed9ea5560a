package etcdsource_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/smbpipe/smbpipe/internal/testbin"
	"github.com/smbpipe/smbpipe/internal/testetcd"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/policy/etcdsource"
)

// percentile returns the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// TestApplyLatency: three sources on one key (three servers' worth) each
// apply every put within a second; the time from the put's return to the
// last of the three applying it is logged (docs/SCALE.md).
func TestApplyLatency(t *testing.T) {
	e := testetcd.Start(t)
	put(t, e.Endpoint(), policyWith("p0"))
	const sources, puts = 3, 20
	var all []*applied
	for range sources {
		a := newApplied()
		src := mustOpen(t, options(t, e.Endpoint(), a))
		run(t, src)
		all = append(all, a)
	}
	c, err := etcdsource.NewClient(etcdsource.ClientOptions{Endpoints: []string{e.Endpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var took []time.Duration
	for i := 1; i <= puts; i++ {
		resp, err := c.Put(t.Context(), key, policyWith(fmt.Sprintf("p%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for _, a := range all {
			if s := a.wait(t, time.Second); s.Revision() != resp.Header.Revision {
				t.Fatalf("applied %d, want %d", s.Revision(), resp.Header.Revision)
			}
		}
		took = append(took, time.Since(start))
	}
	t.Logf("put returned -> applied by all %d sources, %d puts: p50 %v, max %v",
		sources, puts, percentile(took, 50), percentile(took, 100))
}

// TestWatchFanout measures what a fleet of N servers asks of etcd: N
// clients, each with its own connection and a watch on the key, as N
// servers hold; each put reaches all N. Set SMBPIPE_ETCD_FANOUT=N to run
// it (it opens N connections to one etcd); the times and etcd's memory
// are logged for docs/SCALE.md.
func TestWatchFanout(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SMBPIPE_ETCD_FANOUT"))
	if n <= 0 {
		t.Skip("set SMBPIPE_ETCD_FANOUT=N to measure N watchers")
	}
	e := testetcd.Start(t)
	rss0 := rssKiB(t, e.PID())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan int64, n*4)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range n {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint()}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ch := c.Watch(ctx, key, clientv3.WithCreatedNotify())
		if r := <-ch; !r.Created {
			t.Fatalf("watch not created: %v", r.Err())
		}
		wg.Go(func() {
			for r := range ch {
				for _, ev := range r.Events {
					got <- ev.Kv.ModRevision
				}
			}
		})
	}
	rss1 := rssKiB(t, e.PID())
	writer, err := etcdsource.NewClient(etcdsource.ClientOptions{Endpoints: []string{e.Endpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	value := string(largePolicy(100)) // 100 pipes, 10 accounts: 13.4 KiB
	var took []time.Duration
	for range 5 {
		start := time.Now()
		resp, err := writer.Put(t.Context(), key, value)
		if err != nil {
			t.Fatal(err)
		}
		rev := resp.Header.Revision
		for i := 0; i < n; i++ {
			select {
			case r := <-got:
				if r != rev {
					t.Fatalf("a watcher got revision %d, want %d", r, rev)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%d of %d watchers got revision %d within 30 s", i, n, rev)
			}
		}
		took = append(took, time.Since(start))
	}
	t.Logf("%d watchers (one connection each): put -> all notified p50 %v, max %v (policy %d B); etcd RSS %d MiB idle, %d MiB with the watchers (%.1f KiB each)",
		n, percentile(took, 50), percentile(took, 100), len(value), rss0>>10, rss1>>10, float64(rss1-rss0)/float64(n))
}

// rssKiB is the resident memory of process pid, from /proc.
func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	n, err := testbin.RSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	return n >> 10
}

// largePolicy is a fleet policy with n pipes (each with its own DACL)
// and n/10 accounts, all of them anonymous-visible in NullSessionPipes.
func largePolicy(n int) []byte {
	var b strings.Builder
	b.WriteString("server_name = \"FLEET\"\n\n[LanmanServer]\nNullSessionPipes = [")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "\"pipe%d\"", i)
	}
	b.WriteString("]\n")
	for i := range n / 10 {
		fmt.Fprintf(&b, "\n[[account]]\nname = \"user%d\"\nnt_hash = \"%032x\"\n", i, i+1)
	}
	for i := range n {
		fmt.Fprintf(&b, "\n[[pipe]]\nname = \"pipe%d\"\nbackend = \"echo\"\nmode = \"message\"\nsddl = \"D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)\"\n", i)
	}
	return []byte(b.String())
}

// BenchmarkCompileSource: what each server spends validating and
// compiling a revision, by policy size (docs/SCALE.md).
func BenchmarkCompileSource(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 5000} {
		data := largePolicy(n)
		b.Run(fmt.Sprintf("pipes=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := policy.CompileSource(data, "bench", 1, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data)), "policy-bytes")
		})
	}
}
