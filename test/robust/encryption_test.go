package robust

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// encSession is a connection driven frame by frame that negotiates
// encryption (3.0.2: AES-128-CCM by SMB2_GLOBAL_CAP_ENCRYPTION; 3.1.1: the
// cipher asked for in ENCRYPTION_CAPABILITIES), logs on with raw NTLMSSP
// and encrypts with keys it derives itself, so that a test can break any
// byte of a TRANSFORM_HEADER frame the server has the keys for.
type encSession struct {
	nc       net.Conn
	d        smb2.Dialect
	cipher   uint16
	sid      uint64
	tid      uint32
	mid      uint64
	enc, dec *smbcrypto.Crypter
}

// clear sends one unencrypted request and returns the request and response
// messages.
func (es *encSession) clear(t *testing.T, h smb2.Header, body []byte) (req, resp []byte) {
	t.Helper()
	h.MessageID, h.CreditCharge, h.Credit = es.mid, 1, 32
	es.mid++
	if h.Command != smb2.CmdNegotiate && h.SessionID == 0 {
		h.SessionID = es.sid
	}
	req = message(h, body)
	if _, err := es.nc.Write(frame(req)); err != nil {
		t.Fatal(err)
	}
	return req, es.read(t)
}

// read reads one frame; a transform frame is opened with the session's
// server-to-client key.
func (es *encSession) read(t *testing.T) []byte {
	t.Helper()
	b := readFrame(t, es.nc, "reading a response")
	if smb2.IsTransform(b) {
		th, err := smb2.DecodeTransform(b)
		if err != nil || th.SessionID != es.sid || es.dec == nil {
			t.Fatalf("encrypted response: %+v, %v", th, err)
		}
		if b, err = es.dec.Open(b); err != nil {
			t.Fatalf("encrypted response: %v", err)
		}
	}
	return b
}

// seal returns the transform frame payload (no transport header) carrying
// one request, encrypted under the TRANSFORM_HEADER SessionId tsid.
func (es *encSession) seal(h smb2.Header, body []byte, tsid uint64) []byte {
	h.MessageID, h.CreditCharge, h.Credit = es.mid, 1, 32
	es.mid++
	if h.SessionID == 0 {
		h.SessionID = es.sid
	}
	if h.TreeID == 0 && h.Command != smb2.CmdTreeConnect {
		h.TreeID = es.tid
	}
	return es.sealMsg(message(h, body), tsid)
}

// sealMsg encrypts msg (one or more SMB2 messages, or anything) as it is.
func (es *encSession) sealMsg(msg []byte, tsid uint64) []byte {
	b := make([]byte, smb2.TransformHeaderSize+len(msg), smb2.TransformHeaderSize+len(msg)+16)
	copy(b[smb2.TransformHeaderSize:], msg)
	(&smb2.TransformHeader{Flags: smb2.TransformFlagEncrypted, SessionID: tsid}).Put(b)
	es.enc.Seal(b)
	return b
}

// round sends one encrypted request and returns the decrypted response's
// header.
// aliceInClear logs alice on on es's connection with a second
// SESSION_SETUP (SessionId 0), in clear, and returns her SessionId; es.sid
// is left as it was.
func (es *encSession) aliceInClear(t *testing.T) uint64 {
	t.Helper()
	prev := es.sid
	es.sid = 0
	nc := &ntlm.Client{User: "alice", Password: "Passw0rd!"}
	tok, _ := nc.Negotiate()
	_, resp := es.clear(t, smb2.Header{Command: smb2.CmdSessionSetup}, (&smb2.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: tok}).Append(nil))
	var h smb2.Header
	var ss smb2.SessionSetupResponse
	if h.Decode(resp) != nil || h.Status != ntstatus.MoreProcessingRequired || ss.Decode(resp) != nil {
		t.Fatalf("alice's SESSION_SETUP: %v", h.Status)
	}
	es.sid = h.SessionID
	auth, _, err := nc.Authenticate(ss.SecurityBuffer)
	if err != nil {
		t.Fatal(err)
	}
	if _, resp = es.clear(t, smb2.Header{Command: smb2.CmdSessionSetup}, (&smb2.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: auth}).Append(nil)); h.Decode(resp) != nil || h.Status != ntstatus.Success {
		t.Fatalf("alice's SESSION_SETUP: %v", h.Status)
	}
	alice := es.sid
	es.sid = prev
	return alice
}

func (es *encSession) round(t *testing.T, h smb2.Header, body []byte) smb2.Header {
	t.Helper()
	if _, err := es.nc.Write(frame(es.seal(h, body, es.sid))); err != nil {
		t.Fatal(err)
	}
	var rh smb2.Header
	if err := rh.Decode(es.read(t)); err != nil {
		t.Fatal(err)
	}
	return rh
}

// dialEnc negotiates d (and cipher on 3.1.1) and logs on as nc's user
// (anonymous when empty). tree: also connect IPC$ in an encrypted
// TREE_CONNECT.
func dialEnc(t *testing.T, addr string, d smb2.Dialect, cipher uint16, nc *ntlm.Client, tree bool) *encSession {
	t.Helper()
	es := &encSession{nc: rawDial(t, addr), d: d, cipher: cipher}
	neg := smb2.NegotiateRequest{SecurityMode: smb2.SigningEnabled, Dialects: []smb2.Dialect{d}}
	if d == smb2.Dialect311 {
		pre := smb2.PreauthIntegrityCaps{HashAlgorithms: []uint16{smb2.HashSHA512}, Salt: bytes.Repeat([]byte{7}, 32)}
		ec := smb2.EncryptionCaps{Ciphers: []uint16{cipher}}
		neg.Contexts = []smb2.NegotiateContext{{Type: smb2.CtxPreauthIntegrity, Data: pre.Append(nil)}, {Type: smb2.CtxEncryption, Data: ec.Append(nil)}}
	} else {
		neg.Capabilities = smb2.CapEncryption
		es.cipher = smb2.CipherAES128CCM
	}
	var preauth smbcrypto.PreauthHash
	req, resp := es.clear(t, smb2.Header{Command: smb2.CmdNegotiate}, neg.Append(nil))
	preauth.Update(req)
	preauth.Update(resp)
	var nr smb2.NegotiateResponse
	if err := nr.Decode(resp); err != nil {
		t.Fatal(err)
	}
	if d == smb2.Dialect311 {
		var got uint16
		for _, c := range nr.Contexts {
			var ec smb2.EncryptionCaps
			if c.Type == smb2.CtxEncryption && ec.Decode(c.Data) == nil && len(ec.Ciphers) == 1 {
				got = ec.Ciphers[0]
			}
		}
		if got != cipher {
			t.Fatalf("the server chose cipher %#x, want %#x", got, cipher)
		}
	} else if nr.Capabilities&smb2.CapEncryption == 0 {
		t.Fatal("the server did not offer encryption on 3.0.2")
	}

	tok, err := nc.Negotiate()
	if err != nil {
		t.Fatal(err)
	}
	var key [16]byte
	for i := 0; ; i++ {
		req, resp := es.clear(t, smb2.Header{Command: smb2.CmdSessionSetup}, (&smb2.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: tok}).Append(nil))
		preauth.Update(req)
		var h smb2.Header
		if err := h.Decode(resp); err != nil {
			t.Fatal(err)
		}
		es.sid = h.SessionID
		if h.Status == ntstatus.Success {
			break
		}
		var ss smb2.SessionSetupResponse
		if i > 0 || h.Status != ntstatus.MoreProcessingRequired || ss.Decode(resp) != nil {
			t.Fatalf("SESSION_SETUP: %v", h.Status)
		}
		preauth.Update(resp)
		if tok, key, err = nc.Authenticate(ss.SecurityBuffer); err != nil {
			t.Fatal(err)
		}
	}
	if nc.User == "" {
		key = [16]byte{} // anonymous: the all-zero session key
	}
	var pre *smbcrypto.PreauthHash
	if d == smb2.Dialect311 {
		pre = &preauth
	}
	c2s, s2c := smbcrypto.DeriveCipherKeys(uint16(d), es.cipher, key[:], pre)
	if es.enc, err = smbcrypto.NewCrypter(es.cipher, c2s); err != nil {
		t.Fatal(err)
	}
	if es.dec, err = smbcrypto.NewCrypter(es.cipher, s2c); err != nil {
		t.Fatal(err)
	}
	if tree {
		h := es.round(t, smb2.Header{Command: smb2.CmdTreeConnect}, (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, `\\SMBPIPE\IPC$`)}).Append(nil))
		if h.Status != ntstatus.Success {
			t.Fatalf("encrypted TREE_CONNECT: %v", h.Status)
		}
		es.tid = h.TreeID
	}
	return es
}

// createEcho is the body of a CREATE of the echo pipe: what every
// malformed frame carries, so that acting on it would show in the opens.
func createEcho() []byte {
	return (&smb2.CreateRequest{ImpersonationLevel: 2, DesiredAccess: 0x0012019F, ShareAccess: 3,
		CreateDisposition: 1, CreateOptions: 0x00400040, Name: smb2.AppendUTF16(nil, "echo")}).Append(nil)
}

// encCase is one malformed-transform case: build returns the frame
// payloads to send on es, the last of which must drop the connection with
// nothing of it acted on; opens is how many CREATEs before it succeed.
type encCase struct {
	name  string
	build func(t *testing.T, es *encSession) (payloads [][]byte, opens int)
}

// tamper returns a sealed CREATE of es with f applied to the frame.
func tamper(es *encSession, f func(b []byte)) []byte {
	b := es.seal(smb2.Header{Command: smb2.CmdCreate}, createEcho(), es.sid)
	f(b)
	return b
}

func one(b []byte) [][]byte { return [][]byte{b} }

const (
	offSignature = 4
	offNonce     = 20
	offOrigSize  = 36
	offFlags     = 42
	offSessionID = 44
)

var encCases = []encCase{
	{"tampered tag", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) { b[offSignature+15] ^= 0x01 })), 0
	}},
	{"zero tag", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) { clear(b[offSignature:offNonce]) })), 0
	}},
	{"tampered ciphertext", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) { b[smb2.TransformHeaderSize+12] ^= 0x80 })), 0
	}},
	{"tampered last ciphertext byte", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) { b[len(b)-1] ^= 0x01 })), 0
	}},
	{"bad nonce: first byte", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) { b[offNonce] ^= 0x01 })), 0
	}},
	{"bad nonce: a byte past the cipher's nonce (reserved, in the AAD)", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) { b[offNonce+15] = 0xFF })), 0
	}},
	{"bad nonce: the frame replayed, its nonce again", func(t *testing.T, es *encSession) ([][]byte, int) {
		b := es.seal(smb2.Header{Command: smb2.CmdCreate}, createEcho(), es.sid)
		return [][]byte{b, bytes.Clone(b)}, 1
	}},
	{"bad nonce: a new message under a nonce already used", func(t *testing.T, es *encSession) ([][]byte, int) {
		first := es.seal(smb2.Header{Command: smb2.CmdCreate}, createEcho(), es.sid)
		second := es.seal(smb2.Header{Command: smb2.CmdCreate}, createEcho(), es.sid)
		copy(second[offNonce:offOrigSize], first[offNonce:offOrigSize]) // no longer matches the tag
		return [][]byte{first, second}, 1
	}},
	{"wrong SessionId: one the connection does not have, sealed under it", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(es.seal(smb2.Header{Command: smb2.CmdCreate}, createEcho(), es.sid+1)), 0
	}},
	{"wrong SessionId: far off, sealed under it", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(es.seal(smb2.Header{Command: smb2.CmdCreate}, createEcho(), es.sid|1<<40)), 0
	}},
	{"wrong SessionId: 0", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(es.seal(smb2.Header{Command: smb2.CmdCreate}, createEcho(), 0)), 0
	}},
	{"wrong SessionId: changed after sealing", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) { binary.LittleEndian.PutUint64(b[offSessionID:], es.sid+1) })), 0
	}},
	{"wrong SessionId: the message inside names another session", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(es.seal(smb2.Header{Command: smb2.CmdCreate, SessionID: es.sid + 1}, createEcho(), es.sid)), 0
	}},
	{"wrong SessionId: a related first message", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(es.seal(smb2.Header{Command: smb2.CmdCreate, Flags: smb2.FlagRelatedOperations}, createEcho(), es.sid)), 0
	}},
	{"wrong SessionId: a related message names another session", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(es.sealMsg(relatedPair(es, es.sid+1), es.sid)), 0
	}},
	{"short frame: the header only", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) {})[:smb2.TransformHeaderSize]), 0
	}},
	{"short frame: part of the header", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) {})[:20]), 0
	}},
	{"short frame: the protocol id only", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one([]byte{0xFD, 'S', 'M', 'B'}), 0
	}},
	{"short frame: message cut, OriginalMessageSize fixed to match", func(t *testing.T, es *encSession) ([][]byte, int) {
		b := tamper(es, func(b []byte) {})
		b = b[:len(b)-10]
		binary.LittleEndian.PutUint32(b[offOrigSize:], uint32(len(b)-smb2.TransformHeaderSize))
		return one(b), 0
	}},
	{"short frame: a well-sealed message shorter than an SMB2 header", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(es.sealMsg([]byte{0xFE, 'S', 'M', 'B', 64, 0, 0, 0, 0, 0}, es.sid)), 0
	}},
	{"OriginalMessageSize larger than the message", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) {
			binary.LittleEndian.PutUint32(b[offOrigSize:], uint32(len(b)-smb2.TransformHeaderSize+1))
		})), 0
	}},
	{"OriginalMessageSize smaller than the message", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) {
			binary.LittleEndian.PutUint32(b[offOrigSize:], uint32(len(b)-smb2.TransformHeaderSize-1))
		})), 0
	}},
	{"OriginalMessageSize 0", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) { binary.LittleEndian.PutUint32(b[offOrigSize:], 0) })), 0
	}},
	{"OriginalMessageSize 0xFFFFFFFF", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(tamper(es, func(b []byte) { binary.LittleEndian.PutUint32(b[offOrigSize:], 0xFFFFFFFF) })), 0
	}},
	{"Flags 2", func(t *testing.T, es *encSession) ([][]byte, int) {
		return [][]byte{tamper(es, func(b []byte) { b[offFlags] = 2 })}, 0
	}},
	{"Flags 0", func(t *testing.T, es *encSession) ([][]byte, int) {
		return [][]byte{tamper(es, func(b []byte) { b[offFlags] = 0 })}, 0
	}},
	{"a transform frame inside the transform frame", func(t *testing.T, es *encSession) ([][]byte, int) {
		inner := es.seal(smb2.Header{Command: smb2.CmdCreate}, createEcho(), es.sid)
		return one(es.sealMsg(inner, es.sid)), 0
	}},
	{"an SMB1 message inside the transform frame", func(t *testing.T, es *encSession) ([][]byte, int) {
		return one(es.sealMsg(append([]byte{0xFF, 'S', 'M', 'B', 0x72}, make([]byte, 60)...), es.sid)), 0
	}},
}

// TestMalformedTransform sends broken TRANSFORM_HEADER frames, each on a
// connection of its own that has an encrypting session of alice (3.0.2
// with AES-128-CCM, 3.1.1 with AES-128-GCM and AES-256-GCM): tampered tag
// and ciphertext, bad and reused nonces, wrong SessionIds, short frames,
// OriginalMessageSize lies, bad Flags, nested frames. Every one drops its
// connection only; the CREATE each carries is never acted on (the opens
// counter moves only for the valid frames before it); a well-behaved
// encrypting client and a clear one keep transacting between the cases.
func TestMalformedTransform(t *testing.T) {
	ts := start(t, "encryption = \"enabled\"\nguest = true\n")
	goodConn := dial(t, ts.addr, client.Config{User: "alice", Password: "Passw0rd!", Encryption: client.EncryptionRequired})
	if !goodConn.Encrypted() {
		t.Fatal("the well-behaved client does not encrypt")
	}
	good := testclient.Open(t, goodConn, "echo")
	plain := testclient.Open(t, dial(t, ts.addr, client.Config{User: "alice", Password: "Passw0rd!", Encryption: client.EncryptionOff}), "echo")
	transact(t, good, 0)
	transact(t, plain, 0)
	runtime.GC()
	g0 := baseline()

	i := 0
	for _, v := range []struct {
		d      smb2.Dialect
		cipher uint16
	}{{smb2.Dialect302, smb2.CipherAES128CCM}, {smb2.Dialect311, smb2.CipherAES128GCM}, {smb2.Dialect311, smb2.CipherAES256GCM}} {
		for _, ec := range encCases {
			t.Run(client.DialectString(v.d)+"/"+smbcrypto.CipherName(v.cipher)+"/"+ec.name, func(t *testing.T) {
				es := dialEnc(t, ts.addr, v.d, v.cipher, &ntlm.Client{User: "alice", Password: "Passw0rd!"}, true)
				if h := es.round(t, smb2.Header{Command: smb2.CmdEcho}, (&smb2.EchoRequest{}).Append(nil)); h.Status != ntstatus.Success {
					t.Fatalf("a well-formed encrypted ECHO: %v", h.Status)
				}
				opens0 := ts.metric(t, "smbpipe_opens_total")
				payloads, opens := ec.build(t, es)
				for j, p := range payloads {
					if _, err := es.nc.Write(frame(p)); err != nil {
						t.Fatal(err)
					}
					if j < len(payloads)-1 {
						var h smb2.Header
						if err := h.Decode(es.read(t)); err != nil || h.Status != ntstatus.Success {
							t.Fatalf("valid frame %d: %v %v", j, h.Status, err)
						}
					}
				}
				expectClosed(t, es.nc, 5*time.Second)
				if got := ts.metric(t, "smbpipe_opens_total"); got != opens0+float64(opens) {
					t.Fatalf("opens_total %v -> %v, want +%d: a malformed frame was acted on", opens0, got, opens)
				}
			})
			i++
			transact(t, good, i)
			transact(t, plain, i)
		}
	}
	settle(t, g0+2)
	if n := ts.metric(t, "smbpipe_panics_total"); n != 0 {
		t.Errorf("%v panics", n)
	}
}

// TestTransformWithoutLogon: a TRANSFORM_HEADER frame on a connection
// where no user has logged on (MS-SMB2 ConstrainedConnection) drops that
// connection, even well sealed with the anonymous session's zero-key
// keys, as does one before any session or before NEGOTIATE, and one for a
// guest session, which has no keys. Nothing of them is acted on. Once
// alice has logged on the same connection, the anonymous session may
// encrypt (Windows Server 2022, smbtorture smb2.session.anon-encryption2).
func TestTransformWithoutLogon(t *testing.T) {
	ts := start(t, "encryption = \"enabled\"\nguest = true\n")
	good := testclient.Open(t, dial(t, ts.addr, client.Config{User: "alice", Password: "Passw0rd!", Encryption: client.EncryptionRequired}), "echo")
	transact(t, good, 0)
	create := createEcho()
	check := func(t *testing.T, nc net.Conn, opens0 float64) {
		t.Helper()
		expectClosed(t, nc, 5*time.Second)
		if got := ts.metric(t, "smbpipe_opens_total"); got != opens0 {
			t.Fatalf("opens_total %v -> %v: a frame was acted on", opens0, got)
		}
		transact(t, good, 1)
	}
	for _, v := range []struct {
		d      smb2.Dialect
		cipher uint16
	}{{smb2.Dialect302, smb2.CipherAES128CCM}, {smb2.Dialect311, smb2.CipherAES128GCM}, {smb2.Dialect311, smb2.CipherAES256CCM}} {
		name := client.DialectString(v.d) + "/" + smbcrypto.CipherName(v.cipher)
		t.Run(name+"/anonymous", func(t *testing.T) {
			es := dialEnc(t, ts.addr, v.d, v.cipher, &ntlm.Client{}, false)
			// The anonymous session's TREE_CONNECT in clear works: the
			// session is fine, only encrypting is refused.
			_, resp := es.clear(t, smb2.Header{Command: smb2.CmdTreeConnect}, (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, `\\SMBPIPE\IPC$`)}).Append(nil))
			var h smb2.Header
			if err := h.Decode(resp); err != nil || h.Status != ntstatus.Success {
				t.Fatalf("clear anonymous TREE_CONNECT: %v %v", h.Status, err)
			}
			es.tid = h.TreeID
			opens0 := ts.metric(t, "smbpipe_opens_total")
			es.nc.Write(frame(es.seal(smb2.Header{Command: smb2.CmdCreate}, create, es.sid)))
			check(t, es.nc, opens0)
		})
		t.Run(name+"/guest", func(t *testing.T) {
			es := dialEnc(t, ts.addr, v.d, v.cipher, &ntlm.Client{User: "nobody", Password: "x"}, false)
			es.enc, _ = smbcrypto.NewCrypter(es.cipher, make([]byte, smbcrypto.CipherKeyBits(es.cipher)/8))
			opens0 := ts.metric(t, "smbpipe_opens_total")
			es.nc.Write(frame(es.seal(smb2.Header{Command: smb2.CmdEcho}, (&smb2.EchoRequest{}).Append(nil), es.sid)))
			check(t, es.nc, opens0)
		})
		t.Run(name+"/anonymous, then alice on the connection", func(t *testing.T) {
			es := dialEnc(t, ts.addr, v.d, v.cipher, &ntlm.Client{}, false)
			anonSID, anonEnc, anonDec := es.sid, es.enc, es.dec
			// alice's session on the same connection: a second
			// SESSION_SETUP with SessionId 0.
			aliceSID := es.aliceInClear(t)
			es.sid, es.enc, es.dec = anonSID, anonEnc, anonDec
			if h := es.round(t, smb2.Header{Command: smb2.CmdEcho}, (&smb2.EchoRequest{}).Append(nil)); h.Status != ntstatus.Success {
				t.Fatalf("the anonymous session's encrypted ECHO after alice logged on: %v", h.Status)
			}
			// A frame sealed with the anonymous session's key whose
			// request names alice's session: dropped, not acted on.
			opens0 := ts.metric(t, "smbpipe_opens_total")
			es.nc.Write(frame(es.seal(smb2.Header{Command: smb2.CmdCreate, SessionID: aliceSID}, create, anonSID)))
			check(t, es.nc, opens0)
		})
	}
	t.Run("before NEGOTIATE", func(t *testing.T) {
		nc := rawDial(t, ts.addr)
		es := &encSession{nc: nc, cipher: smb2.CipherAES128CCM}
		es.enc, _ = smbcrypto.NewCrypter(es.cipher, make([]byte, 16))
		opens0 := ts.metric(t, "smbpipe_opens_total")
		nc.Write(frame(es.sealMsg(message(smb2.Header{Command: smb2.CmdNegotiate}, negotiateBody()), 0)))
		check(t, nc, opens0)
	})
	t.Run("before SESSION_SETUP", func(t *testing.T) {
		nc := rawDial(t, ts.addr)
		es := &encSession{nc: nc}
		neg := smb2.NegotiateRequest{SecurityMode: smb2.SigningEnabled, Capabilities: smb2.CapEncryption, Dialects: []smb2.Dialect{smb2.Dialect302}}
		es.clear(t, smb2.Header{Command: smb2.CmdNegotiate}, neg.Append(nil))
		es.enc, _ = smbcrypto.NewCrypter(smb2.CipherAES128CCM, make([]byte, 16))
		opens0 := ts.metric(t, "smbpipe_opens_total")
		nc.Write(frame(es.sealMsg(message(smb2.Header{Command: smb2.CmdEcho, MessageID: 1}, (&smb2.EchoRequest{}).Append(nil)), 0)))
		check(t, nc, opens0)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := good.Conn().Echo(ctx); err != nil {
		t.Fatal(err)
	}
}

// pendingRead opens the echo pipe in an encrypted CREATE and sends an
// encrypted READ of it, which goes async (nothing to read): it returns the
// READ's MessageId and the AsyncId of its sealed interim response.
func (es *encSession) pendingRead(t *testing.T) (mid, asyncID uint64) {
	t.Helper()
	if _, err := es.nc.Write(frame(es.seal(smb2.Header{Command: smb2.CmdCreate}, createEcho(), es.sid))); err != nil {
		t.Fatal(err)
	}
	var cr smb2.CreateResponse
	if err := cr.Decode(es.read(t)); err != nil {
		t.Fatalf("encrypted CREATE: %v", err)
	}
	mid = es.mid
	rr := smb2.ReadRequest{Length: 64, FileID: cr.FileID}
	if _, err := es.nc.Write(frame(es.seal(smb2.Header{Command: smb2.CmdRead}, rr.Append(nil), es.sid))); err != nil {
		t.Fatal(err)
	}
	var h smb2.Header
	if err := h.Decode(es.read(t)); err != nil || h.Status != ntstatus.Pending || h.MessageID != mid {
		t.Fatalf("encrypted READ: %v %v (mid %d, want %d)", h.Status, err, h.MessageID, mid)
	}
	return mid, h.AsyncID
}

// TestEncryptedCancel: CANCEL follows the session's encryption (MS-SMB2
// 3.3.5.2.9 and 3.3.5.2.4 apply to it as to any request; it has no
// response): on a session that must encrypt, a CANCEL in clear, unsigned
// or signed, by MessageId or by AsyncId, is ignored and the pending READ
// stays; an encrypted one ends it with STATUS_CANCELLED in a sealed
// response. An encrypted CANCEL is authenticated by its transform: it is
// acted on without a signature on a session that requires signing.
func TestEncryptedCancel(t *testing.T) {
	for _, tc := range []struct{ name, config string }{
		{"required", `encryption = "required"`},
		{"enabled, signing required", "encryption = \"enabled\"\nsigning = \"required\""},
	} {
		ts := start(t, tc.config)
		for _, v := range []struct {
			d      smb2.Dialect
			cipher uint16
		}{{smb2.Dialect302, smb2.CipherAES128CCM}, {smb2.Dialect311, smb2.CipherAES256GCM}} {
			t.Run(tc.name+"/"+client.DialectString(v.d), func(t *testing.T) {
				es := dialEnc(t, ts.addr, v.d, v.cipher, &ntlm.Client{User: "alice", Password: "Passw0rd!"}, true)
				mid, asyncID := es.pendingRead(t)
				if tc.name == "required" {
					for _, h := range []smb2.Header{
						{Command: smb2.CmdCancel, MessageID: mid, SessionID: es.sid},
						{Command: smb2.CmdCancel, Flags: smb2.FlagAsyncCommand, AsyncID: asyncID, SessionID: es.sid},
						{Command: smb2.CmdCancel, MessageID: mid, SessionID: es.sid, Flags: smb2.FlagSigned, Signature: [16]byte{1}},
					} {
						if _, err := es.nc.Write(frame(message(h, (&smb2.CancelRequest{}).Append(nil)))); err != nil {
							t.Fatal(err)
						}
					}
					es.nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
					var b [4]byte
					if n, err := es.nc.Read(b[:]); !isTimeout(err) {
						t.Fatalf("a CANCEL in clear on a session that must encrypt was answered (%d bytes, %v): it ended the READ", n, err)
					}
					es.nc.SetReadDeadline(time.Time{})
				}
				h := smb2.Header{Command: smb2.CmdCancel, Flags: smb2.FlagAsyncCommand, AsyncID: asyncID, SessionID: es.sid}
				if _, err := es.nc.Write(frame(es.sealMsg(message(h, (&smb2.CancelRequest{}).Append(nil)), es.sid))); err != nil {
					t.Fatal(err)
				}
				es.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				b := readFrame(t, es.nc, "the cancelled READ")
				if !smb2.IsTransform(b) {
					t.Fatal("the cancelled READ's final response is not encrypted")
				}
				b, err := es.dec.Open(b)
				var rh smb2.Header
				if err != nil || rh.Decode(b) != nil || rh.Status != ntstatus.Cancelled || rh.MessageID != mid {
					t.Fatalf("after an encrypted CANCEL: %v %v, want STATUS_CANCELLED for mid %d", rh.Status, err, mid)
				}
			})
		}
	}
}

// relatedPair is a compound of es: an ECHO of es's session, then a
// related CREATE of the echo pipe whose header names session sid instead
// of inheriting es's.
func relatedPair(es *encSession, sid uint64) []byte {
	b := message(smb2.Header{Command: smb2.CmdEcho, MessageID: es.mid, CreditCharge: 1, Credit: 8, SessionID: es.sid}, (&smb2.EchoRequest{}).Append(nil))
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	smb2.PutNextCommand(b, uint32(len(b)))
	b = append(b, message(smb2.Header{Command: smb2.CmdCreate, Flags: smb2.FlagRelatedOperations, MessageID: es.mid + 1,
		CreditCharge: 1, SessionID: sid, TreeID: es.tid}, createEcho())...)
	es.mid += 2
	return b
}

// TestEncryptedRelatedOtherSession: a related request in an encrypted
// compound inherits the transform's session (MS-SMB2 3.3.5.2.1.1,
// 3.3.5.2.7.2); one whose header names another session of the connection
// drops the connection, never runs on that session unverified. The frame
// here is sealed with the anonymous session's key, which comes from an
// all-zero session key (on 3.0.2 anyone can compute it), and its related
// TREE_CONNECT names alice's session, which requires signing: acted on,
// anyone able to inject a frame would act as alice without her key.
func TestEncryptedRelatedOtherSession(t *testing.T) {
	ts := start(t, "encryption = \"enabled\"\nsigning = \"required\"")
	es := dialEnc(t, ts.addr, smb2.Dialect302, smb2.CipherAES128CCM, &ntlm.Client{}, false)
	anonSID := es.sid
	aliceSID := es.aliceInClear(t)
	es.sid = anonSID

	b := message(smb2.Header{Command: smb2.CmdEcho, MessageID: es.mid, CreditCharge: 1, Credit: 8, SessionID: anonSID}, (&smb2.EchoRequest{}).Append(nil))
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	smb2.PutNextCommand(b, uint32(len(b)))
	b = append(b, message(smb2.Header{Command: smb2.CmdTreeConnect, Flags: smb2.FlagRelatedOperations, MessageID: es.mid + 1,
		CreditCharge: 1, SessionID: aliceSID}, (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, `\\SMBPIPE\IPC$`)}).Append(nil))...)
	es.mid += 2
	if _, err := es.nc.Write(frame(es.sealMsg(b, anonSID))); err != nil {
		t.Fatal(err)
	}
	// Any answer is a failure; one that carries a TREE_CONNECT response
	// for alice's session shows the request ran on it.
	es.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var fh [4]byte
	if _, err := io.ReadFull(es.nc, fh[:]); err == nil {
		resp := make([]byte, int(fh[1])<<16|int(fh[2])<<8|int(fh[3]))
		io.ReadFull(es.nc, resp)
		if plain, err := es.dec.Open(resp); err == nil {
			for m := plain; len(m) >= smb2.HeaderSize; {
				var rh smb2.Header
				rh.Decode(m)
				if rh.Command == smb2.CmdTreeConnect {
					t.Errorf("the TREE_CONNECT naming alice's session was answered %v for session %#x (alice %#x)", rh.Status, rh.SessionID, aliceSID)
				}
				if rh.NextCommand == 0 || int(rh.NextCommand) > len(m) {
					break
				}
				m = m[rh.NextCommand:]
			}
		}
		t.Fatal("the server answered the frame; want the connection dropped")
	} else if isTimeout(err) {
		t.Fatal("the server did not close the connection")
	}
}

// TestEncryptedReauth: on a session that must encrypt, a
// re-authentication's SESSION_SETUP in clear is refused with
// STATUS_ACCESS_DENIED and changes nothing (Samba's smbd answers the
// same; MS-SMB2 3.3.5.2.9, RejectUnencryptedAccess): the session keeps
// encrypting under its keys. The same exchange sealed succeeds, its
// responses sealed, and the session's keys do not change (MS-SMB2
// 3.3.5.5.3): requests sealed with the first logon's keys still work.
func TestEncryptedReauth(t *testing.T) {
	ts := start(t, `encryption = "required"`)
	for _, v := range []struct {
		d      smb2.Dialect
		cipher uint16
	}{{smb2.Dialect302, smb2.CipherAES128CCM}, {smb2.Dialect311, smb2.CipherAES128GCM}, {smb2.Dialect311, smb2.CipherAES256CCM}} {
		t.Run(client.DialectString(v.d)+"/"+smbcrypto.CipherName(v.cipher), func(t *testing.T) {
			es := dialEnc(t, ts.addr, v.d, v.cipher, &ntlm.Client{User: "alice", Password: "Passw0rd!"}, true)
			nc := &ntlm.Client{User: "alice", Password: "Passw0rd!"}
			tok, err := nc.Negotiate()
			if err != nil {
				t.Fatal(err)
			}
			setup := func(tok []byte) []byte {
				return (&smb2.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: tok}).Append(nil)
			}
			var h smb2.Header
			if _, resp := es.clear(t, smb2.Header{Command: smb2.CmdSessionSetup}, setup(tok)); h.Decode(resp) != nil || h.Status != ntstatus.AccessDenied {
				t.Fatalf("a re-authentication in clear: %v, want STATUS_ACCESS_DENIED", h.Status)
			}
			if h := es.round(t, smb2.Header{Command: smb2.CmdEcho}, (&smb2.EchoRequest{}).Append(nil)); h.Status != ntstatus.Success {
				t.Fatalf("encrypted ECHO after the refused re-authentication: %v", h.Status)
			}

			// The same exchange, sealed.
			if _, err := es.nc.Write(frame(es.seal(smb2.Header{Command: smb2.CmdSessionSetup}, setup(tok), es.sid))); err != nil {
				t.Fatal(err)
			}
			resp := es.read(t)
			var ss smb2.SessionSetupResponse
			if h.Decode(resp) != nil || h.Status != ntstatus.MoreProcessingRequired || ss.Decode(resp) != nil {
				t.Fatalf("sealed re-authentication, first leg: %v", h.Status)
			}
			auth, _, err := nc.Authenticate(ss.SecurityBuffer)
			if err != nil {
				t.Fatal(err)
			}
			if h := es.round(t, smb2.Header{Command: smb2.CmdSessionSetup}, setup(auth)); h.Status != ntstatus.Success {
				t.Fatalf("sealed re-authentication: %v", h.Status)
			}
			if _, err := es.nc.Write(frame(es.seal(smb2.Header{Command: smb2.CmdCreate}, createEcho(), es.sid))); err != nil {
				t.Fatal(err)
			}
			if h.Decode(es.read(t)) != nil || h.Status != ntstatus.Success {
				t.Fatalf("encrypted CREATE after the re-authentication, same keys: %v", h.Status)
			}
		})
	}
}

// TestCallerEncrypted: pipe.Caller.Encrypted, which a Go pipe handler may
// rely on to keep a secret off the wire in clear, is true when the
// session must encrypt (every message of the open is sealed) or when the
// CREATE that opened the instance was sealed; not for a CREATE in clear
// on a session of encryption = "enabled" that sealed earlier requests (it
// was true: the session had once encrypted).
func TestCallerEncrypted(t *testing.T) {
	create := (&smb2.CreateRequest{ImpersonationLevel: 2, DesiredAccess: 0x0012019F, ShareAccess: 3,
		CreateDisposition: 1, CreateOptions: 0x00400040, Name: smb2.AppendUTF16(nil, "sink")}).Append(nil)
	for _, tc := range []struct {
		config string
		sealed bool
		want   bool
	}{
		{`encryption = "enabled"`, false, false},
		{`encryption = "enabled"`, true, true},
		{`encryption = "required"`, true, true},
	} {
		ts := start(t, tc.config)
		l := sink(t, ts)
		// The TREE_CONNECT is sealed: the session has encrypted.
		es := dialEnc(t, ts.addr, smb2.Dialect311, smb2.CipherAES128GCM, &ntlm.Client{User: "alice", Password: "Passw0rd!"}, true)
		var resp []byte
		if tc.sealed {
			if _, err := es.nc.Write(frame(es.seal(smb2.Header{Command: smb2.CmdCreate}, create, es.sid))); err != nil {
				t.Fatal(err)
			}
			resp = es.read(t)
		} else {
			_, resp = es.clear(t, smb2.Header{Command: smb2.CmdCreate, TreeID: es.tid}, create)
		}
		var h smb2.Header
		if h.Decode(resp) != nil || h.Status != ntstatus.Success {
			t.Fatalf("%s, sealed %v: CREATE %v", tc.config, tc.sealed, h.Status)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		end, err := l.AcceptEnd(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		caller, ok := end.Caller()
		if !ok || caller.Encrypted != tc.want {
			t.Errorf("%s, CREATE sealed %v: Caller.Encrypted %v, want %v", tc.config, tc.sealed, caller.Encrypted, tc.want)
		}
		end.Close()
	}
}

// TestReauthKeylessSession: a session established anonymous (keys from an
// all-zero session key, which anyone can derive) or as a guest (no keys)
// is not re-authenticated as a user: a re-authentication keeps the keys
// and the signing rule, so alice's session would be forgeable and, once
// encrypting, readable, under signing = "required" too. The exchange is
// refused with STATUS_ACCESS_DENIED, audited, and the session ends (as
// any failed re-authentication); alice logs on in a new session.
func TestReauthKeylessSession(t *testing.T) {
	ts := start(t, "encryption = \"enabled\"\nsigning = \"required\"\nguest = true")
	setup := func(tok []byte) []byte {
		return (&smb2.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: tok}).Append(nil)
	}
	for _, first := range []*ntlm.Client{{}, {User: "nobody", Password: "x"}} {
		es := dialEnc(t, ts.addr, smb2.Dialect302, smb2.CipherAES128CCM, first, false)
		nc := &ntlm.Client{User: "alice", Password: "Passw0rd!"}
		tok, _ := nc.Negotiate()
		var h smb2.Header
		var ss smb2.SessionSetupResponse
		_, resp := es.clear(t, smb2.Header{Command: smb2.CmdSessionSetup}, setup(tok))
		if h.Decode(resp) != nil || h.Status != ntstatus.MoreProcessingRequired || ss.Decode(resp) != nil {
			t.Fatalf("user %q: first leg %v", first.User, h.Status)
		}
		auth, _, err := nc.Authenticate(ss.SecurityBuffer)
		if err != nil {
			t.Fatal(err)
		}
		if _, resp = es.clear(t, smb2.Header{Command: smb2.CmdSessionSetup}, setup(auth)); h.Decode(resp) != nil || h.Status != ntstatus.AccessDenied {
			t.Fatalf("user %q re-authenticated as alice: %v, want STATUS_ACCESS_DENIED", first.User, h.Status)
		}
		_, resp = es.clear(t, smb2.Header{Command: smb2.CmdTreeConnect}, (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, `\\SMBPIPE\IPC$`)}).Append(nil))
		if h.Decode(resp) != nil || h.Status != ntstatus.UserSessionDeleted {
			t.Fatalf("user %q: TREE_CONNECT after the refused re-authentication: %v, want STATUS_USER_SESSION_DELETED", first.User, h.Status)
		}
	}
	if n := strings.Count(ts.log.String(), "rule=reauth-keyless-session"); n != 2 {
		t.Fatalf("%d audit records of rule reauth-keyless-session, want 2:\n%s", n, ts.log)
	}
}
