package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
	"github.com/smbpipe/smbpipe/test/mitm"
)

func TestParseDialArgs(t *testing.T) {
	env := func(k string) string {
		if k == "PASSWD" {
			return "fromenv"
		}
		return ""
	}
	noenv := func(string) string { return "" }
	hash := "a4f49c406510bdcab6824ee7c30fd852"
	tests := []struct {
		name    string
		args    []string
		getenv  func(string) string
		wantErr bool
		check   func(t *testing.T, o *dialOptions)
	}{
		{name: "anonymous", args: []string{"//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.User != "" || o.cfg.Password != "" || o.port != 0 || o.idle != time.Second || o.cfg.RequestTimeout != 60*time.Second {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "request timeout", args: []string{"--request-timeout", "2500ms", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.RequestTimeout != 2500*time.Millisecond {
				t.Errorf("request timeout %v", o.cfg.RequestTimeout)
			}
		}},
		{name: "zero request timeout", args: []string{"--request-timeout", "0", "//h/pipe/echo"}, wantErr: true},
		{name: "negative request timeout", args: []string{"--request-timeout=-1s", "//h/pipe/echo"}, wantErr: true},
		{name: "anonymous -U%", args: []string{"-U", "%", `\\h\pipe\echo`}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.User != "" || o.cfg.Password != "" {
				t.Errorf("got user %q pass %q", o.cfg.User, o.cfg.Password)
			}
		}},
		{name: "user and password", args: []string{"-U", "alice%Passw0rd!", "-p", "4450", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.User != "alice" || o.cfg.Password != "Passw0rd!" || o.port != 4450 {
				t.Errorf("got %+v", o.cfg)
			}
		}},
		{name: "password with percent", args: []string{"-U", "alice%a%b", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Password != "a%b" {
				t.Errorf("password %q", o.cfg.Password)
			}
		}},
		{name: "domain backslash", args: []string{`-U`, `WORKGROUP\alice%x`, "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Domain != "WORKGROUP" || o.cfg.User != "alice" {
				t.Errorf("got %+v", o.cfg)
			}
		}},
		{name: "domain slash", args: []string{`-U`, `WG/alice%x`, "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Domain != "WG" || o.cfg.User != "alice" {
				t.Errorf("got %+v", o.cfg)
			}
		}},
		{name: "user at domain", args: []string{`-U`, `alice@WG%x`, "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Domain != "WG" || o.cfg.User != "alice" {
				t.Errorf("got %+v", o.cfg)
			}
		}},
		{name: "-W overrides", args: []string{"-U", `D\alice%x`, "-W", "OTHER", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Domain != "OTHER" {
				t.Errorf("domain %q", o.cfg.Domain)
			}
		}},
		{name: "password from PASSWD", args: []string{"-U", "alice", "//h/pipe/echo"}, getenv: env, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Password != "fromenv" {
				t.Errorf("password %q", o.cfg.Password)
			}
		}},
		{name: "no password", args: []string{"-U", "alice", "//h/pipe/echo"}, wantErr: true},
		{name: "password without user", args: []string{"-U", "%x", "//h/pipe/echo"}, wantErr: true},
		{name: "nt hash", args: []string{"--pw-nt-hash", "-U", "alice%" + hash, "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if len(o.cfg.NTHash) != 16 || o.cfg.Password != "" {
				t.Errorf("got %+v", o.cfg)
			}
		}},
		{name: "bad nt hash", args: []string{"--pw-nt-hash", "-U", "alice%zz", "//h/pipe/echo"}, wantErr: true},
		{name: "dialect", args: []string{"--dialect", "3.0.2", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.MinDialect != smb2.Dialect302 || o.cfg.MaxDialect != smb2.Dialect302 {
				t.Errorf("got %v..%v", o.cfg.MinDialect, o.cfg.MaxDialect)
			}
		}},
		{name: "samba dialect name", args: []string{"--dialect=SMB2_02", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.MaxDialect != smb2.Dialect202 {
				t.Errorf("got %v", o.cfg.MaxDialect)
			}
		}},
		{name: "bad dialect", args: []string{"--dialect", "1.0", "//h/pipe/echo"}, wantErr: true},
		{name: "flags after path", args: []string{"//h/pipe/echo", "-p", "99", "--sign", "--idle", "0"}, check: func(t *testing.T, o *dialOptions) {
			if o.port != 99 || !o.cfg.RequireSigning || o.idle != 0 {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "encrypt", args: []string{"--encrypt", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Encryption != client.EncryptionRequired || o.cfg.Ciphers != nil {
				t.Errorf("encryption %v ciphers %v", o.cfg.Encryption, o.cfg.Ciphers)
			}
		}},
		{name: "ciphers", args: []string{"--encrypt", "--ciphers", "aes-256-gcm, AES-128-CCM", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if !slices.Equal(o.cfg.Ciphers, []uint16{smb2.CipherAES256GCM, smb2.CipherAES128CCM}) {
				t.Errorf("ciphers %v", o.cfg.Ciphers)
			}
		}},
		{name: "unknown cipher", args: []string{"--ciphers", "AES-128-CBC", "//h/pipe/echo"}, wantErr: true},
		{name: "encrypt on 2.1", args: []string{"--encrypt", "--dialect", "2.1", "//h/pipe/echo"}, wantErr: true},
		{name: "no path", args: []string{"-p", "1"}, wantErr: true},
		{name: "two paths", args: []string{"//h/pipe/a", "//h/pipe/b"}, wantErr: true},
		{name: "not a pipe path", args: []string{"//h/IPC$/echo"}, wantErr: true},
		{name: "bad port", args: []string{"-p", "70000", "//h/pipe/echo"}, wantErr: true},
		{name: "unknown flag", args: []string{"-x", "//h/pipe/echo"}, wantErr: true},
		{name: "negative idle", args: []string{"--idle", "-1s", "//h/pipe/echo"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := tt.getenv
			if getenv == nil {
				getenv = noenv
			}
			o, err := parseDialArgs(tt.args, getenv)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", o)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestDialMainConnectFailure(t *testing.T) {
	// Port 1 on loopback: nothing listens; the command fails with exit 1.
	o, err := parseDialArgs([]string{"--timeout", "2s", "//127.0.0.1:1/pipe/echo"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := dialMain(t.Context(), o, bytes.NewReader(nil), &bytes.Buffer{}, &stderr); code != 1 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

const dialTestConfig = `
listen = "127.0.0.1:0"
allow_anonymous = true
signing = "enabled"

[LanmanServer]
RestrictNullSessAccess = 1
NullSessionPipes = ["echo"]

[[account]]
name = "alice"
password = "Passw0rd!"

[[pipe]]
name = "echo"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)"

[[pipe]]
name = "private"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)"
`

// startDialTestServer runs our server in-process on a loopback port.
func startDialTestServer(t *testing.T) string {
	t.Helper()
	return testserver.Start(t, dialTestConfig)
}

func TestDialMain(t *testing.T) {
	addr := startDialTestServer(t)
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "anonymous echo", args: []string{"--idle", "200ms", "//" + addr + "/pipe/echo"}, stdin: "hello\n", wantStdout: "hello\n"},
		{name: "alice signed 2.0.2", args: []string{"-U", "alice%Passw0rd!", "--sign", "--dialect", "2.0.2", "--idle", "200ms", `\\` + addr + `\pipe\echo`}, stdin: "x", wantStdout: "x"},
		{name: "alice private", args: []string{"-U", `WORKGROUP\alice%Passw0rd!`, "--idle", "200ms", "//" + addr + "/pipe/private"}, stdin: "secret", wantStdout: "secret"},
		{name: "anonymous denied", args: []string{"//" + addr + "/pipe/private"}, stdin: "x", wantCode: 1, wantStderr: "STATUS_ACCESS_DENIED"},
		{name: "missing pipe", args: []string{"-U", "alice%Passw0rd!", "//" + addr + "/pipe/nosuch"}, wantCode: 1, wantStderr: "STATUS_OBJECT_NAME_NOT_FOUND"},
		{name: "wrong password", args: []string{"-U", "alice%bad", "//" + addr + "/pipe/echo"}, wantCode: 1, wantStderr: "STATUS_LOGON_FAILURE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseDialArgs(tt.args, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := dialMain(t.Context(), o, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode || stdout.String() != tt.wantStdout || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Fatalf("exit %d stdout %q stderr %q; want %d %q %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

// dialRun is one in-process run of dial.
type dialRun struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// dialWithin runs dialMain with o and stdin, with the client's CancelTimeout
// set to cancel, under a context that ends after limit; expired says the
// context had ended when dialMain returned.
func dialWithin(o *dialOptions, stdin io.Reader, cancel, limit time.Duration) (r dialRun, expired bool) {
	o.cfg.CancelTimeout = cancel
	ctx, stop := context.WithTimeout(context.Background(), limit)
	defer stop()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := dialMain(ctx, o, stdin, &stdout, &stderr)
	return dialRun{code, stdout.String(), stderr.String(), time.Since(start)}, ctx.Err() != nil
}

// runDialT runs dialMain with args (the pipe path last) and stdin, with the
// client's CancelTimeout set to cancel, and fails the test when it has not
// returned after limit.
func runDialT(t *testing.T, args []string, stdin string, cancel, limit time.Duration) dialRun {
	t.Helper()
	o, err := parseDialArgs(args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r, expired := dialWithin(o, strings.NewReader(stdin), cancel, limit)
	if expired {
		t.Fatalf("dial still running after %v (exit %d, stderr %q)", limit, r.code, r.stderr)
	}
	return r
}

// hostileDialects are those issue 19 reproduced dial's failures on.
var hostileDialects = []string{"2.1", "3.0.2", "3.1.1"}

// TestDialHostileServer is issue 19's findings 1 to 3 for dial, signed as
// alice through a man in the middle that changes one reply:
//   - forged data (the READ reply's data replaced, SMB2_FLAGS_SIGNED
//     cleared, and Command set to SESSION_SETUP or SessionId changed) was
//     printed with exit 0: now nothing forged is printed and dial exits 1;
//   - a WRITE reply dropped or malformed left dial waiting for ever, even
//     with --timeout: now it exits 1 within --request-timeout (at once
//     for a malformed one);
//   - a lost READ reply was reported as success (exit 0 after --idle, with
//     nothing printed): now it is exit 1 with the reason.
func TestDialHostileServer(t *testing.T) {
	addr := startDialTestServer(t)
	const payload = "the genuine message, 32 bytes.\n"
	const evil = "THE ATTACKER'S BYTES, 32 BYTES!"
	forge := func(change func(b []byte)) func() mitm.Func {
		return func() mitm.Func {
			return func(f *mitm.Frame) []byte {
				if h, ok := f.Header(); ok && h.Command == smb2.CmdRead && h.Status == ntstatus.Success {
					if i := bytes.Index(f.Data, []byte(payload)); i >= 0 {
						copy(f.Data[i:], evil)
						mitm.Unsign(f.Data)
						change(f.Data)
					}
				}
				return f.Pass()
			}
		}
	}
	// first returns a mitm.Func that changes the first reply to cmd that
	// carries data (a final reply) with change.
	first := func(cmd smb2.Command, change func(f *mitm.Frame) []byte) func() mitm.Func {
		return func() mitm.Func {
			var done bool
			return func(f *mitm.Frame) []byte {
				if h, ok := f.Header(); ok && !done && h.Command == cmd && h.Status != ntstatus.Pending {
					done = true
					return change(f)
				}
				return f.Pass()
			}
		}
	}
	tests := []struct {
		name   string
		fn     func() mitm.Func // a fresh one per run
		stderr string           // in the reason
		within time.Duration    // bound on the run
	}{
		{"forged READ, Command SESSION_SETUP", forge(func(b []byte) { mitm.Put16(b, mitm.OffCommand, uint16(smb2.CmdSessionSetup)) }),
			"protocol error", 5 * time.Second},
		{"forged READ, SessionId changed", forge(func(b []byte) {
			mitm.Put64(b, mitm.OffSessionID, binary.LittleEndian.Uint64(b[mitm.OffSessionID:])^0x100)
		}), "protocol error", 5 * time.Second},
		{"WRITE reply dropped", first(smb2.CmdWrite, func(*mitm.Frame) []byte { return nil }),
			"no reply to WRITE", 5 * time.Second},
		{"WRITE reply without the response flag", first(smb2.CmdWrite, func(f *mitm.Frame) []byte {
			mitm.Put32(f.Data, mitm.OffFlags, binary.LittleEndian.Uint32(f.Data[mitm.OffFlags:])&^smb2.FlagServerToRedir)
			return f.Pass()
		}), "not a response", 3 * time.Second},
		{"WRITE reply with an unknown MessageId", first(smb2.CmdWrite, func(f *mitm.Frame) []byte {
			mitm.Put64(f.Data, mitm.OffMessageID, 999)
			return f.Pass()
		}), "no request in flight", 3 * time.Second},
		{"WRITE reply with a bad StructureSize", first(smb2.CmdWrite, func(f *mitm.Frame) []byte {
			mitm.Put16(f.Data, mitm.OffStructureSize, 65)
			return f.Pass()
		}), "StructureSize", 3 * time.Second},
		{"READ reply lost", first(smb2.CmdRead, func(*mitm.Frame) []byte { return nil }),
			"did not end as cancelled", 6 * time.Second},
	}
	for _, d := range hostileDialects {
		for _, tt := range tests {
			t.Run(d+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				p := mitm.Start(t, addr, tt.fn())
				r := runDialT(t, []string{"-U", "alice%Passw0rd!", "--sign", "--dialect", d, "--idle", "1s",
					"--timeout", "5s", "--request-timeout", "1s", "//" + p.Addr + "/pipe/echo"}, payload, time.Second, 15*time.Second)
				if strings.Contains(r.stdout, "ATTACKER") {
					t.Fatalf("dial printed the attacker's bytes: %q (exit %d)", r.stdout, r.code)
				}
				if r.code != 1 || !strings.Contains(r.stderr, tt.stderr) {
					t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and %q", r.code, r.stdout, r.stderr, tt.stderr)
				}
				if r.took > tt.within {
					t.Fatalf("took %v, want at most %v", r.took, tt.within)
				}
				if !strings.HasPrefix(payload, r.stdout) {
					t.Fatalf("printed %q, not a part of the message", r.stdout)
				}
			})
		}
	}
	t.Run("untouched", func(t *testing.T) {
		p := mitm.Start(t, addr, nil)
		r := runDialT(t, []string{"-U", "alice%Passw0rd!", "--sign", "--idle", "300ms", "--request-timeout", "1s",
			"//" + p.Addr + "/pipe/echo"}, payload, time.Second, 15*time.Second)
		if r.code != 0 || r.stdout != payload {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

// TestDialRandomMutations runs dial as signed alice through a man in the
// middle that changes one server-to-client frame at random per run
// (test/mitm's TestRandomMutations does the same with the Go API), and
// asserts: no panic; nothing printed that is not part of the message
// written (the echo pipe answers with it); exit 0 only with the whole
// message printed (no lost reply reported as success); and an end within
// the request limit, or, for a change that may leave a request waiting
// after an interim response, within the run's context (exit 130, as for
// Ctrl-C, when that context ends it). $MITM_SEED replays a seed.
func TestDialRandomMutations(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MITM_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (MITM_SEED=%d go test -run TestDialRandomMutations ./cmd/smbpipe replays it)", seed, seed)
	runs := 45
	if testing.Short() {
		runs = 15
	}
	const (
		requestTimeout = 2 * time.Second
		cancelTimeout  = 500 * time.Millisecond
		idle           = time.Second
		runLimit       = 8 * time.Second // dial's context
		slack          = 2500 * time.Millisecond
	)
	addr := startDialTestServer(t)
	type result struct {
		name    string
		r       dialRun
		stall   bool
		mutated bool
	}
	results := make([]result, runs)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			d := hostileDialects[i%len(hostileDialects)]
			target := rng.IntN(11)
			res := &results[i]
			var mu sync.Mutex
			p := mitm.Start(t, addr, func(f *mitm.Frame) []byte {
				if f.Index != target {
					return f.Pass()
				}
				out, m := mitm.Mutate(rng, f)
				mu.Lock()
				res.name, res.stall, res.mutated = m.Op, m.Stall, true
				mu.Unlock()
				return out
			})
			payload := make([]byte, 1+rng.IntN(2000))
			for j := range payload {
				payload[j] = 'a' + byte(rng.IntN(26))
			}
			o, err := parseDialArgs([]string{"-U", "alice%Passw0rd!", "--sign", "--dialect", d, "--idle", idle.String(),
				"--timeout", "5s", "--request-timeout", requestTimeout.String(), "//" + p.Addr + "/pipe/echo"}, func(string) string { return "" })
			if err != nil {
				t.Error(err)
				return
			}
			// A run may end with its context (see the exitInterrupted case).
			res.r, _ = dialWithin(o, bytes.NewReader(payload), cancelTimeout, runLimit)
			p.Close()
			stalled := func() bool { // the proxy may still be finishing
				mu.Lock()
				defer mu.Unlock()
				return res.stall
			}
			res.name = fmt.Sprintf("run %d (%s, %s)", i, d, res.name)
			code, stdout, stderr := res.r.code, res.r.stdout, res.r.stderr
			switch {
			case !strings.HasPrefix(string(payload), stdout):
				t.Errorf("%s: FORGED: printed %d bytes that are not the message (exit %d, %s)", res.name, len(stdout), code, stderr)
			case code == 0 && len(stdout) != len(payload):
				t.Errorf("%s: LOST: exit 0 with %d of %d bytes printed", res.name, len(stdout), len(payload))
			case code == exitInterrupted && stalled() && res.r.took >= runLimit-cancelTimeout:
				// A request left waiting after an interim response ends
				// with dial's context, reported as an interrupt is.
			case code != 0 && code != 1:
				t.Errorf("%s: exit %d", res.name, code)
			case code == 1 && stderr == "":
				t.Errorf("%s: exit 1 without a reason", res.name)
			}
		}()
	}
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(runLimit + 60*time.Second):
		t.Fatal("dial runs still running a minute past their context")
	}
	bound := requestTimeout + requestTimeout/8 + idle + cancelTimeout + slack
	// A stalled request ends with dial's context, or, for the CLOSE at
	// the end, with Pipe.Close's own 10 s bound.
	stallBound := max(runLimit, 10*time.Second) + cancelTimeout + slack
	var fails, stalls, mutated int
	var longest, longestStall time.Duration // without and with a stall
	for _, res := range results {
		if res.r.code != 0 {
			fails++
		}
		if res.stall {
			stalls++
		}
		if res.mutated {
			mutated++
		}
		if res.stall {
			longestStall = max(longestStall, res.r.took)
		} else {
			longest = max(longest, res.r.took)
		}
		switch {
		case !res.stall && res.r.took > bound:
			t.Errorf("%s: took %v, past the request limit (%v with slack): %s", res.name, res.r.took, bound, res.r.stderr)
		case res.r.took > stallBound:
			t.Errorf("%s: took %v, past its context (%v with slack): %s", res.name, res.r.took, stallBound, res.r.stderr)
		}
		if os.Getenv("MITM_VERBOSE") != "" {
			t.Logf("%s: exit %d in %v: %s", res.name, res.r.code, res.r.took.Round(time.Millisecond), strings.TrimSpace(res.r.stderr))
		}
	}
	t.Logf("dial: %d runs (%d with a frame mutated) in %v: %d exit 1, %d exit 0 with the whole message; forged or lost 0 unless reported above; longest run %v (limit %v); %d may stall, longest %v (limit %v)",
		runs, mutated, time.Since(start).Round(time.Millisecond), fails, runs-fails, longest.Round(time.Millisecond), bound,
		stalls, longestStall.Round(time.Millisecond), stallBound)
}
