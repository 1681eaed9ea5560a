package ndr

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Len returns the number of UTF-16 code units that encode s (invalid
// UTF-8 becomes U+FFFD, one unit).
func utf16Len(s string) int {
	n := 0
	for _, c := range s {
		n += utf16.RuneLen(c)
	}
	return n
}

// units appends s as UTF-16 code units in w's byte order.
func (w *Writer) units(s string) {
	for _, c := range s {
		if c >= 0x10000 {
			hi, lo := utf16.EncodeRune(c)
			w.unit(uint16(hi))
			w.unit(uint16(lo))
			continue
		}
		w.unit(uint16(c))
	}
}

func (w *Writer) unit(u uint16) {
	if w.order == BigEndian {
		w.buf = binary.BigEndian.AppendUint16(w.buf, u)
	} else {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, u)
	}
}

// WString appends a [string] wchar_t array: the conformant-varying string of
// UTF-16 code units that a [string] wchar_t* points to (its referent; the
// pointer is the caller's). The terminating NUL is transmitted and counted
// in both the maximum and the actual count. A NUL inside s is an error.
func (w *Writer) WString(s string) {
	if strings.IndexByte(s, 0) >= 0 {
		w.Fail("NUL inside a [string]")
		return
	}
	n := utf16Len(s) + 1
	w.MaxCount(n)
	w.Variance(0, n)
	if w.err != nil {
		return
	}
	w.units(s)
	w.unit(0)
}

// ByteString appends a [string] char array (bytes, NUL-terminated, the
// NUL counted), the referent of a [string] char*. A NUL inside s is an
// error.
func (w *Writer) ByteString(s string) {
	if strings.IndexByte(s, 0) >= 0 {
		w.Fail("NUL inside a [string]")
		return
	}
	w.MaxCount(len(s) + 1)
	w.Variance(0, len(s)+1)
	if w.err != nil {
		return
	}
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, 0)
}

// UnicodeString appends an RPC_UNICODE_STRING (MS-DTYP 2.3.10): Length and
// MaximumLength in bytes, then a unique pointer whose deferred referent is
// the conformant-varying array of WCHAR (maximum count MaximumLength/2,
// offset 0, actual count Length/2, no terminating NUL). MaximumLength is
// Length; the empty string is sent with a NULL Buffer. Like any embedded
// pointer, the buffer waits for Flush.
func (w *Writer) UnicodeString(s string) {
	n := utf16Len(s)
	if 2*n > math.MaxUint16 {
		w.Fail("RPC_UNICODE_STRING longer than 32767 characters")
		return
	}
	w.Align(4)
	w.Uint16(uint16(2 * n))
	w.Uint16(uint16(2 * n))
	w.DeferUnique(n > 0, func(w *Writer) {
		w.MaxCount(n)
		w.Variance(0, n)
		if w.err == nil {
			w.units(s)
		}
	})
}

// decodeUTF16 converts code units (bytes in order) to a string, with one
// allocation. It fails on an unpaired surrogate, and on a NUL unless nulOK.
func decodeUTF16(b []byte, order ByteOrder, nulOK bool) (string, bool) {
	unit := func(i int) rune {
		if order == BigEndian {
			return rune(binary.BigEndian.Uint16(b[i:]))
		}
		return rune(binary.LittleEndian.Uint16(b[i:]))
	}
	// next decodes the code point at i and returns it and its size in
	// bytes, or size 0 for an unpaired surrogate.
	next := func(i int) (rune, int) {
		u := unit(i)
		switch {
		case !utf16.IsSurrogate(u):
			return u, 2
		case u >= 0xDC00 || i+4 > len(b):
			return 0, 0
		}
		c := utf16.DecodeRune(u, unit(i+2))
		if c == utf8.RuneError {
			return 0, 0
		}
		return c, 4
	}
	b = b[:len(b)&^1]
	size := 0
	for i := 0; i < len(b); {
		c, n := next(i)
		if n == 0 || c == 0 && !nulOK {
			return "", false
		}
		size += utf8.RuneLen(c)
		i += n
	}
	var sb strings.Builder
	sb.Grow(size)
	for i := 0; i < len(b); {
		c, n := next(i)
		sb.WriteRune(c)
		i += n
	}
	return sb.String(), true
}

// WString reads a [string] wchar_t array (see Writer.WString). The offset
// must be 0 and the last code unit transmitted a NUL, as MIDL requires.
// The result is what precedes the first NUL, the string the C code behind
// a Windows stub would see (units after it are ignored); an unpaired
// surrogate in it is an error.
func (r *Reader) WString() string {
	b := r.stringBody(2)
	if b == nil {
		return ""
	}
	if b[len(b)-1] != 0 || b[len(b)-2] != 0 {
		r.Fail("[string] without its terminating NUL")
		return ""
	}
	end := 0
	for end+1 < len(b) && (b[end] != 0 || b[end+1] != 0) {
		end += 2
	}
	s, ok := decodeUTF16(b[:end], r.order, false)
	if !ok {
		r.Fail("[string] not valid UTF-16")
		return ""
	}
	return s
}

// ByteString reads a [string] char array (see Writer.ByteString): the
// bytes before the first NUL, uninterpreted. The last byte transmitted must
// be a NUL.
func (r *Reader) ByteString() string {
	b := r.stringBody(1)
	if b == nil {
		return ""
	}
	if b[len(b)-1] != 0 {
		r.Fail("[string] without its terminating NUL")
		return ""
	}
	return string(b[:bytes.IndexByte(b, 0)])
}

// stringBody reads the counts of a conformant-varying string and returns
// its elements (at least one), or nil after an error.
func (r *Reader) stringBody(size int) []byte {
	max := r.MaxCount()
	offset, n := r.Variance(max, size)
	if r.err != nil {
		return nil
	}
	if offset != 0 || n == 0 {
		r.Fail("[string] with a non-zero offset or no terminator")
		return nil
	}
	return r.next(n*size, 1)
}

// UnicodeString reads an RPC_UNICODE_STRING (see Writer.UnicodeString). The
// buffer is a deferred referent, so the string is stored in *dst when the
// Reader reaches it (at Flush); a NULL Buffer leaves *dst unchanged. The
// array's counts must agree with Length and MaximumLength; NULs are kept
// (the length is explicit), an unpaired surrogate is an error.
func (r *Reader) UnicodeString(dst *string) {
	r.Align(4)
	length := r.Uint16()
	maxLength := r.Uint16()
	if length > maxLength {
		r.Fail("RPC_UNICODE_STRING Length above MaximumLength")
		return
	}
	r.DeferUnique(func(r *Reader) {
		max := r.MaxCount()
		offset, n := r.Variance(max, 2)
		if r.err != nil {
			return
		}
		if max != uint32(maxLength/2) || offset != 0 || n != int(length/2) {
			r.Fail("RPC_UNICODE_STRING counts disagree with its lengths")
			return
		}
		b := r.next(2*n, 1)
		if r.err != nil {
			return
		}
		s, ok := decodeUTF16(b, r.order, true)
		if !ok {
			r.Fail("RPC_UNICODE_STRING not valid UTF-16")
			return
		}
		*dst = s
	})
}
