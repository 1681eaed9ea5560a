package dcerpc

import (
	"encoding/binary"

	"github.com/smbpipe/smbpipe/ndr"
)

// UUID is a DCE UUID in its string byte order (ndr.UUID): the UUID
// 60a15ec5-4de8-11d7-a637-005056a20182 is {0x60, 0xa1, 0x5e, 0xc5, ...}.
// On the wire its first three fields follow the PDU's byte order.
type UUID = ndr.UUID

// ParseUUID parses the 36-character form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func ParseUUID(s string) (UUID, error) { return ndr.ParseUUID(s) }

// MustParseUUID is ParseUUID for constants; it panics on a malformed s.
func MustParseUUID(s string) UUID { return ndr.MustParseUUID(s) }

// appendUUID appends u in the wire form for byte order o.
func appendUUID(dst []byte, u UUID, o binary.AppendByteOrder) []byte {
	dst = o.AppendUint32(dst, binary.BigEndian.Uint32(u[0:4]))
	dst = o.AppendUint16(dst, binary.BigEndian.Uint16(u[4:6]))
	dst = o.AppendUint16(dst, binary.BigEndian.Uint16(u[6:8]))
	return append(dst, u[8:16]...)
}

// readUUID reads a UUID in wire form (b has at least 16 bytes).
func readUUID(b []byte, o binary.ByteOrder) UUID {
	var u UUID
	binary.BigEndian.PutUint32(u[0:4], o.Uint32(b[0:4]))
	binary.BigEndian.PutUint16(u[4:6], o.Uint16(b[4:6]))
	binary.BigEndian.PutUint16(u[6:8], o.Uint16(b[6:8]))
	copy(u[8:16], b[8:16])
	return u
}

// SyntaxID names an abstract syntax (an interface and its version) or a
// transfer syntax. On the wire the version is one 32-bit value, the major
// version in its low half.
type SyntaxID struct {
	UUID  UUID
	Major uint16
	Minor uint16
}

// String returns "uuid vMajor.Minor".
func (s SyntaxID) String() string {
	return s.UUID.String() + " v" + itoa(int(s.Major)) + "." + itoa(int(s.Minor))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [8]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

const syntaxIDSize = 20

func appendSyntaxID(dst []byte, s SyntaxID, o binary.AppendByteOrder) []byte {
	dst = appendUUID(dst, s.UUID, o)
	return o.AppendUint32(dst, uint32(s.Major)|uint32(s.Minor)<<16)
}

func readSyntaxID(b []byte, o binary.ByteOrder) SyntaxID {
	v := o.Uint32(b[16:20])
	return SyntaxID{UUID: readUUID(b, o), Major: uint16(v), Minor: uint16(v >> 16)}
}

// Transfer syntaxes.
var (
	// NDR is NDR 2.0, the only transfer syntax this package accepts.
	NDR = SyntaxID{UUID: MustParseUUID("8a885d04-1ceb-11c9-9fe8-08002b104860"), Major: 2}
	// NDR64 is declined (proposed_transfer_syntaxes_not_supported).
	NDR64 = SyntaxID{UUID: MustParseUUID("71710533-beba-4937-8319-b5dbef9ccc36"), Major: 1}
)

// Bind time feature negotiation (MS-RPCE 2.2.2.14): a transfer syntax
// 6cb71c2c-9812-4540-xxxx-xxxxxxxxxxxx version 1 whose last 8 bytes are
// the feature bits, little-endian.
const (
	FeatureSecurityContextMultiplexing uint16 = 0x0001
	FeatureKeepConnectionOnOrphan      uint16 = 0x0002
)

var btfnPrefix = [8]byte{0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40}

// BindTimeFeatures returns the syntax that asks for the features bits.
func BindTimeFeatures(bits uint64) SyntaxID {
	var u UUID
	copy(u[:8], btfnPrefix[:])
	binary.LittleEndian.PutUint64(u[8:], bits)
	return SyntaxID{UUID: u, Major: 1}
}

// bindTimeFeatures reports whether s is a bind time feature syntax and
// its bits.
func bindTimeFeatures(s SyntaxID) (uint64, bool) {
	if [8]byte(s.UUID[:8]) != btfnPrefix || s.Major != 1 || s.Minor != 0 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(s.UUID[8:]), true
}
