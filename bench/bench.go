// Package bench is the load generator behind `smbpipe bench`: workloads
// that drive an SMB2/3 server's named pipes with the project's own client
// (connect, transact, writeread, stream, echo, sessions) and the raw TCP
// ping-pong that is their floor, measuring rate and latency.
//
// Run executes one workload with Options and returns a Result: the number
// of operations, their rate, p50/p99/max latency from a fixed-size
// log-linear Histogram, bytes moved, and for the sessions workload the
// server's resident memory per session (read from /proc/PID/status).
//
// Timing starts once every worker has finished its setup (dial, log on,
// open the pipe, DCE/RPC bind), so rates are of the steady state.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbpipe/smbpipe/client"
)

// Workload names an operation Run repeats.
type Workload string

// The workloads. An "op" is what one latency sample measures.
const (
	// Connect: TCP connect, NEGOTIATE, SESSION_SETUP, TREE_CONNECT IPC$,
	// CREATE the pipe, CLOSE, LOGOFF, disconnect; sequential per worker.
	Connect Workload = "connect"
	// Transact: one FSCTL_PIPE_TRANSCEIVE of the message and its reply,
	// on one open pipe per worker.
	Transact Workload = "transact"
	// WriteRead: one WRITE of the message, then READs of the reply.
	WriteRead Workload = "writeread"
	// Stream: 1 MiB WRITEs (one op each) while a second goroutine READs
	// the echoed bytes back; a pipe that does not echo cannot be streamed.
	Stream Workload = "stream"
	// Echo: one SMB2 ECHO on one connection per worker.
	Echo Workload = "echo"
	// Sessions: Concurrency sessions, each with an open pipe, each doing
	// one transact per second for the duration.
	Sessions Workload = "sessions"
	// TCP: write the message on a TCP connection to an echo server and
	// read it back; the floor for Transact.
	TCP Workload = "tcp"
	// TCPStream: Stream over raw TCP to an echo server.
	TCPStream Workload = "tcp-stream"
	// TCPConnect: TCP connect to an echo server, RoundTrips ping-pongs of
	// the message, close; the floor for Connect, which needs one TCP
	// handshake and seven request round trips.
	TCPConnect Workload = "tcp-connect"
)

// AllWorkloads returns every workload, in the order of the usage text.
func AllWorkloads() []Workload {
	return []Workload{Connect, Setup, Transact, WriteRead, Stream, Echo, Sessions, TCP, TCPStream, TCPConnect}
}

// Options configure Run. The zero value with Addr set runs one transact
// worker of 64-byte messages on the pipe "echo" for 5 seconds.
type Options struct {
	Workload Workload // "": Transact
	// Addr is the server, host:port. For the TCP workloads "" starts an
	// in-process EchoServer on loopback.
	Addr string
	Pipe string // pipe name; "": "echo"
	// Client is the session's configuration (zero: anonymous, any
	// dialect). Its credentials and RequireSigning make signed sessions.
	Client client.Config

	Concurrency int           // workers (Sessions: sessions); 0: 1
	Duration    time.Duration // how long to run; 0: 5s unless Count is set
	Count       int64         // total ops over all workers; 0: use Duration

	// Size is the message size in bytes (0: 64). Ignored when RPC is set.
	Size int
	// RPC sends a DCE/RPC bind (SrvsvcBind) once on every open pipe and
	// then SrvsvcGetInfo as the message (68 bytes): the same bytes go to
	// Samba's srvsvc pipe and to smbpipe's echo pipe. For TCP it sets
	// the message size to 68.
	RPC bool
	// RPCEcho binds Samba's rpcecho interface (EchoBind; smbpipe's
	// backend "rpcecho") once on every open pipe and then calls EchoData
	// with Size bytes (at most 4 KiB, one fragment each way) as the
	// message; the reply must be the RESPONSE carrying them back. For
	// comparing a bound RPC call with a raw transact of the same payload.
	RPCEcho bool
	// StreamChunk is the write size of the stream workloads (0: 1 MiB).
	StreamChunk int

	// ServerPID, when not 0, is the server process whose VmRSS the
	// Sessions workload reads before and after opening its sessions.
	ServerPID int
	// SetupParallel bounds how many sessions the Sessions workload opens
	// at once (0: 64).
	SetupParallel int
	// Interval is how often each session of the Sessions workload does
	// its transact (0: every second).
	Interval time.Duration
	// SpreadSources makes the Sessions workload dial session i from its
	// own loopback source address in 127.0.0.0/8 (see SourceAddr) when
	// the server is on loopback, so that tens of thousands of connections
	// do not exhaust one address's ephemeral ports.
	SpreadSources bool
	// RoundTrips is the number of ping-pongs per TCPConnect op (0: 7,
	// the request round trips of a Connect op).
	RoundTrips int

	// Progress, when not nil, receives a progress line every
	// ProgressEvery (0: 1s) during the run.
	Progress      io.Writer
	ProgressEvery time.Duration
}

// Result is what Run measured. Durations are in nanoseconds in JSON.
type Result struct {
	Workload    Workload `json:"workload"`
	Target      string   `json:"target"`
	Pipe        string   `json:"pipe,omitempty"`
	Dialect     string   `json:"dialect,omitempty"`
	Signed      bool     `json:"signed"`
	Cipher      string   `json:"cipher,omitempty"` // the session encrypts with it (Options.Client.Encryption)
	RPC         bool     `json:"rpc"`
	RPCEcho     bool     `json:"rpc_echo,omitempty"`
	Concurrency int      `json:"concurrency"`
	Size        int      `json:"size"` // bytes per message or stream write

	Ops        uint64        `json:"ops"`
	Errors     uint64        `json:"errors"`
	FirstError string        `json:"first_error,omitempty"`
	Bytes      int64         `json:"bytes"` // payload bytes sent
	Elapsed    time.Duration `json:"elapsed_ns"`
	OpsPerSec  float64       `json:"ops_per_sec"`
	MBPerSec   float64       `json:"mb_per_sec"` // Bytes/Elapsed in 10^6 B/s

	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
	Mean time.Duration `json:"mean_ns"`

	// Sessions workload.
	SessionsOpen    int   `json:"sessions_open,omitempty"`
	SessionsFailed  int   `json:"sessions_failed,omitempty"`
	ServerRSSBefore int64 `json:"server_rss_before,omitempty"`
	ServerRSSAfter  int64 `json:"server_rss_after,omitempty"`
	RSSPerSession   int64 `json:"rss_per_session,omitempty"`
}

// withDefaults returns a copy of o with zero fields defaulted, validated.
func (o Options) withDefaults() (Options, error) {
	if o.Workload == "" {
		o.Workload = Transact
	}
	known := false
	for _, w := range AllWorkloads() {
		known = known || w == o.Workload
	}
	if !known {
		return o, fmt.Errorf("bench: unknown workload %q", o.Workload)
	}
	if o.Addr == "" && !o.Workload.isTCP() {
		return o, errors.New("bench: no server address")
	}
	if o.Pipe == "" {
		o.Pipe = "echo"
	}
	if o.Concurrency == 0 {
		o.Concurrency = 1
	}
	if o.Concurrency < 0 || o.Count < 0 || o.Duration < 0 || o.Size < 0 || o.StreamChunk < 0 || o.SetupParallel < 0 ||
		o.Interval < 0 || o.RoundTrips < 0 {
		return o, errors.New("bench: negative concurrency, count, duration or size")
	}
	if o.Duration == 0 && o.Count == 0 {
		o.Duration = 5 * time.Second
	}
	if o.Workload == Sessions && o.Duration == 0 {
		return o, errors.New("bench: the sessions workload needs a duration")
	}
	if o.Size == 0 {
		o.Size = 64
	}
	if o.RPC {
		o.Size = len(SrvsvcGetInfo())
	}
	if o.RPCEcho && (o.RPC || o.Size > 4096 || o.Workload != Transact && o.Workload != WriteRead) {
		return o, errors.New("bench: RPCEcho takes transact or writeread, at most 4 KiB, without RPC")
	}
	if o.StreamChunk == 0 {
		o.StreamChunk = 1 << 20
	}
	if o.Workload == Stream || o.Workload == TCPStream {
		o.Size = o.StreamChunk
	}
	if o.SetupParallel == 0 {
		o.SetupParallel = 64
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.RoundTrips == 0 {
		o.RoundTrips = connectRoundTrips
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
	return o, nil
}

// Run runs one workload and returns what it measured. It returns an error
// when the workload cannot start (bad options, no server, a worker whose
// setup failed) or when no operation succeeded; failures of single
// operations are counted in Result.Errors. Cancelling ctx ends the run
// early; the figures of the operations done so far are returned
// without error when there were any.
func Run(ctx context.Context, opts Options) (*Result, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	res := &Result{
		Workload:    o.Workload,
		Target:      o.Addr,
		Concurrency: o.Concurrency,
		Size:        o.Size,
		RPC:         o.RPC,
		RPCEcho:     o.RPCEcho,
	}
	if !o.Workload.isTCP() {
		res.Pipe = o.Pipe
		if o.Workload == Connect || o.Workload == Echo || o.Workload == Setup {
			res.Pipe = ""
		}
	}
	if err := kerberosTicket(&o); err != nil {
		return nil, err
	}
	if o.Workload == Sessions {
		return res, runSessions(ctx, &o, res)
	}
	if o.Workload.isTCP() && o.Addr == "" {
		srv, addr, err := startEchoServer()
		if err != nil {
			return nil, err
		}
		defer srv.Close()
		o.Addr = addr
		res.Target = addr + " (in-process)"
	}
	var setup setupFunc
	switch o.Workload {
	case Connect:
		setup = setupConnect
	case Setup:
		setup = setupSetup
	case Transact, WriteRead:
		setup = setupTransact
	case Stream:
		setup = setupStream
	case Echo:
		setup = setupEcho
	case TCP:
		setup = setupTCP
	case TCPStream:
		setup = setupTCPStream
	case TCPConnect:
		setup = setupTCPConnect
	}
	return res, runWorkers(ctx, &o, res, setup)
}

// A worker is one client's state: op runs one operation and returns the
// payload bytes it sent; persistent means an op failure ends the worker
// (its connection is suspect); close releases everything.
type worker struct {
	op         func(ctx context.Context) (int64, error)
	close      func()
	persistent bool
	dialect    string
	signed     bool
	cipher     string // the session encrypts with it; "" in clear
}

type setupFunc func(ctx context.Context, o *Options) (*worker, error)

// counters are shared by the workers of one run.
type counters struct {
	ops, errs atomic.Uint64
	bytes     atomic.Int64
	claimed   atomic.Int64 // ops claimed in Count mode
	stop      atomic.Bool
	mu        sync.Mutex
	firstErr  error
}

func (c *counters) fail(err error) {
	c.errs.Add(1)
	c.mu.Lock()
	if c.firstErr == nil {
		c.firstErr = err
	}
	c.mu.Unlock()
}

// setupLimit bounds the setup of a run's workers (more for many workers).
const setupLimit = 60 * time.Second

// runWorkers sets up o.Concurrency workers, starts them together, runs
// until the duration or count is reached, and fills res.
func runWorkers(ctx context.Context, o *Options, res *Result, setup setupFunc) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := make([]*worker, o.Concurrency)
	errs := make([]error, o.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { workers[i], errs[i] = setup(ctx, o) })
	}
	// A server that never answers a setup request (one answered only with
	// an interim response waits without a request timeout) fails the run
	// instead of hanging it.
	limit := max(setupLimit, time.Duration(o.Concurrency)*10*time.Millisecond)
	expired := time.AfterFunc(limit, cancel)
	wg.Wait()
	defer func() {
		var cw sync.WaitGroup
		for _, w := range workers {
			if w != nil {
				cw.Go(w.close)
			}
		}
		cw.Wait()
	}()
	if !expired.Stop() {
		return fmt.Errorf("bench: %s setup did not finish within %v", o.Workload, limit)
	}
	var live int
	var setupErr error
	for i, w := range workers {
		if errs[i] != nil {
			setupErr = errors.Join(setupErr, errs[i])
			continue
		}
		live++
		res.Dialect, res.Signed, res.Cipher = w.dialect, w.signed, w.cipher
	}
	if setupErr != nil {
		// A benchmark with fewer workers than asked measures something
		// else: fail rather than report it.
		return fmt.Errorf("bench: %s setup: %w", o.Workload, setupErr)
	}

	var c counters
	hists := make([]*Histogram, len(workers))
	start := time.Now()
	if o.Duration > 0 && o.Count == 0 {
		t := time.AfterFunc(o.Duration, func() { c.stop.Store(true) })
		defer t.Stop()
	}
	stopProgress := progress(o, &c, start)
	for i, w := range workers {
		hists[i] = new(Histogram)
		wg.Go(func() { loop(ctx, o, w, hists[i], &c) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()

	var h Histogram
	for _, x := range hists {
		h.Merge(x)
	}
	fill(res, &h, &c, elapsed)
	if ctx.Err() != nil && res.Ops == 0 {
		return ctx.Err()
	}
	if res.Ops == 0 {
		return fmt.Errorf("bench: %s: no operation succeeded: %v", o.Workload, c.firstErr)
	}
	return nil
}

// loop runs w's ops until the run ends, recording each latency in h.
func loop(ctx context.Context, o *Options, w *worker, h *Histogram, c *counters) {
	for !c.stop.Load() && ctx.Err() == nil {
		if o.Count > 0 && c.claimed.Add(1) > o.Count {
			return
		}
		t0 := time.Now()
		n, err := w.op(ctx)
		d := time.Since(t0)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.fail(err)
			if w.persistent {
				return
			}
			continue
		}
		h.Record(d)
		c.ops.Add(1)
		c.bytes.Add(n)
	}
}

// fill copies the run's measurements into res.
func fill(res *Result, h *Histogram, c *counters, elapsed time.Duration) {
	res.Ops = c.ops.Load()
	res.Errors = c.errs.Load()
	if c.firstErr != nil {
		res.FirstError = c.firstErr.Error()
	}
	res.Bytes = c.bytes.Load()
	res.Elapsed = elapsed
	if s := elapsed.Seconds(); s > 0 {
		res.OpsPerSec = float64(res.Ops) / s
		res.MBPerSec = float64(res.Bytes) / s / 1e6
	}
	res.P50, res.P99, res.Max, res.Mean = h.Quantile(0.50), h.Quantile(0.99), h.Max(), h.Mean()
}

// progress prints a line to o.Progress every o.ProgressEvery until the
// returned function is called.
func progress(o *Options, c *counters, start time.Time) (stop func()) {
	if o.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(o.ProgressEvery)
		defer t.Stop()
		last, lastT := uint64(0), start
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				ops := c.ops.Load()
				rate := float64(ops-last) / now.Sub(lastT).Seconds()
				fmt.Fprintf(o.Progress, "bench: %s %5.1fs %d ops, %.0f ops/s now, %d errors\n",
					o.Workload, now.Sub(start).Seconds(), ops, rate, c.errs.Load())
				last, lastT = ops, now
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
