package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestE2ESessions runs every basic operation at every dialect, anonymous
// and as alice, unsigned and signed, against our server.
func TestE2ESessions(t *testing.T) {
	addr := startServer(t, "enabled")
	users := []namedConfig{
		{"anonymous", anonCfg},
		{"alice", aliceCfg},
		{"alice-signed", func() Config { c := aliceCfg; c.RequireSigning = true; return c }()},
		{"alice-nthash", Config{User: "alice", NTHash: ntHashOf("Passw0rd!")}},
	}
	eachDialect(t, testDialects, users, func(t *testing.T, ctx context.Context, cfg Config) {
		d := cfg.MinDialect
		c := dialT(t, addr, cfg)
		if c.Dialect() != d {
			t.Fatalf("dialect %s", DialectString(c.Dialect()))
		}
		anon := cfg.anonymous()
		if anon != (c.SessionFlags()&smb2.SessionFlagIsNull != 0) {
			t.Errorf("session flags %#x for anonymous=%v", c.SessionFlags(), anon)
		}
		if c.SessionFlags()&smb2.SessionFlagIsGuest != 0 {
			t.Errorf("guest session")
		}
		if c.Signed() != cfg.RequireSigning {
			t.Errorf("signed = %v", c.Signed())
		}
		if err := c.Echo(ctx); err != nil {
			t.Fatal(err)
		}
		p := openT(t, c, "echo")
		roundTrips(t, ctx, p, 3)
		if err := p.CloseContext(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.CloseContext(ctx); err == nil {
			t.Error("second close succeeded")
		}
		if err := c.Logoff(ctx); err != nil {
			t.Fatal(err)
		}
		// After LOGOFF the connection still answers ECHO and can log on again.
		if err := c.Echo(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.SessionSetup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.TreeConnect(ctx); err != nil {
			t.Fatal(err)
		}
		p = openT(t, c, "ECHO") // names compare case-insensitively
		roundTrips(t, ctx, p, 1)
		if err := p.CloseContext(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// roundTrips checks n echo round trips by WRITE+READ and by TRANSCEIVE.
func roundTrips(t *testing.T, ctx context.Context, p *Pipe, n int) {
	t.Helper()
	buf := make([]byte, 1024)
	for i := range n {
		msg := []byte(fmt.Sprintf("message %d via write", i))
		if w, err := p.WriteMsg(ctx, msg); err != nil || w != len(msg) {
			t.Fatalf("write: %d, %v", w, err)
		}
		r, more, err := p.ReadMsg(ctx, buf)
		if err != nil || more || !bytes.Equal(buf[:r], msg) {
			t.Fatalf("read: %q more=%v err=%v, want %q", buf[:r], more, err, msg)
		}
		msg = []byte(fmt.Sprintf("message %d via transceive", i))
		r, more, err = p.Transact(ctx, msg, buf)
		if err != nil || more || !bytes.Equal(buf[:r], msg) {
			t.Fatalf("transact: %q more=%v err=%v, want %q", buf[:r], more, err, msg)
		}
	}
}

func TestE2ESigningRequiredServer(t *testing.T) {
	addr := startServer(t, "required")
	for _, d := range testDialects {
		t.Run(DialectString(d), func(t *testing.T) {
			cfg := aliceCfg
			cfg.MinDialect, cfg.MaxDialect = d, d
			c := dialT(t, addr, cfg)
			if !c.Signed() {
				t.Fatal("session not signed although the server requires signing")
			}
			roundTrips(t, t.Context(), openT(t, c, "echo"), 2)
		})
	}
	t.Run("3.1.1 GMAC", func(t *testing.T) {
		cfg := aliceCfg
		cfg.SigningAlgorithms = []uint16{smb2.SigningAESGMAC}
		c := dialT(t, addr, cfg)
		if c.SigningAlgorithm() != smb2.SigningAESGMAC || !c.Signed() {
			t.Fatalf("alg %d signed %v", c.SigningAlgorithm(), c.Signed())
		}
		roundTrips(t, t.Context(), openT(t, c, "echo"), 2)
	})
}

func TestE2EFailures(t *testing.T) {
	addr := startServer(t, "enabled")
	ctx := t.Context()
	t.Run("wrong password", func(t *testing.T) {
		_, err := Dial(ctx, addr, &Config{User: "alice", Password: "wrong"})
		if !errors.Is(err, ntstatus.LogonFailure) {
			t.Fatalf("got %v", err)
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Op != "session setup" {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		_, err := Dial(ctx, addr, &Config{User: "mallory", Password: "x"})
		if !errors.Is(err, ntstatus.LogonFailure) {
			t.Fatalf("got %v", err)
		}
	})
	alice := dialT(t, addr, aliceCfg)
	anon := dialT(t, addr, anonCfg)
	for _, tc := range []struct {
		name string
		c    *Conn
		pipe string
		want ntstatus.Status
	}{
		{"missing pipe", alice, "nosuchpipe", ntstatus.ObjectNameNotFound},
		{"leading backslash", alice, `\echo`, ntstatus.ObjectNameNotFound},
		{"pipe prefix", alice, `pipe\echo`, ntstatus.ObjectNameNotFound},
		{"anonymous not in NullSessionPipes", anon, "private", ntstatus.AccessDenied},
		{"anonymous missing pipe", anon, "nosuchpipe", ntstatus.AccessDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.OpenPipe(ctx, tc.pipe)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("alice opens private", func(t *testing.T) {
		p := openT(t, alice, "private")
		roundTrips(t, ctx, p, 1)
		p.Close()
	})
}

func TestE2ELargeMessage(t *testing.T) {
	addr := startServer(t, "enabled")
	msg := make([]byte, 60<<10)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	for _, d := range []smb2.Dialect{smb2.Dialect202, smb2.Dialect311} {
		t.Run(DialectString(d), func(t *testing.T) {
			ctx := t.Context()
			cfg := anonCfg
			cfg.MinDialect, cfg.MaxDialect = d, d
			p := openT(t, dialT(t, addr, cfg), "echo")
			defer p.Close()
			buf := make([]byte, 64<<10)
			if _, err := p.WriteMsg(ctx, msg); err != nil {
				t.Fatal(err)
			}
			n, more, err := p.ReadMsg(ctx, buf)
			if err != nil || more || !bytes.Equal(buf[:n], msg) {
				t.Fatalf("read %d more=%v err=%v", n, more, err)
			}
			n, more, err = p.Transact(ctx, msg, buf)
			if err != nil || more || !bytes.Equal(buf[:n], msg) {
				t.Fatalf("transact %d more=%v err=%v", n, more, err)
			}
		})
	}
	// Messages from tailMin up are sent from the caller's buffer behind
	// the request (one writev), or copied in when signed: both arrive.
	cfgs := append([]namedConfig{{"anonymous", anonCfg}}, signingConfigs(aliceCfg)...)
	eachDialect(t, []smb2.Dialect{smb2.Dialect202, smb2.Dialect311}, cfgs, func(t *testing.T, ctx context.Context, cfg Config) {
		c := dialT(t, addr, cfg)
		if c.Signed() != cfg.RequireSigning {
			t.Fatalf("signed = %v", c.Signed())
		}
		p := openT(t, c, "echo")
		defer p.Close()
		buf := make([]byte, 64<<10)
		for _, n := range []int{tailMin - 1, tailMin, tailMin + 1, 60 << 10} {
			in := msg[len(msg)-n:]
			if w, err := p.WriteMsg(ctx, in); err != nil || w != n {
				t.Fatalf("write %d: %d, %v", n, w, err)
			}
			r, more, err := p.ReadMsg(ctx, buf)
			if err != nil || more || !bytes.Equal(buf[:r], in) {
				t.Fatalf("read of %d: %d more=%v err=%v", n, r, more, err)
			}
			r, more, err = p.Transact(ctx, in, buf)
			if err != nil || more || !bytes.Equal(buf[:r], in) {
				t.Fatalf("transact of %d: %d more=%v err=%v", n, r, more, err)
			}
		}
	})
	t.Run("256KiB multi-credit", func(t *testing.T) {
		ctx := t.Context()
		c := dialT(t, addr, aliceCfg)
		if c.MaxReadSize() < 256<<10 {
			t.Skipf("server MaxReadSize %d", c.MaxReadSize())
		}
		p := openT(t, c, "echo")
		defer p.Close()
		big := bytes.Repeat([]byte("0123456789abcdef"), 16<<10)
		buf := make([]byte, len(big))
		n, more, err := p.Transact(ctx, big, buf)
		if err != nil || more || !bytes.Equal(buf[:n], big) {
			t.Fatalf("transact %d more=%v err=%v", n, more, err)
		}
	})
}

func TestE2EBufferOverflow(t *testing.T) {
	addr := startServer(t, "enabled")
	ctx := t.Context()
	p := openT(t, dialT(t, addr, aliceCfg), "echo")
	defer p.Close()
	msg := []byte("0123456789abcdefghijklmnopqrstuvwxyz")

	if _, err := p.WriteMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	short := make([]byte, 10)
	n, more, err := p.ReadMsg(ctx, short)
	if err != nil || !more || n != 10 || !bytes.Equal(short, msg[:10]) {
		t.Fatalf("short read: %q more=%v err=%v", short[:n], more, err)
	}
	rest := make([]byte, 100)
	n, more, err = p.ReadMsg(ctx, rest)
	if err != nil || more || !bytes.Equal(rest[:n], msg[10:]) {
		t.Fatalf("rest: %q more=%v err=%v", rest[:n], more, err)
	}

	n, more, err = p.Transact(ctx, msg, short)
	if err != nil || !more || !bytes.Equal(short[:n], msg[:10]) {
		t.Fatalf("short transact: %q more=%v err=%v", short[:n], more, err)
	}
	n, more, err = p.ReadMsg(ctx, rest)
	if err != nil || more || !bytes.Equal(rest[:n], msg[10:]) {
		t.Fatalf("rest of transact: %q more=%v err=%v", rest[:n], more, err)
	}

	// The rest of a transact's reply outlives the request's frame: the
	// server reads other frames, of every size, into the buffers that frame
	// was in before the rest is read.
	c := dialT(t, addr, aliceCfg)
	p1, p2 := openT(t, c, "echo"), openT(t, c, "echo")
	defer p1.Close()
	defer p2.Close()
	for _, size := range []int{100, 3000, 20000, 70000} {
		long := make([]byte, size)
		for i := range long {
			long[i] = byte(i * 13)
		}
		got := make([]byte, size)
		if n, more, err := p1.Transact(ctx, long, got[:10]); err != nil || !more || n != 10 {
			t.Fatalf("%d bytes: short transact: %d more=%v err=%v", size, n, more, err)
		}
		other := bytes.Repeat([]byte{0xEE}, size)
		if n, _, err := p2.Transact(ctx, other, make([]byte, size)); err != nil || n != size {
			t.Fatalf("%d bytes: transact on the second pipe: %d, %v", size, n, err)
		}
		n, more, err := p1.ReadMsg(ctx, got[10:])
		if err != nil || more || n != size-10 || !bytes.Equal(got, long) {
			t.Fatalf("%d bytes: rest of the short transact: %d more=%v err=%v, equal %v", size, n, more, err, bytes.Equal(got, long))
		}
	}
}

func TestE2EPendingRead(t *testing.T) {
	addr := startServer(t, "enabled")
	for _, d := range []smb2.Dialect{smb2.Dialect202, smb2.Dialect311} {
		for _, signed := range []bool{false, true} {
			cfg := aliceCfg
			cfg.MinDialect, cfg.MaxDialect, cfg.RequireSigning = d, d, signed
			name := fmt.Sprintf("%s/signed=%v", DialectString(d), signed)

			t.Run(name+"/completed by write", func(t *testing.T) {
				c := dialT(t, addr, cfg)
				p := openT(t, c, "echo")
				defer p.Close()
				got := make(chan string, 1)
				errc := make(chan error, 1)
				go func() {
					buf := make([]byte, 100)
					n, _, err := p.ReadMsg(t.Context(), buf)
					got <- string(buf[:n])
					errc <- err
				}()
				waitPending(t, c, 1)
				if _, err := p.WriteMsg(t.Context(), []byte("late")); err != nil {
					t.Fatal(err)
				}
				if s, err := <-got, <-errc; err != nil || s != "late" {
					t.Fatalf("read %q, %v", s, err)
				}
			})

			t.Run(name+"/cancelled", func(t *testing.T) {
				c := dialT(t, addr, cfg)
				p := openT(t, c, "echo")
				defer p.Close()
				ctx, cancel := context.WithCancel(t.Context())
				errc := make(chan error, 1)
				go func() {
					_, _, err := p.ReadMsg(ctx, make([]byte, 100))
					errc <- err
				}()
				waitPending(t, c, 1)
				cancel()
				err := <-errc
				if !errors.Is(err, ntstatus.Cancelled) || !errors.Is(err, context.Canceled) {
					t.Fatalf("got %v, want STATUS_CANCELLED and context.Canceled", err)
				}
				roundTrips(t, t.Context(), p, 1) // the handle still works
			})

			// A pending READ ends with STATUS_PIPE_BROKEN when its handle
			// is closed and when its session logs off.
			for _, end := range []struct {
				name string
				do   func(ctx context.Context, c *Conn, p *Pipe) error
			}{
				{"closed", func(_ context.Context, _ *Conn, p *Pipe) error { return p.Close() }},
				{"logoff", func(ctx context.Context, c *Conn, _ *Pipe) error { return c.Logoff(ctx) }},
			} {
				t.Run(name+"/"+end.name, func(t *testing.T) {
					c := dialT(t, addr, cfg)
					p := openT(t, c, "echo")
					errc := make(chan error, 1)
					go func() {
						_, _, err := p.ReadMsg(t.Context(), make([]byte, 100))
						errc <- err
					}()
					waitPending(t, c, 1)
					if err := end.do(t.Context(), c, p); err != nil {
						t.Fatal(err)
					}
					if err := <-errc; !errors.Is(err, ntstatus.PipeBroken) {
						t.Fatalf("got %v, want STATUS_PIPE_BROKEN", err)
					}
				})
			}
		}
	}

	t.Run("read deadline", func(t *testing.T) {
		c := dialT(t, addr, anonCfg)
		p := openT(t, c, "echo")
		defer p.Close()
		p.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := p.Read(make([]byte, 10))
		var te interface{ Timeout() bool }
		if !errors.As(err, &te) || !te.Timeout() {
			t.Fatalf("got %v, want a timeout", err)
		}
	})
}

func TestE2EConcurrent(t *testing.T) {
	addr := startServer(t, "enabled")
	for _, d := range []smb2.Dialect{smb2.Dialect202, smb2.Dialect311} {
		t.Run(DialectString(d), func(t *testing.T) {
			cfg := aliceCfg
			cfg.MinDialect, cfg.MaxDialect, cfg.RequireSigning = d, d, true
			cfg.Credits = 8 // force waiting for credits
			c := dialT(t, addr, cfg)
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for g := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p, err := c.OpenPipe(t.Context(), "echo")
					if err != nil {
						errs <- err
						return
					}
					defer p.Close()
					buf := make([]byte, 256)
					for i := range 50 {
						msg := fmt.Appendf(nil, "g%d-%d", g, i)
						n, _, err := p.Transact(t.Context(), msg, buf)
						if err != nil || !bytes.Equal(buf[:n], msg) {
							errs <- fmt.Errorf("transact %q: %q %v", msg, buf[:n], err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func TestE2EQueryInfoAndRaw(t *testing.T) {
	addr := startServer(t, "enabled")
	ctx := t.Context()
	c := dialT(t, addr, aliceCfg)
	p := openT(t, c, "echo")
	defer p.Close()

	info, err := p.QueryInfo(ctx, smb2.InfoFile, smb2.FilePipeLocalInformation, 40)
	if err != nil {
		t.Fatal(err)
	}
	if len(info) != 40 || binary.LittleEndian.Uint32(info[0:]) != 1 || binary.LittleEndian.Uint32(info[4:]) != 2 {
		t.Fatalf("FilePipeLocalInformation % x: want message type, full duplex", info)
	}
	if _, err := p.QueryInfo(ctx, smb2.InfoFile, smb2.FileStandardInformation, 24); err != nil {
		t.Fatal(err)
	}
	pi, err := p.QueryInfo(ctx, smb2.InfoFile, smb2.FilePipeInformation, 8)
	if err != nil || len(pi) != 8 {
		t.Fatalf("FilePipeInformation % x %v", pi, err)
	}

	// Raw ECHO through the escape hatch.
	h := smb2.Header{Command: smb2.CmdEcho, SessionID: c.SessionID()}
	resp, err := c.RoundTrip(ctx, &RawRequest{Header: h, Body: (&smb2.EchoRequest{}).Append(nil)})
	if err != nil || resp.Header.Status != ntstatus.Success || resp.Header.Command != smb2.CmdEcho {
		t.Fatalf("raw echo: %+v %v", resp, err)
	}
	// A READ on a bogus FileId fails, and the Conn carries on.
	h = smb2.Header{Command: smb2.CmdRead, SessionID: c.SessionID(), TreeID: c.TreeID()}
	body := (&smb2.ReadRequest{Padding: 0x50, Length: 10, FileID: smb2.FileID{Persistent: 77, Volatile: 77}}).Append(nil)
	resp, err = c.RoundTrip(ctx, &RawRequest{Header: h, Body: body})
	if err != nil || resp.Header.Status == ntstatus.Success {
		t.Fatalf("raw read of a bogus handle: %+v %v", resp, err)
	}
	roundTrips(t, ctx, p, 1)
}

func TestE2EDialer(t *testing.T) {
	addr := startServer(t, "enabled")
	d := Dialer{Config: aliceCfg}
	p, err := d.DialContext(t.Context(), `\\`+addr+`\pipe\echo`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	n, err := p.Read(buf)
	if err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("%q %v", buf[:n], err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}
