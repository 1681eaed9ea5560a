package ndr

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
)

// A UUID (a GUID in Microsoft's documents) held in the order of its string
// form: Data1, Data2 and Data3 big-endian, then Data4. On the wire Data1,
// Data2 and Data3 follow the DREP's byte order (so a little-endian PDU
// carries the "mixed-endian" bytes Windows stores in memory) and Data4 is
// 8 bytes as they are.
type UUID [16]byte

// ParseUUID parses the 36-character form
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (either case).
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, errors.New("ndr: malformed UUID " + quote(s))
	}
	hexPart := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(u[:], []byte(hexPart)); err != nil {
		return UUID{}, errors.New("ndr: malformed UUID " + quote(s))
	}
	return u, nil
}

// MustParseUUID is ParseUUID for constants; it panics on a malformed UUID.
func MustParseUUID(s string) UUID {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return `"` + s + `"`
}

// String returns the lower-case 36-character form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// IsZero reports whether u is the nil UUID.
func (u UUID) IsZero() bool { return u == UUID{} }

// UUID appends a UUID (aligned to 4, 16 bytes).
func (w *Writer) UUID(u UUID) {
	w.Uint32(binary.BigEndian.Uint32(u[0:4]))
	w.Uint16(binary.BigEndian.Uint16(u[4:6]))
	w.Uint16(binary.BigEndian.Uint16(u[6:8]))
	w.Octets(u[8:16])
}

// UUID reads a UUID.
func (r *Reader) UUID() UUID {
	var u UUID
	binary.BigEndian.PutUint32(u[0:4], r.Uint32())
	binary.BigEndian.PutUint16(u[4:6], r.Uint16())
	binary.BigEndian.PutUint16(u[6:8], r.Uint16())
	copy(u[8:16], r.Octets(8))
	if r.err != nil {
		return UUID{}
	}
	return u
}

// A ContextHandle is the wire form of a context handle (MS-RPCE 2.2.5.2,
// Samba's policy_handle): 20 bytes, attributes then a UUID. The zero value
// is the NULL handle.
type ContextHandle struct {
	Attributes uint32
	UUID       UUID
}

// IsZero reports whether h is the NULL handle.
func (h ContextHandle) IsZero() bool { return h == ContextHandle{} }

// ContextHandle appends h (aligned to 4, 20 bytes). The UUID follows the
// DREP as any UUID does; the handle is opaque to the peer, which returns it
// in the same byte order.
func (w *Writer) ContextHandle(h ContextHandle) {
	w.Uint32(h.Attributes)
	w.UUID(h.UUID)
}

// ContextHandle reads a context handle.
func (r *Reader) ContextHandle() ContextHandle {
	return ContextHandle{Attributes: r.Uint32(), UUID: r.UUID()}
}
