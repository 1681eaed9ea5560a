package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"crypto/subtle"
	"encoding/binary"
	"strings"

	"golang.org/x/crypto/md4"
)

func ntHash(password string) [16]byte {
	h := md4.New()
	h.Write(encodeUTF16(password))
	var out [16]byte
	h.Sum(out[:0])
	return out
}

func hmacMD5(key []byte, parts ...[]byte) [16]byte {
	h := hmac.New(md5.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// ntowfv2 is NTOWFv2 (MS-NLMP 3.3.2) from the NT hash:
// HMAC_MD5(MD4(UNICODE(Passwd)), UNICODE(ConcatenationOf(Uppercase(User), UserDom))).
func ntowfv2(hash [16]byte, user, domain string) [16]byte {
	return hmacMD5(hash[:], encodeUTF16(strings.ToUpper(user)+domain))
}

// rc4K is RC4K(key, data): a fresh RC4 stream.
func rc4K(key, data []byte) [16]byte {
	var out [16]byte
	c, err := rc4.NewCipher(key)
	if err != nil { // only for an empty or oversized key, never here
		return out
	}
	c.XORKeyStream(out[:len(data)], data)
	return out
}

func randomBytes(fill func([]byte), b []byte) {
	if fill != nil {
		fill(b)
		return
	}
	rand.Read(b) // never returns an error (crypto/rand contract)
}

// Magic constants of SIGNKEY and SEALKEY (MS-NLMP 3.4.5.2, 3.4.5.3),
// including the terminating NUL.
const (
	magicSignC2S = "session key to client-to-server signing key magic constant\x00"
	magicSignS2C = "session key to server-to-client signing key magic constant\x00"
	magicSealC2S = "session key to client-to-server sealing key magic constant\x00"
	magicSealS2C = "session key to server-to-client sealing key magic constant\x00"
)

// sessionSecurity holds the NTLM session security keys (extended session
// security only) for GSS_GetMIC/GSS_VerifyMIC of the SPNEGO mechListMIC.
type sessionSecurity struct {
	ok      bool // keys are set
	keyExch bool // checksums are RC4-sealed
	signC2S [16]byte
	signS2C [16]byte
	sealC2S [16]byte
	sealS2C [16]byte
}

// newSessionSecurity derives the keys from the exported session key and
// the negotiated flags. Without extended session security NTLM uses an
// older CRC-based scheme that this package does not implement; the
// returned value is then not ok.
func newSessionSecurity(exported [16]byte, flags uint32) sessionSecurity {
	if flags&FlagExtendedSessionSecurity == 0 {
		return sessionSecurity{}
	}
	s := sessionSecurity{ok: true, keyExch: flags&FlagKeyExch != 0}
	s.signC2S = md5.Sum(append(exported[:], magicSignC2S...))
	s.signS2C = md5.Sum(append(exported[:], magicSignS2C...))
	sealKey := exported[:]
	switch {
	case flags&Flag128 != 0:
	case flags&Flag56 != 0:
		sealKey = sealKey[:7]
	default:
		sealKey = sealKey[:5]
	}
	s.sealC2S = md5.Sum(append(append([]byte{}, sealKey...), magicSealC2S...))
	s.sealS2C = md5.Sum(append(append([]byte{}, sealKey...), magicSealS2C...))
	return s
}

// mac computes the 16-byte NTLMSSP_MESSAGE_SIGNATURE with extended session
// security (MS-NLMP 3.4.4.2) for the first message of a fresh sealing
// handle. SPNEGO only ever signs one message per direction (the mechListMIC,
// sequence number 0), so no RC4 state is kept between calls.
func mac(signKey, sealKey *[16]byte, keyExch bool, seq uint32, msg []byte) []byte {
	var seqb [4]byte
	binary.LittleEndian.PutUint32(seqb[:], seq)
	sum := hmacMD5(signKey[:], seqb[:], msg)
	checksum := sum[:8]
	if keyExch {
		c, _ := rc4.NewCipher(sealKey[:])
		c.XORKeyStream(checksum, checksum)
	}
	out := make([]byte, 16)
	out[0] = 1
	copy(out[4:12], checksum)
	copy(out[12:], seqb[:])
	return out
}

func (s *sessionSecurity) micC2S(msg []byte) []byte {
	if !s.ok {
		return nil
	}
	return mac(&s.signC2S, &s.sealC2S, s.keyExch, 0, msg)
}

func (s *sessionSecurity) micS2C(msg []byte) []byte {
	if !s.ok {
		return nil
	}
	return mac(&s.signS2C, &s.sealS2C, s.keyExch, 0, msg)
}

func equal(a, b []byte) bool { return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1 }
