package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// The client's side of untrusted input: the response decoders it uses and
// the reader fed arbitrary server bytes.

// fuzzKey signs the seed replies of the fuzz session.
var fuzzKey = []byte("0123456789abcdef")

const (
	fuzzSession = 0x1111
	fuzzTree    = 7
)

var (
	fuzzReadData     = []byte("genuine-read-data")
	fuzzTransactData = []byte("genuine-transact-data")
	fuzzFileID       = smb2.FileID{Persistent: 1, Volatile: 2}
)

// fuzzReply builds one response message of the fuzz session, to be signed
// by wire when sign is set.
func fuzzReply(h smb2.Header, body smb2.Body, sign bool) []byte {
	h.Flags |= smb2.FlagServerToRedir
	if sign {
		h.Flags |= smb2.FlagSigned
	}
	if h.SessionID == 0 {
		h.SessionID = fuzzSession
	}
	if !h.IsAsync() && h.TreeID == 0 {
		h.TreeID = fuzzTree
	}
	if h.Credit == 0 {
		h.Credit = 8
	}
	return body.Append(h.Append(nil))
}

// wire compounds messages into one frame with a transport header and signs
// those with SMB2_FLAGS_SIGNED, as a server does (each over its bytes up to
// the next).
func wire(msgs ...[]byte) []byte {
	b := make([]byte, 4)
	starts := make([]int, len(msgs)+1)
	for i, m := range msgs {
		starts[i] = len(b)
		b = append(b, m...)
		if i+1 < len(msgs) {
			b = smb2.Pad8(b, starts[i])
			smb2.PutNextCommand(b[starts[i]:], uint32(len(b)-starts[i]))
		}
	}
	starts[len(msgs)] = len(b)
	signer := smbcrypto.NewSigner(uint16(smb2.Dialect302), smb2.SigningAESCMAC, fuzzKey)
	for i := range msgs {
		if e := b[starts[i]:starts[i+1]]; smb2.PeekFlags(e)&smb2.FlagSigned != 0 {
			signer.Sign(e)
		}
	}
	smb2.PutFrameLength(b)
	return b
}

// fuzzSeeds are server streams for the three requests of fuzzReader: a
// READ (MessageId 0), a WRITE (1) and a TRANSCEIVE (2) on a signing 3.0.2
// session. The first answers them all correctly.
func fuzzSeeds() [][]byte {
	read := fuzzReply(smb2.Header{Command: smb2.CmdRead, MessageID: 0}, &smb2.ReadResponse{Data: fuzzReadData}, true)
	write := fuzzReply(smb2.Header{Command: smb2.CmdWrite, MessageID: 1}, &smb2.WriteResponse{Count: 5}, true)
	ioctl := fuzzReply(smb2.Header{Command: smb2.CmdIoctl, MessageID: 2},
		&smb2.IoctlResponse{CtlCode: smb2.FsctlPipeTransceive, FileID: fuzzFileID, Output: fuzzTransactData}, true)
	interim := fuzzReply(smb2.Header{Command: smb2.CmdRead, MessageID: 0, Status: ntstatus.Pending, Flags: smb2.FlagAsyncCommand, AsyncID: 9}, &smb2.ErrorResponse{}, false)
	asyncRead := fuzzReply(smb2.Header{Command: smb2.CmdRead, MessageID: 0, Flags: smb2.FlagAsyncCommand, AsyncID: 9}, &smb2.ReadResponse{Data: fuzzReadData}, true)
	unsigned := fuzzReply(smb2.Header{Command: smb2.CmdRead, MessageID: 0}, &smb2.ReadResponse{Data: []byte("forged-read-data!")}, false)
	overflow := fuzzReply(smb2.Header{Command: smb2.CmdRead, MessageID: 0, Status: ntstatus.BufferOverflow}, &smb2.ReadResponse{Data: fuzzReadData[:8]}, true)
	broken := fuzzReply(smb2.Header{Command: smb2.CmdRead, MessageID: 0, Status: ntstatus.PipeBroken}, &smb2.ErrorResponse{}, true)
	huge := []byte{0, 0xFF, 0xFF, 0xFF}
	return [][]byte{
		append(append(wire(read), wire(write)...), wire(ioctl)...),
		append(append(wire(interim), wire(ioctl, write)...), wire(asyncRead)...),
		append(wire(unsigned), wire(write)...),
		append(wire(overflow), wire(write)...),
		append(wire(broken), wire(ioctl)...),
		append(huge, make([]byte, 64)...),
		wire(write, write),
		{0, 0, 0, 64},
	}
}

// fuzzCalls is what the three calls of fuzzReader returned.
type fuzzCalls struct {
	read, transact       []byte
	readErr, transactErr error
	readMore, transMore  bool
	writeErr             error
}

// fuzzReader runs a Conn on a net.Pipe whose other end plays a server: it
// registers a READ, a WRITE and a TRANSCEIVE (MessageIds 0, 1, 2) on an
// established signing session, sends stream, and closes. Every call must
// end; fuzzReader fails tb otherwise. It returns what the calls returned.
func fuzzReader(tb testing.TB, stream []byte) fuzzCalls {
	cn, sn := net.Pipe()
	c := newSigningConn(tb, cn)
	defer c.Close()
	// The server end reads the requests, counting them.
	drained := make(chan struct{})
	got := make(chan struct{}, 16)
	go func() {
		defer close(drained)
		var pfx [4]byte
		for {
			if _, err := io.ReadFull(sn, pfx[:]); err != nil {
				return
			}
			n, _ := smb2.FrameLength(pfx)
			if _, err := io.CopyN(io.Discard, sn, int64(n)); err != nil {
				return
			}
			select {
			case got <- struct{}{}:
			default:
			}
		}
	}()

	p := &Pipe{c: c, name: "fuzz", fid: fuzzFileID}
	var res fuzzCalls
	var wg sync.WaitGroup
	ctx := context.Background()
	// Each call is started once the previous request has reached the
	// server, so they take MessageIds 0, 1 and 2.
	start := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			tb.Fatal("a request did not reach the server")
		}
	}
	rbuf, tbuf := make([]byte, 64), make([]byte, 64)
	start(func() {
		n, more, err := p.ReadMsg(ctx, rbuf)
		res.read, res.readMore, res.readErr = rbuf[:n], more, err
	})
	start(func() { _, res.writeErr = p.WriteMsg(ctx, []byte("hello")) })
	start(func() {
		n, more, err := p.Transact(ctx, []byte("hi"), tbuf)
		res.transact, res.transMore, res.transactErr = tbuf[:n], more, err
	})

	sn.Write(stream) // fails once the client stops reading
	sn.Close()
	ended := make(chan struct{})
	go func() { wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		c.mu.Lock()
		n := len(c.pending)
		c.mu.Unlock()
		tb.Fatalf("calls still waiting 10 s after the server closed (%d registered)", n)
	}
	c.Close()
	<-drained
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) != 0 {
		tb.Fatalf("%d calls still registered after Close", len(c.pending))
	}
	return res
}

// newSigningConn starts a Conn on nc as if it had negotiated 3.0.2 (64 KiB
// sizes, multi-credit) and set up the signing session fuzzSession (key
// fuzzKey) with the tree fuzzTree, with 16 credits.
func newSigningConn(tb testing.TB, nc net.Conn) *Conn {
	c, err := NewConn(nc, &Config{CancelTimeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	d := uint16(smb2.Dialect302)
	c.neg = negotiated{done: true, dialect: smb2.Dialect302, maxRead: 65536, maxWrite: 65536, maxTransact: 65536,
		multiCredit: true, signAlg: smb2.SigningAESCMAC}
	c.maxFrame.Store(65536 + frameSlack)
	c.sess.Store(&session{id: fuzzSession, signing: true,
		signer:   smbcrypto.NewSigner(d, smb2.SigningAESCMAC, fuzzKey),
		verifier: smbcrypto.NewSigner(d, smb2.SigningAESCMAC, fuzzKey)})
	c.treeID.Store(fuzzTree)
	c.mu.Lock()
	c.credits = 16
	c.mu.Unlock()
	return c
}

// TestFuzzReaderSeeds checks the harness: the well-formed seed completes
// every call with the signed data, and the forged one fails them all.
func TestFuzzReaderSeeds(t *testing.T) {
	seeds := fuzzSeeds()
	for i, s := range seeds[:2] {
		r := fuzzReader(t, s)
		if r.readErr != nil || r.writeErr != nil || r.transactErr != nil ||
			!bytes.Equal(r.read, fuzzReadData) || !bytes.Equal(r.transact, fuzzTransactData) {
			t.Fatalf("seed %d: read %q %v, write %v, transact %q %v", i, r.read, r.readErr, r.writeErr, r.transact, r.transactErr)
		}
	}
	r := fuzzReader(t, seeds[2])
	if !errors.Is(r.readErr, ErrSignature) || r.writeErr == nil || r.transactErr == nil {
		t.Fatalf("unsigned READ reply: %+v", r)
	}
	r = fuzzReader(t, seeds[5])
	if !errors.Is(r.readErr, ErrProtocol) {
		t.Fatalf("16 MiB frame: %+v", r)
	}
}

// FuzzConnReader feeds arbitrary server bytes to the reader of a signing
// session with three calls in flight. Invariants: no panic; every call
// ends once the server closes; a frame over the negotiated size is refused
// before it is allocated (bounded memory); and no call returns data that
// the server did not sign (only the seeds' signed payloads can come back
// without an error).
func FuzzConnReader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := fuzzReader(t, stream)
		runtime.ReadMemStats(&after)
		// A frame header may claim up to 16 MiB; only what the negotiated
		// 64 KiB allow (plus slack) may be allocated for it.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
			t.Fatalf("%d bytes allocated for a %d-byte stream", grew, len(stream))
		}
		if r.readErr == nil && (r.readMore || !bytes.Equal(r.read, fuzzReadData)) {
			t.Fatalf("ReadMsg returned %q (more=%v) without error", r.read, r.readMore)
		}
		if r.readErr != nil && !bytes.HasPrefix(fuzzReadData, r.read) {
			t.Fatalf("ReadMsg returned %q with %v", r.read, r.readErr)
		}
		if r.transactErr == nil && (r.transMore || !bytes.Equal(r.transact, fuzzTransactData)) {
			t.Fatalf("Transact returned %q (more=%v) without error", r.transact, r.transMore)
		}
	})
}

// FuzzReplyCheck feeds arbitrary messages to the reader's check against
// each kind of request the client sends, signed and not. Invariants: no
// panic, and an accepted final reply carries the request's command and
// SessionId, decodes, and is signed with the session's key when the
// request was.
func FuzzReplyCheck(f *testing.F) {
	for _, s := range fuzzSeeds() {
		for rest := s; len(rest) >= 4; {
			n, err := smb2.FrameLength([4]byte(rest[:4]))
			if err != nil || 4+n > len(rest) {
				break
			}
			f.Add(rest[4:4+n], uint8(0), true, uint32(0))
			rest = rest[4+n:]
		}
	}
	verifier := smbcrypto.NewSigner(uint16(smb2.Dialect302), smb2.SigningAESCMAC, fuzzKey)
	cmds := []smb2.Command{smb2.CmdRead, smb2.CmdWrite, smb2.CmdIoctl, smb2.CmdNegotiate, smb2.CmdSessionSetup,
		smb2.CmdTreeConnect, smb2.CmdCreate, smb2.CmdClose, smb2.CmdEcho, smb2.CmdQueryInfo, smb2.CmdLogoff}
	f.Fuzz(func(t *testing.T, msg []byte, which uint8, signed bool, asyncID uint32) {
		var h smb2.Header
		if h.Decode(msg) != nil {
			return // the reader fails the connection before check
		}
		sess := &session{id: fuzzSession, verifier: verifier}
		for i, cmd := range cmds {
			x := expect{cmd: cmd, sessionID: fuzzSession, treeID: fuzzTree, mustSign: signed, sess: sess}
			if i == int(which)%len(cmds) {
				x = expect{cmd: cmd, anySession: cmd == smb2.CmdSessionSetup}
			}
			interim, err := x.check(&h, msg, uint64(asyncID), false)
			if err != nil {
				continue
			}
			if h.Command != cmd || !x.anySession && h.SessionID != x.sessionID {
				t.Fatalf("%v: accepted a reply with %v, SessionId %#x", cmd, h.Command, h.SessionID)
			}
			if interim {
				if h.Status != ntstatus.Pending || !h.IsAsync() {
					t.Fatalf("%v: interim %v async=%v", cmd, h.Status, h.IsAsync())
				}
				continue
			}
			if err := checkBody(msg); err != nil {
				t.Fatalf("%v: accepted a malformed body: %v", cmd, err)
			}
			if x.mustSign && !unsignedOK(h.Command, h.Status) && (h.Flags&smb2.FlagSigned == 0 || !verifier.Verify(msg)) {
				t.Fatalf("%v: accepted an unsigned or badly signed reply to a signed request", cmd)
			}
		}
	})
}

// FuzzResponseDecoders feeds arbitrary messages to the decoders the client
// uses and to the checks that turn them into results. Invariants: no
// panic; what they return lies inside the message and within what was
// asked.
func FuzzResponseDecoders(f *testing.F) {
	for _, s := range fuzzSeeds() {
		if len(s) > 4 {
			f.Add(s[4:], uint16(64), false)
		}
	}
	f.Add((&smb2.NegotiateResponse{DialectRevision: smb2.Dialect311, MaxReadSize: 1 << 20, MaxWriteSize: 1 << 20,
		MaxTransactSize: 1 << 20}).Append((&smb2.Header{Flags: smb2.FlagServerToRedir}).Append(nil)), uint16(64), false)
	f.Add((&smb2.SessionSetupResponse{SecurityBuffer: []byte{0x60, 1, 2}}).Append((&smb2.Header{Command: smb2.CmdSessionSetup,
		Flags: smb2.FlagServerToRedir, Status: ntstatus.MoreProcessingRequired}).Append(nil)), uint16(100), true)
	f.Fuzz(func(t *testing.T, msg []byte, asked uint16, more bool) {
		within := func(what string, b []byte) {
			if !inside(msg, b) {
				t.Fatalf("%s: %d bytes outside the message", what, len(b))
			}
		}
		_ = checkBody(msg)
		// Every command's decoder, whatever the header says.
		if len(msg) >= smb2.HeaderSize {
			cp := bytes.Clone(msg)
			for cmd := range smb2.Command(smb2.NumCommands) {
				binary.LittleEndian.PutUint16(cp[12:], uint16(cmd))
				_ = checkBody(cp)
			}
		}
		if d, err := readData(msg, int(asked), more); err == nil {
			within("READ data", d)
			if len(d) > int(asked) || more && len(d) != int(asked) {
				t.Fatalf("READ: %d bytes for %d asked (more=%v)", len(d), asked, more)
			}
		}
		if n, err := writeCount(msg, int(asked)); err == nil && (n < 0 || n > int(asked)) {
			t.Fatalf("WRITE count %d for %d bytes", n, asked)
		}
		for _, ctl := range []uint32{smb2.FsctlPipeTransceive, smb2.FsctlPipePeek} {
			if o, err := ioctlOutput(msg, ctl, 16, int(asked), more); err == nil {
				within("IOCTL output", o)
				if len(o) < 16 || len(o) > int(asked) || more && len(o) != int(asked) {
					t.Fatalf("IOCTL %#x: %d bytes for %d asked (more=%v)", ctl, len(o), asked, more)
				}
			}
		}
		if o, err := queryInfoOutput(msg, int(asked)); err == nil && len(o) > int(asked) {
			t.Fatalf("QUERY_INFO: %d bytes for %d asked", len(o), asked)
		}
		var neg smb2.NegotiateResponse
		if neg.Decode(msg) == nil {
			within("security buffer", neg.SecurityBuffer)
		}
		var ss smb2.SessionSetupResponse
		if ss.Decode(msg) == nil {
			within("security buffer", ss.SecurityBuffer)
		}
	})
}

// inside reports whether b is a subslice of msg.
func inside(msg, b []byte) bool {
	if len(b) == 0 {
		return true
	}
	for i := 0; i+len(b) <= len(msg); i++ {
		if &msg[i] == &b[0] {
			return true
		}
	}
	return false
}
