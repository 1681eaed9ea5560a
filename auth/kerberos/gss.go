package kerberos

// GSS-API framing of Kerberos tokens (RFC 2743 3.1, RFC 4121 4.1): an
// InitialContextToken is [APPLICATION 0] { mech OID, TOK_ID (2 bytes),
// Kerberos message }. SMB carries it inside SPNEGO or alone; Windows also
// accepts a bare AP-REQ ([APPLICATION 14]).

// TOK_ID values (RFC 4121 4.1).
const (
	tokAPReq    = 0x0100
	tokAPRep    = 0x0200
	tokKRBError = 0x0300
)

// DER encodings of the two Kerberos mechanism OIDs, without tag and length.
var (
	oidKRB5   = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02} // 1.2.840.113554.1.2.2
	oidMSKRB5 = []byte{0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02} // 1.2.840.48018.1.2.2
)

// Mechanism identifies which OID framed a token.
type Mechanism uint8

// Mechanisms.
const (
	MechRaw    Mechanism = iota // a bare Kerberos message, no GSS framing
	MechKRB5                    // 1.2.840.113554.1.2.2
	MechMSKRB5                  // 1.2.840.48018.1.2.2 (Windows' legacy OID)
)

// maxToken bounds every token this package reads: an AP-REQ with a large
// PAC is a few KiB; Windows caps tokens at 48 KiB (MaxTokenSize).
const maxToken = 64 << 10

// derHeader reads one DER tag and definite length at b and returns the
// tag, the content and the rest. ok is false for anything malformed
// (multi-byte tags, indefinite or overlong lengths, content past b).
func derHeader(b []byte) (tag byte, content, rest []byte, ok bool) {
	if len(b) < 2 || b[0]&0x1f == 0x1f {
		return 0, nil, nil, false
	}
	tag = b[0]
	n := int(b[1])
	off := 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return 0, nil, nil, false
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		off = 2 + k
	}
	if n > len(b)-off {
		return 0, nil, nil, false
	}
	return tag, b[off : off+n : off+n], b[off+n:], true
}

// IsToken reports whether b looks like a Kerberos token: GSS-framed with a
// Kerberos OID, or a bare AP-REQ. It is the cheap test a dispatcher uses to
// tell Kerberos from NTLMSSP; Accept does the real parsing.
func IsToken(b []byte) bool {
	if len(b) > 0 && b[0] == 0x6e {
		return true
	}
	mech, _, _, err := unwrap(b)
	return err == nil && mech != MechRaw
}

// unwrap removes the GSS framing: it returns the mechanism, the TOK_ID and
// the Kerberos message. A bare AP-REQ comes back as MechRaw, tokAPReq. The
// message must be exactly one DER element: bytes after it (which gokrb5's
// decoder would ignore) make the token malformed.
func unwrap(b []byte) (Mechanism, int, []byte, error) {
	mech, tok, msg, err := unwrapGSS(b)
	if err != nil {
		return 0, 0, nil, err
	}
	if _, _, rest, ok := derHeader(msg); !ok || len(rest) != 0 {
		return 0, 0, nil, ErrMalformed
	}
	return mech, tok, msg, nil
}

func unwrapGSS(b []byte) (Mechanism, int, []byte, error) {
	if len(b) > maxToken {
		return 0, 0, nil, ErrMalformed
	}
	if len(b) > 0 && b[0] == 0x6e {
		return MechRaw, tokAPReq, b, nil
	}
	tag, body, rest, ok := derHeader(b)
	if !ok || tag != 0x60 || len(rest) != 0 {
		return 0, 0, nil, ErrMalformed
	}
	tag, oid, inner, ok := derHeader(body)
	if !ok || tag != 0x06 || len(inner) < 2 {
		return 0, 0, nil, ErrMalformed
	}
	var mech Mechanism
	switch string(oid) {
	case string(oidKRB5):
		mech = MechKRB5
	case string(oidMSKRB5):
		mech = MechMSKRB5
	default:
		return 0, 0, nil, ErrMalformed
	}
	return mech, int(inner[0])<<8 | int(inner[1]), inner[2:], nil
}

// wrap appends the GSS framing of msg with tokID under the KRB5 OID (the
// OID Windows and MIT put on replies, whichever the client used).
func wrap(dst []byte, tokID int, msg []byte) []byte {
	n := 2 + len(oidKRB5) + 2 + len(msg)
	dst = append(dst, 0x60)
	dst = appendLength(dst, n)
	dst = append(dst, 0x06, byte(len(oidKRB5)))
	dst = append(dst, oidKRB5...)
	dst = append(dst, byte(tokID>>8), byte(tokID))
	return append(dst, msg...)
}

func appendLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x100:
		return append(dst, 0x81, byte(n))
	case n < 0x10000:
		return append(dst, 0x82, byte(n>>8), byte(n))
	}
	return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
}

// WrapAPReq frames a bare AP-REQ as an InitialContextToken (for a client).
func WrapAPReq(apReq []byte) []byte { return wrap(nil, tokAPReq, apReq) }
