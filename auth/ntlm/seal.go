package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"
)

// SignatureSize is the length of an NTLMSSP_MESSAGE_SIGNATURE.
const SignatureSize = 16

// ErrBadSignature is returned by Verify and Unseal when a message signature
// does not match (wrong key, altered message or out-of-order sequence number).
var ErrBadSignature = errors.New("ntlm: bad message signature")

// ErrNoSessionSecurity is returned by NewSecurity when the negotiated flags
// do not include extended session security: the older CRC-based scheme of
// MS-NLMP 3.4.3 is not implemented.
var ErrNoSessionSecurity = errors.New("ntlm: session security needs extended session security")

// Security is NTLM session security (MS-NLMP 3.4, extended session
// security) for one end of a connection-oriented exchange: a signing key
// and a stateful RC4 sealing handle per direction, and a sequence number
// per direction that each Sign/Seal (send) and Verify/Unseal (receive)
// advances. DCE/RPC uses it to sign and seal PDUs.
//
// Calls must follow the order of the messages on the wire. The send side
// (Sign, Seal) and the receive side (Verify, Unseal) share no state, so one
// goroutine may send while another receives; otherwise a Security is not
// safe for concurrent use.
type Security struct {
	keyExch  bool
	sendSign [16]byte
	recvSign [16]byte
	sendSeal [16]byte
	recvSeal [16]byte
	send     *rc4.Cipher
	recv     *rc4.Cipher
	sendSeq  uint32
	recvSeq  uint32
	sendMAC  hash.Hash
	recvMAC  hash.Hash
	// scratch per direction, so that one goroutine may send while
	// another receives
	sendSum [md5.Size + 4]byte
	recvSum [md5.Size + 4]byte
}

// NewSecurity derives the session security of one end from the exported
// session key and the negotiated flags (Result.Flags on a server,
// Client.NegotiatedFlags on a client). server selects the direction: a
// server sends with the server-to-client keys.
func NewSecurity(sessionKey [16]byte, flags uint32, server bool) (*Security, error) {
	ss := newSessionSecurity(sessionKey, flags)
	if !ss.ok {
		return nil, ErrNoSessionSecurity
	}
	s := &Security{keyExch: ss.keyExch}
	if server {
		s.sendSign, s.recvSign, s.sendSeal, s.recvSeal = ss.signS2C, ss.signC2S, ss.sealS2C, ss.sealC2S
	} else {
		s.sendSign, s.recvSign, s.sendSeal, s.recvSeal = ss.signC2S, ss.signS2C, ss.sealC2S, ss.sealS2C
	}
	s.sendMAC = hmac.New(md5.New, s.sendSign[:])
	s.recvMAC = hmac.New(md5.New, s.recvSign[:])
	s.ResetRC4()
	return s, nil
}

// ResetRC4 keys both RC4 handles afresh and keeps the sequence numbers.
// SPNEGO does this after the mechListMIC exchange ([MS-SPNG] 3.1.5.1: the
// first message signed by the application uses the RC4 state the
// mechListMIC used).
func (s *Security) ResetRC4() {
	s.send, _ = rc4.NewCipher(s.sendSeal[:]) // a 16-byte key never fails
	s.recv, _ = rc4.NewCipher(s.recvSeal[:])
}

// checksum computes HMAC_MD5(SigningKey, seq || msg)[0:8] into scratch.
func checksum(h hash.Hash, scratch *[md5.Size + 4]byte, seq uint32, msg []byte) []byte {
	binary.LittleEndian.PutUint32(scratch[md5.Size:], seq)
	h.Reset()
	h.Write(scratch[md5.Size:])
	h.Write(msg)
	return h.Sum(scratch[:0])[:8]
}

// Sign appends the signature of msg (MS-NLMP 3.4.4.2, with the RC4
// handle continued when KEY_EXCH was negotiated) to dst and advances the
// send sequence number. It does not allocate when dst has room.
func (s *Security) Sign(dst, msg []byte) []byte {
	return s.finish(dst, checksum(s.sendMAC, &s.sendSum, s.sendSeq, msg))
}

// Seal encrypts data in place with the send handle and appends the
// signature of msg to dst. msg is what the signature covers; for DCE/RPC
// it is the whole PDU up to the signature and contains data, which must
// still be plaintext when Seal is called (the checksum is computed first,
// then data is encrypted, then the checksum, as MS-NLMP 3.4.3 orders it).
func (s *Security) Seal(dst, data, msg []byte) []byte {
	sum := checksum(s.sendMAC, &s.sendSum, s.sendSeq, msg)
	s.send.XORKeyStream(data, data)
	return s.finish(dst, sum)
}

func (s *Security) finish(dst, sum []byte) []byte {
	if s.keyExch {
		s.send.XORKeyStream(sum, sum)
	}
	dst = binary.LittleEndian.AppendUint32(dst, 1)
	dst = append(dst, sum...)
	dst = binary.LittleEndian.AppendUint32(dst, s.sendSeq)
	s.sendSeq++
	return dst
}

// Verify checks the signature sig of msg against the receive sequence
// number, which it advances on success.
func (s *Security) Verify(msg, sig []byte) error {
	return s.check(checksum(s.recvMAC, &s.recvSum, s.recvSeq, msg), sig)
}

// Unseal decrypts data in place with the receive handle and then checks
// the signature sig of msg (which contains data, plaintext after the
// decryption).
func (s *Security) Unseal(data, msg, sig []byte) error {
	s.recv.XORKeyStream(data, data)
	return s.check(checksum(s.recvMAC, &s.recvSum, s.recvSeq, msg), sig)
}

func (s *Security) check(sum, sig []byte) error {
	if s.keyExch {
		s.recv.XORKeyStream(sum, sum)
	}
	var want [SignatureSize]byte
	binary.LittleEndian.PutUint32(want[0:], 1)
	copy(want[4:12], sum)
	binary.LittleEndian.PutUint32(want[12:], s.recvSeq)
	if len(sig) != SignatureSize || subtle.ConstantTimeCompare(want[:], sig) != 1 {
		return ErrBadSignature
	}
	s.recvSeq++
	return nil
}

// NegotiatedFlags returns the flags of the AUTHENTICATE_MESSAGE the client
// sent (valid after Authenticate): what NewSecurity needs.
func (c *Client) NegotiatedFlags() uint32 { return c.st.flags }
