package ndr

import (
	"encoding/binary"
	"math"
)

// A Reader decodes NDR from stub data. Its methods record the first error
// and return zero values after it, so unmarshalling code reads every field
// without checking and looks at Err once at the end. Nothing it does can
// panic, whatever the bytes; counts are checked against the bytes left
// before anything is allocated.
//
// Offset 0 for alignment is the start of data. Byte slices returned by
// Octets alias data; strings are copies.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	data  []byte
	off   int
	order ByteOrder
	err   error
	seen  map[uint32]struct{} // full pointers' referent ids
	d     deferrals[*Reader]
}

// NewReader returns a Reader of data in the given byte order. A Reader
// handed to deferred functions lives on the heap; Reset reuses one.
func NewReader(data []byte, order ByteOrder) *Reader {
	return &Reader{data: data, order: order}
}

// Reset makes r read data from the start, keeping its allocations.
func (r *Reader) Reset(data []byte, order ByteOrder) {
	clear(r.seen)
	clear(r.d.stack)
	*r = Reader{data: data, order: order, seen: r.seen, d: deferrals[*Reader]{stack: r.d.stack[:0]}}
}

// Order returns the Reader's byte order.
func (r *Reader) Order() ByteOrder { return r.order }

// Offset returns the current offset in the stub data.
func (r *Reader) Offset() int { return r.off }

// Remaining returns the number of bytes not read yet.
func (r *Reader) Remaining() int { return len(r.data) - r.off }

// Err returns the first error, or an error if referents are still deferred
// (Flush not called).
func (r *Reader) Err() error {
	if r.err == nil && r.d.pending() {
		return &Error{Offset: r.off, Reason: "deferred referents not flushed"}
	}
	return r.err
}

// Fail records an error (if none is recorded yet), for a value the
// unmarshalling code rejects: an unknown union discriminant, a count that
// disagrees with another field. The error wraps ErrMalformed.
func (r *Reader) Fail(reason string) {
	if r.err == nil {
		r.err = &Error{Offset: r.off, Reason: reason}
	}
}

// next returns the next n bytes after aligning to align, or nil after
// recording an error.
func (r *Reader) next(n, align int) []byte {
	if r.err != nil {
		return nil
	}
	p := pad(r.off, align)
	if n < 0 || len(r.data)-r.off < p || len(r.data)-r.off-p < n {
		r.Fail("data too short")
		return nil
	}
	r.off += p
	b := r.data[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

// Align skips padding up to a multiple of n (1, 2, 4 or 8). Padding bytes
// are not checked.
func (r *Reader) Align(n int) { r.next(0, n) }

// Uint8 reads a small (or byte, char, uint8).
func (r *Reader) Uint8() uint8 {
	if b := r.next(1, 1); b != nil {
		return b[0]
	}
	return 0
}

// Uint16 reads a short, aligned to 2.
func (r *Reader) Uint16() uint16 {
	b := r.next(2, 2)
	if b == nil {
		return 0
	}
	if r.order == BigEndian {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

// Uint32 reads a long, aligned to 4.
func (r *Reader) Uint32() uint32 {
	b := r.next(4, 4)
	if b == nil {
		return 0
	}
	if r.order == BigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// Uint64 reads a hyper, aligned to 8.
func (r *Reader) Uint64() uint64 {
	b := r.next(8, 8)
	if b == nil {
		return 0
	}
	if r.order == BigEndian {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// Int8, Int16, Int32 and Int64 read signed integers.
func (r *Reader) Int8() int8   { return int8(r.Uint8()) }
func (r *Reader) Int16() int16 { return int16(r.Uint16()) }
func (r *Reader) Int32() int32 { return int32(r.Uint32()) }
func (r *Reader) Int64() int64 { return int64(r.Uint64()) }

// Bool reads a boolean: one byte, any non-zero value is true.
func (r *Reader) Bool() bool { return r.Uint8() != 0 }

// Float32 reads an IEEE single, aligned to 4.
func (r *Reader) Float32() float32 { return math.Float32frombits(r.Uint32()) }

// Float64 reads an IEEE double, aligned to 8.
func (r *Reader) Float64() float64 { return math.Float64frombits(r.Uint64()) }

// Enum reads a 16-bit enum; a value above 32767 is an error.
func (r *Reader) Enum() uint16 {
	v := r.Uint16()
	if v > math.MaxInt16 {
		r.Fail("enum value above 32767")
		return 0
	}
	return v
}

// V1Enum reads an enum declared [v1_enum]: 32 bits.
func (r *Reader) V1Enum() uint32 { return r.Uint32() }

// Octets returns the next n bytes, unaligned: a fixed array of bytes. The
// slice aliases the data (its capacity ends with it); copy it to keep it
// beyond the data's lifetime.
func (r *Reader) Octets(n int) []byte {
	if n == 0 {
		return nil
	}
	return r.next(n, 1)
}

// MaxCount reads the conformance of a conformant or conformant-varying
// array (aligned to 4). It is not checked against the data: for a
// conformant array, size the elements with Elements; for a
// conformant-varying one, Variance checks the actual count.
func (r *Reader) MaxCount() uint32 { return r.Uint32() }

// Elements returns n as an int after checking that n elements of at least
// elemSize bytes each (1 if smaller) fit in the bytes left, so that
// make([]T, r.Elements(n, size)) never allocates more than the input
// justifies. On failure it returns 0 and records an error.
func (r *Reader) Elements(n uint32, elemSize int) int {
	if r.err != nil {
		return 0
	}
	if elemSize < 1 {
		elemSize = 1
	}
	if uint64(n) > uint64(r.Remaining())/uint64(elemSize) {
		r.Fail("array count larger than the data")
		return 0
	}
	return int(n)
}

// Variance reads the offset and actual count of a varying or
// conformant-varying array whose maximum count (conformance, or the fixed
// size of a varying array) is max. It checks that offset+count <= max and,
// as Elements does, that count elements of elemSize bytes fit in the data.
func (r *Reader) Variance(max uint32, elemSize int) (offset uint32, n int) {
	offset = r.Uint32()
	count := r.Uint32()
	if r.err != nil {
		return 0, 0
	}
	if offset > max || count > max-offset {
		r.Fail("array offset and actual count beyond the maximum count")
		return 0, 0
	}
	n = r.Elements(count, elemSize)
	if r.err != nil {
		return 0, 0
	}
	return offset, n
}

// UniquePtr reads a unique pointer's referent id and reports whether it
// is non-NULL. For a top-level pointer the referent follows:
//
//	if r.UniquePtr() {
//		v = r.Uint32()
//	}
//
// For an embedded one, defer the referent with Defer or use DeferUnique.
func (r *Reader) UniquePtr() bool { return r.Uint32() != 0 }

// RefPtr reads an embedded [ref] pointer's referent id, which must not be
// 0, and reports success. A top-level [ref] parameter has no
// representation: read its referent directly.
func (r *Reader) RefPtr() bool {
	if r.err != nil {
		return false
	}
	if r.Uint32() == 0 {
		r.Fail("NULL [ref] pointer")
		return false
	}
	return r.err == nil
}

// FullPtr reads a full ([ptr]) pointer's referent id. id 0 is NULL. first
// is true the first time a non-zero id appears: the referent follows
// (deferred if the pointer is embedded). A repeated id aliases the
// referent read the first time; it is the caller's to resolve (a map
// from id to value, filled when the referent is read).
func (r *Reader) FullPtr() (id uint32, first bool) {
	id = r.Uint32()
	if id == 0 || r.err != nil {
		return 0, false
	}
	if _, ok := r.seen[id]; ok {
		return id, false
	}
	if r.seen == nil {
		r.seen = make(map[uint32]struct{})
	}
	r.seen[id] = struct{}{}
	return id, true
}

// Defer queues f to read the referent of an embedded pointer; Flush runs
// the queue in the order of Writer.Flush. A Reader accepts at most one
// deferred referent per four bytes of data (each has a referent id) and
// MaxDepth levels of nesting.
func (r *Reader) Defer(f func(r *Reader)) {
	if r.err != nil {
		return
	}
	if reason := r.d.push(f, len(r.data)/4); reason != "" {
		r.Fail(reason)
	}
}

// DeferUnique reads an embedded unique pointer and, when it is not NULL,
// defers f to read its referent.
func (r *Reader) DeferUnique(f func(r *Reader)) {
	if r.UniquePtr() {
		r.Defer(f)
	}
}

// DeferRef reads an embedded [ref] pointer and defers f to read its
// referent.
func (r *Reader) DeferRef(f func(r *Reader)) {
	if r.RefPtr() {
		r.Defer(f)
	}
}

func (r *Reader) ok() bool { return r.err == nil }

// Flush reads the deferred referents. Call it at the end of each top-level
// parameter, as the Writer did. Called from a deferred function it does
// nothing: the run in progress continues. After an error the queue is
// dropped unread.
func (r *Reader) Flush() {
	r.d.run(r, (*Reader).ok)
}
