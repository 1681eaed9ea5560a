package ntlm

import (
	"encoding/binary"

	"github.com/smbpipe/smbpipe/internal/utf16le"
)

// NTLMSSP negotiate flags (MS-NLMP 2.2.2.5).
const (
	FlagUnicode                 uint32 = 0x00000001
	FlagOEM                     uint32 = 0x00000002
	FlagRequestTarget           uint32 = 0x00000004
	FlagSign                    uint32 = 0x00000010
	FlagSeal                    uint32 = 0x00000020
	FlagDatagram                uint32 = 0x00000040
	FlagLMKey                   uint32 = 0x00000080
	FlagNTLM                    uint32 = 0x00000200
	FlagAnonymous               uint32 = 0x00000800
	FlagOEMDomainSupplied       uint32 = 0x00001000
	FlagOEMWorkstationSupplied  uint32 = 0x00002000
	FlagAlwaysSign              uint32 = 0x00008000
	FlagTargetTypeDomain        uint32 = 0x00010000
	FlagTargetTypeServer        uint32 = 0x00020000
	FlagExtendedSessionSecurity uint32 = 0x00080000
	FlagIdentify                uint32 = 0x00100000
	FlagRequestNonNTSessionKey  uint32 = 0x00400000
	FlagTargetInfo              uint32 = 0x00800000
	FlagVersion                 uint32 = 0x02000000
	Flag128                     uint32 = 0x20000000
	FlagKeyExch                 uint32 = 0x40000000
	Flag56                      uint32 = 0x80000000
)

// AV_PAIR identifiers (MS-NLMP 2.2.2.1).
const (
	avEOL             uint16 = 0
	avNbComputerName  uint16 = 1
	avNbDomainName    uint16 = 2
	avDNSComputerName uint16 = 3
	avDNSDomainName   uint16 = 4
	avDNSTreeName     uint16 = 5
	avFlags           uint16 = 6
	avTimestamp       uint16 = 7
)

// avFlagMICPresent is the MsvAvFlags bit saying the AUTHENTICATE carries a MIC.
const avFlagMICPresent uint32 = 0x00000002

const (
	msgNegotiate    = 1
	msgChallenge    = 2
	msgAuthenticate = 3

	signature = "NTLMSSP\x00"

	// Fixed header sizes, including the 8-byte VERSION (and the MIC for
	// AUTHENTICATE) that every modern peer sends.
	negotiateHeaderLen    = 40
	challengeHeaderLen    = 56
	authenticateHeaderLen = 88
	micOffset             = 72
)

// version is the VERSION structure we send: 6.1 build 7601, NTLMSSP revision 15.
var version = [8]byte{6, 1, 0xb1, 0x1d, 0, 0, 0, 15}

// checkHeader verifies the signature and message type of an NTLMSSP message
// that must be at least minLen bytes long.
func checkHeader(b []byte, typ uint32, minLen int) bool {
	return len(b) >= minLen && string(b[:8]) == signature && binary.LittleEndian.Uint32(b[8:12]) == typ
}

// field returns the payload described by the 8-byte field descriptor at
// off (Len, MaxLen, BufferOffset). ok is false if the descriptor lies
// outside b or points outside b. The caller has checked len(b) >= off+8.
func field(b []byte, off int) (data []byte, ok bool) {
	n := uint64(binary.LittleEndian.Uint16(b[off:]))
	o := uint64(binary.LittleEndian.Uint32(b[off+4:]))
	if n == 0 {
		return nil, true
	}
	if o+n > uint64(len(b)) {
		return nil, false
	}
	return b[o : o+n], true
}

// putField writes a field descriptor for data appended to msg at its
// current end, then appends data.
func putField(msg []byte, off int, data []byte) []byte {
	binary.LittleEndian.PutUint16(msg[off:], uint16(len(data)))
	binary.LittleEndian.PutUint16(msg[off+2:], uint16(len(data)))
	binary.LittleEndian.PutUint32(msg[off+4:], uint32(len(msg)))
	return append(msg, data...)
}

// decodeString decodes a payload string: UTF-16LE when unicode, else OEM
// (treated as Latin-1). ok is false for an odd-length UTF-16 string.
func decodeString(b []byte, unicode bool) (string, bool) {
	if !unicode {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), true
	}
	return utf16le.Decode(b)
}

// appendString encodes s as UTF-16LE or as OEM (Latin-1, '?' for others).
func appendString(dst []byte, s string, unicode bool) []byte {
	if !unicode {
		for _, r := range s {
			if r > 0xff {
				r = '?'
			}
			dst = append(dst, byte(r))
		}
		return dst
	}
	return utf16le.Append(dst, s)
}

func encodeUTF16(s string) []byte { return utf16le.Append(nil, s) }

// avPair is one AV_PAIR; value aliases the message.
type avPair struct {
	id    uint16
	value []byte
}

// parseAVPairs parses an AV_PAIR list up to MsvAvEOL. Bytes after EOL are
// ignored (Windows pads the NTLMv2 client challenge). ok is false if a pair
// runs past the end or EOL is missing.
func parseAVPairs(b []byte) (pairs []avPair, ok bool) {
	for {
		if len(b) < 4 {
			return nil, false
		}
		id := binary.LittleEndian.Uint16(b)
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if id == avEOL {
			return pairs, true
		}
		if n > len(b)-4 {
			return nil, false
		}
		pairs = append(pairs, avPair{id, b[4 : 4+n]})
		b = b[4+n:]
	}
}

// lookupAV returns the value of the first pair with id.
func lookupAV(pairs []avPair, id uint16) ([]byte, bool) {
	for _, p := range pairs {
		if p.id == id {
			return p.value, true
		}
	}
	return nil, false
}

func appendAVPair(dst []byte, id uint16, value []byte) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, id)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(value)))
	return append(dst, value...)
}
