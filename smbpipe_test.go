package smbpipe_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smbpipe/smbpipe"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rw is an SDDL letting authenticated and anonymous callers read and write.
const rw = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)"

var (
	anon  = client.Config{}
	alice = client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP"}
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testConfig has alice and lets null sessions open the pipes named.
func testConfig(nullPipes ...string) *policy.Config {
	return &policy.Config{
		AllowAnonymous: true,
		LanmanServer:   policy.LanmanServer{RestrictNullSessAccess: 1, NullSessionPipes: nullPipes},
		Accounts:       []policy.Account{{Name: "alice", Password: "Passw0rd!"}},
	}
}

// start serves srv on a loopback port until the test ends.
func start(t *testing.T, srv *smbpipe.Server) string {
	t.Helper()
	if srv.Logger == nil {
		srv.Logger = quiet()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, smbpipe.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// listen creates a pipe and runs serve on every accepted Conn (closing it
// afterwards) until the test ends.
func listen(t *testing.T, srv *smbpipe.Server, name string, cfg *smbpipe.PipeConfig, serve func(*smbpipe.Conn)) net.Listener {
	t.Helper()
	l, err := srv.Listen(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if serve != nil {
					serve(c.(*smbpipe.Conn))
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		srv.Close()
		wg.Wait()
	})
	return l
}

// echo answers every message with itself until the client closes.
func echo(c *smbpipe.Conn) {
	for {
		msg, err := smbpipe.ReadMessage(context.Background(), c, nil)
		if err != nil {
			return
		}
		if _, err := c.Write(msg); err != nil {
			return
		}
	}
}

// namedPipe is a pipe for servePipes to create.
type namedPipe struct {
	name string
	cfg  *smbpipe.PipeConfig
}

// servePipes starts a server with testConfig, serving each of pipes with
// serve until the test ends, and returns it with a connection of alice's.
func servePipes(t *testing.T, serve func(*smbpipe.Conn), pipes ...namedPipe) (*smbpipe.Server, *client.Conn) {
	t.Helper()
	srv := &smbpipe.Server{Config: testConfig()}
	addr := start(t, srv)
	for _, p := range pipes {
		listen(t, srv, p.name, p.cfg, serve)
	}
	return srv, dialConn(t, addr, alice)
}

// holdInto returns a serve function for listen that hands each server end
// to got and keeps it open until the test ends.
func holdInto(t *testing.T, got chan<- *smbpipe.Conn) func(*smbpipe.Conn) {
	return func(c *smbpipe.Conn) {
		got <- c
		<-t.Context().Done()
	}
}

// writeThenClose writes msgs, a message each, on w and closes it; r must
// read them all, in order, although w closed.
func writeThenClose(t *testing.T, ctx context.Context, w io.WriteCloser, r smbpipe.MessageConn, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if _, err := w.Write([]byte(m)); err != nil {
			t.Fatalf("write %q: %v", m, err)
		}
	}
	w.Close()
	for _, want := range msgs {
		if msg, err := smbpipe.ReadMessage(ctx, r, nil); string(msg) != want || err != nil {
			t.Fatalf("read %q %v, want %q", msg, err, want)
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialConn(t *testing.T, addr string, cfg client.Config) *client.Conn {
	t.Helper()
	c, err := client.Dial(ctxT(t), addr, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func open(t *testing.T, c *client.Conn, name string) *client.Pipe {
	t.Helper()
	p, err := c.OpenPipe(ctxT(t), name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// result waits up to 5 s for the error a goroutine sends on ch; at the
// timeout it fails the test with stuck.
func result(t *testing.T, ch <-chan error, stuck string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal(stuck)
		return nil
	}
}

func wantStatus(t *testing.T, what string, err error, st ntstatus.Status) {
	t.Helper()
	if !errors.Is(err, st) {
		t.Fatalf("%s: %v, want %v", what, err, st)
	}
}

// TestListenCaller: an accepted Conn knows its caller; closing the listener
// removes the pipe but accepted connections carry on; Close ends Accept.
func TestListenCaller(t *testing.T) {
	srv := &smbpipe.Server{Config: testConfig("who")}
	addr := start(t, srv)
	l, err := srv.Listen("who", &smbpipe.PipeConfig{MessageMode: true, SecurityDescriptor: rw})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := srv.Listen("WHO", nil); !errors.Is(err, pipe.ErrExists) {
		t.Fatalf("second Listen: %v, want ErrExists", err)
	}
	if _, err := srv.Listen("bad", &smbpipe.PipeConfig{SecurityDescriptor: "D:(X;;;)"}); err == nil {
		t.Fatal("Listen with a bad SDDL succeeded")
	}

	type conns struct {
		c *client.Conn
		p *client.Pipe
		s *smbpipe.Conn
	}
	get := func(cfg client.Config) conns {
		c := dialConn(t, addr, cfg)
		p := open(t, c, "who")
		a, err := l.(*smbpipe.Listener).AcceptConn(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return conns{c, p, a}
	}
	for _, tc := range []struct {
		name string
		cfg  client.Config
		user string
		anon bool
	}{
		{"anonymous", anon, "", true},
		{"alice", alice, "alice", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := get(tc.cfg)
			who := x.s.Caller()
			if who.User != tc.user || who.Anonymous != tc.anon || who.Guest || who.Domain == "" && !tc.anon {
				t.Errorf("caller %+v", who)
			}
			if who.SessionID != x.c.SessionID() || who.ClientAddr != x.c.LocalAddr().String() || len(who.SIDs) == 0 {
				t.Errorf("caller %+v; session %#x from %s", who, x.c.SessionID(), x.c.LocalAddr())
			}
			if tc.anon && who.SIDs[0] != "S-1-5-7" {
				t.Errorf("anonymous SIDs %v", who.SIDs)
			}
			if x.s.LocalAddr().String() != "who" || x.s.LocalAddr().Network() != "pipe" {
				t.Errorf("addr %v", x.s.LocalAddr())
			}
		})
	}

	x := get(alice)
	l.Close()
	if _, err := x.c.OpenPipe(ctxT(t), "who"); !errors.Is(err, ntstatus.ObjectNameNotFound) {
		t.Fatalf("open after listener close: %v", err)
	}
	// The accepted connection carries on.
	if _, err := x.p.Write([]byte("still here")); err != nil {
		t.Fatal(err)
	}
	msg, err := smbpipe.ReadMessage(ctxT(t), x.s, nil)
	if string(msg) != "still here" || err != nil {
		t.Fatalf("server read %q %v", msg, err)
	}
	if _, err := x.s.Write([]byte("ack")); err != nil {
		t.Fatal(err)
	}
	msg, err = smbpipe.ReadMessage(ctxT(t), x.p, nil)
	if string(msg) != "ack" || err != nil {
		t.Fatalf("client read %q %v", msg, err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}

	l2, err := srv.Listen("again", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if _, err := l2.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after server Close: %v", err)
	}
	if _, err := srv.Listen("late", nil); !errors.Is(err, smbpipe.ErrServerClosed) {
		t.Fatalf("Listen after Close: %v", err)
	}
}

// TestMessageAndByteMode: message boundaries, BUFFER_OVERFLOW on a short
// READ with the rest on the next one, byte mode crossing boundaries.
func TestMessageAndByteMode(t *testing.T) {
	got := make(chan *smbpipe.Conn, 16)
	_, c := servePipes(t, holdInto(t, got),
		namedPipe{"msg", &smbpipe.PipeConfig{MessageMode: true, SecurityDescriptor: rw}},
		namedPipe{"bytes", &smbpipe.PipeConfig{SecurityDescriptor: rw}})
	ctx := ctxT(t)

	t.Run("message", func(t *testing.T) {
		p := open(t, c, "msg")
		s := <-got
		s.Write([]byte("0123456789"))
		s.Write([]byte("next"))
		var parts []string
		buf := make([]byte, 4)
		for {
			n, more, err := p.ReadMsg(ctx, buf)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, string(buf[:n]))
			if !more {
				break
			}
		}
		if strings.Join(parts, "|") != "0123|4567|89" {
			t.Fatalf("parts %q", parts)
		}
		msg, err := smbpipe.ReadMessage(ctx, p, nil)
		if string(msg) != "next" || err != nil {
			t.Fatalf("next message %q %v", msg, err)
		}
		// Client to server: two WRITEs are two messages.
		p.Write([]byte("one"))
		p.Write([]byte("two"))
		for _, want := range []string{"one", "two"} {
			n, more, err := s.ReadMsg(ctx, buf)
			if string(buf[:n]) != want || more || err != nil {
				t.Fatalf("server ReadMsg %q %v %v, want %q", buf[:n], more, err, want)
			}
		}
	})
	t.Run("byte", func(t *testing.T) {
		p := open(t, c, "bytes")
		s := <-got
		s.Write([]byte("abc"))
		s.Write([]byte("def"))
		buf := make([]byte, 16)
		n, more, err := p.ReadMsg(ctx, buf)
		if string(buf[:n]) != "abcdef" || more || err != nil {
			t.Fatalf("byte read %q %v %v", buf[:n], more, err)
		}
	})
}

// TestTransceive: only on duplex message-mode pipes in message read mode,
// PIPE_BUSY with unread data, BUFFER_OVERFLOW for a long reply.
func TestTransceive(t *testing.T) {
	_, c := servePipes(t, echo,
		namedPipe{"msg", &smbpipe.PipeConfig{MessageMode: true, SecurityDescriptor: rw}},
		namedPipe{"bytes", &smbpipe.PipeConfig{SecurityDescriptor: rw}})
	ctx := ctxT(t)
	out := make([]byte, 64)

	p := open(t, c, "msg")
	n, more, err := p.Transact(ctx, []byte("ping"), out)
	if string(out[:n]) != "ping" || more || err != nil {
		t.Fatalf("transact %q %v %v", out[:n], more, err)
	}

	t.Run("byte pipe", func(t *testing.T) {
		_, _, err := open(t, c, "bytes").Transact(ctx, []byte("x"), out)
		wantStatus(t, "transact", err, ntstatus.InvalidPipeState)
	})
	t.Run("byte read mode", func(t *testing.T) {
		q := open(t, c, "msg")
		if err := q.SetInfo(ctx, smb2.InfoFile, smb2.FilePipeInformation, pipeInfo(0, 0)); err != nil {
			t.Fatal(err)
		}
		_, _, err := q.Transact(ctx, []byte("x"), out)
		wantStatus(t, "transact", err, ntstatus.InvalidPipeState)
	})
	t.Run("busy", func(t *testing.T) {
		q := open(t, c, "msg")
		q.Write([]byte("queued reply"))
		waitAvailable(t, q)
		_, _, err := q.Transact(ctx, []byte("x"), out)
		wantStatus(t, "transact", err, ntstatus.PipeBusy)
	})
	t.Run("long reply", func(t *testing.T) {
		q := open(t, c, "msg")
		long := []byte(strings.Repeat("0123456789", 10))
		small := make([]byte, 16)
		n, more, err := q.Transact(ctx, long, small)
		if n != 16 || !more || err != nil || string(small) != string(long[:16]) {
			t.Fatalf("transact %q more=%v %v", small[:n], more, err)
		}
		rest, err := smbpipe.ReadMessage(ctx, q, nil)
		if string(rest) != string(long[16:]) || err != nil {
			t.Fatalf("rest %q %v", rest, err)
		}
	})
}

func pipeInfo(readMode, completion uint32) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, readMode)
	binary.LittleEndian.PutUint32(b[4:], completion)
	return b
}

// waitAvailable waits until PEEK shows data queued for p.
func waitAvailable(t *testing.T, p *client.Pipe) client.PeekInfo {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		info, _, _, err := p.Peek(ctxT(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		if info.Available > 0 {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatal("no data arrived")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPeek: the 16-byte header, never blocking, data left in place.
func TestPeek(t *testing.T) {
	srv := &smbpipe.Server{Config: testConfig()}
	addr := start(t, srv)
	got := make(chan *smbpipe.Conn, 16)
	done := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(done) }) }
	defer release()
	listen(t, srv, "msg", &smbpipe.PipeConfig{MessageMode: true, SecurityDescriptor: rw}, func(c *smbpipe.Conn) {
		got <- c
		<-done
	})
	c := dialConn(t, addr, alice)
	ctx := ctxT(t)
	p := open(t, c, "msg")
	s := <-got

	start := time.Now()
	info, n, more, err := p.Peek(ctx, make([]byte, 8))
	if err != nil || n != 0 || more || info != (client.PeekInfo{State: 3}) {
		t.Fatalf("empty peek %+v n=%d more=%v %v", info, n, more, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("peek on an empty pipe took %v", d)
	}
	s.Write([]byte("abcdef"))
	s.Write([]byte("gh"))
	waitAvailable(t, p)
	buf := make([]byte, 4)
	info, n, more, err = p.Peek(ctx, buf)
	want := client.PeekInfo{State: 3, Available: 8, Messages: 2, FirstMessageLen: 6}
	if err != nil || info != want || n != 4 || !more || string(buf) != "abcd" {
		t.Fatalf("peek %+v %q more=%v %v", info, buf[:n], more, err)
	}
	info, n, more, err = p.Peek(ctx, make([]byte, 64))
	if err != nil || n != 6 || more {
		t.Fatalf("peek with room %+v n=%d more=%v %v", info, n, more, err)
	}
	if msg, err := smbpipe.ReadMessage(ctx, p, nil); string(msg) != "abcdef" || err != nil {
		t.Fatalf("read after peek %q %v", msg, err)
	}
	release() // the server end closes
	for deadline := time.Now().Add(5 * time.Second); ; {
		info, _, _, err = p.Peek(ctx, buf)
		if err != nil || info.State == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("peek never saw the server end close")
		}
		time.Sleep(time.Millisecond)
	}
	if err != nil || info.State != 4 || info.Available != 2 {
		t.Fatalf("closing peek %+v %v", info, err)
	}
	smbpipe.ReadMessage(ctx, p, nil)
	_, _, _, err = p.Peek(ctx, buf)
	wantStatus(t, "peek on a drained closing pipe", err, ntstatus.PipeBroken)
}

// rawWait sends FSCTL_PIPE_WAIT with a raw Timeout field.
func rawWait(ctx context.Context, c *client.Conn, name string, timeout int64, specified bool) (ntstatus.Status, error) {
	in := make([]byte, 14)
	binary.LittleEndian.PutUint64(in, uint64(timeout))
	if specified {
		in[12] = 1
	}
	in = smb2.AppendUTF16(in, name)
	binary.LittleEndian.PutUint32(in[8:], uint32(len(in)-14))
	body := (&smb2.IoctlRequest{CtlCode: smb2.FsctlPipeWait, FileID: smb2.WildcardFileID, Input: in, Flags: smb2.IoctlIsFsctl}).Append(nil)
	resp, err := c.RoundTrip(ctx, &client.RawRequest{
		Header: smb2.Header{Command: smb2.CmdIoctl, SessionID: c.SessionID(), TreeID: c.TreeID()},
		Body:   body,
	})
	if err != nil {
		return 0, err
	}
	return resp.Header.Status, nil
}

// TestWait: FSCTL_PIPE_WAIT waits for a free instance without holding up
// the connection, times out with STATUS_IO_TIMEOUT in either timeout
// encoding, and reports unknown or vanished pipes.
func TestWait(t *testing.T) {
	srv := &smbpipe.Server{Config: testConfig()}
	addr := start(t, srv)
	listen(t, srv, "one", &smbpipe.PipeConfig{MessageMode: true, MaxInstances: 1, SecurityDescriptor: rw}, echo)
	gone := listen(t, srv, "gone", &smbpipe.PipeConfig{MaxInstances: 1, SecurityDescriptor: rw}, echo)
	c := dialConn(t, addr, alice)
	ctx := ctxT(t)

	if err := c.WaitPipe(ctx, "one", time.Second); err != nil {
		t.Fatalf("wait on a free pipe: %v", err)
	}
	wantStatus(t, "wait unknown", c.WaitPipe(ctx, "nosuch", time.Second), ntstatus.ObjectNameNotFound)

	first := open(t, c, "one")
	_, err := c.OpenPipe(ctx, "one")
	wantStatus(t, "second open", err, ntstatus.PipeNotAvailable)

	t0 := time.Now()
	wantStatus(t, "wait busy", c.WaitPipe(ctx, "one", 50*time.Millisecond), ntstatus.IOTimeout)
	if d := time.Since(t0); d < 40*time.Millisecond {
		t.Errorf("timed out after %v, want about 50ms", d)
	}

	filetime := func(tm time.Time) int64 { return tm.UnixNano()/100 + 116444736000000000 }
	for _, tc := range []struct {
		name      string
		timeout   func() int64
		specified bool
		min       time.Duration
	}{
		{"relative negative 100ns", func() int64 { return -500000 }, true, 50 * time.Millisecond},
		{"relative positive 100ns (impacket)", func() int64 { return 500000 }, true, 50 * time.Millisecond},
		{"absolute FILETIME", func() int64 { return filetime(time.Now().Add(80 * time.Millisecond)) }, true, 50 * time.Millisecond},
		{"absolute FILETIME in the past", func() int64 { return filetime(time.Now().Add(-time.Hour)) }, true, 0},
		{"not specified (default 50ms)", func() int64 { return 0 }, false, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Now()
			st, err := rawWait(ctx, c, "one", tc.timeout(), tc.specified)
			if err != nil || st != ntstatus.IOTimeout {
				t.Fatalf("wait: %v %v, want STATUS_IO_TIMEOUT", st, err)
			}
			if d := time.Since(t0); d < tc.min || d > tc.min+2*time.Second {
				t.Errorf("timed out after %v, want about %v", d, tc.min)
			}
		})
	}

	// A wait that outlives the instance: the connection keeps serving
	// other requests meanwhile, and the wait ends when the instance goes.
	waitErr := make(chan error, 1)
	go func() { waitErr <- c.WaitPipe(ctx, "one", 10*time.Second) }()
	time.Sleep(20 * time.Millisecond)
	if err := c.Echo(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _, err := first.Transact(ctx, []byte("busy"), make([]byte, 8)); n != 4 || err != nil {
		t.Fatalf("transact while a wait is pending: %d %v", n, err)
	}
	select {
	case err := <-waitErr:
		t.Fatalf("wait ended early: %v", err)
	default:
	}
	first.Close()
	if err := result(t, waitErr, "wait did not end when the instance was freed"); err != nil {
		t.Fatalf("wait: %v", err)
	}
	open(t, c, "one")

	// The pipe removed during the wait.
	open(t, c, "gone")
	go func() { waitErr <- c.WaitPipe(ctx, "gone", 10*time.Second) }()
	time.Sleep(20 * time.Millisecond)
	gone.Close()
	err = result(t, waitErr, "wait did not end when the pipe was removed")
	wantStatus(t, "wait on a removed pipe", err, ntstatus.ObjectNameNotFound)
}

// TestCloseEnds: the server end closing lets the client drain, then
// STATUS_PIPE_BROKEN; the client closing lets the server drain, then EOF.
func TestCloseEnds(t *testing.T) {
	got := make(chan *smbpipe.Conn, 16)
	_, c := servePipes(t, holdInto(t, got), namedPipe{"msg", &smbpipe.PipeConfig{MessageMode: true, SecurityDescriptor: rw}})
	ctx := ctxT(t)

	t.Run("server closes", func(t *testing.T) {
		p := open(t, c, "msg")
		s := <-got
		writeThenClose(t, ctx, s, p, "last", "words")
		_, _, err := p.ReadMsg(ctx, make([]byte, 8))
		wantStatus(t, "read after drain", err, ntstatus.PipeBroken)
		if _, err := p.Read(make([]byte, 8)); err != io.EOF {
			t.Fatalf("net.Conn Read after drain: %v, want io.EOF", err)
		}
		_, err = p.Write([]byte("x"))
		wantStatus(t, "write to a closed server end", err, ntstatus.PipeBroken)
	})
	t.Run("client closes", func(t *testing.T) {
		p := open(t, c, "msg")
		s := <-got
		writeThenClose(t, ctx, p, s, "bye", "now")
		if _, err := s.Read(make([]byte, 8)); err != io.EOF {
			t.Fatalf("server read after drain: %v, want io.EOF", err)
		}
		if _, err := s.Write([]byte("x")); !errors.Is(err, pipe.ErrBroken) {
			t.Fatalf("server write to closed client: %v", err)
		}
		s.Close()
	})
}

// TestPipeInformation: SET_INFO FilePipeInformation sets the read and
// completion modes; a non-blocking READ on an empty pipe is PIPE_EMPTY.
func TestPipeInformation(t *testing.T) {
	got := make(chan *smbpipe.Conn, 16)
	srv, c := servePipes(t, holdInto(t, got), namedPipe{"msg", &smbpipe.PipeConfig{MessageMode: true, SecurityDescriptor: rw}})
	listen(t, srv, "bytes", &smbpipe.PipeConfig{SecurityDescriptor: rw}, func(c *smbpipe.Conn) { <-t.Context().Done() })
	ctx := ctxT(t)
	p := open(t, c, "msg")
	s := <-got

	query := func() (uint32, uint32) {
		b, err := p.QueryInfo(ctx, smb2.InfoFile, smb2.FilePipeInformation, 8)
		if err != nil || len(b) != 8 {
			t.Fatalf("query %x %v", b, err)
		}
		return binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
	}
	if rm, cm := query(); rm != 1 || cm != 0 {
		t.Fatalf("initial modes %d %d, want message, queue", rm, cm)
	}
	if err := p.SetInfo(ctx, smb2.InfoFile, smb2.FilePipeInformation, pipeInfo(1, 1)); err != nil {
		t.Fatal(err)
	}
	if rm, cm := query(); rm != 1 || cm != 1 {
		t.Fatalf("modes %d %d after set", rm, cm)
	}
	_, _, err := p.ReadMsg(ctx, make([]byte, 8))
	wantStatus(t, "non-blocking read on an empty pipe", err, ntstatus.PipeEmpty)

	// Byte read mode on a message pipe reads across message boundaries.
	if err := p.SetInfo(ctx, smb2.InfoFile, smb2.FilePipeInformation, pipeInfo(0, 0)); err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("ab"))
	s.Write([]byte("cd"))
	buf := make([]byte, 8)
	n, more, err := p.ReadMsg(ctx, buf)
	if string(buf[:n]) != "abcd" || more || err != nil {
		t.Fatalf("byte-mode read %q %v %v", buf[:n], more, err)
	}

	for _, tc := range []struct {
		name string
		pipe string
		buf  []byte
		want ntstatus.Status
	}{
		{"message read mode on a byte pipe", "bytes", pipeInfo(1, 0), ntstatus.InvalidParameter},
		{"read mode 2", "msg", pipeInfo(2, 0), ntstatus.InvalidParameter},
		{"completion mode 2", "msg", pipeInfo(0, 2), ntstatus.InvalidParameter},
		{"short buffer", "msg", []byte{0, 0, 0, 0}, ntstatus.InfoLengthMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := open(t, c, tc.pipe)
			wantStatus(t, "set info", q.SetInfo(ctx, smb2.InfoFile, smb2.FilePipeInformation, tc.buf), tc.want)
		})
	}
}

// TestWriteQuota: a client WRITE beyond the pipe's input buffer pends
// until the server reads (backpressure), in byte and message mode.
func TestWriteQuota(t *testing.T) {
	got := make(chan *smbpipe.Conn, 16)
	_, c := servePipes(t, holdInto(t, got),
		namedPipe{"bytes", &smbpipe.PipeConfig{InputBufferSize: 1024, SecurityDescriptor: rw}},
		namedPipe{"msg", &smbpipe.PipeConfig{MessageMode: true, InputBufferSize: 1024, SecurityDescriptor: rw}})
	ctx := ctxT(t)

	pends := func(t *testing.T, write func() (int, error)) <-chan int {
		t.Helper()
		res := make(chan int, 1)
		go func() {
			n, err := write()
			if err != nil {
				t.Errorf("write: %v", err)
			}
			res <- n
		}()
		select {
		case n := <-res:
			t.Fatalf("write of %d bytes did not pend", n)
		case <-time.After(100 * time.Millisecond):
		}
		return res
	}
	t.Run("byte", func(t *testing.T) {
		p := open(t, c, "bytes")
		s := <-got
		data := []byte(strings.Repeat("x", 4096))
		res := pends(t, func() (int, error) { return p.WriteMsg(ctx, data) })
		if li := s.LocalInfo(); li.ReadDataAvailable != 1024 {
			t.Errorf("queued %d bytes, want the quota 1024", li.ReadDataAvailable)
		}
		var total int
		buf := make([]byte, 1000)
		for total < len(data) {
			n, err := s.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		if n := <-res; n != len(data) {
			t.Fatalf("wrote %d", n)
		}
	})
	t.Run("message", func(t *testing.T) {
		p := open(t, c, "msg")
		s := <-got
		if _, err := p.WriteMsg(ctx, make([]byte, 800)); err != nil {
			t.Fatal(err)
		}
		res := pends(t, func() (int, error) { return p.WriteMsg(ctx, make([]byte, 800)) })
		for range 2 {
			if msg, err := smbpipe.ReadMessage(ctx, s, nil); len(msg) != 800 || err != nil {
				t.Fatalf("message of %d bytes, %v", len(msg), err)
			}
		}
		if n := <-res; n != 800 {
			t.Fatalf("wrote %d", n)
		}
	})
}

// TestPendingCap: beyond Limits.MaxAsyncPerConnection pending operations a request
// that would pend gets STATUS_INSUFFICIENT_RESOURCES.
func TestPendingCap(t *testing.T) {
	cfg := testConfig()
	cfg.Limits.MaxAsyncPerConnection = 2
	srv := &smbpipe.Server{Config: cfg}
	addr := start(t, srv)
	got := make(chan *smbpipe.Conn, 16)
	listen(t, srv, "small", &smbpipe.PipeConfig{InputBufferSize: 16, MaxInstances: 2, SecurityDescriptor: rw}, holdInto(t, got))
	c := dialConn(t, addr, alice)
	ctx := ctxT(t)

	// Two WRITEs beyond the quota pend; once the server end holds the
	// quota, the server has registered the pending WRITE.
	var ends []*smbpipe.Conn
	var pipes []*client.Pipe
	results := make(chan error, 2)
	for range 2 {
		p := open(t, c, "small")
		pipes = append(pipes, p)
		s := <-got
		ends = append(ends, s)
		go func() {
			_, err := p.WriteMsg(ctx, make([]byte, 32))
			results <- err
		}()
		for deadline := time.Now().Add(5 * time.Second); s.LocalInfo().ReadDataAvailable < 16; {
			if time.Now().After(deadline) {
				t.Fatal("the write did not arrive")
			}
			time.Sleep(time.Millisecond)
		}
	}
	_, _, err := pipes[0].ReadMsg(ctx, make([]byte, 8))
	wantStatus(t, "read beyond the cap", err, ntstatus.InsufficientResources)
	// A WAIT that would pend (both instances are open) counts too.
	wantStatus(t, "wait beyond the cap", c.WaitPipe(ctx, "small", time.Second), ntstatus.InsufficientResources)
	if err := c.Echo(ctx); err != nil {
		t.Fatalf("echo: %v", err)
	}
	for _, s := range ends {
		if _, err := io.ReadFull(s, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := <-results; err != nil {
			t.Fatalf("pending write: %v", err)
		}
	}
}

// endless is a MessageConn whose one message never ends.
type endless struct{ net.Conn }

func (endless) ReadMsg(_ context.Context, p []byte) (int, bool, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), true, nil
}

// TestReadMessageLimit: ReadMessage stops at MaxMessageSize.
func TestReadMessageLimit(t *testing.T) {
	msg, err := smbpipe.ReadMessage(context.Background(), endless{}, []byte("head"))
	if !errors.Is(err, smbpipe.ErrMessageTooLarge) || len(msg) != 4+smbpipe.MaxMessageSize || string(msg[:5]) != "headx" {
		t.Fatalf("len %d, %v", len(msg), err)
	}
}

// TestFlushWaitsForReader: FLUSH on a pipe completes only once the server
// end has read what the client wrote (docs/SEMANTICS.md 2.6); it goes async
// meanwhile, and completes at once on an empty pipe.
func TestFlushWaitsForReader(t *testing.T) {
	got := make(chan *smbpipe.Conn, 1)
	_, c := servePipes(t, holdInto(t, got), namedPipe{"flush", &smbpipe.PipeConfig{MessageMode: true, SecurityDescriptor: rw}})
	ctx := ctxT(t)
	p := open(t, c, "flush")
	s := <-got

	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush of an empty pipe: %v", err)
	}
	if _, err := p.WriteMsg(ctx, []byte("unread")); err != nil {
		t.Fatal(err)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- p.Flush(ctx) }()
	select {
	case err := <-flushed:
		t.Fatalf("flush returned (%v) while the message was unread", err)
	case <-time.After(100 * time.Millisecond):
	}
	msg, err := smbpipe.ReadMessage(ctx, s, nil)
	if err != nil || string(msg) != "unread" {
		t.Fatalf("server read %q, %v", msg, err)
	}
	if err := result(t, flushed, "flush still pending after the server read the message"); err != nil {
		t.Fatalf("flush after the read: %v", err)
	}
}

// TestCloseNeverStarted: Close (or Shutdown) of a Server never used
// builds nothing (its Config is not even compiled) and leaves it closed.
func TestCloseNeverStarted(t *testing.T) {
	bad := &policy.Config{Signing: "sometimes"} // would not compile
	for _, stop := range []func(*smbpipe.Server) error{
		(*smbpipe.Server).Close,
		func(s *smbpipe.Server) error { return s.Shutdown(t.Context()) },
	} {
		s := &smbpipe.Server{Config: bad}
		if err := stop(s); err != nil {
			t.Fatalf("stop of a server never used: %v", err)
		}
		if err := s.ListenAndServe(); !errors.Is(err, smbpipe.ErrServerClosed) {
			t.Fatalf("ListenAndServe after Close: %v, want ErrServerClosed (the Config was not compiled)", err)
		}
		if _, err := s.Listen("x", nil); !errors.Is(err, smbpipe.ErrServerClosed) {
			t.Fatalf("Listen after Close: %v, want ErrServerClosed", err)
		}
	}
}
