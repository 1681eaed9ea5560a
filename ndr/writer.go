package ndr

import (
	"encoding/binary"
	"math"
	"reflect"
)

// A Writer appends NDR to a caller-owned buffer. Its methods record the
// first error and do nothing after it, so marshalling code writes every
// field without checking and looks at Bytes or Err once at the end.
//
// Alignment is relative to the length the buffer had when the Writer was
// created: that is offset 0, the start of the stub data.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	buf    []byte
	base   int
	order  ByteOrder
	err    error
	nextID uint32
	full   map[any]uint32
	d      deferrals[*Writer]
}

// firstReferentID is the first referent id a Writer hands out; Windows and
// Samba number pointers the same way (then +4 each).
const firstReferentID = 0x00020000

// NewWriter returns a Writer that appends to buf in the given byte order.
func NewWriter(buf []byte, order ByteOrder) *Writer {
	return &Writer{buf: buf, base: len(buf), order: order, nextID: firstReferentID}
}

// Reset makes w append to buf as a new Writer would, keeping its
// allocations.
func (w *Writer) Reset(buf []byte, order ByteOrder) {
	clear(w.full)
	clear(w.d.stack)
	*w = Writer{buf: buf, base: len(buf), order: order, nextID: firstReferentID, full: w.full, d: deferrals[*Writer]{stack: w.d.stack[:0]}}
}

// Order returns the Writer's byte order.
func (w *Writer) Order() ByteOrder { return w.order }

// Offset returns the current offset in the stub data.
func (w *Writer) Offset() int { return len(w.buf) - w.base }

// Bytes returns the buffer passed to NewWriter extended with everything
// written, and the first error. Referents still deferred (Flush not called)
// are an error.
func (w *Writer) Bytes() ([]byte, error) {
	return w.buf, w.Err()
}

// Err returns the first error, or an error if referents are still deferred.
func (w *Writer) Err() error {
	if w.err == nil && w.d.pending() {
		return &Error{Encode: true, Offset: w.Offset(), Reason: "deferred referents not flushed"}
	}
	return w.err
}

// Fail records an error (if none is recorded yet), for a value the
// marshalling code finds it cannot encode.
func (w *Writer) Fail(reason string) {
	if w.err == nil {
		w.err = &Error{Encode: true, Offset: w.Offset(), Reason: reason}
	}
}

// Align appends zero bytes up to a multiple of n (1, 2, 4 or 8).
func (w *Writer) Align(n int) {
	if w.err != nil {
		return
	}
	for p := pad(w.Offset(), n); p > 0; p-- {
		w.buf = append(w.buf, 0)
	}
}

// Uint8 appends a small (or byte, char, uint8).
func (w *Writer) Uint8(v uint8) {
	if w.err == nil {
		w.buf = append(w.buf, v)
	}
}

// Uint16 appends a short, aligned to 2.
func (w *Writer) Uint16(v uint16) {
	if w.err != nil {
		return
	}
	w.Align(2)
	if w.order == BigEndian {
		w.buf = binary.BigEndian.AppendUint16(w.buf, v)
	} else {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, v)
	}
}

// Uint32 appends a long, aligned to 4.
func (w *Writer) Uint32(v uint32) {
	if w.err != nil {
		return
	}
	w.Align(4)
	if w.order == BigEndian {
		w.buf = binary.BigEndian.AppendUint32(w.buf, v)
	} else {
		w.buf = binary.LittleEndian.AppendUint32(w.buf, v)
	}
}

// Uint64 appends a hyper, aligned to 8.
func (w *Writer) Uint64(v uint64) {
	if w.err != nil {
		return
	}
	w.Align(8)
	if w.order == BigEndian {
		w.buf = binary.BigEndian.AppendUint64(w.buf, v)
	} else {
		w.buf = binary.LittleEndian.AppendUint64(w.buf, v)
	}
}

// Int8, Int16, Int32 and Int64 append signed integers (two's complement).
func (w *Writer) Int8(v int8)   { w.Uint8(uint8(v)) }
func (w *Writer) Int16(v int16) { w.Uint16(uint16(v)) }
func (w *Writer) Int32(v int32) { w.Uint32(uint32(v)) }
func (w *Writer) Int64(v int64) { w.Uint64(uint64(v)) }

// Bool appends a boolean: one byte, 1 for true.
func (w *Writer) Bool(v bool) {
	if v {
		w.Uint8(1)
	} else {
		w.Uint8(0)
	}
}

// Float32 appends an IEEE single (float), aligned to 4.
func (w *Writer) Float32(v float32) { w.Uint32(math.Float32bits(v)) }

// Float64 appends an IEEE double, aligned to 8.
func (w *Writer) Float64(v float64) { w.Uint64(math.Float64bits(v)) }

// Enum appends an enum as NDR represents it by default: 16 bits, values
// 0 to 32767 (a larger one is an error, as with MIDL).
func (w *Writer) Enum(v uint16) {
	if v > math.MaxInt16 {
		w.Fail("enum value above 32767")
		return
	}
	w.Uint16(v)
}

// V1Enum appends an enum declared [v1_enum]: 32 bits.
func (w *Writer) V1Enum(v uint32) { w.Uint32(v) }

// Octets appends b unaligned: a fixed array of bytes.
func (w *Writer) Octets(b []byte) {
	if w.err == nil {
		w.buf = append(w.buf, b...)
	}
}

// count appends n as a 32-bit count.
func (w *Writer) count(n int) {
	if n < 0 || uint64(n) > math.MaxUint32 {
		w.Fail("count out of range")
		return
	}
	w.Uint32(uint32(n))
}

// MaxCount appends the conformance of a conformant or conformant-varying
// array: its maximum count, aligned to 4. It comes just before the array,
// or at the start of the outermost structure that ends with the array (a
// conformant structure).
func (w *Writer) MaxCount(n int) { w.count(n) }

// Variance appends the variance of a varying or conformant-varying array:
// the offset of the first element transmitted and the actual count.
func (w *Writer) Variance(offset, n int) {
	w.count(offset)
	w.count(n)
}

// newID returns a fresh referent id.
func (w *Writer) newID() uint32 {
	id := w.nextID
	w.nextID += 4
	if w.nextID == 0 {
		w.nextID = firstReferentID
	}
	return id
}

// UniquePtr appends a unique pointer: a fresh non-zero referent id, or 0
// when nonNil is false. It returns nonNil, so that
//
//	if w.UniquePtr(p != nil) {
//		w.Uint32(*p) // top-level pointer: the referent follows
//	}
//
// For an embedded pointer (member of a structure, union or array), defer
// the referent with Defer, or use DeferUnique.
func (w *Writer) UniquePtr(nonNil bool) bool {
	if !nonNil {
		w.Uint32(0)
		return false
	}
	w.Uint32(w.newID())
	return true
}

// RefPtr appends an embedded [ref] pointer: a non-zero referent id. A
// top-level [ref] parameter has no representation at all: write its
// referent directly.
func (w *Writer) RefPtr() { w.Uint32(w.newID()) }

// FullPtr appends a full ([ptr]) pointer whose referent is identified by
// key, typically the Go pointer to it; nil (or a nil pointer) is the NULL
// pointer. The first time a key is seen it gets a fresh referent id and
// FullPtr returns true: marshal the referent (deferred if embedded). Later
// uses of the same key repeat the id and return false: the referent is
// not marshalled again.
func (w *Writer) FullPtr(key any) bool {
	if w.err != nil {
		return false
	}
	if key == nil {
		w.Uint32(0)
		return false
	}
	v := reflect.ValueOf(key)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		if v.IsNil() {
			w.Uint32(0)
			return false
		}
	}
	if !v.Comparable() {
		w.Fail("full pointer key is not comparable")
		return false
	}
	if id, ok := w.full[key]; ok {
		w.Uint32(id)
		return false
	}
	if w.full == nil {
		w.full = make(map[any]uint32)
	}
	id := w.newID()
	w.full[key] = id
	w.Uint32(id)
	return true
}

// Defer queues f to marshal the referent of an embedded pointer. Flush runs
// the queue: each referent is followed by the referents it deferred itself,
// then come its siblings, in the order they were deferred.
func (w *Writer) Defer(f func(w *Writer)) {
	if w.err != nil {
		return
	}
	if reason := w.d.push(f, maxWriterDeferred); reason != "" {
		w.Fail(reason)
	}
}

// DeferUnique appends an embedded unique pointer (UniquePtr) and, when
// nonNil, defers f to marshal its referent.
func (w *Writer) DeferUnique(nonNil bool, f func(w *Writer)) {
	if w.UniquePtr(nonNil) {
		w.Defer(f)
	}
}

// DeferRef appends an embedded [ref] pointer (RefPtr) and defers f to
// marshal its referent.
func (w *Writer) DeferRef(f func(w *Writer)) {
	w.RefPtr()
	w.Defer(f)
}

func (w *Writer) ok() bool { return w.err == nil }

// Flush marshals the deferred referents. Call it at the end of each
// top-level parameter (after its referent, for a pointer). Called from a
// deferred function it does nothing: the run in progress continues.
func (w *Writer) Flush() {
	w.d.run(w, (*Writer).ok)
}
