package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbpipe/smbpipe/client"
)

// runSessions opens o.Concurrency sessions, each with an open pipe, reads
// the server's RSS before and after (with o.ServerPID), then has every
// session do one transact every o.Interval for o.Duration.
func runSessions(ctx context.Context, o *Options, res *Result) error {
	n := o.Concurrency
	if o.ServerPID != 0 {
		rss, err := ProcessRSS(o.ServerPID)
		if err != nil {
			return err
		}
		res.ServerRSSBefore = rss
	}

	conns := make([]*client.Conn, n)
	pipes := make([]*client.Pipe, n)
	defer closeAll(pipes, conns)
	var (
		opened, failed atomic.Int64
		c              counters
		wg             sync.WaitGroup
		sem            = make(chan struct{}, o.SetupParallel)
	)
	spread := o.SpreadSources && isLoopback(o.Addr)
	setupStart := time.Now()
	stopProgress := sessionProgress(o, &opened, &failed, setupStart)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			var local net.Addr
			if spread {
				local = &net.TCPAddr{IP: SourceAddr(i)}
			}
			cn, err := dialFrom(ctx, o, local)
			if err != nil {
				failed.Add(1)
				c.fail(err)
				return
			}
			p, err := openPipe(ctx, o, cn)
			if err != nil {
				cn.Close()
				failed.Add(1)
				c.fail(err)
				return
			}
			conns[i], pipes[i] = cn, p
			opened.Add(1)
		})
	}
	wg.Wait()
	stopProgress()
	if err := ctx.Err(); err != nil {
		return err
	}
	res.SessionsOpen, res.SessionsFailed = int(opened.Load()), int(failed.Load())
	if res.SessionsOpen == 0 {
		return fmt.Errorf("bench: sessions: none opened: %v", c.firstErr)
	}
	for _, cn := range conns {
		if cn != nil {
			res.Dialect, res.Signed = client.DialectString(cn.Dialect()), cn.Signed()
			break
		}
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "bench: sessions: %d open, %d failed in %.1fs\n",
			res.SessionsOpen, res.SessionsFailed, time.Since(setupStart).Seconds())
	}
	if o.ServerPID != 0 {
		// Let the server settle (goroutines parked, buffers returned).
		time.Sleep(500 * time.Millisecond)
		rss, err := ProcessRSS(o.ServerPID)
		if err != nil {
			return err
		}
		res.ServerRSSAfter = rss
		res.RSSPerSession = (rss - res.ServerRSSBefore) / int64(res.SessionsOpen)
	}

	// Steady state: one transact per session every o.Interval, start
	// times spread over the first interval.
	var (
		h   Histogram
		hmu sync.Mutex
	)
	tw := &Options{Size: o.Size, RPC: o.RPC}
	msg := message(tw)
	start := time.Now()
	end := start.Add(o.Duration)
	stopProgress = progress(o, &c, start)
	for i, p := range pipes {
		if p == nil {
			continue
		}
		offset := time.Duration(rand.Int64N(int64(o.Interval)))
		wg.Go(func() {
			out := make([]byte, max(len(msg), 4280))
			next := start.Add(offset)
			for next.Before(end) {
				if !sleepUntil(ctx, next) {
					return
				}
				t0 := time.Now()
				_, more, err := pipes[i].Transact(ctx, msg, out)
				for more && err == nil {
					_, more, err = pipes[i].ReadMsg(ctx, out)
				}
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					c.fail(err)
					return
				}
				hmu.Lock()
				h.Record(d)
				hmu.Unlock()
				c.ops.Add(1)
				c.bytes.Add(int64(len(msg)))
				next = next.Add(o.Interval)
			}
		})
	}
	wg.Wait()
	stopProgress()
	fill(res, &h, &c, time.Since(start))
	if o.ServerPID != 0 {
		if rss, err := ProcessRSS(o.ServerPID); err == nil {
			res.ServerRSSAfter = max(res.ServerRSSAfter, rss)
		}
	}
	if res.Ops == 0 {
		return fmt.Errorf("bench: sessions: no transact succeeded: %v", c.firstErr)
	}
	return ctx.Err()
}

// SourceAddr is the loopback source address of session i when
// Options.SpreadSources is set: 127.100.0.1, 127.100.0.2, ... (the last
// two bytes never 0 or 255), one address per session up to 63,504
// sessions, then round again. Each address has its own ephemeral ports.
func SourceAddr(i int) net.IP {
	i %= 252 * 252
	return net.IPv4(127, 100, byte(1+i/252), byte(1+i%252))
}

// isLoopback reports whether addr (host:port) names an IPv4 loopback
// address, from which SourceAddr's addresses can reach it.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() != nil && ip.IsLoopback()
}

// sleepUntil sleeps until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sessionProgress prints how many sessions are open while they are being
// opened, until the returned function is called.
func sessionProgress(o *Options, opened, failed *atomic.Int64, start time.Time) (stop func()) {
	if o.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(o.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				fmt.Fprintf(o.Progress, "bench: sessions %5.1fs %d/%d open, %d failed\n",
					now.Sub(start).Seconds(), opened.Load(), o.Concurrency, failed.Load())
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
