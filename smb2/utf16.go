package smb2

import "github.com/smbpipe/smbpipe/internal/utf16le"

// UTF16ToString decodes UTF-16LE. Surrogate pairs become one code point;
// an odd length or an unpaired surrogate is an error (such a name cannot be
// represented faithfully, so it is rejected rather than altered).
func UTF16ToString(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", malformed("UTF-16", "", "odd length")
	}
	s, ok := utf16le.Decode(b)
	if !ok {
		return "", malformed("UTF-16", "", "unpaired surrogate")
	}
	return s, nil
}

// AppendUTF16 appends s as UTF-16LE, code points above U+FFFF as surrogate
// pairs. Invalid UTF-8 in s is encoded as U+FFFD.
func AppendUTF16(dst []byte, s string) []byte { return utf16le.Append(dst, s) }
