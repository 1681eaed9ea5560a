package mitm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/smb2"
	"github.com/smbpipe/smbpipe/test/mitm"
)

// Limits of the randomized runs: a short request timeout, and an operation
// context long enough to tell a request that expired from one that waited
// for its context.
const (
	mutRequestTimeout = 2 * time.Second
	mutCancelTimeout  = 500 * time.Millisecond
	mutOpTimeout      = 6 * time.Second
	// mutSlack is what a run may take beyond its limits on a loaded
	// machine (two cores, the race detector, sixteen runs at once).
	mutSlack = 2500 * time.Millisecond
)

// mutationSeed returns $MITM_SEED, or a new seed.
func mutationSeed(t *testing.T) uint64 {
	if s := os.Getenv("MITM_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MITM_SEED: %v", err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// apiRun is the outcome of one randomized run of the Go API.
type apiRun struct {
	dialect  smb2.Dialect
	mutation mitm.Mutation
	mutated  bool
	err      error // the first error, nil when every call succeeded
	forged   string
	took     time.Duration
}

// TestRandomMutations runs the Go API as signed alice (2.1, 3.0.2 and 3.1.1
// in turn) through a man in the middle that changes one server-to-client
// frame per connection at random, and asserts: no panic (one would end the
// test binary), no forged data (what a read returns without error is the
// message written, whole; with an error, at most a genuine prefix of it),
// and no hang: every run ends within RequestTimeout, unless the change can
// legitimately leave a request waiting after an interim response (see
// mitm.Mutation.Stall), and then within its context. $MITM_SEED replays a
// run's seed.
func TestRandomMutations(t *testing.T) {
	seed := mutationSeed(t)
	t.Logf("seed %d (MITM_SEED=%d go test -run TestRandomMutations ./test/mitm replays it)", seed, seed)
	runs := 200
	if testing.Short() {
		runs = 50
	}
	addr := testserver.Start(t, testserver.AliceEcho)
	results := make([]apiRun, runs)
	done := make(chan int, runs)
	sem := make(chan struct{}, 16)
	start := time.Now()
	for i := range runs {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = runAPI(t, addr, rand.New(rand.NewPCG(seed, uint64(i))), signedDialects[i%len(signedDialects)])
			done <- i
		}()
	}
	finished := make([]bool, runs)
	for range runs {
		select {
		case i := <-done:
			finished[i] = true
		case <-time.After(60 * time.Second):
			for i, f := range finished {
				if !f {
					t.Errorf("run %d hangs", i)
				}
			}
			t.FailNow()
		}
	}
	tallyRuns(t, "API", time.Since(start), len(results), func(i int) (string, error, string, time.Duration, bool, bool) {
		r := results[i]
		return fmt.Sprintf("run %d (%v, %s)", i, r.dialect, r.mutation.Op), r.err, r.forged, r.took, r.mutation.Stall, r.mutated
	})
}

// runAPI dials through a fresh proxy that mutates one frame chosen by r,
// and writes, reads and transacts random messages.
func runAPI(t *testing.T, addr string, r *rand.Rand, d smb2.Dialect) (res apiRun) {
	res.dialect = d
	target := r.IntN(12)
	var mu sync.Mutex
	p := mitm.Start(t, addr, func(f *mitm.Frame) []byte {
		if f.Conn != 0 || f.Index != target {
			return f.Pass()
		}
		out, m := mitm.Mutate(r, f)
		mu.Lock()
		res.mutation, res.mutated = m, true
		mu.Unlock()
		return out
	})
	defer p.Close()
	payload := func() []byte {
		b := make([]byte, 1+r.IntN(3000))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	msg1, msg2 := payload(), payload()

	start := time.Now()
	defer func() { res.took = time.Since(start) }()
	fail := func(err error) {
		if res.err == nil && err != nil {
			res.err = err
		}
	}
	op := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), mutOpTimeout)
	}
	cfg := aliceSigned(d, mutRequestTimeout)
	cfg.CancelTimeout = mutCancelTimeout

	ctx, cancel := op()
	c, err := client.Dial(ctx, p.Addr, &cfg)
	cancel()
	if err != nil {
		fail(err)
		return res
	}
	defer c.Close()
	ctx, cancel = op()
	pipe, err := c.OpenPipe(ctx, "echo")
	cancel()
	if err != nil {
		fail(err)
		return res
	}
	check := func(what string, want, got []byte, more bool, err error) {
		switch {
		case err == nil && (more || !bytes.Equal(got, want)):
			res.forged = fmt.Sprintf("%s returned %d bytes (more=%v) without error, not the %d written", what, len(got), more, len(want))
		case err != nil && !bytes.HasPrefix(want, got):
			res.forged = fmt.Sprintf("%s returned %d bytes that are not the message written, with %v", what, len(got), err)
		}
		fail(err)
	}
	buf := make([]byte, 8192)
	ctx, cancel = op()
	_, err = pipe.WriteMsg(ctx, msg1)
	cancel()
	fail(err)
	if err == nil {
		ctx, cancel = op()
		n, more, err := pipe.ReadMsg(ctx, buf)
		cancel()
		check("ReadMsg", msg1, buf[:n], more, err)
	}
	ctx, cancel = op()
	n, more, err := pipe.Transact(ctx, msg2, buf)
	cancel()
	check("Transact", msg2, buf[:n], more, err)
	ctx, cancel = op()
	fail(pipe.CloseContext(ctx))
	fail(c.Logoff(ctx))
	cancel()
	return res
}

// tallyRuns checks and summarises randomized runs; get returns run i's
// name, first error, forged-data description, duration, whether its
// mutation may stall a request, and whether a frame was mutated at all.
// $MITM_VERBOSE logs every run.
func tallyRuns(t *testing.T, what string, wall time.Duration, runs int, get func(i int) (name string, err error, forged string, took time.Duration, stall, mutated bool)) {
	t.Helper()
	bound := mutRequestTimeout + mutRequestTimeout/8 + mutSlack
	stallBound := mutOpTimeout + mutCancelTimeout + bound
	var errs, forged, stalls, mutated int
	var maxTook, maxStall time.Duration // longest run, without and with a stall
	kinds := map[string]int{}
	verbose := os.Getenv("MITM_VERBOSE") != ""
	for i := range runs {
		name, err, f, took, stall, mut := get(i)
		if verbose {
			t.Logf("%s: %v in %v", name, err, took.Round(time.Millisecond))
		}
		if mut {
			mutated++
		}
		if err != nil {
			errs++
			kinds[errKind(err)]++
		}
		if f != "" {
			forged++
			t.Errorf("%s: FORGED: %s", name, f)
		}
		if stall {
			stalls++
		}
		if stall {
			maxStall = max(maxStall, took)
		} else {
			maxTook = max(maxTook, took)
		}
		switch {
		case !stall && took > bound:
			t.Errorf("%s: took %v, past the request limit (%v with slack); error %v", name, took, bound, err)
		case stall && took > stallBound:
			t.Errorf("%s: took %v, past its context (%v with slack); error %v", name, took, stallBound, err)
		}
		if !stall && errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: ended by its context, which only a stalled interim may do: %v", name, err)
		}
	}
	var ks []string
	for k, n := range kinds {
		ks = append(ks, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(ks)
	t.Logf("%s: %d runs (%d with a frame mutated) in %v: %d ended with an error %v, %d clean; forged data %d; longest run %v (limit %v); %d may stall, longest %v (limit %v)",
		what, runs, mutated, wall.Round(time.Millisecond), errs, ks, runs-errs, forged, maxTook.Round(time.Millisecond), bound,
		stalls, maxStall.Round(time.Millisecond), stallBound)
}

// errKind names an error's class for the summary.
func errKind(err error) string {
	var se *client.Error
	switch {
	case errors.Is(err, client.ErrSignature):
		return "signature"
	case errors.Is(err, client.ErrRequestTimeout):
		return "request timeout"
	case errors.Is(err, client.ErrAbandoned):
		return "abandoned"
	case errors.Is(err, client.ErrProtocol):
		return "protocol"
	case errors.As(err, &se):
		return "status"
	case errors.Is(err, context.DeadlineExceeded):
		return "context"
	}
	return "other" // transport, NTLM
}
