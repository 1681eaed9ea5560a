package server

import (
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// fakeConn is a net.Conn whose reads end at once and whose writes are kept
// (the last frame) or discarded.
type fakeConn struct {
	mu    sync.Mutex
	last  []byte
	count int
}

func (f *fakeConn) Read([]byte) (int, error) { return 0, io.EOF }
func (f *fakeConn) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = append(f.last[:0], b...)
	f.count++
	return len(b), nil
}
func (f *fakeConn) lastFrame() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.last...)
}
func (f *fakeConn) Close() error        { return nil }
func (f *fakeConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 445} }
func (f *fakeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
}
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestServer serves the embedded default policy plus a pipe "hot" with a
// NULL DACL whose server ends the test accepts itself.
func newTestServer(t testing.TB) (*Server, *pipe.Listener) {
	t.Helper()
	cfg := policy.Default()
	cfg.Accounts = append(cfg.Accounts, policy.Account{Name: "alice", Password: "Passw0rd!"})
	snap, err := policy.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Snapshot: snap, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	l, err := srv.Listen("hot", pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex}, "D:NO_ACCESS_CONTROL")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); srv.Close() })
	return srv, l
}

// newTestConn is a connection past NEGOTIATE (2.1) with an authenticated
// session 1, tree 1 and, when pipeName is not "", an open with FileId
// {1, 1} of that pipe.
func newTestConn(t testing.TB, srv *Server, pipeName string) (*conn, *fakeConn) {
	t.Helper()
	fc := &fakeConn{}
	c := newConn(srv, fc, policy.Limits{}.WithDefaults())
	c.dialect, c.negotiated = smb2.Dialect210, true
	s := &session{id: 1, valid: true, ident: policy.Identity{Kind: policy.User, User: "alice"}, trees: map[uint32]*tree{}}
	c.sessions[1] = s
	tr := &tree{id: 1, sess: s, opens: map[uint64]*open{}}
	s.trees[1] = tr
	c.nextSess, c.nextTree = 2, 2
	if pipeName != "" {
		end, err := srv.ns.Open(pipeName, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := &open{id: smb2.FileID{Persistent: 1, Volatile: 1}, tree: tr, end: end, name: pipeName, granted: 3}
		c.opens[1], tr.opens[1] = o, o
		c.nextFile = 2
	}
	return c, fc
}

// msg encodes one request message.
func msg(h smb2.Header, body smb2.Body) []byte {
	b := h.Append(nil)
	return body.Append(b)
}

func reqHeader(cmd smb2.Command, mid uint64) smb2.Header {
	return smb2.Header{Command: cmd, MessageID: mid, Credit: 1, CreditCharge: 1, SessionID: 1, TreeID: 1}
}

var hotFID = smb2.FileID{Persistent: 1, Volatile: 1}

// compound joins messages into one frame payload, setting NextCommand and
// 8-byte padding; related marks every message after the first related.
func compound(related bool, msgs ...[]byte) []byte {
	var out []byte
	for i, m := range msgs {
		start := len(out)
		out = append(out, m...)
		if i > 0 && related {
			f := binary.LittleEndian.Uint32(out[start+16:])
			binary.LittleEndian.PutUint32(out[start+16:], f|smb2.FlagRelatedOperations)
		}
		if i < len(msgs)-1 {
			for len(out)%8 != 0 {
				out = append(out, 0)
			}
			binary.LittleEndian.PutUint32(out[start+20:], uint32(len(out)-start))
		}
	}
	return out
}

// responses splits a reply frame (with its transport header) into headers.
func responses(t testing.TB, frame []byte) []smb2.Header {
	t.Helper()
	if len(frame) < 4 {
		t.Fatalf("short frame %x", frame)
	}
	var hs []smb2.Header
	for rest := frame[4:]; len(rest) > 0; {
		m, next, err := smb2.NextMessage(rest)
		if err != nil {
			t.Fatal(err)
		}
		var h smb2.Header
		if err := h.Decode(m); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		rest = next
	}
	return hs
}

// TestCompound sends related and unrelated compounds and checks that the
// responses come back in one frame, in order, with the cascade of a failed
// related chain.
func TestCompound(t *testing.T) {
	srv, l := newTestServer(t)
	go func() {
		for {
			e, err := l.AcceptEnd(t.Context())
			if err != nil {
				return
			}
			go func() { // echo
				defer e.Close()
				b := make([]byte, 1024)
				for {
					n, _, err := e.ReadMsg(t.Context(), b)
					if err != nil {
						return
					}
					e.Write(b[:n])
				}
			}()
		}
	}()
	c, fc := newTestConn(t, srv, "")
	defer c.teardown()
	c.credits.high = 64

	create := msg(reqHeader(smb2.CmdCreate, 1), &smb2.CreateRequest{
		ImpersonationLevel: 2, DesiredAccess: 3, CreateDisposition: 1, Name: smb2.AppendUTF16(nil, "hot")})
	h := reqHeader(smb2.CmdWrite, 2)
	h.SessionID, h.TreeID = ^uint64(0), ^uint32(0)
	write := msg(h, &smb2.WriteRequest{FileID: smb2.WildcardFileID, Data: []byte("ping")})
	h = reqHeader(smb2.CmdClose, 3)
	h.SessionID, h.TreeID = ^uint64(0), ^uint32(0)
	closeReq := msg(h, &smb2.CloseRequest{FileID: smb2.WildcardFileID})
	if err := c.handleFrame(compound(true, create, write, closeReq)); err != nil {
		t.Fatal(err)
	}
	got := responses(t, fc.lastFrame())
	want := []struct {
		cmd smb2.Command
		st  ntstatus.Status
	}{{smb2.CmdCreate, ntstatus.Success}, {smb2.CmdWrite, ntstatus.Success}, {smb2.CmdClose, ntstatus.Success}}
	if len(got) != len(want) {
		t.Fatalf("%d responses, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Command != w.cmd || got[i].Status != w.st || (i > 0) != (got[i].Flags&smb2.FlagRelatedOperations != 0) {
			t.Errorf("response %d: %v %v flags %#x, want %v %v related", i, got[i].Command, got[i].Status, got[i].Flags, w.cmd, w.st)
		}
	}

	// A failed CREATE cascades its status to the related requests.
	create = msg(reqHeader(smb2.CmdCreate, 4), &smb2.CreateRequest{
		ImpersonationLevel: 2, DesiredAccess: 3, Name: smb2.AppendUTF16(nil, "nosuchpipe")})
	h = reqHeader(smb2.CmdRead, 5)
	h.SessionID, h.TreeID = ^uint64(0), ^uint32(0)
	read := msg(h, &smb2.ReadRequest{FileID: smb2.WildcardFileID, Length: 10})
	if err := c.handleFrame(compound(true, create, read)); err != nil {
		t.Fatal(err)
	}
	got = responses(t, fc.lastFrame())
	if len(got) != 2 || got[0].Status != ntstatus.ObjectNameNotFound || got[1].Status != ntstatus.ObjectNameNotFound {
		t.Fatalf("cascade: %+v", got)
	}

	// Unrelated: two ECHOs and a READ of an unknown FileId.
	e1 := msg(reqHeader(smb2.CmdEcho, 6), &smb2.EchoRequest{})
	e2 := msg(reqHeader(smb2.CmdEcho, 7), &smb2.EchoRequest{})
	bad := msg(reqHeader(smb2.CmdRead, 8), &smb2.ReadRequest{FileID: smb2.FileID{Persistent: 9, Volatile: 9}, Length: 1})
	if err := c.handleFrame(compound(false, e1, e2, bad)); err != nil {
		t.Fatal(err)
	}
	got = responses(t, fc.lastFrame())
	if len(got) != 3 || got[0].Status != 0 || got[1].Status != 0 || got[2].Status != ntstatus.FileClosed ||
		got[0].MessageID != 6 || got[2].MessageID != 8 {
		t.Fatalf("unrelated: %+v", got)
	}
}

// TestProtocolViolations: each drops the connection (handleFrame errors).
func TestProtocolViolations(t *testing.T) {
	srv, _ := newTestServer(t)
	tests := []struct {
		name    string
		payload func() []byte
	}{
		{"second negotiate", func() []byte {
			return msg(reqHeader(smb2.CmdNegotiate, 0), &smb2.NegotiateRequest{Dialects: []smb2.Dialect{smb2.Dialect210}})
		}},
		{"replayed MessageId", func() []byte {
			return compound(false, msg(reqHeader(smb2.CmdEcho, 0), &smb2.EchoRequest{}), msg(reqHeader(smb2.CmdEcho, 0), &smb2.EchoRequest{}))
		}},
		{"MessageId beyond the window", func() []byte { return msg(reqHeader(smb2.CmdEcho, 5000), &smb2.EchoRequest{}) }},
		{"response flag", func() []byte {
			h := reqHeader(smb2.CmdEcho, 0)
			h.Flags = smb2.FlagServerToRedir
			return msg(h, &smb2.EchoRequest{})
		}},
		{"short header", func() []byte { return []byte{0xFE, 'S', 'M', 'B', 64, 0} }},
		{"encrypted", func() []byte { return append([]byte{0xFD, 'S', 'M', 'B'}, make([]byte, 60)...) }},
		{"SMB1 after negotiate", func() []byte { return []byte{0xFF, 'S', 'M', 'B', 0x72, 0, 0, 0} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestConn(t, srv, "")
			defer c.teardown()
			if err := c.handleFrame(tc.payload()); err == nil {
				t.Fatal("connection kept")
			}
		})
	}
}

// TestSMB1Upgrade: an SMB1 NEGOTIATE offering "SMB 2.???" is answered
// with the wildcard dialect, one offering only "SMB 2.002" with 2.0.2.
func TestSMB1Upgrade(t *testing.T) {
	srv, _ := newTestServer(t)
	smb1 := func(dialects ...string) []byte {
		b := []byte{0xFF, 'S', 'M', 'B', 0x72, 0, 0, 0, 0, 0x18, 0x53, 0xC8}
		b = append(b, make([]byte, 32-len(b))...)
		b = append(b, 0) // WordCount
		var data []byte
		for _, d := range dialects {
			data = append(data, 0x02)
			data = append(data, d...)
			data = append(data, 0)
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
		return append(b, data...)
	}
	tests := []struct {
		dialects []string
		want     smb2.Dialect
	}{
		{[]string{"NT LM 0.12", "SMB 2.002", "SMB 2.???"}, smb2.DialectWildcard},
		{[]string{"NT LM 0.12", "SMB 2.002"}, smb2.Dialect202},
	}
	for _, tc := range tests {
		fc := &fakeConn{}
		c := newConn(srv, fc, policy.Limits{}.WithDefaults())
		if err := c.handleFrame(smb1(tc.dialects...)); err != nil {
			t.Fatal(err)
		}
		f := fc.lastFrame()
		var resp smb2.NegotiateResponse
		if err := resp.Decode(f[4:]); err != nil {
			t.Fatal(err)
		}
		if resp.DialectRevision != tc.want {
			t.Errorf("%v: dialect %#x, want %#x", tc.dialects, resp.DialectRevision, tc.want)
		}
		c.teardown()
	}
	c := newConn(srv, &fakeConn{}, policy.Limits{}.WithDefaults())
	if err := c.handleFrame(smb1("NT LM 0.12")); err == nil {
		t.Error("SMB1-only NEGOTIATE accepted")
	}
	c.teardown()
}

// TestHotPathAllocs pins READ and WRITE on an open pipe at zero
// allocations per request beyond pooled buffers.
func TestHotPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c, se := hotPipe(t)
	step := writeReadStep(t, c, se, []byte("0123456789abcdef0123456789abcdef"))
	for range 10 {
		step()
	}
	if n := testing.AllocsPerRun(200, step); n > 0 {
		t.Errorf("%.1f allocations per WRITE+READ, want 0", n)
	}
}

// writeReadStep returns one step of the hot path on c's open hotFID: a
// WRITE of payload (se, the pipe's server end, reads it and writes
// payload back) and a READ of the reply, each with the next MessageId.
// The step allocates nothing of its own.
func writeReadStep(tb testing.TB, c *conn, se *pipe.End, payload []byte) func() {
	write := msg(reqHeader(smb2.CmdWrite, 0), &smb2.WriteRequest{FileID: hotFID, Data: payload})
	read := msg(reqHeader(smb2.CmdRead, 0), &smb2.ReadRequest{FileID: hotFID, Length: 1024})
	buf := make([]byte, 1024)
	mid := uint64(0)
	return func() {
		binary.LittleEndian.PutUint64(write[24:], mid)
		mid++
		if err := c.handleFrame(write); err != nil {
			tb.Fatal(err)
		}
		if _, _, err := se.ReadMsg(tb.Context(), buf); err != nil {
			tb.Fatal(err)
		}
		se.Write(payload)
		binary.LittleEndian.PutUint64(read[24:], mid)
		mid++
		if err := c.handleFrame(read); err != nil {
			tb.Fatal(err)
		}
	}
}

// hotPipe is a test connection (newTestConn) with the pipe "hot" open
// as hotFID, and the server end of that open; both end with the test.
func hotPipe(tb testing.TB) (*conn, *pipe.End) {
	tb.Helper()
	srv, l := newTestServer(tb)
	c, _ := newTestConn(tb, srv, "hot")
	tb.Cleanup(c.teardown)
	se, err := l.AcceptEnd(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { se.Close() })
	return c, se
}

func BenchmarkHotPath(b *testing.B) {
	c, se := hotPipe(b)
	payload := []byte("0123456789abcdef0123456789abcdef")
	read := msg(reqHeader(smb2.CmdRead, 0), &smb2.ReadRequest{FileID: hotFID, Length: 1024})
	b.ReportAllocs()
	for i := range b.N {
		se.Write(payload)
		binary.LittleEndian.PutUint64(read[24:], uint64(i))
		if err := c.handleFrame(read); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzHandleFrame feeds arbitrary frames to a connection with a session,
// a tree and an open echo pipe: nothing may panic, whatever the bytes.
func FuzzHandleFrame(f *testing.F) {
	fid := hotFID
	f.Add(msg(reqHeader(smb2.CmdRead, 1), &smb2.ReadRequest{FileID: fid, Length: 100}))
	f.Add(msg(reqHeader(smb2.CmdWrite, 1), &smb2.WriteRequest{FileID: fid, Data: []byte("hi")}))
	f.Add(msg(reqHeader(smb2.CmdCreate, 1), &smb2.CreateRequest{DesiredAccess: 3, ImpersonationLevel: 2, Name: smb2.AppendUTF16(nil, "echo")}))
	f.Add(msg(reqHeader(smb2.CmdIoctl, 1), &smb2.IoctlRequest{CtlCode: smb2.FsctlPipeTransceive, FileID: fid, Input: []byte("x"), MaxOutputResponse: 100, Flags: 1}))
	f.Add(msg(reqHeader(smb2.CmdIoctl, 1), &smb2.IoctlRequest{CtlCode: smb2.FsctlPipePeek, FileID: fid, MaxOutputResponse: 100, Flags: 1}))
	f.Add(msg(reqHeader(smb2.CmdIoctl, 1), &smb2.IoctlRequest{CtlCode: smb2.FsctlPipeWait, FileID: smb2.WildcardFileID, Input: append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0}, smb2.AppendUTF16(nil, "echo")...), Flags: 1}))
	f.Add(msg(reqHeader(smb2.CmdIoctl, 1), &smb2.IoctlRequest{CtlCode: smb2.FsctlValidateNegotiate, FileID: smb2.WildcardFileID, Input: make([]byte, 26), MaxOutputResponse: 24, Flags: 1}))
	f.Add(msg(reqHeader(smb2.CmdQueryInfo, 1), &smb2.QueryInfoRequest{InfoType: smb2.InfoFile, FileInfoClass: smb2.FilePipeLocalInformation, OutputBufferLength: 40, FileID: fid}))
	f.Add(msg(reqHeader(smb2.CmdSetInfo, 1), &smb2.SetInfoRequest{InfoType: smb2.InfoFile, FileInfoClass: smb2.FilePipeInformation, Buffer: make([]byte, 8), FileID: fid}))
	f.Add(msg(reqHeader(smb2.CmdTreeConnect, 1), &smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, `\\h\IPC$`)}))
	f.Add(msg(reqHeader(smb2.CmdSessionSetup, 1), &smb2.SessionSetupRequest{SecurityBuffer: []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2")}))
	f.Add(compound(true, msg(reqHeader(smb2.CmdWrite, 1), &smb2.WriteRequest{FileID: fid, Data: []byte("a")}),
		msg(reqHeader(smb2.CmdRead, 2), &smb2.ReadRequest{FileID: smb2.WildcardFileID, Length: 10}),
		msg(reqHeader(smb2.CmdClose, 3), &smb2.CloseRequest{FileID: smb2.WildcardFileID})))
	f.Add([]byte{0xFF, 'S', 'M', 'B', 0x72})
	// Issue 9's paths: a re-authentication on the session (unsigned and
	// signed with a bogus signature), a CANCEL, WAIT with a \pipe\ prefix.
	signed := reqHeader(smb2.CmdSessionSetup, 1)
	signed.Flags = smb2.FlagSigned
	signed.Signature = [16]byte{1}
	f.Add(msg(signed, &smb2.SessionSetupRequest{SecurityBuffer: []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2")}))
	f.Add(msg(reqHeader(smb2.CmdCancel, 1), &smb2.CancelRequest{}))
	f.Add(msg(reqHeader(smb2.CmdIoctl, 1), &smb2.IoctlRequest{CtlCode: smb2.FsctlPipeWait, FileID: smb2.WildcardFileID, Input: append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0}, smb2.AppendUTF16(nil, `\pipe\echo`)...), Flags: 1}))
	for _, p := range capturedClientFrames(f) {
		f.Add(p)
	}

	srv, _ := newTestServer(f)
	key := smbcrypto.DeriveKeys(0x0210, make([]byte, 16), nil).Signing
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, _ := newTestConn(t, srv, "echo")
		c.credits.high = ringBits / 2
		// The input's last byte also picks the session's state: signing
		// required (bit 0) and anonymous (bit 1).
		if n := len(payload); n > 0 {
			s := c.sessions[1]
			if payload[n-1]&1 != 0 {
				s.signer = smbcrypto.NewSigner(0x0210, 0, key)
				s.verifier = smbcrypto.NewSigner(0x0210, 0, key)
				s.signingRequired = true
			}
			if payload[n-1]&2 != 0 {
				s.ident = policy.Identity{Kind: policy.Anonymous}
			}
		}
		_ = c.handleFrame(payload)
		c.teardown()
	})
}

// capturedClientFrames returns the payloads of the client-to-server frames
// of real impacket, smbclient and rpcclient traffic (the smb2 package's
// testdata/*.frames, see its README).
func capturedClientFrames(tb testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("..", "smb2", "testdata", "*.frames"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no ../smb2/testdata/*.frames: %v", err)
	}
	var out [][]byte
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			hx, ok := strings.CutPrefix(line, "C ")
			if !ok {
				continue
			}
			if b, err := hex.DecodeString(hx); err == nil && len(b) > 4 {
				out = append(out, b[4:])
			}
		}
	}
	return out
}
