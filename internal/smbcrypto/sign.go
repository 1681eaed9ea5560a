package smbcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash"
)

// SMB2 header layout used by the signers.
const (
	headerLen         = 64
	offCommand        = 12
	offFlags          = 16
	offMessageID      = 24
	offSignature      = 48
	flagServerToRedir = 0x00000001
	flagSigned        = 0x00000008
	commandCancel     = 0x000c
)

func newSigner(dialect uint16, alg uint16, key []byte) Signer {
	switch {
	case dialect < Dialect300:
		alg = SigningHMACSHA256
	case dialect < Dialect311:
		alg = SigningAESCMAC
	}
	// The hash or cipher state (a few hundred bytes to over a kilobyte)
	// is built on first use: a session that never signs (anonymous, or
	// unsigned by choice) holds only the key.
	var k lazyKey
	copy(k.key[:], sessionKey16(key))
	switch alg {
	case SigningHMACSHA256:
		return &hmacSigner{lazyKey: k}
	case SigningAESGMAC:
		return &gmacSigner{lazyKey: k}
	default:
		return &cmacSigner{lazyKey: k}
	}
}

// lazyKey is a signer's 16-byte key until its state is built from it.
type lazyKey struct{ key [16]byte }

// block returns the AES cipher of the key and forgets the key.
func (k *lazyKey) block() cipher.Block {
	b, _ := aes.NewCipher(k.key[:])
	clear(k.key[:])
	return b
}

// prepare sets SMB2_FLAGS_SIGNED and zeroes the signature field.
func prepare(msg []byte) {
	f := binary.LittleEndian.Uint32(msg[offFlags:])
	binary.LittleEndian.PutUint32(msg[offFlags:], f|flagSigned)
	clear(msg[offSignature : offSignature+16])
}

// hmacSigner is HMAC-SHA256 signing (SMB 2.0.2 and 2.1, and 3.1.1 when
// negotiated): the first 16 bytes of HMAC-SHA256(key, msg).
type hmacSigner struct {
	lazyKey
	h    hash.Hash // nil until first use
	sum  [sha256.Size]byte
	zero [16]byte
}

func (s *hmacSigner) Sign(msg []byte) {
	if len(msg) < headerLen {
		return
	}
	prepare(msg)
	s.init()
	s.h.Reset()
	s.h.Write(msg)
	s.h.Sum(s.sum[:0])
	copy(msg[offSignature:], s.sum[:16])
}

func (s *hmacSigner) Verify(msg []byte) bool {
	if len(msg) < headerLen {
		return false
	}
	s.init()
	s.h.Reset()
	s.h.Write(msg[:offSignature])
	s.h.Write(s.zero[:])
	s.h.Write(msg[headerLen:])
	s.h.Sum(s.sum[:0])
	return subtle.ConstantTimeCompare(s.sum[:16], msg[offSignature:headerLen]) == 1
}

func (s *hmacSigner) init() {
	if s.h == nil {
		s.h = hmac.New(sha256.New, s.key[:])
		clear(s.key[:])
	}
}

// cmacSigner is AES-128-CMAC signing (SMB 3.0, 3.0.2, and 3.1.1 by default).
type cmacSigner struct {
	lazyKey
	c    *cmac // nil until first use
	tag  [16]byte
	zero [16]byte
}

func (s *cmacSigner) Sign(msg []byte) {
	if len(msg) < headerLen {
		return
	}
	prepare(msg)
	s.init()
	s.c.reset()
	s.c.write(msg)
	s.c.sum(&s.tag)
	copy(msg[offSignature:], s.tag[:])
}

func (s *cmacSigner) Verify(msg []byte) bool {
	if len(msg) < headerLen {
		return false
	}
	s.init()
	s.c.reset()
	s.c.write(msg[:offSignature])
	s.c.write(s.zero[:])
	s.c.write(msg[headerLen:])
	s.c.sum(&s.tag)
	return subtle.ConstantTimeCompare(s.tag[:], msg[offSignature:headerLen]) == 1
}

func (s *cmacSigner) init() {
	if s.c == nil {
		s.c = newCMAC(s.block())
	}
}

// gmacSigner is AES-128-GMAC signing (SMB 3.1.1 with SIGNING_CAPABILITIES):
// AES-GCM over an empty plaintext with the message as additional data.
type gmacSigner struct {
	lazyKey
	g     cipher.AEAD // nil until first use
	nonce [12]byte
	tag   [16]byte
	saved [16]byte
}

// setNonce builds the MS-SMB2 3.1.4.1 nonce: MessageId, then a 32-bit
// field with bit 0 set for messages from the server and bit 1 for CANCEL.
func (s *gmacSigner) setNonce(msg []byte) {
	copy(s.nonce[:8], msg[offMessageID:offMessageID+8])
	var v uint32
	if binary.LittleEndian.Uint32(msg[offFlags:])&flagServerToRedir != 0 {
		v |= 1
	}
	if binary.LittleEndian.Uint16(msg[offCommand:]) == commandCancel {
		v |= 2
	}
	binary.LittleEndian.PutUint32(s.nonce[8:], v)
}

func (s *gmacSigner) Sign(msg []byte) {
	if len(msg) < headerLen {
		return
	}
	prepare(msg)
	s.init()
	s.setNonce(msg)
	s.g.Seal(s.tag[:0], s.nonce[:], nil, msg)
	copy(msg[offSignature:], s.tag[:])
}

// Verify zeroes the signature field while computing the tag and restores
// it before returning, so msg must not be read concurrently.
func (s *gmacSigner) Verify(msg []byte) bool {
	if len(msg) < headerLen {
		return false
	}
	sig := msg[offSignature:headerLen]
	copy(s.saved[:], sig)
	clear(sig)
	s.init()
	s.setNonce(msg)
	s.g.Seal(s.tag[:0], s.nonce[:], nil, msg)
	copy(sig, s.saved[:])
	return subtle.ConstantTimeCompare(s.tag[:], s.saved[:]) == 1
}

func (s *gmacSigner) init() {
	if s.g == nil {
		s.g, _ = cipher.NewGCM(s.block())
	}
}
