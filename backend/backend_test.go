package backend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/pipe"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	msgDuplex  = pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex}
	byteDuplex = pipe.Config{Direction: pipe.Duplex}
)

// serve creates pipe "p" served by h; the cleanup closes the listener and
// waits for Serve to return.
func serve(t *testing.T, cfg pipe.Config, h Handler) *pipe.Namespace {
	t.Helper()
	ns := new(pipe.Namespace)
	l, err := ns.Create("p", cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(l, h) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ns
}

func open(t *testing.T, ns *pipe.Namespace, info any) *pipe.End {
	t.Helper()
	c, err := ns.Open("p", info)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readUntilEnd reads messages until the end of the pipe and returns them.
func readUntilEnd(t *testing.T, c *pipe.End) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var msgs []string
	for {
		m, err := c.AppendMessage(ctx, nil)
		if errors.Is(err, pipe.ErrBroken) {
			return msgs
		}
		if err != nil {
			t.Fatalf("read: %v (after %q)", err, msgs)
		}
		msgs = append(msgs, string(m))
	}
}

func TestEchoMessages(t *testing.T) {
	ns := serve(t, msgDuplex, EchoHandler())
	c := open(t, ns, nil)
	long := strings.Repeat("0123456789", 20000) // larger than the echo buffer and the quota
	tests := []struct{ name, msg string }{
		{"short", "ping"},
		{"empty", ""},
		{"one byte", "x"},
		{"long", long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A message longer than the quota is read in place from the
			// writer, which returns once the reflection is read: write and
			// read at the same time.
			wrote := make(chan error, 1)
			go func() {
				_, err := c.Write([]byte(tt.msg))
				wrote <- err
			}()
			got, err := c.AppendMessage(context.Background(), nil)
			if err != nil || string(got) != tt.msg {
				t.Fatalf("echo = %d bytes %v, want %d", len(got), err, len(tt.msg))
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
			out := make([]byte, len(tt.msg))
			n, more, err := c.Transceive(context.Background(), []byte(tt.msg), out)
			if err != nil || more || string(out[:n]) != tt.msg {
				t.Fatalf("Transceive = %d %v %v", n, more, err)
			}
		})
	}
}

func TestEchoBytes(t *testing.T) {
	ns := serve(t, byteDuplex, EchoHandler())
	c := open(t, ns, nil)
	data := bytes.Repeat([]byte("abc"), 50000)
	go c.Write(data)
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFull: %v", err)
	}
}

func TestEchoManyClients(t *testing.T) {
	ns := serve(t, msgDuplex, EchoHandler())
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			c, err := ns.Open("p", nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			out := make([]byte, 64)
			for j := range 50 {
				msg := []byte(strings.Repeat("m", (i+j)%64))
				n, _, err := c.Transceive(context.Background(), msg, out)
				if err != nil || !bytes.Equal(out[:n], msg) {
					t.Errorf("client %d: %q %v", i, out[:n], err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestEchoListenerCloseKeepsInstances(t *testing.T) {
	ns := new(pipe.Namespace)
	l, _ := ns.Create("p", msgDuplex)
	done := make(chan error, 1)
	go func() { done <- Echo(l) }()
	c := open(t, ns, nil)
	out := make([]byte, 8)
	if _, _, err := c.Transceive(context.Background(), []byte("a"), out); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := <-done; err != nil {
		t.Fatalf("Echo returned %v", err)
	}
	if _, err := ns.Open("p", nil); !errors.Is(err, pipe.ErrNotFound) {
		t.Fatalf("Open after close: %v", err)
	}
	if n, _, err := c.Transceive(context.Background(), []byte("still"), out); err != nil || string(out[:n]) != "still" {
		t.Fatalf("open instance after listener close: %q %v", out[:n], err)
	}
}

func TestEchoAllocs(t *testing.T) {
	ns := serve(t, msgDuplex, EchoHandler())
	c := open(t, ns, nil)
	in, out := make([]byte, 1024), make([]byte, 1024)
	ctx := context.Background()
	c.Transceive(ctx, in, out)
	if a := testing.AllocsPerRun(200, func() { c.Transceive(ctx, in, out) }); a != 0 {
		t.Fatalf("%v allocs per echoed message", a)
	}
}

// startEchoServer serves l with an io.Copy echo per connection; it returns
// a channel that reports each connection's end.
func startEchoServer(t *testing.T, l net.Listener) <-chan struct{} {
	t.Helper()
	ended := make(chan struct{}, 16)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				io.Copy(conn, conn)
				conn.Close()
				ended <- struct{}{}
			})
		}
	})
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return ended
}

func TestStreamBackends(t *testing.T) {
	tests := []struct {
		name   string
		listen func(t *testing.T) (net.Listener, string)
	}{
		{"tcp", func(t *testing.T) (net.Listener, string) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			return l, "tcp:" + l.Addr().String()
		}},
		{"unix", func(t *testing.T) (net.Listener, string) {
			path := filepath.Join(t.TempDir(), "echo.sock")
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Skip("no unix sockets:", err)
			}
			return l, "unix:" + path
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, spec := tt.listen(t)
			ended := startEchoServer(t, ln)
			h, err := FromSpec(spec, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if s := h.(*Stream).String(); s != spec {
				t.Errorf("String() = %q", s)
			}
			ns := serve(t, msgDuplex, h)

			// Each open gets its own connection; bytes go both ways.
			c1, c2 := open(t, ns, nil), open(t, ns, nil)
			for i, c := range []*pipe.End{c1, c2} {
				msg := []byte(strings.Repeat("x", i+1) + "hello")
				if _, err := c.Write(msg); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, 0, 64)
				for len(got) < len(msg) { // the stream may split it
					buf := make([]byte, 64)
					n, err := c.Read(buf)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, buf[:n]...)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("conn %d echoed %q", i, got)
				}
			}
			// The client closing closes the backend connection.
			c1.Close()
			select {
			case <-ended:
			case <-time.After(5 * time.Second):
				t.Fatal("backend connection not closed after the client closed")
			}
		})
	}
}

func TestStreamBackendCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { // says goodbye and hangs up
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		conn.Write([]byte("bye"))
		conn.Close()
	})
	defer func() { ln.Close(); wg.Wait() }()
	h, _ := FromSpec("tcp:"+ln.Addr().String(), slog.New(slog.DiscardHandler))
	ns := serve(t, msgDuplex, h)
	c := open(t, ns, nil)
	if got := readUntilEnd(t, c); !slices.Equal(got, []string{"bye"}) {
		t.Fatalf("got %q, want [bye] then ErrBroken", got)
	}
}

func TestStreamDialFails(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	h, _ := FromSpec("tcp:"+addr, slog.New(slog.DiscardHandler))
	ns := serve(t, msgDuplex, h)
	c := open(t, ns, nil)
	if got := readUntilEnd(t, c); len(got) != 0 {
		t.Fatalf("got %q", got)
	}
}

func needCommand(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed", name)
	}
}

func TestExecCat(t *testing.T) {
	needCommand(t, "cat")
	h, err := FromSpec("exec:cat", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ns := serve(t, msgDuplex, h)
	c := open(t, ns, nil)
	for _, msg := range []string{"hello", strings.Repeat("z", 10000)} {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		var got []byte
		for len(got) < len(msg) {
			m, err := c.AppendMessage(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m...)
		}
		if string(got) != msg {
			t.Fatalf("cat echoed %d bytes, want %d", len(got), len(msg))
		}
	}
	c.Close()
	waitInstances(t, ns, 0) // the handler reaped cat and closed the server end
}

// waitInstances waits until pipe "p" has n open instances.
func waitInstances(t *testing.T, ns *pipe.Namespace, n int) {
	t.Helper()
	p, _ := ns.Lookup("p")
	deadline := time.Now().Add(5 * time.Second)
	for p.Instances() != n {
		if time.Now().After(deadline) {
			t.Fatalf("instances = %d, want %d", p.Instances(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestExecEnv(t *testing.T) {
	needCommand(t, "sh")
	h, err := FromSpec(`exec:sh -c "env | grep ^SMBPIPE_ | sort"`, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		caller any
		want   []string
	}{
		{"anonymous", &pipe.Caller{Anonymous: true, ClientAddr: "127.0.0.1:40000", SIDs: []string{"S-1-5-7"}}, []string{
			"SMBPIPE_ANONYMOUS=1", "SMBPIPE_CLIENT_ADDR=127.0.0.1:40000", "SMBPIPE_DOMAIN=",
			"SMBPIPE_PIPE=p", "SMBPIPE_SIDS=S-1-5-7", "SMBPIPE_USER=",
		}},
		{"alice", pipe.Caller{User: "alice", Domain: "WORKGROUP", ClientAddr: "127.0.0.1:40001", SIDs: []string{"S-1-5-21-1-2-3-1000", "S-1-1-0"}}, []string{
			"SMBPIPE_ANONYMOUS=0", "SMBPIPE_CLIENT_ADDR=127.0.0.1:40001", "SMBPIPE_DOMAIN=WORKGROUP",
			"SMBPIPE_PIPE=p", "SMBPIPE_SIDS=S-1-5-21-1-2-3-1000,S-1-1-0", "SMBPIPE_USER=alice",
		}},
		{"no identity", nil, []string{"SMBPIPE_PIPE=p"}},
	}
	ns := serve(t, byteDuplex, h)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := open(t, ns, tt.caller)
			out := strings.Join(readUntilEnd(t, c), "")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			for _, want := range tt.want {
				if !slices.Contains(lines, want) {
					t.Errorf("env lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestExecStderrLogged(t *testing.T) {
	needCommand(t, "sh")
	var logs testlog.Buffer
	h, err := FromSpec(`exec:sh -c 'echo oops >&2; printf partial >&2'`, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ns := serve(t, msgDuplex, h)
	c := open(t, ns, nil)
	readUntilEnd(t, c)
	c.Close()
	// The unterminated last line is logged once the process is reaped.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "line=partial") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for _, want := range []string{"line=oops", "line=partial"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestExecKilledOnClose(t *testing.T) {
	needCommand(t, "sleep")
	h, _ := FromSpec("exec:sleep 60", slog.New(slog.DiscardHandler))
	ns := serve(t, msgDuplex, h)
	c := open(t, ns, nil)
	time.Sleep(20 * time.Millisecond) // let it start
	start := time.Now()
	c.Close()
	waitInstances(t, ns, 0)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("process ended %v after close", d)
	}
}

func TestExecStartFails(t *testing.T) {
	h, _ := FromSpec("exec:/nonexistent/command", slog.New(slog.DiscardHandler))
	ns := serve(t, msgDuplex, h)
	c := open(t, ns, nil)
	if got := readUntilEnd(t, c); len(got) != 0 {
		t.Fatalf("got %q", got)
	}
}

// TestBackendNotReadingEndsWithClient: a backend that never reads (a
// process ignoring its stdin, a TCP server that never reads) is closed
// once its client closes, instead of blocking the copy, and with it the
// process's reaping, until the backend ends on its own.
func TestBackendNotReadingEndsWithClient(t *testing.T) {
	needCommand(t, "sleep")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { // accepts and never reads
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		<-stop
		conn.Close()
	})
	defer func() {
		close(stop)
		ln.Close()
		wg.Wait()
	}()
	for _, spec := range []string{"exec:sleep 60", "tcp:" + ln.Addr().String()} {
		t.Run(spec, func(t *testing.T) {
			h, _ := FromSpec(spec, slog.New(slog.DiscardHandler))
			ns := serve(t, byteDuplex, h)
			c := open(t, ns, nil)
			// Write until the backend's buffers and the pipe's quota are
			// full.
			chunk := make([]byte, 64<<10)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			for blocked := false; !blocked; {
				c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
				_, err := c.WriteContext(ctx, chunk)
				blocked = errors.Is(err, os.ErrDeadlineExceeded)
				if err != nil && !blocked {
					t.Fatal(err)
				}
			}
			start := time.Now()
			c.Close()
			waitInstances(t, ns, 0)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("backend ended %v after the client closed", d)
			}
		})
	}
}
