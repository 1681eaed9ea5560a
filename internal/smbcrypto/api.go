// Package smbcrypto holds the SMB2/3 cryptography: the SP800-108 KDF, the
// per-dialect key derivation, the preauth integrity hash, and message
// signing (HMAC-SHA256, AES-CMAC, AES-GMAC), and SMB3 encryption
// (AES-128/256 in CCM and GCM modes, Crypter; DeriveCipherKeys).
package smbcrypto

// Signer signs and verifies one SMB2 message (header + body, including any
// compound padding up to NextCommand) in place. A Signer belongs to one
// session and is used by one goroutine at a time: it keeps preallocated
// scratch state, so Sign and Verify do not allocate, and it is not safe
// for concurrent use.
type Signer interface {
	// Sign sets SMB2_FLAGS_SIGNED in the header, zeroes the signature
	// field, computes the signature over msg and writes it to bytes 48..63.
	// A msg shorter than the 64-byte header is left alone.
	Sign(msg []byte)
	// Verify checks the signature of msg (as sent, flags included). msg is
	// unchanged when Verify returns; the AES-GMAC signer zeroes the
	// signature field while computing and restores it, so msg must not be
	// read concurrently. False for a msg shorter than the header.
	Verify(msg []byte) bool
}

// Keys are the keys of one session. For 2.x dialects only Signing is set.
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
// from the session key (its first 16 bytes, zero-padded: Session.SessionKey);
// preauth is used for 3.1.1 only (nil means all zero). All keys are
// 128-bit; the encryption keys of a cipher, 256-bit ones for AES-256 from
// the full session key, come from DeriveCipherKeys.
func DeriveKeys(dialect uint16, sessionKey []byte, preauth *PreauthHash) Keys {
	return deriveKeys(dialect, sessionKey, preauth)
}

// NewSigner returns the signer for the dialect and negotiated signing
// algorithm (smb2.SigningHMACSHA256, SigningAESCMAC, SigningAESGMAC; for
// 2.x HMAC-SHA256 is used and for 3.0/3.0.2 AES-CMAC, whatever alg says).
// For 3.1.1 without a SIGNING_CAPABILITIES context pass SigningAESCMAC
// (alg 0 means HMAC-SHA256); unknown values select AES-CMAC. The key is
// used as a 16-byte key (truncated or zero-padded).
func NewSigner(dialect uint16, alg uint16, signingKey []byte) Signer {
	return newSigner(dialect, alg, signingKey)
}
