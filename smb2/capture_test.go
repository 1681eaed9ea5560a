package smb2

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// capturedFrame is one transport frame (4-byte header included) from the
// files in testdata/*.frames, extracted from real client/server captures
// (see testdata/README.md).
type capturedFrame struct {
	file   string
	line   int
	client bool // client to server
	frame  []byte
}

func loadCaptures(tb testing.TB) []capturedFrame {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.frames"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no testdata/*.frames: %v", err)
	}
	var out []capturedFrame
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			dir, hx, ok := strings.Cut(line, " ")
			b, err := hex.DecodeString(hx)
			if !ok || err != nil || (dir != "C" && dir != "S") {
				tb.Fatalf("%s:%d: bad line", name, n)
			}
			out = append(out, capturedFrame{filepath.Base(name), n, dir == "C", b})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// capturedMessages returns every SMB2 message of every captured frame
// (compound elements split), skipping SMB1 and encrypted frames.
func capturedMessages(tb testing.TB) [][]byte {
	var msgs [][]byte
	for _, cf := range loadCaptures(tb) {
		p := cf.frame[4:]
		if IsSMB1(p) || IsTransform(p) {
			continue
		}
		for rest := p; rest != nil; {
			var msg []byte
			var err error
			if msg, rest, err = NextMessage(rest); err != nil {
				tb.Fatalf("%s:%d: %v", cf.file, cf.line, err)
			}
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

// bodyFor returns a new value of the body type msg carries: chosen by the
// header's command and response flag, and ERROR for error responses. It
// returns nil for commands this package has no body type for.
func bodyFor(msg []byte) Body {
	cmd, resp := PeekCommand(msg), PeekFlags(msg)&FlagServerToRedir != 0
	if resp && HasErrorBody(msg) {
		return &ErrorResponse{}
	}
	if int(cmd) >= len(bodyTable) {
		return nil
	}
	mk := bodyTable[cmd].req
	if resp {
		mk = bodyTable[cmd].resp
	}
	if mk == nil {
		return nil
	}
	return mk()
}

var bodyTable = [NumCommands]struct{ req, resp func() Body }{
	CmdNegotiate:      {func() Body { return &NegotiateRequest{} }, func() Body { return &NegotiateResponse{} }},
	CmdSessionSetup:   {func() Body { return &SessionSetupRequest{} }, func() Body { return &SessionSetupResponse{} }},
	CmdLogoff:         {func() Body { return &LogoffRequest{} }, func() Body { return &LogoffResponse{} }},
	CmdTreeConnect:    {func() Body { return &TreeConnectRequest{} }, func() Body { return &TreeConnectResponse{} }},
	CmdTreeDisconnect: {func() Body { return &TreeDisconnectRequest{} }, func() Body { return &TreeDisconnectResponse{} }},
	CmdCreate:         {func() Body { return &CreateRequest{} }, func() Body { return &CreateResponse{} }},
	CmdClose:          {func() Body { return &CloseRequest{} }, func() Body { return &CloseResponse{} }},
	CmdFlush:          {func() Body { return &FlushRequest{} }, func() Body { return &FlushResponse{} }},
	CmdRead:           {func() Body { return &ReadRequest{} }, func() Body { return &ReadResponse{} }},
	CmdWrite:          {func() Body { return &WriteRequest{} }, func() Body { return &WriteResponse{} }},
	CmdIoctl:          {func() Body { return &IoctlRequest{} }, func() Body { return &IoctlResponse{} }},
	CmdCancel:         {func() Body { return &CancelRequest{} }, nil},
	CmdEcho:           {func() Body { return &EchoRequest{} }, func() Body { return &EchoResponse{} }},
	CmdQueryInfo:      {func() Body { return &QueryInfoRequest{} }, func() Body { return &QueryInfoResponse{} }},
	CmdSetInfo:        {func() Body { return &SetInfoRequest{} }, func() Body { return &SetInfoResponse{} }},
}

// reencode builds header(msg) + b.Append: the body re-encoded behind the
// original header.
func reencode(msg []byte, b Body) []byte {
	out := append([]byte(nil), msg[:HeaderSize]...)
	PutNextCommand(out, 0)
	return b.Append(out)
}

// checkRoundTrip decodes msg into a fresh body, re-encodes it and checks
// that decoding the result gives the same value.
func checkRoundTrip(tb testing.TB, msg []byte) (Body, []byte, error) {
	tb.Helper()
	b := bodyFor(msg)
	if b == nil {
		return nil, nil, nil
	}
	if err := b.Decode(msg); err != nil {
		return b, nil, err
	}
	re := reencode(msg, b)
	b2 := reflect.New(reflect.TypeOf(b).Elem()).Interface().(Body)
	if err := b2.Decode(re); err != nil {
		tb.Fatalf("%T: re-encoded message does not decode: %v\n%x", b, err, re)
	}
	if !reflect.DeepEqual(b, b2) {
		tb.Fatalf("%T: round trip differs:\n got %+v\nwant %+v", b, b2, b)
	}
	return b, re, nil
}

func TestCapturedFrames(t *testing.T) {
	frames := loadCaptures(t)
	var nSMB1, nEncrypted, nMsgs, nExact int
	seen := map[string]bool{}
	for _, cf := range frames {
		var prefix [4]byte
		copy(prefix[:], cf.frame)
		n, err := FrameLength(prefix)
		if err != nil || n != len(cf.frame)-4 {
			t.Fatalf("%s:%d: FrameLength = %d, %v; want %d", cf.file, cf.line, n, err, len(cf.frame)-4)
		}
		re := append([]byte{9, 9, 9, 9}, cf.frame[4:]...)
		PutFrameLength(re)
		if !bytes.Equal(re[:4], cf.frame[:4]) {
			t.Fatalf("%s:%d: PutFrameLength wrote %x, want %x", cf.file, cf.line, re[:4], cf.frame[:4])
		}
		p := cf.frame[4:]
		switch {
		case IsSMB1(p):
			nSMB1++
			d, err := ParseSMB1Negotiate(p)
			if err != nil {
				t.Fatalf("%s:%d: %v", cf.file, cf.line, err)
			}
			if !containsString(d, "SMB 2.???") || !containsString(d, "SMB 2.002") {
				t.Errorf("%s:%d: SMB1 dialects %q lack the SMB2 strings", cf.file, cf.line, d)
			}
			continue
		case IsTransform(p):
			nEncrypted++
			continue
		}
		for rest := p; rest != nil; {
			msg, r, err := NextMessage(rest)
			if err != nil {
				t.Fatalf("%s:%d: NextMessage: %v", cf.file, cf.line, err)
			}
			rest = r
			nMsgs++
			var h Header
			if err := h.Decode(msg); err != nil {
				t.Fatalf("%s:%d: header: %v", cf.file, cf.line, err)
			}
			if h.IsResponse() == cf.client {
				t.Errorf("%s:%d: response flag %v on a %v frame", cf.file, cf.line, h.IsResponse(), cf.client)
			}
			if got := h.Append(nil); !bytes.Equal(got, msg[:HeaderSize]) {
				t.Fatalf("%s:%d: header re-encodes as\n%x\nwant\n%x", cf.file, cf.line, got, msg[:HeaderSize])
			}
			b, reenc, err := checkRoundTrip(t, msg)
			if b == nil {
				t.Errorf("%s:%d: no body type for %v", cf.file, cf.line, h.Command)
				continue
			}
			if err != nil {
				t.Fatalf("%s:%d: %T: %v", cf.file, cf.line, b, err)
			}
			seen[strings.TrimPrefix(reflect.TypeOf(b).String(), "*smb2.")] = true
			// Our encoder makes the same layout choices as the captured
			// peers for most messages; log the others.
			body := msg
			if h.NextCommand != 0 {
				body = msg[:len(reenc)]
			}
			if bytes.Equal(reenc[HeaderSize:], body[HeaderSize:]) {
				nExact++
			} else {
				t.Logf("%s:%d: %T re-encodes differently\n got %x\nwant %x", cf.file, cf.line, b, reenc[HeaderSize:], body[HeaderSize:])
			}
		}
	}
	t.Logf("%d frames: %d SMB1, %d encrypted, %d SMB2 messages (%d re-encode byte-exact); bodies: %v",
		len(frames), nSMB1, nEncrypted, nMsgs, nExact, seen)
	if nSMB1 == 0 || nMsgs == 0 {
		t.Fatal("captures not found")
	}
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
