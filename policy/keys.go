package policy

import (
	"unicode/utf8"
)

// The snapshot's maps are keyed by normalised names: pipes and
// NullSessionPipes by ntname.Upcase, accounts by strings.ToLower. The
// decision looks names up on every CREATE, so it builds the key in a
// buffer on its stack (ntname.AppendUpcase, appendLower; a map index with
// string(key) does not copy it) rather than in a new string.

// keyBuf is big enough for the names of nearly every lookup; a longer name
// still works, its key then goes to the heap.
type keyBuf [128]byte

// appendLower appends strings.ToLower(s) to b when s is ASCII; ok is false
// (and b unchanged) otherwise.
func appendLower(b []byte, s string) (_ []byte, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return b, false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b, true
}
