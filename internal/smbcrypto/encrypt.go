package smbcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// Cipher ids of the SMB2_ENCRYPTION_CAPABILITIES context (the same values
// as smb2.CipherAES128CCM ... smb2.CipherAES256GCM).
const (
	CipherAES128CCM uint16 = 0x0001
	CipherAES128GCM uint16 = 0x0002
	CipherAES256CCM uint16 = 0x0003
	CipherAES256GCM uint16 = 0x0004
)

// CipherName is the configuration name of a cipher id ("AES-128-GCM"),
// or "" for an unknown id.
func CipherName(id uint16) string {
	switch id {
	case CipherAES128CCM:
		return "AES-128-CCM"
	case CipherAES128GCM:
		return "AES-128-GCM"
	case CipherAES256CCM:
		return "AES-256-CCM"
	case CipherAES256GCM:
		return "AES-256-GCM"
	}
	return ""
}

// CipherKeyBits is the key size of a cipher: 256 for the AES-256 ciphers,
// 128 otherwise.
func CipherKeyBits(id uint16) int {
	if id == CipherAES256CCM || id == CipherAES256GCM {
		return 256
	}
	return 128
}

// TRANSFORM_HEADER layout (MS-SMB2 2.2.41) as the ciphers use it.
const (
	// TransformSize is the size of the TRANSFORM_HEADER.
	TransformSize   = 52
	offTSignature   = 4
	offTNonce       = 20
	offTAAD         = 20 // Nonce through SessionId
	tagSize         = 16
	ccmNonceSize    = 11
	gcmNonceSize    = 12
	transformNonces = 16
)

// DeriveCipherKeys derives the encryption keys of a session for dialect
// 3.x and the negotiated cipher (MS-SMB2 3.1.4.2, 3.3.5.5.3): c2s
// encrypts client-to-server messages (the server's DecryptionKey, the
// client's EncryptionKey), s2c server-to-client ones. For 3.0 and 3.0.2
// the labels are "SMB2AESCCM" with "ServerIn " / "ServerOut"; for 3.1.1
// "SMBC2SCipherKey" / "SMBS2CCipherKey" with the preauth hash (nil means
// all zero). The key derivation key is Session.SessionKey (the first 16
// bytes of sessionKey, zero-padded) with L = 128, except for AES-256-CCM
// and AES-256-GCM, which use the full session key and L = 256. Nil keys
// for a 2.x dialect.
func DeriveCipherKeys(dialect, cipherID uint16, sessionKey []byte, preauth *PreauthHash) (c2s, s2c []byte) {
	switch {
	case dialect < Dialect300:
		return nil, nil
	case dialect < Dialect311:
		k := sessionKey16(sessionKey)
		return kdf(k, []byte(label30Cipher), []byte(context30ServerIn), 128),
			kdf(k, []byte(label30Cipher), []byte(context30ServerOut), 128)
	}
	var ctx []byte
	if preauth != nil {
		ctx = preauth[:]
	} else {
		ctx = make([]byte, len(PreauthHash{}))
	}
	bits := CipherKeyBits(cipherID)
	k := sessionKey16(sessionKey)
	if bits == 256 && len(sessionKey) > 16 {
		k = sessionKey
	}
	return kdf(k, []byte(label311C2S), ctx, bits), kdf(k, []byte(label311S2C), ctx, bits)
}

// ErrDecrypt is returned by Open for a message that does not authenticate.
var ErrDecrypt = errors.New("smbcrypto: message authentication failed")

// Crypter encrypts (Seal) or decrypts (Open) SMB3 messages in place with
// one key and cipher. A Crypter belongs to one session and one direction
// and is used by one goroutine at a time: Seal takes the next nonce from
// a per-Crypter 64-bit counter (so a nonce is never used twice with a
// key), and both keep scratch state, so neither allocates.
type Crypter struct {
	id uint16
	// key[:klen] is the key until the cipher state is built from it on
	// first use (init): a session that never encrypts holds no AES or
	// GCM state.
	key   [32]byte
	klen  uint8
	gcm   cipher.AEAD
	ccm   *ccm
	salt  [4]byte // random high nonce bytes, fixed per Crypter
	count uint64  // nonces used by Seal
	aad   [32]byte
	tag   [tagSize]byte
}

// NewCrypter returns a Crypter for the cipher id with key (16 bytes for
// the AES-128 ciphers, 32 for the AES-256 ones).
func NewCrypter(id uint16, key []byte) (*Crypter, error) {
	if len(key)*8 != CipherKeyBits(id) || CipherName(id) == "" {
		return nil, errors.New("smbcrypto: bad cipher or key size")
	}
	c := &Crypter{id: id}
	c.klen = uint8(copy(c.key[:], key))
	_, _ = rand.Read(c.salt[:])
	return c, nil
}

// init builds the cipher state from the key on first use and forgets the
// key. The key's size was checked by NewCrypter, so AES accepts it.
func (c *Crypter) init() {
	if c.gcm != nil || c.ccm != nil {
		return
	}
	b, err := aes.NewCipher(c.key[:c.klen])
	if err != nil {
		panic("smbcrypto: " + err.Error())
	}
	clear(c.key[:])
	if c.isGCM() {
		c.gcm, _ = cipher.NewGCM(b) // a 16-byte block: never fails
		return
	}
	c.ccm = &ccm{b: b}
}

func (c *Crypter) isGCM() bool { return c.id == CipherAES128GCM || c.id == CipherAES256GCM }

// Cipher returns the cipher id.
func (c *Crypter) Cipher() uint16 { return c.id }

// nonceSize is the number of Nonce bytes the cipher uses.
func (c *Crypter) nonceSize() int {
	if c.isGCM() {
		return gcmNonceSize
	}
	return ccmNonceSize
}

// Seal encrypts frame[TransformSize:] in place. frame starts with a
// TRANSFORM_HEADER whose OriginalMessageSize, Flags and SessionId are set
// (smb2.TransformHeader.Put); Seal writes the Nonce (a 64-bit counter
// and random bytes, the unused bytes zero) and the Signature (the AEAD
// tag). frame should have 16 bytes of spare capacity: AES-GCM writes its
// tag there before Seal moves it into the header (without it Seal
// allocates). A frame shorter than the header is left alone.
func (c *Crypter) Seal(frame []byte) {
	if len(frame) < TransformSize {
		return
	}
	c.count++
	nonce := frame[offTNonce : offTNonce+transformNonces]
	clear(nonce)
	binary.LittleEndian.PutUint64(nonce, c.count)
	ns := c.nonceSize()
	copy(nonce[8:ns], c.salt[:])
	c.seal(frame)
}

// seal encrypts frame[TransformSize:] with the Nonce already in the
// header (the test vectors' own).
func (c *Crypter) seal(frame []byte) {
	c.init()
	ns := c.nonceSize()
	nonce := frame[offTNonce : offTNonce+transformNonces]
	aad := frame[offTAAD:TransformSize]
	msg := frame[TransformSize:]
	if c.gcm != nil {
		var out []byte
		if cap(msg)-len(msg) >= tagSize {
			out = c.gcm.Seal(msg[:0], nonce[:ns], msg, aad)
		} else {
			out = c.gcm.Seal(nil, nonce[:ns], msg, aad)
			copy(msg, out)
		}
		copy(frame[offTSignature:offTNonce], out[len(msg):])
		return
	}
	c.ccm.seal(nonce[:ns], aad, msg, frame[offTSignature:offTNonce])
}

// Open authenticates and decrypts a transform frame (header and
// encrypted message) in place and returns the plain message, which
// aliases frame. The caller has checked the header (smb2.DecodeTransform):
// only the cipher's Nonce bytes, the tag and the AAD are used here. On
// failure the bytes of frame are unspecified and nothing of them may be
// used.
func (c *Crypter) Open(frame []byte) ([]byte, error) {
	if len(frame) < TransformSize {
		return nil, ErrDecrypt
	}
	c.init()
	ns := c.nonceSize()
	copy(c.aad[:], frame[offTAAD:TransformSize])
	copy(c.tag[:], frame[offTSignature:offTNonce])
	if c.gcm != nil {
		// AES-GCM wants ciphertext||tag: move the message 16 bytes down
		// over the header, which is saved in c.aad.
		n := len(frame) - TransformSize
		ct := frame[TransformSize-tagSize : TransformSize-tagSize+n+tagSize]
		copy(ct, frame[TransformSize:])
		copy(ct[n:], c.tag[:])
		out, err := c.gcm.Open(ct[:0], c.aad[:ns], ct, c.aad[:])
		if err != nil {
			return nil, ErrDecrypt
		}
		return out, nil
	}
	msg := frame[TransformSize:]
	if !c.ccm.open(c.aad[:ns], c.aad[:], msg, c.tag[:]) {
		return nil, ErrDecrypt
	}
	return msg, nil
}

// ccm is AES-CCM (NIST SP 800-38C, RFC 3610) with a 16-byte tag and an
// 11-byte nonce (L = 4), the SMB3 parameters, encrypting in place with a
// detached tag. It does not allocate.
type ccm struct {
	b       cipher.Block
	x, a, s [16]byte // CBC-MAC state, counter block, key stream
	blk     [16]byte
}

const ccmL = 4

// start prepares the CBC-MAC over B0 and the AAD, and the counter block.
func (m *ccm) start(nonce, aad []byte, n int) {
	// B0: flags (Adata, M' = (16-2)/2, L' = L-1), nonce, message length.
	m.blk = [16]byte{}
	m.blk[0] = 0x40 | byte((tagSize-2)/2)<<3 | (ccmL - 1)
	copy(m.blk[1:], nonce)
	binary.BigEndian.PutUint32(m.blk[16-ccmL:], uint32(n))
	m.b.Encrypt(m.x[:], m.blk[:])
	// AAD: 2-byte length (the AAD is 32 bytes) then the data, zero padded.
	i := 0
	m.blk = [16]byte{}
	binary.BigEndian.PutUint16(m.blk[:], uint16(len(aad)))
	j := 2
	for i < len(aad) {
		k := copy(m.blk[j:], aad[i:])
		i += k
		j += k
		if j == 16 || i == len(aad) {
			subtle.XORBytes(m.x[:], m.x[:], m.blk[:])
			m.b.Encrypt(m.x[:], m.x[:])
			m.blk = [16]byte{}
			j = 0
		}
	}
	// A0: flags L' then the nonce and a zero counter.
	m.a = [16]byte{}
	m.a[0] = ccmL - 1
	copy(m.a[1:], nonce)
}

// ctr encrypts the counter block i into m.s.
func (m *ccm) ctr(i uint32) {
	binary.BigEndian.PutUint32(m.a[16-ccmL:], i)
	m.b.Encrypt(m.s[:], m.a[:])
}

// mac adds one (zero-padded) block of plaintext to the CBC-MAC.
func (m *ccm) mac(p []byte) {
	if len(p) == 16 {
		subtle.XORBytes(m.x[:], m.x[:], p)
	} else {
		m.blk = [16]byte{}
		copy(m.blk[:], p)
		subtle.XORBytes(m.x[:], m.x[:], m.blk[:])
	}
	m.b.Encrypt(m.x[:], m.x[:])
}

func (m *ccm) seal(nonce, aad, msg, tag []byte) {
	m.start(nonce, aad, len(msg))
	for i, off := uint32(1), 0; off < len(msg); i, off = i+1, off+16 {
		p := msg[off:min(off+16, len(msg))]
		m.mac(p)
		m.ctr(i)
		subtle.XORBytes(p, p, m.s[:len(p)])
	}
	m.ctr(0)
	subtle.XORBytes(tag, m.x[:], m.s[:])
}

func (m *ccm) open(nonce, aad, msg, tag []byte) bool {
	m.start(nonce, aad, len(msg))
	for i, off := uint32(1), 0; off < len(msg); i, off = i+1, off+16 {
		p := msg[off:min(off+16, len(msg))]
		m.ctr(i)
		subtle.XORBytes(p, p, m.s[:len(p)])
		m.mac(p)
	}
	m.ctr(0)
	subtle.XORBytes(m.s[:], m.x[:], m.s[:])
	return subtle.ConstantTimeCompare(m.s[:], tag) == 1
}
