package policy

import (
	"unicode/utf8"

	"github.com/smbpipe/smbpipe/internal/ntname"
)

// The snapshot's maps are keyed by normalised names: pipes and
// NullSessionPipes by ntname.Upcase, accounts by strings.ToLower. The
// decision looks names up on every CREATE, so it builds the key in a
// buffer on its stack (a map index with string(key) does not copy it)
// rather than in a new string.

// keyBuf is big enough for the names of nearly every lookup; a longer name
// still works, its key then goes to the heap.
type keyBuf [128]byte

// appendUpcase appends ntname.Upcase(s) to b: each UTF-16 code unit of a
// BMP character upcased through the NT table, supplementary characters
// and bytes that are not UTF-8 kept as they are.
func appendUpcase(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case n == 1: // not UTF-8: keep the byte
			b = append(b, c)
		case r <= 0xFFFF:
			b = utf8.AppendRune(b, rune(ntname.UpcaseUnit(uint16(r))))
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

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
