package smbcrypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
)

// Dialects, as in the SMB2 NEGOTIATE DialectRevision.
const (
	Dialect202 uint16 = 0x0202
	Dialect210 uint16 = 0x0210
	Dialect300 uint16 = 0x0300
	Dialect302 uint16 = 0x0302
	Dialect311 uint16 = 0x0311
)

// Signing algorithm ids of the SMB2_SIGNING_CAPABILITIES context (the same
// values as smb2.SigningHMACSHA256, SigningAESCMAC and SigningAESGMAC).
const (
	SigningHMACSHA256 uint16 = 0x0000
	SigningAESCMAC    uint16 = 0x0001
	SigningAESGMAC    uint16 = 0x0002
)

// KDF labels and contexts of MS-SMB2 3.1.4.2, with their terminating NUL.
const (
	label30Signing     = "SMB2AESCMAC\x00"
	context30Signing   = "SmbSign\x00"
	label30App         = "SMB2APP\x00"
	context30App       = "SmbRpc\x00"
	label30Cipher      = "SMB2AESCCM\x00"
	context30ServerIn  = "ServerIn \x00"
	context30ServerOut = "ServerOut\x00"

	label311Signing = "SMBSigningKey\x00"
	label311App     = "SMBAppKey\x00"
	label311C2S     = "SMBC2SCipherKey\x00"
	label311S2C     = "SMBS2CCipherKey\x00"
)

// kdf is SP800-108 in counter mode with HMAC-SHA256 as PRF, a 32-bit
// big-endian counter i and length L:
// K(i) = HMAC(key, i || label || 0x00 || context || L).
func kdf(key, label, context []byte, lBits int) []byte {
	if lBits <= 0 {
		return nil
	}
	n := (lBits + 7) / 8
	out := make([]byte, 0, (n+sha256.Size-1)/sha256.Size*sha256.Size)
	h := hmac.New(sha256.New, key)
	var be [4]byte
	for i := uint32(1); len(out) < n; i++ {
		h.Reset()
		binary.BigEndian.PutUint32(be[:], i)
		h.Write(be[:])
		h.Write(label)
		h.Write([]byte{0})
		h.Write(context)
		binary.BigEndian.PutUint32(be[:], uint32(lBits))
		h.Write(be[:])
		out = h.Sum(out)
	}
	return out[:n]
}

// sessionKey16 is Session.SessionKey: the first 16 bytes of the
// authentication key, zero-padded if it is shorter.
func sessionKey16(k []byte) []byte {
	out := make([]byte, 16)
	copy(out, k)
	return out
}

func deriveKeys(dialect uint16, sessionKey []byte, preauth *PreauthHash) Keys {
	k := sessionKey16(sessionKey)
	switch {
	case dialect < Dialect300:
		return Keys{Signing: k}
	case dialect < Dialect311:
		return Keys{
			Signing:     kdf(k, []byte(label30Signing), []byte(context30Signing), 128),
			Application: kdf(k, []byte(label30App), []byte(context30App), 128),
			Encryption:  kdf(k, []byte(label30Cipher), []byte(context30ServerIn), 128),
			Decryption:  kdf(k, []byte(label30Cipher), []byte(context30ServerOut), 128),
		}
	}
	var ctx []byte
	if preauth != nil {
		ctx = preauth[:]
	} else {
		ctx = make([]byte, len(PreauthHash{}))
	}
	return Keys{
		Signing:     kdf(k, []byte(label311Signing), ctx, 128),
		Application: kdf(k, []byte(label311App), ctx, 128),
		Encryption:  kdf(k, []byte(label311C2S), ctx, 128),
		Decryption:  kdf(k, []byte(label311S2C), ctx, 128),
	}
}

// update does not allocate.
func (h *PreauthHash) update(msg []byte) {
	d := sha512.New()
	d.Write(h[:])
	d.Write(msg)
	d.Sum(h[:0])
}
