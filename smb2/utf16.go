package smb2

import (
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// nextUTF16 decodes one code point from the UTF-16LE bytes b (len(b) >= 2).
// It returns the rune and the bytes consumed, or ok=false for an unpaired
// surrogate.
func nextUTF16(b []byte) (r rune, n int, ok bool) {
	u := rune(le16(b, 0))
	switch {
	case !utf16.IsSurrogate(u):
		return u, 2, true
	case u >= 0xDC00 || len(b) < 4: // a low surrogate first, or no room
		return 0, 0, false
	}
	r = utf16.DecodeRune(u, rune(le16(b, 2)))
	if r == utf8.RuneError {
		return 0, 0, false
	}
	return r, 4, true
}

// UTF16ToString decodes UTF-16LE. Surrogate pairs become one code point;
// an odd length or an unpaired surrogate is an error (such a name cannot be
// represented faithfully, so it is rejected rather than altered).
func UTF16ToString(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", malformed("UTF-16", "", "odd length")
	}
	// Fast path: pure ASCII needs no rune decoding.
	ascii := true
	for i := 0; i < len(b); i += 2 {
		if b[i+1] != 0 || b[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		s := make([]byte, len(b)/2)
		for i := range s {
			s[i] = b[2*i]
		}
		return string(s), nil
	}
	out := make([]byte, 0, len(b)/2*3)
	for len(b) > 0 {
		r, n, ok := nextUTF16(b)
		if !ok {
			return "", malformed("UTF-16", "", "unpaired surrogate")
		}
		out = utf8.AppendRune(out, r)
		b = b[n:]
	}
	return string(out), nil
}

// AppendUTF16 appends s as UTF-16LE, code points above U+FFFF as surrogate
// pairs. Invalid UTF-8 in s is encoded as U+FFFD.
func AppendUTF16(dst []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			dst = app16(dst, uint16(r1))
			dst = app16(dst, uint16(r2))
			continue
		}
		dst = app16(dst, uint16(r))
	}
	return dst
}

// EqualFoldUTF16 reports whether the UTF-16LE bytes b equal the UTF-8
// string s under Unicode simple case folding (as strings.EqualFold), the
// way Windows compares names case-insensitively. It does not allocate. An
// odd length, an unpaired surrogate in b or invalid UTF-8 in s never
// compares equal.
func EqualFoldUTF16(b []byte, s string) bool {
	if len(b)%2 != 0 {
		return false
	}
	for len(b) > 0 {
		if len(s) == 0 {
			return false
		}
		r, n, ok := nextUTF16(b)
		if !ok {
			return false
		}
		b = b[n:]
		sr, sn := utf8.DecodeRuneInString(s)
		if sr == utf8.RuneError && sn <= 1 {
			return false
		}
		s = s[sn:]
		if !equalFoldRune(r, sr) {
			return false
		}
	}
	return len(s) == 0
}

// equalFoldRune reports whether r and t are equal under simple folding.
func equalFoldRune(r, t rune) bool {
	if r == t {
		return true
	}
	if r < utf8.RuneSelf && t < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		if 'A' <= t && t <= 'Z' {
			t += 'a' - 'A'
		}
		return r == t
	}
	// Walk r's folding orbit looking for t, as strings.EqualFold does.
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f == t {
			return true
		}
	}
	return false
}
