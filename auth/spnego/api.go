// Package spnego encodes and decodes the SPNEGO (RFC 4178) tokens SMB2 wraps
// around NTLMSSP: NegTokenInit (with the GSS-API framing) and NegTokenResp.
// Pure: bytes in, values out; decoders never panic.
package spnego

import "errors"

// ErrMalformed is returned for undecodable tokens.
var ErrMalformed = errors.New("spnego: malformed token")

// OIDs as dotted strings.
const (
	OIDSPNEGO  = "1.3.6.1.5.5.2"
	OIDNTLMSSP = "1.3.6.1.4.1.311.2.2.10"
	OIDKRB5    = "1.2.840.113554.1.2.2"
	OIDMSKRB5  = "1.2.840.48018.1.2.2"
)

// NegState values of NegTokenResp.
const (
	AcceptCompleted  = 0
	AcceptIncomplete = 1
	Reject           = 2
	RequestMIC       = 3
	NoState          = -1 // field absent
)

// Init is a NegTokenInit.
type Init struct {
	MechTypes   []string // OIDs
	MechToken   []byte
	MechListMIC []byte
	// RawMechTypes is the DER encoding of the MechTypeList as received (or
	// produced), the input of the mechListMIC.
	RawMechTypes []byte
	// HintName is the negHints hintName of Microsoft's NegTokenInit2 (the
	// server's NEGOTIATE response token), e.g. HintNotDefined; empty if absent.
	// When set, EncodeInit puts the mechListMIC in field [4] as NegTokenInit2
	// requires.
	HintName string
}

// Resp is a NegTokenResp.
type Resp struct {
	NegState      int // NoState if absent
	SupportedMech string
	ResponseToken []byte
	MechListMIC   []byte
}

// IsNTLMSSP reports whether b is a raw NTLMSSP message (not SPNEGO-wrapped).
func IsNTLMSSP(b []byte) bool { return len(b) >= 8 && string(b[:8]) == "NTLMSSP\x00" }

// DecodeInit parses a GSS-API wrapped NegTokenInit ([APPLICATION 0]).
func DecodeInit(b []byte) (*Init, error) { return decodeInit(b) }

// DecodeResp parses a NegTokenResp ([1]).
func DecodeResp(b []byte) (*Resp, error) { return decodeResp(b) }

// Decode parses either form; exactly one result is non-nil on success.
// Byte slices in the results alias b.
func Decode(b []byte) (*Init, *Resp, error) { return decode(b) }

// EncodeInit produces a GSS-API wrapped NegTokenInit. For the server's
// NEGOTIATE response: MechTypes only (and the "not_defined_in_RFC4178@please_ignore" hint if wanted).
func EncodeInit(t *Init) []byte { return encodeInit(t) }

// EncodeResp produces a NegTokenResp.
func EncodeResp(t *Resp) []byte { return encodeResp(t) }

// EncodeMechTypes returns the DER MechTypeList for oids (mechListMIC input).
func EncodeMechTypes(oids []string) []byte { return encodeMechTypes(oids) }
