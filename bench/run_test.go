package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestRunWorkloads runs every workload briefly against our server (and the
// TCP ones against the in-process echo server) and checks the figures.
func TestRunWorkloads(t *testing.T) {
	addr := startServer(t)
	tests := []struct {
		name string
		o    Options
	}{
		{"connect", Options{Workload: Connect, Count: 5}},
		{"transact 64", Options{Workload: Transact, Count: 200}},
		{"transact 64KiB c2", Options{Workload: Transact, Size: 64 << 10, Concurrency: 2, Count: 50}},
		{"transact rpc", Options{Workload: Transact, RPC: true, Count: 100}},
		{"transact signed", Options{Workload: Transact, Client: aliceConfig, Count: 100}},
		{"transact rpc encrypted", Options{Workload: Transact, RPC: true, Client: aliceEncrypted, Count: 100}},
		{"transact 2.0.2", Options{Workload: Transact, Client: client.Config{MinDialect: 0x0202, MaxDialect: 0x0202}, Count: 50}},
		{"writeread", Options{Workload: WriteRead, Count: 100}},
		{"writeread rpc", Options{Workload: WriteRead, RPC: true, Count: 100}},
		{"transact rpcecho", Options{Workload: Transact, RPCEcho: true, Pipe: "rpcecho", Client: aliceConfig, Count: 100}},
		{"writeread rpcecho 4KiB", Options{Workload: WriteRead, RPCEcho: true, Pipe: "rpcecho", Size: 4096, Client: aliceConfig, Count: 50}},
		{"echo", Options{Workload: Echo, Concurrency: 3, Count: 300}},
		{"stream", Options{Workload: Stream, StreamChunk: 256 << 10, Count: 20}},
		{"stream by duration", Options{Workload: Stream, Duration: 200 * time.Millisecond}},
		{"tcp", Options{Workload: TCP, Count: 500}},
		{"tcp rpc size", Options{Workload: TCP, RPC: true, Duration: 100 * time.Millisecond}},
		{"tcp-stream", Options{Workload: TCPStream, Count: 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			if o.Workload != TCP && o.Workload != TCPStream {
				o.Addr = addr
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			res, err := Run(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 {
				t.Fatalf("%d errors, first: %s", res.Errors, res.FirstError)
			}
			if o.Count > 0 && res.Ops != uint64(o.Count) {
				t.Errorf("ops %d, want %d", res.Ops, o.Count)
			}
			if res.Ops == 0 || res.OpsPerSec <= 0 || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
				t.Errorf("implausible figures: %+v", res)
			}
			if o.Workload != TCP && o.Workload != TCPStream && res.Dialect == "" {
				t.Error("no dialect reported")
			}
			if o.Client.RequireSigning != res.Signed {
				t.Errorf("signed = %v", res.Signed)
			}
			if want := map[bool]string{true: "AES-256-GCM"}[o.Client.Encryption == client.EncryptionRequired]; res.Cipher != want {
				t.Errorf("cipher %q, want %q", res.Cipher, want)
			}
			if o.RPC && res.Size != len(SrvsvcGetInfo()) {
				t.Errorf("rpc size %d", res.Size)
			}
			var text, tsv bytes.Buffer
			if err := res.WriteText(&text); err != nil || !strings.Contains(text.String(), "ops/s") {
				t.Errorf("text: %q, %v", text.String(), err)
			}
			if err := res.WriteTSV(&tsv); err != nil || strings.Count(tsv.String(), "\t") != strings.Count(TSVHeader, "\t") {
				t.Errorf("tsv: %q, %v", tsv.String(), err)
			}
			if _, err := json.Marshal(res); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRunSessions(t *testing.T) {
	addr := startServer(t)
	var progress bytes.Buffer
	res, err := Run(t.Context(), Options{
		Workload:      Sessions,
		Addr:          addr,
		Concurrency:   50,
		Duration:      1500 * time.Millisecond,
		ServerPID:     os.Getpid(),
		Progress:      &progress,
		ProgressEvery: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.SessionsOpen != 50 || res.SessionsFailed != 0 || res.Errors != 0 {
		t.Fatalf("open %d failed %d errors %d (%s)", res.SessionsOpen, res.SessionsFailed, res.Errors, res.FirstError)
	}
	// One transact per session per second over 1.5 s: one or two each.
	if res.Ops < 50 || res.Ops > 100 {
		t.Errorf("%d transacts, want 50 to 100", res.Ops)
	}
	if res.ServerRSSBefore <= 0 || res.ServerRSSAfter <= 0 {
		t.Errorf("RSS not read: %+v", res)
	}
	if !strings.Contains(progress.String(), "50 open") {
		t.Errorf("progress: %q", progress.String())
	}
}

func TestRunErrors(t *testing.T) {
	addr := startServer(t)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no address", Options{Workload: Transact}, "no server address"},
		{"unknown workload", Options{Workload: "nope", Addr: addr}, "unknown workload"},
		{"negative", Options{Addr: addr, Concurrency: -1}, "negative"},
		{"sessions by count", Options{Workload: Sessions, Addr: addr, Count: 3}, "needs a duration"},
		{"pipe anonymous may not open", Options{Addr: addr, Pipe: "nosuchpipe", Count: 1}, "create nosuchpipe"},
		{"wrong password", Options{Addr: addr, Client: client.Config{User: "alice", Password: "x"}, Count: 1}, "LOGON_FAILURE"},
		{"rpc on the echo pipe", Options{Addr: addr, Count: 1, RPC: true, Pipe: "echo"}, ""},
		{"rpcecho on the echo pipe", Options{Addr: addr, Count: 1, RPCEcho: true, Pipe: "echo"}, "not a bind_ack"},
		{"rpcecho too large", Options{Addr: addr, Count: 1, RPCEcho: true, Size: 8192}, "at most 4 KiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(t.Context(), tc.o)
			if tc.want == "" {
				// The echo pipe returns the bind itself: a well-formed
				// PDU, accepted.
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestRunCancel(t *testing.T) {
	addr := startServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Options{Addr: addr, Duration: time.Hour})
	if time.Since(start) > 10*time.Second {
		t.Fatalf("Run ignored the cancelled context")
	}
	if err != nil || res.Ops == 0 {
		t.Fatalf("ops %v, %v", res, err)
	}
}

// aliceEncrypted is aliceConfig sealing with AES-256-GCM.
var aliceEncrypted = func() client.Config {
	c := aliceConfig
	c.Encryption, c.Ciphers = client.EncryptionRequired, []uint16{smb2.CipherAES256GCM}
	return c
}()
