// Package utf16le converts between Go strings and the UTF-16LE that SMB,
// NTLM and NT hashes use: the one implementation the protocol packages
// share. Pure: no I/O, no allocation beyond the result.
package utf16le

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Append appends s as UTF-16LE, code points above U+FFFF as surrogate
// pairs. Invalid UTF-8 in s is encoded as U+FFFD.
func Append(dst []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			dst = append(dst, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
			continue
		}
		dst = append(dst, byte(r), byte(r>>8))
	}
	return dst
}

// Decode decodes UTF-16LE. Surrogate pairs become one code point; an odd
// length or an unpaired surrogate is not valid (ok false): such a name
// cannot be represented faithfully, so it is rejected rather than altered.
func Decode(b []byte) (s string, ok bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	ascii := true
	for i := 0; i < len(b); i += 2 {
		if b[i+1] != 0 || b[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		out := make([]byte, len(b)/2)
		for i := range out {
			out[i] = b[2*i]
		}
		return string(out), true
	}
	out := make([]byte, 0, len(b)/2*3)
	for len(b) > 0 {
		r, n, ok := next(b)
		if !ok {
			return "", false
		}
		out = utf8.AppendRune(out, r)
		b = b[n:]
	}
	return string(out), true
}

// next decodes one code point from b (len(b) >= 2): the rune and the
// bytes consumed, or ok false for an unpaired surrogate.
func next(b []byte) (r rune, n int, ok bool) {
	u := rune(b[0]) | rune(b[1])<<8
	switch {
	case !utf16.IsSurrogate(u):
		return u, 2, true
	case u >= 0xDC00 || len(b) < 4: // a low surrogate first, or no room
		return 0, 0, false
	}
	r = utf16.DecodeRune(u, rune(b[2])|rune(b[3])<<8)
	if r == utf8.RuneError {
		return 0, 0, false
	}
	return r, 4, true
}
