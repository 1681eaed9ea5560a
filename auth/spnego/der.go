package spnego

import (
	"strconv"
	"strings"
)

// DER tags used by SPNEGO.
const (
	tagEnumerated   = 0x0a
	tagOctetString  = 0x04
	tagOID          = 0x06
	tagSequence     = 0x30
	tagGeneralStr   = 0x1b
	tagBitString    = 0x03
	tagApplication0 = 0x60 // [APPLICATION 0] constructed: GSS-API InitialContextToken
	tagContext0     = 0xa0 // [n] constructed is tagContext0+n
)

// reader is a checked cursor over DER data. Every read checks the remaining
// length first; a failed read returns ok == false and never panics.
type reader []byte

// empty reports whether the cursor has consumed all input.
func (r *reader) empty() bool { return len(*r) == 0 }

// peekTag returns the next tag byte, or -1 at the end of input.
func (r *reader) peekTag() int {
	if len(*r) == 0 {
		return -1
	}
	return int((*r)[0])
}

// readTLV reads one element with a single-byte tag and a definite length.
// Long-form lengths of up to four bytes are accepted even when not minimal
// (BER leniency towards peers); indefinite lengths are rejected.
func (r *reader) readTLV() (tag byte, body []byte, ok bool) {
	b := *r
	if len(b) < 2 {
		return 0, nil, false
	}
	tag = b[0]
	if tag&0x1f == 0x1f { // multi-byte tags never occur in SPNEGO
		return 0, nil, false
	}
	n := int(b[1])
	hdr := 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, false
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
		if n < 0 {
			return 0, nil, false
		}
	}
	if n > len(b)-hdr {
		return 0, nil, false
	}
	body = b[hdr : hdr+n]
	*r = b[hdr+n:]
	return tag, body, true
}

// read reads an element that must carry tag want.
func (r *reader) read(want byte) ([]byte, bool) {
	save := *r
	tag, body, ok := r.readTLV()
	if !ok || tag != want {
		*r = save
		return nil, false
	}
	return body, true
}

// readElement is like read but also returns the complete encoding
// (tag, length and body) of the element.
func (r *reader) readElement(want byte) (whole, body []byte, ok bool) {
	start := *r
	body, ok = r.read(want)
	if !ok {
		return nil, nil, false
	}
	return start[:len(start)-len(*r)], body, true
}

// parseOID converts the body of an OBJECT IDENTIFIER into dotted form.
func parseOID(b []byte) (string, bool) {
	if len(b) == 0 || b[len(b)-1]&0x80 != 0 {
		return "", false
	}
	var sb strings.Builder
	first := true
	var v uint64
	for _, c := range b {
		if v == 0 && c == 0x80 { // non-minimal sub-identifier
			return "", false
		}
		if v > (1<<56)-1 {
			return "", false
		}
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 != 0 {
			continue
		}
		if first {
			first = false
			x, y := v/40, v%40
			if x > 2 {
				x, y = 2, v-80
			}
			sb.WriteString(strconv.FormatUint(x, 10))
			sb.WriteByte('.')
			sb.WriteString(strconv.FormatUint(y, 10))
		} else {
			sb.WriteByte('.')
			sb.WriteString(strconv.FormatUint(v, 10))
		}
		v = 0
	}
	return sb.String(), true
}

// appendOIDBody appends the DER body of a dotted OID. ok is false when oid
// is not a valid dotted OID with at least two arcs.
func appendOIDBody(dst []byte, oid string) ([]byte, bool) {
	parts := strings.Split(oid, ".")
	if len(parts) < 2 {
		return dst, false
	}
	arcs := make([]uint64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 63)
		if err != nil {
			return dst, false
		}
		arcs[i] = v
	}
	if arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) {
		return dst, false
	}
	dst = appendBase128(dst, arcs[0]*40+arcs[1])
	for _, a := range arcs[2:] {
		dst = appendBase128(dst, a)
	}
	return dst, true
}

func appendBase128(dst []byte, v uint64) []byte {
	n := 1
	for t := v >> 7; t != 0; t >>= 7 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		c := byte(v>>(7*uint(i))) & 0x7f
		if i != 0 {
			c |= 0x80
		}
		dst = append(dst, c)
	}
	return dst
}

// appendTLV appends tag, the minimal DER length of body and body.
func appendTLV(dst []byte, tag byte, body []byte) []byte {
	dst = appendHeader(dst, tag, len(body))
	return append(dst, body...)
}

// appendHeader appends a tag and a minimal DER length.
func appendHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xff:
		return append(dst, 0x81, byte(n))
	case n <= 0xffff:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// builder nests DER elements: the body of an element is appended first and
// wrap then shifts it right to make room for the tag and length. Tokens are
// small, so the extra copy per nesting level does not matter.
type builder struct{ buf []byte }

// wrap encloses everything appended since start in a TLV with tag.
func (b *builder) wrap(start int, tag byte) {
	n := len(b.buf) - start
	var hdr [6]byte
	h := appendHeader(hdr[:0], tag, n)
	b.buf = append(b.buf, h...) // grow
	copy(b.buf[start+len(h):], b.buf[start:start+n])
	copy(b.buf[start:], h)
}
