// Package robust runs hostile and overloading clients against a live,
// in-process smbpipe server over loopback: malformed frames and messages,
// limits, and authentication attacks. Each case ends with the right status
// or the close of that one connection; a well-behaved client on the same
// server keeps working throughout, and goroutines and memory return to
// their baseline.
package robust

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/metrics"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/server"
	"github.com/smbpipe/smbpipe/smb2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	anon  = client.Config{}
	alice = client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP"}
)

type testServer struct {
	srv     *server.Server
	addr    string
	log     *testlog.Buffer
	metrics *metrics.Prometheus
}

// start runs a server until the test ends with the alice/echo test config
// (testserver.AliceEcho: anonymous and alice may use "echo") and extra in
// front of it (top-level keys: guest = ..., signing = ...; or a [limits]
// table).
func start(t *testing.T, extra string) *testServer {
	t.Helper()
	snap := testserver.Snapshot(t, extra+"\n"+testserver.AliceEcho, "robust.toml")
	ts := &testServer{log: &testlog.Buffer{}, metrics: metrics.New()}
	var err error
	ts.srv, err = server.New(server.Options{Snapshot: snap, Logger: slog.New(slog.NewTextHandler(ts.log, nil)), Metrics: ts.metrics})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: this one after the server has stopped.
	t.Cleanup(func() {
		if strings.Contains(ts.log.String(), "panic") {
			t.Errorf("the server logged a panic:\n%s", ts.log)
		}
	})
	ts.addr = testserver.Serve(t, ts.srv)
	return ts
}

// metric returns the value of a counter or gauge sample of the server,
// e.g. `smbpipe_limit_hits_total{limit="max_message_size"}`.
func (ts *testServer) metric(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := ts.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	base, label, _ := strings.Cut(strings.TrimSuffix(name, "}"), "{")
	for _, mf := range mfs {
		if mf.GetName() != base {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			if strings.Join(ls, ",") != label {
				continue
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// dial connects, negotiates, sets up a session and connects IPC$; the
// Conn is closed at cleanup.
var dial = testclient.Dial

// negotiated returns a connection that negotiated and did nothing else.
var negotiated = testclient.Negotiated

// rawDial opens a plain TCP connection to the server.
func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// frame prefixes payload with a transport header.
func frame(payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload))
	b = append(b, payload...)
	smb2.PutFrameLength(b)
	return b
}

// message encodes one request.
func message(h smb2.Header, body []byte) []byte {
	b := h.Append(nil)
	return append(b, body...)
}

// readFrame reads one frame from nc, waiting at most 10 s, and returns
// its payload (no transport header); what says which response the
// failure of the first read was waiting for.
func readFrame(t *testing.T, nc net.Conn, what string) []byte {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var fh [4]byte
	if _, err := io.ReadFull(nc, fh[:]); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	n, err := smb2.FrameLength(fh)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(nc, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// readStatus reads one response frame from nc and returns its first
// header's status; closed reports that the server closed the connection.
func readStatus(t *testing.T, nc net.Conn) (st ntstatus.Status, closed bool) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil {
		if isTimeout(err) {
			t.Fatal("no response and no close within 10s")
		}
		return 0, true
	}
	n, err := smb2.FrameLength(hdr)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(nc, b); err != nil {
		return 0, true
	}
	var h smb2.Header
	if err := h.Decode(b); err != nil {
		t.Fatalf("undecodable response: %v", err)
	}
	return h.Status, false
}

// expectClosed waits until the server closes nc (reading and discarding
// anything it still sends).
func expectClosed(t *testing.T, nc net.Conn, within time.Duration) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, nc)
	if isTimeout(err) {
		t.Fatalf("the server did not close the connection within %v", within)
	}
}

// expectConnGone checks that the server dropped a client Conn.
func expectConnGone(t *testing.T, c *client.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Echo(ctx); err == nil {
		t.Fatal("the connection still answers ECHO; want it closed")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("ECHO timed out; want the connection closed")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// raw sends one request on c and returns its status.
func raw(t *testing.T, c *client.Conn, req *client.RawRequest) ntstatus.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := c.RoundTrip(ctx, req)
	if err != nil {
		t.Fatalf("%v: %v", req.Header.Command, err)
	}
	return resp.Header.Status
}

// transact checks one round trip on the well-behaved client's pipe.
func transact(t *testing.T, p *client.Pipe, i int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	in := fmt.Appendf(nil, "ping %d", i)
	out := make([]byte, 64)
	n, _, err := p.Transact(ctx, in, out)
	if err != nil || !bytes.Equal(out[:n], in) {
		t.Fatalf("the well-behaved client's transact %d: %q, %v", i, out[:n], err)
	}
}

// settle waits until the number of goroutines is at most want, and fails
// the test after a bound. The server's idle aside workers (at most 8, kept
// between handshakes with their grown stacks, ended by Close) are not
// counted: whether the test's g0 saw them depends on whether a connection
// came first, and they are bounded, not per connection.
func settle(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, aside, stacks := goroutines()
		if aside > 8 {
			t.Fatalf("%d idle aside workers, want at most 8:\n%s", aside, stacks)
		}
		if n <= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines besides %d aside workers, want at most %d:\n%s", n, aside, want, stacks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// goroutines counts the goroutines that are not the server's aside
// workers, and those, from a dump of every stack.
func goroutines() (n, aside int, stacks []byte) {
	buf := make([]byte, 1<<20)
	for {
		m := runtime.Stack(buf, true)
		if m < len(buf) {
			buf = buf[:m]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if len(bytes.TrimSpace(g)) == 0 {
			continue
		}
		if bytes.Contains(g, []byte("server.(*asidePool).worker")) {
			aside++
		} else {
			n++
		}
	}
	return n, aside, buf
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// baseline is the goroutine count settle compares with: every goroutine
// but the server's idle aside workers.
func baseline() int {
	n, _, _ := goroutines()
	return n
}
