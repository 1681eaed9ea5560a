package robust

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// hostile is one malformed-traffic case: it runs against the server at
// addr while a well-behaved client transacts; good is that client's pipe
// (whose SessionId and FileId attackers try to use).
type hostile struct {
	name string
	run  func(t *testing.T, ts *testServer, good *client.Pipe)
}

// negotiateBody is a valid NEGOTIATE request body offering 2.0.2 - 3.0.2.
func negotiateBody() []byte {
	return (&smb2.NegotiateRequest{SecurityMode: smb2.SigningEnabled,
		Dialects: []smb2.Dialect{smb2.Dialect202, smb2.Dialect210, smb2.Dialect300, smb2.Dialect302}}).Append(nil)
}

var hostileCases = []hostile{
	{"truncated frame", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		nc := rawDial(t, ts.addr)
		nc.Write([]byte{0, 0, 0, 200, 0xFE, 'S', 'M', 'B', 64, 0})
		nc.(interface{ CloseWrite() error }).CloseWrite()
		expectClosed(t, nc, 5*time.Second)
	}},
	{"truncated SMB2 header", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		nc := rawDial(t, ts.addr)
		nc.Write(frame([]byte{0xFE, 'S', 'M', 'B', 64, 0, 0, 0}))
		expectClosed(t, nc, 5*time.Second)
	}},
	{"frame longer than max_message_size", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		before := ts.metric(t, `smbpipe_limit_hits_total{limit="max_message_size"}`)
		for _, n := range []uint32{0xFFFFFF, 131072 + 1} {
			nc := rawDial(t, ts.addr)
			nc.Write([]byte{0, byte(n >> 16), byte(n >> 8), byte(n)})
			expectClosed(t, nc, 5*time.Second) // at once: nothing of the body was sent
		}
		if got := ts.metric(t, `smbpipe_limit_hits_total{limit="max_message_size"}`); got != before+2 {
			t.Errorf("max_message_size hits %v, want %v", got, before+2)
		}
	}},
	{"wrong protocol id", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		for _, id := range []string{"\xFESMX", "\xFDSMB", "\x00\x00\x00\x00", "GET "} {
			nc := rawDial(t, ts.addr)
			m := message(smb2.Header{Command: smb2.CmdNegotiate}, negotiateBody())
			copy(m, id)
			nc.Write(frame(m))
			expectClosed(t, nc, 5*time.Second)
		}
	}},
	{"wrong header StructureSize", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		nc := rawDial(t, ts.addr)
		m := message(smb2.Header{Command: smb2.CmdNegotiate}, negotiateBody())
		binary.LittleEndian.PutUint16(m[4:], 65)
		nc.Write(frame(m))
		expectClosed(t, nc, 5*time.Second)
	}},
	{"wrong body StructureSize", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		nc := rawDial(t, ts.addr)
		body := negotiateBody()
		binary.LittleEndian.PutUint16(body, 37)
		nc.Write(frame(message(smb2.Header{Command: smb2.CmdNegotiate, Credit: 1}, body)))
		if st, closed := readStatus(t, nc); closed || st != ntstatus.InvalidParameter {
			t.Fatalf("status %v closed %v, want STATUS_INVALID_PARAMETER", st, closed)
		}
	}},
	{"request before NEGOTIATE", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		nc := rawDial(t, ts.addr)
		nc.Write(frame(message(smb2.Header{Command: smb2.CmdEcho}, (&smb2.EchoRequest{}).Append(nil))))
		expectClosed(t, nc, 5*time.Second)
	}},
	{"requests before SESSION_SETUP", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		c := negotiated(t, ts.addr, anon)
		for _, cmd := range []smb2.Command{smb2.CmdTreeConnect, smb2.CmdCreate, smb2.CmdLogoff, smb2.CmdRead} {
			if st := raw(t, c, &client.RawRequest{Header: smb2.Header{Command: cmd}, Body: make([]byte, 64)}); st != ntstatus.UserSessionDeleted {
				t.Errorf("%v: %v, want STATUS_USER_SESSION_DELETED", cmd, st)
			}
		}
	}},
	{"another connection's SessionId", func(t *testing.T, ts *testServer, good *client.Pipe) {
		c := negotiated(t, ts.addr, anon)
		st := raw(t, c, &client.RawRequest{
			Header: smb2.Header{Command: smb2.CmdTreeConnect, SessionID: good.Conn().SessionID()},
			Body:   (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, `\\SMBPIPE\IPC$`)}).Append(nil),
		})
		if st != ntstatus.UserSessionDeleted {
			t.Fatalf("%v, want STATUS_USER_SESSION_DELETED", st)
		}
	}},
	{"another session's FileId", func(t *testing.T, ts *testServer, good *client.Pipe) {
		c := dial(t, ts.addr, alice)
		h := smb2.Header{Command: smb2.CmdRead, SessionID: c.SessionID(), TreeID: c.TreeID()}
		st := raw(t, c, &client.RawRequest{Header: h, Body: (&smb2.ReadRequest{FileID: good.FileID(), Length: 16}).Append(nil)})
		if st != ntstatus.FileClosed {
			t.Fatalf("%v, want STATUS_FILE_CLOSED", st)
		}
	}},
	{"offsets and lengths outside the message", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		c := dial(t, ts.addr, alice)
		p := testclient.Open(t, c, "echo")
		h := smb2.Header{SessionID: c.SessionID(), TreeID: c.TreeID()}
		create := (&smb2.CreateRequest{DesiredAccess: 3, ImpersonationLevel: 2, Name: smb2.AppendUTF16(nil, "echo")}).Append(nil)
		binary.LittleEndian.PutUint16(create[44:], 0xFFF0) // NameOffset
		write := (&smb2.WriteRequest{FileID: p.FileID(), Data: []byte("0123456789")}).Append(nil)
		binary.LittleEndian.PutUint16(write[2:], 0xFFF0) // DataOffset
		long := (&smb2.WriteRequest{FileID: p.FileID(), Data: []byte("0123456789")}).Append(nil)
		binary.LittleEndian.PutUint32(long[4:], 1000) // Length beyond the data: a WRITE whose length exceeds its data
		tc := (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, `\\SMBPIPE\IPC$`)}).Append(nil)
		binary.LittleEndian.PutUint16(tc[6:], 0x7FFF) // PathLength
		for _, r := range []struct {
			name string
			cmd  smb2.Command
			body []byte
		}{{"CREATE NameOffset", smb2.CmdCreate, create}, {"WRITE DataOffset", smb2.CmdWrite, write},
			{"WRITE Length", smb2.CmdWrite, long}, {"TREE_CONNECT PathLength", smb2.CmdTreeConnect, tc}} {
			h.Command = r.cmd
			if st := raw(t, c, &client.RawRequest{Header: h, Body: r.body, Sign: true}); st != ntstatus.InvalidParameter {
				t.Errorf("%s: %v, want STATUS_INVALID_PARAMETER", r.name, st)
			}
		}
		transact(t, p, 0) // the hostile connection itself is still fine
	}},
	{"NextCommand out of range, into the header, unaligned", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		for _, next := range []uint32{8, 64, 70, 4096, 0xFFFFFFF8} {
			c := dial(t, ts.addr, anon)
			m := message(smb2.Header{Command: smb2.CmdEcho, NextCommand: next, MessageID: 50}, (&smb2.EchoRequest{}).Append(nil))
			m = append(m, make([]byte, 8)...)
			if err := c.WriteFrame(m); err != nil {
				t.Fatal(err)
			}
			expectConnGone(t, c)
		}
	}},
	{"compound whose related first request inherits nothing", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		c := dial(t, ts.addr, anon)
		h := smb2.Header{Command: smb2.CmdRead, Flags: smb2.FlagRelatedOperations, SessionID: ^uint64(0), TreeID: ^uint32(0)}
		st := raw(t, c, &client.RawRequest{Header: h, Body: (&smb2.ReadRequest{FileID: smb2.WildcardFileID, Length: 1}).Append(nil)})
		if st != ntstatus.InvalidParameter {
			t.Fatalf("%v, want STATUS_INVALID_PARAMETER", st)
		}
	}},
	{"CreditCharge too small for the READ", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		c := dial(t, ts.addr, alice)
		p := testclient.Open(t, c, "echo")
		h := smb2.Header{Command: smb2.CmdRead, SessionID: c.SessionID(), TreeID: c.TreeID()}
		st := raw(t, c, &client.RawRequest{Header: h, Size: 1, Body: (&smb2.ReadRequest{FileID: p.FileID(), Length: 1 << 20}).Append(nil)})
		if st != ntstatus.InvalidParameter {
			t.Fatalf("%v, want STATUS_INVALID_PARAMETER", st)
		}
	}},
	{"CreditCharge beyond the credits granted", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		c := dial(t, ts.addr, anon)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.RoundTrip(ctx, &client.RawRequest{KeepMessageID: true,
			Header: smb2.Header{Command: smb2.CmdEcho, MessageID: 20, CreditCharge: 60000}, Body: (&smb2.EchoRequest{}).Append(nil)})
		if err == nil {
			t.Fatal("answered; want the connection closed")
		}
	}},
	{"MessageId replay and out of the window", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		for _, mid := range []uint64{0, 1, 1 << 40, ^uint64(0) - 1} {
			c := dial(t, ts.addr, anon)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			_, err := c.RoundTrip(ctx, &client.RawRequest{KeepMessageID: true,
				Header: smb2.Header{Command: smb2.CmdEcho, MessageID: mid, CreditCharge: 1}, Body: (&smb2.EchoRequest{}).Append(nil)})
			cancel()
			if err == nil {
				t.Fatalf("MessageId %d answered; want the connection closed", mid)
			}
		}
	}},
	{"garbage security blobs", func(t *testing.T, ts *testServer, _ *client.Pipe) {
		c := negotiated(t, ts.addr, anon)
		junk := make([]byte, 300)
		rand.Read(junk)
		spnegoish := append([]byte{0x60, 0x82, 0xFF, 0xFF, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x84, 0x7F}, junk[:40]...)
		ntlmish := append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), junk[:60]...)
		for _, blob := range [][]byte{junk, spnegoish, ntlmish, nil, {0x60}} {
			st := raw(t, c, &client.RawRequest{Header: smb2.Header{Command: smb2.CmdSessionSetup},
				Body: (&smb2.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: blob}).Append(nil)})
			if st != ntstatus.InvalidParameter && st != ntstatus.MoreProcessingRequired {
				t.Errorf("blob % x...: %v, want STATUS_INVALID_PARAMETER", blob[:min(len(blob), 8)], st)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := c.Echo(ctx); err != nil {
			t.Fatalf("the connection broke: %v", err)
		}
	}},
	{"SESSION_SETUP binding (multichannel) refused", func(t *testing.T, ts *testServer, good *client.Pipe) {
		c := negotiated(t, ts.addr, alice)
		st := raw(t, c, &client.RawRequest{Header: smb2.Header{Command: smb2.CmdSessionSetup, SessionID: good.Conn().SessionID()},
			Body: (&smb2.SessionSetupRequest{Flags: smb2.SessionSetupBinding, SecurityMode: 1, SecurityBuffer: []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2")}).Append(nil)})
		if st != ntstatus.RequestNotAccepted {
			t.Fatalf("%v, want STATUS_REQUEST_NOT_ACCEPTED", st)
		}
	}},
}

// TestMalformed runs every hostile case against one server while a
// well-behaved client transacts between them; at the end goroutines and
// heap are back to their baseline.
func TestMalformed(t *testing.T) {
	ts := start(t, "[limits]\nmax_message_size = 131072\n")
	good := testclient.Open(t, dial(t, ts.addr, alice), "echo")
	transact(t, good, 0)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0, g0 := ms.HeapAlloc, baseline()

	for i, hc := range hostileCases {
		t.Run(hc.name, func(t *testing.T) { hc.run(t, ts, good) })
		transact(t, good, i+1)
	}
	// Every hostile connection was closed by its subtest's cleanup.
	settle(t, g0+2)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > heap0+16<<20 {
		t.Errorf("heap %d MiB after the cases, %d MiB before", ms.HeapAlloc>>20, heap0>>20)
	}
	transact(t, good, len(hostileCases)+1)
	if n := ts.metric(t, "smbpipe_panics_total"); n != 0 {
		t.Errorf("%v panics", n)
	}
}
