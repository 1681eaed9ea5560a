// Package smbcrypto holds the SMB2/3 cryptography: the SP800-108 KDF, the
// per-dialect key derivation, the preauth integrity hash, and message
// signing (HMAC-SHA256, AES-CMAC, AES-GMAC). Encryption comes later.
package smbcrypto

// Signer signs and verifies one SMB2 message (header + body, including any
// compound padding up to NextCommand) in place. Implementations must not
// allocate per call and are not safe for concurrent use... unless stated.
type Signer interface {
	// Sign sets FlagSigned in the header and writes the signature.
	Sign(msg []byte)
	// Verify checks the signature of msg without modifying it.
	Verify(msg []byte) bool
}

// Keys are the keys of one session.
type Keys struct {
	Signing     []byte
	Encryption  []byte // client-to-server ("ServerIn")
	Decryption  []byte // server-to-client ("ServerOut")
	Application []byte
}

// PreauthHash is the SMB 3.1.1 preauth integrity hash value (SHA-512).
type PreauthHash [64]byte

// Update sets h = SHA-512(h || msg).
func (h *PreauthHash) Update(msg []byte) { h.update(msg) }

// KDF is SP800-108 in counter mode with HMAC-SHA256, producing lBits bits.
func KDF(key, label, context []byte, lBits int) []byte { return kdf(key, label, context, lBits) }

// DeriveKeys derives the session keys for the dialect (0x0202...0x0311)
// from the session key; preauth is used for 3.1.1 only.
func DeriveKeys(dialect uint16, sessionKey []byte, preauth *PreauthHash) Keys {
	return deriveKeys(dialect, sessionKey, preauth)
}

// NewSigner returns the signer for the dialect and negotiated signing
// algorithm (smb2.SigningHMACSHA256, SigningAESCMAC, SigningAESGMAC; for
// 2.x HMAC-SHA256 is used and for 3.0/3.0.2 AES-CMAC, whatever alg says).
func NewSigner(dialect uint16, alg uint16, signingKey []byte) Signer {
	return newSigner(dialect, alg, signingKey)
}
