package smb2

import "encoding/binary"

// Little-endian helpers. Callers guarantee the bounds (they check the fixed
// part of a structure once, up front); every variable-length region goes
// through span.

func le16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

func app16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func app32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func app64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

func appFileID(b []byte, f FileID) []byte {
	return app64(app64(b, f.Persistent), f.Volatile)
}

func fileID(b []byte, off int) FileID {
	return FileID{Persistent: le64(b, off), Volatile: le64(b, off+8)}
}

// appZeros appends n zero bytes.
func appZeros(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, 0)
	}
	return b
}

// align8 rounds n up to a multiple of 8.
func align8(n int) int { return (n + 7) &^ 7 }

// padTo8 appends zero bytes until len(b)-base is a multiple of 8.
func padTo8(b []byte, base int) []byte {
	return appZeros(b, align8(len(b)-base)-(len(b)-base))
}

// span is the one overflow-safe bounds check for variable fields. It returns
// buf[off:off+n] (capacity clipped, so appending to the result never writes
// into the rest of the message) when that range lies within buf and starts
// at or after min (the end of the fixed part, so a buffer never overlaps the
// header or the fixed fields). A zero length is always valid, whatever the
// offset (Windows sends offset 0 or the would-be position), and yields nil.
func span(buf []byte, off, n uint64, min int) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	size := uint64(len(buf))
	if off < uint64(min) || off > size || n > size-off {
		return nil, false
	}
	return buf[off : off+n : off+n], true
}

// fixedBody checks that msg holds a header and at least the fixed part of a
// body whose StructureSize is size (the fixed part is size rounded down to
// even: an odd StructureSize counts the first byte of the variable buffer),
// and that the StructureSize field says size. It returns msg[HeaderSize:].
func fixedBody(msg []byte, what string, size uint16) ([]byte, error) {
	if len(msg) < HeaderSize+2 {
		return nil, malformed(what, "", "message too short")
	}
	if got := le16(msg, HeaderSize); got != size {
		return nil, malformed(what, "StructureSize", "wrong value")
	}
	if len(msg) < HeaderSize+int(size&^1) {
		return nil, malformed(what, "", "body shorter than StructureSize")
	}
	return msg[HeaderSize:], nil
}

// emptyBody decodes a body made only of StructureSize and 2 reserved bytes
// (LOGOFF, TREE_DISCONNECT, ECHO, CANCEL, FLUSH response), or of
// StructureSize alone (SET_INFO response, size 2).
func emptyBody(msg []byte, what string, size uint16) error {
	_, err := fixedBody(msg, what, size)
	return err
}

// appendEmptyBody appends StructureSize size followed by size-2 zero bytes.
func appendEmptyBody(dst []byte, size uint16) []byte {
	return appZeros(app16(dst, size), int(size)-2)
}
