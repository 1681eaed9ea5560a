package mitm_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
	"github.com/smbpipe/smbpipe/test/mitm"
)

// The regression tests of issue 19 ("the client trusts a hostile server"):
// a man in the middle changes one server-to-client frame of a signed
// session of alice, at the dialects the issue names.

var signedDialects = []smb2.Dialect{smb2.Dialect210, smb2.Dialect302, smb2.Dialect311}

// aliceSigned is alice with signing required, pinned to dialect d.
func aliceSigned(d smb2.Dialect, requestTimeout time.Duration) client.Config {
	return client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP", RequireSigning: true,
		MinDialect: d, MaxDialect: d, RequestTimeout: requestTimeout}
}

// dialEcho dials addr with cfg and opens the echo pipe; the Conn is closed
// at cleanup.
func dialEcho(t *testing.T, addr string, cfg client.Config) (*client.Conn, *client.Pipe) {
	t.Helper()
	c := testclient.Dial(t, addr, cfg)
	return c, testclient.Open(t, c, "echo")
}

// within runs f and fails the test when it has not returned after limit;
// the old client blocked forever where the fixed one must fail fast.
func within(t *testing.T, limit time.Duration, f func() error) (error, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err, time.Since(start)
	case <-time.After(limit):
		t.Fatalf("still waiting after %v", limit)
		return nil, 0
	}
}

// connDead checks that c fails every later request at once.
func connDead(t *testing.T, c *client.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Echo(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ECHO after the hostile reply: %v; want the connection failed", err)
	}
}

// TestForgedDataRefused is finding 1: a READ (or TRANSCEIVE) reply whose
// data is replaced, with SMB2_FLAGS_SIGNED cleared and the signature
// zeroed, was accepted when the attacker also set Command to SESSION_SETUP
// or changed SessionId. Now the reply must carry its request's command and
// SessionId, and must be signed because the request was; the call and the
// connection fail.
func TestForgedDataRefused(t *testing.T) {
	addr := testserver.Start(t, testserver.AliceEcho)
	variants := []struct {
		name   string
		change func(b []byte)
	}{
		{"Command SESSION_SETUP", func(b []byte) { mitm.Put16(b, mitm.OffCommand, uint16(smb2.CmdSessionSetup)) }},
		{"SessionId changed", func(b []byte) {
			mitm.Put64(b, mitm.OffSessionID, binary.LittleEndian.Uint64(b[mitm.OffSessionID:])+1)
		}},
		{"signature only", func([]byte) {}},
	}
	genuine := []byte("the genuine reply, 32 bytes long")
	evil := []byte("THE ATTACKER'S BYTES, 32 BYTES!!")
	for _, d := range signedDialects {
		for _, v := range variants {
			for _, api := range []string{"ReadMsg", "Transact"} {
				t.Run(fmt.Sprintf("%v/%s/%s", d, v.name, api), func(t *testing.T) {
					t.Parallel()
					cmd := smb2.CmdRead
					if api == "Transact" {
						cmd = smb2.CmdIoctl
					}
					var forged atomic.Int32
					p := mitm.Start(t, addr, func(f *mitm.Frame) []byte {
						h, ok := f.Header()
						if ok && h.Command == cmd && h.Status == ntstatus.Success && forged.Load() == 0 {
							if i := bytes.Index(f.Data, genuine); i >= 0 {
								copy(f.Data[i:], evil)
								mitm.Unsign(f.Data)
								v.change(f.Data)
								forged.Add(1)
							}
						}
						return f.Pass()
					})
					c, pipe := dialEcho(t, p.Addr, aliceSigned(d, 0))
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
					defer cancel()
					buf := make([]byte, 100)
					var n int
					var err error
					if api == "ReadMsg" {
						if _, err := pipe.WriteMsg(ctx, genuine); err != nil {
							t.Fatal(err)
						}
						n, _, err = pipe.ReadMsg(ctx, buf)
					} else {
						n, _, err = pipe.Transact(ctx, genuine, buf)
					}
					if forged.Load() != 1 {
						t.Fatalf("the proxy forged %d replies, want 1", forged.Load())
					}
					if bytes.Contains(buf[:n], evil[:8]) {
						t.Fatalf("%s returned the attacker's bytes %q (err %v)", api, buf[:n], err)
					}
					if err == nil {
						t.Fatalf("%s returned %q and no error", api, buf[:n])
					}
					if !errors.Is(err, client.ErrSignature) && !errors.Is(err, client.ErrProtocol) {
						t.Fatalf("%s: %v; want ErrSignature or ErrProtocol", api, err)
					}
					connDead(t, c)
				})
			}
		}
	}
}

// TestLostReplyFails is finding 2: a WRITE reply dropped, or arriving with
// the response flag cleared, an unknown MessageId or a bad StructureSize,
// left WriteMsg waiting for ever (the frames were dropped silently). Now a
// malformed reply fails the connection at once and a missing one fails
// the request after RequestTimeout, naming WRITE; the context has no
// deadline.
func TestLostReplyFails(t *testing.T) {
	addr := testserver.Start(t, testserver.AliceEcho)
	const rt = time.Second
	variants := []struct {
		name   string
		change func(b []byte) []byte
		want   error
		anon   bool // an unsigned (anonymous) session
	}{
		{"dropped", func([]byte) []byte { return nil }, client.ErrRequestTimeout, false},
		{"response flag cleared", func(b []byte) []byte {
			mitm.Put32(b, mitm.OffFlags, binary.LittleEndian.Uint32(b[mitm.OffFlags:])&^smb2.FlagServerToRedir)
			return mitm.Wire(b)
		}, client.ErrProtocol, false},
		{"unknown MessageId", func(b []byte) []byte {
			mitm.Put64(b, mitm.OffMessageID, 1000)
			return mitm.Wire(b)
		}, client.ErrProtocol, false},
		{"bad StructureSize", func(b []byte) []byte {
			mitm.Put16(b, mitm.OffStructureSize, 65)
			return mitm.Wire(b)
		}, client.ErrProtocol, false},
		// The signature covers the body: checked first on a signed session.
		{"bad body StructureSize", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[smb2.HeaderSize:], 3)
			return mitm.Wire(b)
		}, client.ErrSignature, false},
		{"bad body StructureSize", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[smb2.HeaderSize:], 3)
			return mitm.Wire(b)
		}, client.ErrProtocol, true},
	}
	for _, d := range signedDialects {
		for _, v := range variants {
			name := fmt.Sprintf("%v/%s", d, v.name)
			if v.anon {
				name += "/anonymous"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var hit atomic.Int32
				p := mitm.Start(t, addr, func(f *mitm.Frame) []byte {
					if h, ok := f.Header(); ok && h.Command == smb2.CmdWrite && hit.Add(1) == 1 {
						return v.change(f.Data)
					}
					return f.Pass()
				})
				cfg := aliceSigned(d, rt)
				if v.anon {
					cfg = client.Config{MinDialect: d, MaxDialect: d, RequestTimeout: rt}
				}
				c, pipe := dialEcho(t, p.Addr, cfg)
				err, took := within(t, 10*time.Second, func() error {
					_, err := pipe.WriteMsg(context.Background(), []byte("hello"))
					return err
				})
				if !errors.Is(err, v.want) {
					t.Fatalf("WriteMsg: %v; want %v", err, v.want)
				}
				if v.want == client.ErrRequestTimeout {
					var te *client.RequestTimeoutError
					if !errors.As(err, &te) || te.Command != smb2.CmdWrite || te.Timeout != rt {
						t.Fatalf("%#v: want the WRITE and the limit named", err)
					}
					if !strings.Contains(err.Error(), "WRITE") || !strings.Contains(err.Error(), rt.String()) {
						t.Fatalf("%q names neither the command nor the limit", err)
					}
					if took < rt || took > rt+rt/4+time.Second {
						t.Fatalf("failed after %v; want about %v", took, rt)
					}
				} else if took > time.Second {
					t.Fatalf("failed after %v; a malformed reply fails at once", took)
				}
				connDead(t, c)
			})
		}
	}
}

// TestPendingReadOutlivesRequestTimeout: an interim response ends the
// request's timer, so a pipe read may wait far longer than RequestTimeout;
// meanwhile the client probes the idle connection with ECHO.
func TestPendingReadOutlivesRequestTimeout(t *testing.T) {
	addr := testserver.Start(t, testserver.AliceEcho)
	const rt = 400 * time.Millisecond
	var echoes atomic.Int32
	p := mitm.Start(t, addr, func(f *mitm.Frame) []byte {
		if h, ok := f.Header(); ok && h.Command == smb2.CmdEcho {
			echoes.Add(1)
		}
		return f.Pass()
	})
	_, pipe := dialEcho(t, p.Addr, aliceSigned(smb2.Dialect311, rt))
	type result struct {
		n   int
		err error
	}
	got := make(chan result, 1)
	buf := make([]byte, 64)
	go func() {
		n, _, err := pipe.ReadMsg(context.Background(), buf)
		got <- result{n, err}
	}()
	time.Sleep(5 * rt)
	select {
	case r := <-got:
		t.Fatalf("the pending read ended early: %d, %v", r.n, r.err)
	default:
	}
	if _, err := pipe.WriteMsg(t.Context(), []byte("late")); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || string(buf[:r.n]) != "late" {
		t.Fatalf("read %q, %v", buf[:r.n], r.err)
	}
	if echoes.Load() == 0 {
		t.Fatal("no keepalive ECHO while the read was pending")
	}
}

// TestDeadServerFound: a server that stops answering while a read is
// pending (after its interim response) is found by the keepalive ECHO:
// the read fails within about RequestTimeout of the last frame, although
// its context has no deadline.
func TestDeadServerFound(t *testing.T) {
	addr := testserver.Start(t, testserver.AliceEcho)
	const rt = time.Second
	var pending atomic.Bool
	p := mitm.Start(t, addr, func(f *mitm.Frame) []byte {
		if h, ok := f.Header(); ok && h.Command == smb2.CmdRead && h.Status == ntstatus.Pending {
			pending.Store(true)
		}
		return f.Pass()
	})
	_, pipe := dialEcho(t, p.Addr, aliceSigned(smb2.Dialect302, rt))
	err, took := within(t, 10*time.Second, func() error {
		go func() {
			for !pending.Load() {
				time.Sleep(time.Millisecond)
			}
			p.Blackhole()
		}()
		_, _, err := pipe.ReadMsg(context.Background(), make([]byte, 64))
		return err
	})
	var te *client.RequestTimeoutError
	if !errors.As(err, &te) || te.Command != smb2.CmdEcho {
		t.Fatalf("ReadMsg: %v; want the keepalive ECHO to time out", err)
	}
	if took > rt+rt/4+time.Second {
		t.Fatalf("found after %v; want about %v", took, rt)
	}
}

// TestTinyMaxReadSize is finding 4: a server (here a man in the middle
// rewriting NEGOTIATE) that negotiates MaxReadSize 1 made ReadMsg return
// the first byte of a message, with no error and a buffer large enough for
// all of it. Limits below 64 KiB are now refused (MS-SMB2 3.2.5.2), and a
// message longer than MaxReadSize is read whole (TestReadMsgReadsOn). On
// 3.1.1 the preauth integrity hash catches the rewrite either way.
func TestTinyMaxReadSize(t *testing.T) {
	addr := testserver.Start(t, testserver.AliceEcho)
	msg := []byte("a message of forty bytes, more than one")
	for _, d := range signedDialects {
		t.Run(d.String(), func(t *testing.T) {
			p := mitm.Start(t, addr, func(f *mitm.Frame) []byte {
				if h, ok := f.Header(); ok && h.Command == smb2.CmdNegotiate && len(f.Data) >= 100 {
					binary.LittleEndian.PutUint32(f.Data[96:], 1) // MaxReadSize
				}
				return f.Pass()
			})
			cfg := aliceSigned(d, 0)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			c, err := client.Dial(ctx, p.Addr, &cfg)
			if err != nil {
				if !errors.Is(err, client.ErrProtocol) && !errors.Is(err, client.ErrSignature) {
					t.Fatalf("dial: %v", err)
				}
				return // refused: the one acceptable failure
			}
			defer c.Close()
			pipe, err := c.OpenPipe(ctx, "echo")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pipe.WriteMsg(ctx, msg); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1024)
			n, more, err := pipe.ReadMsg(ctx, buf)
			if err == nil && (more || !bytes.Equal(buf[:n], msg)) {
				t.Fatalf("ReadMsg with MaxReadSize %d: %q more=%v, no error; want the whole message or an error", c.MaxReadSize(), buf[:n], more)
			}
		})
	}
}

// TestReadMsgReadsOn: with the server's MaxReadSize (or MaxTransactSize)
// cut to 64 KiB, ReadMsg and Transact into a buffer large enough return a
// 100 KiB message whole (more is false), reading on while the server says
// STATUS_BUFFER_OVERFLOW. Before, they returned the first 64 KiB with more
// set although the buffer had room.
func TestReadMsgReadsOn(t *testing.T) {
	addr := testserver.Start(t, testserver.AliceEcho)
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte(i * 13)
	}
	for _, d := range []smb2.Dialect{smb2.Dialect210, smb2.Dialect302} {
		t.Run(d.String(), func(t *testing.T) {
			p := mitm.Start(t, addr, func(f *mitm.Frame) []byte {
				if h, ok := f.Header(); ok && h.Command == smb2.CmdNegotiate && len(f.Data) >= 100 {
					binary.LittleEndian.PutUint32(f.Data[92:], 65536) // MaxTransactSize
					binary.LittleEndian.PutUint32(f.Data[96:], 65536) // MaxReadSize
				}
				return f.Pass()
			})
			c, pipe := dialEcho(t, p.Addr, aliceSigned(d, 0))
			if c.MaxReadSize() != 65536 || c.MaxTransactSize() != 65536 {
				t.Fatalf("MaxReadSize %d MaxTransactSize %d", c.MaxReadSize(), c.MaxTransactSize())
			}
			ctx := t.Context()
			// A message over the pipe's quota is read in place from the
			// pending WRITE: write while reading.
			wrote := make(chan error, 2)
			go func() { _, err := pipe.WriteMsg(ctx, big); wrote <- err }()
			buf := make([]byte, 200<<10)
			n, more, err := pipe.ReadMsg(ctx, buf)
			if err != nil || more || !bytes.Equal(buf[:n], big) {
				t.Fatalf("ReadMsg: %d bytes, more=%v, %v; want %d whole", n, more, err, len(big))
			}
			n, more, err = pipe.Transact(ctx, big, buf)
			if err != nil || more || !bytes.Equal(buf[:n], big) {
				t.Fatalf("Transact: %d bytes, more=%v, %v; want %d whole", n, more, err, len(big))
			}
			// A buffer too short still gets part of it with more set.
			go func() { _, err := pipe.WriteMsg(ctx, big); wrote <- err }()
			short := make([]byte, 70<<10)
			n, more, err = pipe.ReadMsg(ctx, short)
			if err != nil || !more || !bytes.Equal(short[:n], big[:len(short)]) {
				t.Fatalf("short ReadMsg: %d bytes, more=%v, %v", n, more, err)
			}
			n, more, err = pipe.ReadMsg(ctx, buf)
			if err != nil || more || !bytes.Equal(buf[:n], big[len(short):]) {
				t.Fatalf("rest: %d bytes, more=%v, %v", n, more, err)
			}
			for range 2 {
				if err := <-wrote; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestConcurrentCallsFailTogether: when one reply is refused, every call
// in flight on the connection fails with the connection's error, and none
// is left waiting.
func TestConcurrentCallsFailTogether(t *testing.T) {
	addr := testserver.Start(t, testserver.AliceEcho)
	var armed, hit atomic.Bool
	p := mitm.Start(t, addr, func(f *mitm.Frame) []byte {
		// A signed reply: not an interim STATUS_PENDING, which is never
		// signed (a loaded server may send one for a TRANSCEIVE).
		if h, ok := f.Header(); ok && armed.Load() && h.Command == smb2.CmdIoctl && h.Flags&smb2.FlagSigned != 0 && !hit.Swap(true) {
			mitm.Unsign(f.Data)
		}
		return f.Pass()
	})
	c, _ := dialEcho(t, p.Addr, aliceSigned(smb2.Dialect311, 0))
	ctx := t.Context()
	pipes := make([]*client.Pipe, 8)
	for i := range pipes {
		var err error
		if pipes[i], err = c.OpenPipe(ctx, "echo"); err != nil {
			t.Fatal(err)
		}
	}
	armed.Store(true)
	var wg sync.WaitGroup
	errs := make(chan error, len(pipes)*4)
	for i, pipe := range pipes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for j := range 4 {
				msg := fmt.Appendf(nil, "pipe %d message %d", i, j)
				n, _, err := pipe.Transact(ctx, msg, buf)
				if err == nil && !bytes.Equal(buf[:n], msg) {
					errs <- fmt.Errorf("transact returned %q for %q", buf[:n], msg)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	if err, _ := within(t, 10*time.Second, func() error { wg.Wait(); return nil }); err != nil {
		t.Fatal(err)
	}
	close(errs)
	var failed int
	for err := range errs {
		if !errors.Is(err, client.ErrSignature) && !errors.Is(err, client.ErrProtocol) {
			t.Errorf("unexpected: %v", err)
		}
		failed++
	}
	if failed != len(pipes) {
		t.Fatalf("%d of %d goroutines ended with an error; the connection failed, so all must", failed, len(pipes))
	}
	connDead(t, c)
}
