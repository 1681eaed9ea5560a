package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText writes r for people: a header line naming the workload and
// target, then the figures.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s against %s", r.Workload, r.Target)
	if r.Pipe != "" {
		fmt.Fprintf(&b, ` \pipe\%s`, r.Pipe)
	}
	if r.Dialect != "" {
		fmt.Fprintf(&b, ", SMB %s", r.Dialect)
		if r.Cipher != "" {
			b.WriteString(" encrypted " + r.Cipher)
		} else if r.Signed {
			b.WriteString(" signed")
		} else {
			b.WriteString(" unsigned")
		}
	}
	fmt.Fprintf(&b, ", -c %d", r.Concurrency)
	switch {
	case r.RPC:
		fmt.Fprintf(&b, ", DCE/RPC NetrServerGetInfo (%d B)", r.Size)
	case r.RPCEcho:
		fmt.Fprintf(&b, ", DCE/RPC rpcecho EchoData of %s", formatBytes(int64(r.Size)))
	case r.Workload != Connect && r.Workload != Echo:
		fmt.Fprintf(&b, ", %s per op", formatBytes(int64(r.Size)))
	}
	b.WriteByte('\n')
	if r.Workload == Sessions {
		fmt.Fprintf(&b, "  sessions: %d open, %d failed", r.SessionsOpen, r.SessionsFailed)
		if r.ServerRSSAfter != 0 {
			fmt.Fprintf(&b, "; server RSS %s -> %s, %s per session",
				formatBytes(r.ServerRSSBefore), formatBytes(r.ServerRSSAfter), formatBytes(r.RSSPerSession))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "  %d ops in %.2fs: %.0f ops/s", r.Ops, r.Elapsed.Seconds(), r.OpsPerSec)
	if r.Workload == Stream || r.Workload == TCPStream {
		fmt.Fprintf(&b, ", %.1f MB/s", r.MBPerSec)
	}
	fmt.Fprintf(&b, "\n  latency p50 %v  p99 %v  max %v  mean %v\n",
		roundDur(r.P50), roundDur(r.P99), roundDur(r.Max), roundDur(r.Mean))
	if r.Errors != 0 {
		fmt.Fprintf(&b, "  errors %d, first: %s\n", r.Errors, r.FirstError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TSVHeader is the header line of WriteTSV's format.
const TSVHeader = "workload\tops_per_sec\tp50_us\tp99_us\tmax_us\tmb_per_sec\terrors\tsessions_open\tsessions_failed\trss_per_session\tdialect\tsigned\tcipher"

// WriteTSV writes r as one tab-separated line in the columns of TSVHeader
// (latencies in microseconds), for scripts.
func (r *Result) WriteTSV(w io.Writer) error {
	us := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/1e3) }
	_, err := fmt.Fprintf(w, "%s\t%.1f\t%s\t%s\t%s\t%.1f\t%d\t%d\t%d\t%d\t%s\t%t\t%s\n",
		r.Workload, r.OpsPerSec, us(r.P50), us(r.P99), us(r.Max), r.MBPerSec, r.Errors,
		r.SessionsOpen, r.SessionsFailed, r.RSSPerSession, orDash(r.Dialect), r.Signed, orDash(r.Cipher))
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= 10*time.Microsecond:
		return d.Round(100 * time.Nanosecond)
	}
	return d
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
