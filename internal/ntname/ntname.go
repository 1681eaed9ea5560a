// Package ntname compares names the way Windows compares NT object names,
// such as pipe names and share names: case-insensitively, by upcasing each
// UTF-16 code unit through the NT upcase table (RtlUpcaseUnicodeChar,
// RtlEqualUnicodeString with CaseInSensitive). Everything in smbpipe that
// compares or keys pipe names (NullSessionPipes, the policy's pipe table, the
// pipe namespace, the server's running pipes, config validation and so
// `smbpipe explain` and the audit log) and the TREE_CONNECT share name uses
// this package and nothing else.
//
// What the table does, and why (docs/SEMANTICS.md 1.3):
//
//   - One code unit to one code unit: no full case folding and no
//     normalisation. ß stays ß (not "SS") and differs from ẞ; İ (U+0130),
//     ı (U+0131) and i are three different letters once upcased (I, İ, ı);
//     the KELVIN SIGN (U+212A) is not K; ſ (U+017F) is not S.
//   - ς and σ both upcase to Σ; ÿ upcases to Ÿ (U+0178).
//   - A supplementary character is a surrogate pair, two code units that
//     map to themselves: 𐐨 (U+10428) does not match 𐐀.
//
// The table is Windows' own as Samba measured it against a Windows server
// (Samba's lib/util/charset/codepoints.c upcase_table, which smbd uses too).
// It is not Go's case mapping: strings.EqualFold and unicode.SimpleFold
// follow Unicode case folding orbits, so EqualFold("k", "\u212a") and
// EqualFold("s", "\u017f") are true, and strings.ToUpper maps ı to I and
// ſ to S; each of these would let two names that Windows keeps apart
// select the same pipe (or one entry of NullSessionPipes admit a pipe it
// does not name).
//
// The table is generated (gen.go, `go generate`) from Go's unicode package
// by four rules, not copied: a BMP code unit maps to its simple upper case
// when that is a BMP code point, the mapping round-trips through lower
// case (except ς → Σ), the upper case is not a title-case letter, and the
// pair is not one Unicode added after NT's table was made. The test pins
// the table's hash to Samba's, so a newer Unicode in Go cannot change it
// unnoticed.
//
// A Go string that is not valid UTF-8 is compared byte for byte where it is
// invalid (invalid bytes upcase to themselves). Names from the wire and from
// the config file are always valid.
package ntname

import (
	"unicode/utf8"
)

//go:generate go run gen.go

// UpcaseUnit upcases one UTF-16 code unit as NT does.
func UpcaseUnit(c uint16) uint16 {
	return c + upcaseDelta[upcasePage[c>>8]][c&0xFF]
}

// upcaseRune upcases r: a BMP code point through the table, anything else
// (a supplementary character, two code units) unchanged.
func upcaseRune(r rune) rune {
	if r > 0xFFFF {
		return r
	}
	return rune(UpcaseUnit(uint16(r)))
}

// Upcase returns s with every UTF-16 code unit upcased: the key two names
// share exactly when Windows considers them the same name. It does not
// allocate when s is already upcased.
func Upcase(s string) string {
	// Find the first byte or rune that changes; most names are upper-case
	// ASCII already or become so with one copy.
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				return upcaseFrom(s, i)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if n > 1 && upcaseRune(r) != r {
			return upcaseFrom(s, i)
		}
		i += n
	}
	return s
}

// upcaseFrom upcases s, of which s[:i] is unchanged.
func upcaseFrom(s string, i int) string {
	b := make([]byte, i, len(s)+utf8.UTFMax)
	copy(b, s[:i])
	return string(AppendUpcase(b, s[i:]))
}

// AppendUpcase appends Upcase(s) to b, for keys built in a caller's buffer
// (a map index with string(key) does not copy it): each UTF-16 code unit
// of a BMP character upcased through the NT table, supplementary
// characters and bytes that are not UTF-8 kept as they are.
func AppendUpcase(b []byte, s string) []byte {
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
		if n == 1 { // not UTF-8: keep the byte
			b = append(b, c)
		} else {
			b = utf8.AppendRune(b, upcaseRune(r))
		}
		i += n
	}
	return b
}

// Equal reports whether a and b are the same name to Windows:
// Upcase(a) == Upcase(b), without allocating.
func Equal(a, b string) bool {
	for len(a) > 0 && len(b) > 0 {
		ra, na := decode(a)
		rb, nb := decode(b)
		if ra != rb {
			if ra < 0 || rb < 0 || upcaseRune(ra) != upcaseRune(rb) {
				return false
			}
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) == len(b)
}

// decode returns the first rune of s and its length, or -(byte)-1 for a
// byte that does not start valid UTF-8 (so that it equals only itself).
func decode(s string) (rune, int) {
	if c := s[0]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(s)
	if n == 1 {
		return -rune(s[0]) - 1, 1
	}
	return r, n
}
