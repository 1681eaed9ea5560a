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
	switch alg {
	case SigningHMACSHA256:
		return &hmacSigner{h: hmac.New(sha256.New, sessionKey16(key))}
	case SigningAESGMAC:
		b, _ := aes.NewCipher(sessionKey16(key))
		g, _ := cipher.NewGCM(b)
		return &gmacSigner{g: g}
	default:
		b, _ := aes.NewCipher(sessionKey16(key))
		return &cmacSigner{c: newCMAC(b)}
	}
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
	h    hash.Hash
	sum  [sha256.Size]byte
	zero [16]byte
}

func (s *hmacSigner) Sign(msg []byte) {
	if len(msg) < headerLen {
		return
	}
	prepare(msg)
	s.h.Reset()
	s.h.Write(msg)
	s.h.Sum(s.sum[:0])
	copy(msg[offSignature:], s.sum[:16])
}

func (s *hmacSigner) Verify(msg []byte) bool {
	if len(msg) < headerLen {
		return false
	}
	s.h.Reset()
	s.h.Write(msg[:offSignature])
	s.h.Write(s.zero[:])
	s.h.Write(msg[headerLen:])
	s.h.Sum(s.sum[:0])
	return subtle.ConstantTimeCompare(s.sum[:16], msg[offSignature:headerLen]) == 1
}

// cmacSigner is AES-128-CMAC signing (SMB 3.0, 3.0.2, and 3.1.1 by default).
type cmacSigner struct {
	c    *cmac
	tag  [16]byte
	zero [16]byte
}

func (s *cmacSigner) Sign(msg []byte) {
	if len(msg) < headerLen {
		return
	}
	prepare(msg)
	s.c.reset()
	s.c.write(msg)
	s.c.sum(&s.tag)
	copy(msg[offSignature:], s.tag[:])
}

func (s *cmacSigner) Verify(msg []byte) bool {
	if len(msg) < headerLen {
		return false
	}
	s.c.reset()
	s.c.write(msg[:offSignature])
	s.c.write(s.zero[:])
	s.c.write(msg[headerLen:])
	s.c.sum(&s.tag)
	return subtle.ConstantTimeCompare(s.tag[:], msg[offSignature:headerLen]) == 1
}

// gmacSigner is AES-128-GMAC signing (SMB 3.1.1 with SIGNING_CAPABILITIES):
// AES-GCM over an empty plaintext with the message as additional data.
type gmacSigner struct {
	g     cipher.AEAD
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
	s.setNonce(msg)
	s.g.Seal(s.tag[:0], s.nonce[:], nil, msg)
	copy(sig, s.saved[:])
	return subtle.ConstantTimeCompare(s.tag[:], s.saved[:]) == 1
}
