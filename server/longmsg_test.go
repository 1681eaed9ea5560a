package server_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/server"
)

// TestLongMessages: messages far longer than a pipe's quota (64 KiB) go
// through SMB whole. The pipe does not buffer them: a WRITE stays pending,
// its data counted against max_async_bytes*, until the server end has
// read it in place, and the client reads an echo in place from its own
// pending WRITE.
func TestLongMessages(t *testing.T) {
	_, l, addr := withGoPipe(t, server.Options{Snapshot: snapshot(t, false, false, "enabled", "")}, "svc", "D:(A;;0x12019B;;;AU)")
	c, err := dial(t, addr, alice)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}

	t.Run("WRITE read by the server end", func(t *testing.T) {
		p, se := openGoPipe(t, c, l, "svc")
		read := make(chan []byte, 1)
		go func() {
			m, _ := se.AppendMessage(context.Background(), nil)
			read <- m
		}()
		if n, err := p.WriteMsg(t.Context(), big); n != len(big) || err != nil {
			t.Fatalf("WriteMsg = %d, %v", n, err)
		}
		if m := <-read; !bytes.Equal(m, big) {
			t.Fatalf("the server end read %d bytes, want the %d written", len(m), len(big))
		}
		// The server end writes one back; the client reads it in parts.
		go se.Write(big)
		buf := make([]byte, 3<<20)
		var got []byte
		for {
			n, more, err := p.ReadMsg(t.Context(), buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:n]...)
			if !more {
				break
			}
		}
		if !bytes.Equal(got, big) {
			t.Fatalf("read %d bytes back", len(got))
		}
	})

	t.Run("WRITEs nobody reads", func(t *testing.T) {
		// One WRITE of 8 MiB waits, holding its data (the connection holds
		// nothing else); the others on the connection are refused.
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		var mu sync.Mutex
		refused := 0
		for range 8 {
			p, err := c.OpenPipe(t.Context(), "svc")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			wg.Go(func() {
				// Refused, or pending until cancelled.
				if _, err := p.WriteMsg(ctx, big); errors.Is(err, ntstatus.InsufficientResources) {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			})
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := refused
			mu.Unlock()
			if n == 7 {
				break
			}
			if n > 7 || time.Now().After(deadline) {
				t.Fatalf("%d WRITEs refused, want 7", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		for range 8 {
			if se, err := l.AcceptEnd(t.Context()); err == nil {
				se.Close()
			}
		}
	})

	t.Run("echo", func(t *testing.T) {
		p, err := c.OpenPipe(t.Context(), "echo")
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for _, size := range []int{64 << 10, 100 << 10, 1 << 20} {
			msg := big[:size]
			wrote := make(chan error, 1)
			go func() {
				_, err := p.WriteMsg(t.Context(), msg)
				wrote <- err
			}()
			buf := make([]byte, size)
			if n, more, err := p.ReadMsg(t.Context(), buf); n != size || more || err != nil || !bytes.Equal(buf, msg) {
				t.Fatalf("echo of %d bytes: ReadMsg = %d, %v, %v", size, n, more, err)
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
		}
		for _, size := range []int{100 << 10, 1 << 20, 8 << 20} {
			out := make([]byte, size)
			if n, more, err := p.Transact(t.Context(), big[:size], out); n != size || more || err != nil || !bytes.Equal(out, big[:size]) {
				t.Fatalf("Transact of %d bytes = %d, %v, %v", size, n, more, err)
			}
		}
		// A reply longer than the buffer: the rest is read in place from
		// the request, which the server holds until it is read.
		out := make([]byte, 1<<20)
		n, more, err := p.Transact(t.Context(), big[:3<<20], out)
		if n != len(out) || !more || err != nil {
			t.Fatalf("short Transact = %d, %v, %v", n, more, err)
		}
		rest := make([]byte, 2<<20)
		if n, more, err := p.ReadMsg(t.Context(), rest); n != len(rest) || more || err != nil || !bytes.Equal(rest, big[1<<20:3<<20]) {
			t.Fatalf("rest of the reply: %d, %v, %v", n, more, err)
		}
	})
}
