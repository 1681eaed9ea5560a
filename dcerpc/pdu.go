package dcerpc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PacketType is the PTYPE of a connection-oriented PDU (C706 12.6.4.1,
// MS-RPCE 2.2.2.1).
type PacketType uint8

// Packet types.
const (
	TypeRequest     PacketType = 0
	TypeResponse    PacketType = 2
	TypeFault       PacketType = 3
	TypeBind        PacketType = 11
	TypeBindAck     PacketType = 12
	TypeBindNak     PacketType = 13
	TypeAlter       PacketType = 14
	TypeAlterResp   PacketType = 15
	TypeAuth3       PacketType = 16
	TypeShutdown    PacketType = 17
	TypeCoCancel    PacketType = 18
	TypeOrphaned    PacketType = 19
	maxPacketType   PacketType = 19
	headerSize                 = 16
	secTrailerSize             = 8
	maxFragLength              = 0xffff
	requestBodySize            = 8
)

var typeNames = [...]string{
	TypeRequest: "request", 1: "ping", TypeResponse: "response", TypeFault: "fault", 4: "working",
	5: "nocall", 6: "reject", 7: "ack", 8: "cl_cancel", 9: "fack", 10: "cancel_ack",
	TypeBind: "bind", TypeBindAck: "bind_ack", TypeBindNak: "bind_nak", TypeAlter: "alter_context",
	TypeAlterResp: "alter_context_resp", TypeAuth3: "auth3", TypeShutdown: "shutdown",
	TypeCoCancel: "co_cancel", TypeOrphaned: "orphaned",
}

func (t PacketType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("ptype(%d)", uint8(t))
}

// PFC flags (pfc_flags of the header).
const (
	FlagFirstFrag        uint8 = 0x01
	FlagLastFrag         uint8 = 0x02
	FlagPendingCancel    uint8 = 0x04 // in a request
	FlagSupportHeaderSig uint8 = 0x04 // in bind, bind_ack, alter_context
	FlagConcMpx          uint8 = 0x10
	FlagDidNotExecute    uint8 = 0x20
	FlagMaybe            uint8 = 0x40
	FlagObjectUUID       uint8 = 0x80
)

// Data representations (the DREP bytes): ASCII, IEEE floats, and the
// integer byte order, which governs every integer of the PDU and its stub.
var (
	LittleEndian = [4]byte{0x10, 0, 0, 0}
	BigEndian    = [4]byte{0x00, 0, 0, 0}
)

// ErrMalformed is returned for PDUs that do not decode.
var ErrMalformed = errors.New("dcerpc: malformed PDU")

func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// Header is the common header of a connection-oriented PDU.
type Header struct {
	Type       PacketType
	Flags      uint8
	DataRep    [4]byte
	FragLength uint16
	AuthLength uint16
	CallID     uint32
}

// BigEndian reports whether the PDU's integers are big-endian.
func (h *Header) BigEndian() bool { return h.DataRep[0]&0x10 == 0 }

func (h *Header) order() binary.ByteOrder { return byteOrder(h.DataRep) }

type appendOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func byteOrder(drep [4]byte) appendOrder {
	if drep[0]&0x10 == 0 {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// fragLength returns the frag_length of the PDU whose first 16 bytes are b.
func fragLength(b []byte) int {
	if b[4]&0x10 == 0 {
		return int(binary.BigEndian.Uint16(b[8:10]))
	}
	return int(binary.LittleEndian.Uint16(b[8:10]))
}

// AuthType is the security provider of an auth verifier.
type AuthType uint8

// Auth types (MS-RPCE 2.2.1.1.7).
const (
	AuthNone    AuthType = 0
	AuthSPNEGO  AuthType = 9
	AuthNTLM    AuthType = 10
	AuthKerb    AuthType = 16
	AuthNetlogn AuthType = 68
)

func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "none"
	case AuthSPNEGO:
		return "spnego"
	case AuthNTLM:
		return "ntlmssp"
	case AuthKerb:
		return "kerberos"
	case AuthNetlogn:
		return "netlogon"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// AuthLevel is the protection level (MS-RPCE 2.2.1.1.8).
type AuthLevel uint8

// Auth levels. On connection-oriented transports CALL and PKT are
// treated as PKT_INTEGRITY.
const (
	LevelNone      AuthLevel = 1
	LevelConnect   AuthLevel = 2
	LevelCall      AuthLevel = 3
	LevelPkt       AuthLevel = 4
	LevelIntegrity AuthLevel = 5
	LevelPrivacy   AuthLevel = 6
)

func (l AuthLevel) String() string {
	switch l {
	case 0, LevelNone:
		return "none"
	case LevelConnect:
		return "connect"
	case LevelCall:
		return "call"
	case LevelPkt:
		return "packet"
	case LevelIntegrity:
		return "integrity"
	case LevelPrivacy:
		return "privacy"
	}
	return fmt.Sprintf("level(%d)", uint8(l))
}

// AuthVerifier is the sec_trailer and the auth value that follows it
// (MS-RPCE 2.2.2.11).
type AuthVerifier struct {
	Type      AuthType
	Level     AuthLevel
	PadLength uint8
	ContextID uint32
	Value     []byte
}

// Packet is one decoded PDU (one fragment). Slices alias the input and
// are valid as long as it is.
type Packet struct {
	Header
	// Raw is the whole fragment, frag_length bytes.
	Raw []byte
	// Body is what follows the header up to the sec_trailer (the end
	// when there is none): the type's fields, the stub, the auth padding.
	Body []byte
	// Auth is the auth verifier; valid when AuthLength != 0.
	Auth AuthVerifier
}

// Decode decodes the PDU at the start of b: the common header and, when
// auth_length is not 0, the auth verifier at the end of the fragment. b
// must hold at least frag_length bytes; what follows is ignored. Decode
// never panics and does not allocate.
func Decode(b []byte) (Packet, error) {
	var p Packet
	if len(b) < headerSize {
		return p, malformed("short header")
	}
	if b[0] != 5 || b[1] != 0 {
		return p, malformed("version")
	}
	copy(p.DataRep[:], b[4:8])
	o := p.order()
	p.Type = PacketType(b[2])
	p.Flags = b[3]
	p.FragLength = o.Uint16(b[8:10])
	p.AuthLength = o.Uint16(b[10:12])
	p.CallID = o.Uint32(b[12:16])
	frag := int(p.FragLength)
	if frag < headerSize || frag > len(b) {
		return p, malformed("frag_length")
	}
	p.Raw = b[:frag:frag]
	end := frag
	if p.AuthLength != 0 {
		t := frag - int(p.AuthLength) - secTrailerSize
		if t < headerSize {
			return p, malformed("auth_length")
		}
		p.Auth = AuthVerifier{
			Type:      AuthType(b[t]),
			Level:     AuthLevel(b[t+1]),
			PadLength: b[t+2],
			ContextID: o.Uint32(b[t+4 : t+8]),
			Value:     p.Raw[t+secTrailerSize:],
		}
		end = t
	}
	p.Body = p.Raw[headerSize:end]
	return p, nil
}

// Request is the body of a REQUEST PDU.
type Request struct {
	AllocHint uint32
	ContextID uint16
	Opnum     uint16
	Object    UUID // when the header has FlagObjectUUID
	// Stub is the stub data of this fragment, auth padding included.
	Stub []byte
}

// Request decodes p's body as a REQUEST.
func (p *Packet) Request() (Request, error) {
	var r Request
	n := requestBodySize
	if p.Flags&FlagObjectUUID != 0 {
		n += 16
	}
	if len(p.Body) < n {
		return r, malformed("short request")
	}
	o := p.order()
	r.AllocHint = o.Uint32(p.Body[0:4])
	r.ContextID = o.Uint16(p.Body[4:6])
	r.Opnum = o.Uint16(p.Body[6:8])
	if n > requestBodySize {
		r.Object = readUUID(p.Body[8:24], o)
	}
	r.Stub = p.Body[n:]
	return r, nil
}

// Response is the body of a RESPONSE PDU.
type Response struct {
	AllocHint   uint32
	ContextID   uint16
	CancelCount uint8
	Stub        []byte // auth padding included
}

// Response decodes p's body as a RESPONSE.
func (p *Packet) Response() (Response, error) {
	if len(p.Body) < 8 {
		return Response{}, malformed("short response")
	}
	o := p.order()
	return Response{
		AllocHint:   o.Uint32(p.Body[0:4]),
		ContextID:   o.Uint16(p.Body[4:6]),
		CancelCount: p.Body[6],
		Stub:        p.Body[8:],
	}, nil
}

// FaultBody is the body of a FAULT PDU.
type FaultBody struct {
	AllocHint   uint32
	ContextID   uint16
	CancelCount uint8
	Flags       uint8
	Status      uint32
}

// Fault decodes p's body as a FAULT.
func (p *Packet) Fault() (FaultBody, error) {
	if len(p.Body) < 12 {
		return FaultBody{}, malformed("short fault")
	}
	o := p.order()
	return FaultBody{
		AllocHint:   o.Uint32(p.Body[0:4]),
		ContextID:   o.Uint16(p.Body[4:6]),
		CancelCount: p.Body[6],
		Flags:       p.Body[7],
		Status:      o.Uint32(p.Body[8:12]),
	}, nil
}

// ContextElem is one presentation context of a BIND or ALTER_CONTEXT.
type ContextElem struct {
	ID       uint16
	Abstract SyntaxID
	Transfer []SyntaxID
}

// BindBody is the body of a BIND or ALTER_CONTEXT PDU.
type BindBody struct {
	MaxXmitFrag uint16
	MaxRecvFrag uint16
	AssocGroup  uint32
	Contexts    []ContextElem
}

// Bind decodes p's body as a BIND or ALTER_CONTEXT. Trailing bytes (auth
// padding) are ignored.
func (p *Packet) Bind() (BindBody, error) {
	var b BindBody
	body := p.Body
	if len(body) < 12 {
		return b, malformed("short bind")
	}
	o := p.order()
	b.MaxXmitFrag = o.Uint16(body[0:2])
	b.MaxRecvFrag = o.Uint16(body[2:4])
	b.AssocGroup = o.Uint32(body[4:8])
	n := int(body[8])
	rest := body[12:]
	// Each element is at least 4+20 bytes (one with no transfer syntax
	// decodes; the engine refuses it): bound the allocation by what the
	// PDU can hold.
	if n > len(rest)/24 {
		return b, malformed("context list")
	}
	if n > 0 {
		b.Contexts = make([]ContextElem, n)
	}
	for i := range n {
		if len(rest) < 24 {
			return BindBody{}, malformed("context element")
		}
		c := &b.Contexts[i]
		c.ID = o.Uint16(rest[0:2])
		nts := int(rest[2])
		c.Abstract = readSyntaxID(rest[4:24], o)
		rest = rest[24:]
		if len(rest) < nts*syntaxIDSize {
			return BindBody{}, malformed("transfer syntaxes")
		}
		if nts > 0 {
			c.Transfer = make([]SyntaxID, nts)
		}
		for j := range nts {
			c.Transfer[j] = readSyntaxID(rest[:syntaxIDSize], o)
			rest = rest[syntaxIDSize:]
		}
	}
	return b, nil
}

// Append appends the body of b to dst.
func (b *BindBody) Append(dst []byte, o binary.AppendByteOrder) []byte {
	dst = o.AppendUint16(dst, b.MaxXmitFrag)
	dst = o.AppendUint16(dst, b.MaxRecvFrag)
	dst = o.AppendUint32(dst, b.AssocGroup)
	dst = append(dst, byte(len(b.Contexts)), 0, 0, 0)
	for _, c := range b.Contexts {
		dst = o.AppendUint16(dst, c.ID)
		dst = append(dst, byte(len(c.Transfer)), 0)
		dst = appendSyntaxID(dst, c.Abstract, o)
		for _, t := range c.Transfer {
			dst = appendSyntaxID(dst, t, o)
		}
	}
	return dst
}

// Presentation context results (p_cont_def_result_t, MS-RPCE 2.2.2.4).
const (
	ResultAcceptance        uint16 = 0
	ResultUserRejection     uint16 = 1
	ResultProviderRejection uint16 = 2
	ResultNegotiateAck      uint16 = 3
)

// Provider reasons (p_provider_reason_t).
const (
	ReasonNotSpecified                 uint16 = 0
	ReasonAbstractSyntaxNotSupported   uint16 = 1
	ReasonTransferSyntaxesNotSupported uint16 = 2
	ReasonLocalLimitExceeded           uint16 = 3
)

// BIND_NAK reasons (p_reject_reason_t).
const (
	NakNotSpecified                uint16 = 0
	NakTemporaryCongestion         uint16 = 1
	NakLocalLimitExceeded          uint16 = 2
	NakProtocolVersionNotSupported uint16 = 4
	NakAuthenticationTypeNotRecog  uint16 = 8
	NakInvalidChecksum             uint16 = 9
)

const (
	bindAckResultSize = 4 + syntaxIDSize
	bindAckFixedSize  = 10
	pduAlign          = 4
	stubAlign         = 16
	faultBodySize     = 16
	responseBodySize  = 8
	auth3PadSize      = 4
)

// ContextResult is one element of a BIND_ACK's result list. For a bind
// time feature negotiation (Result 3) Reason carries the features bits.
type ContextResult struct {
	Result   uint16
	Reason   uint16
	Transfer SyntaxID
}

// BindAck is the body of a BIND_ACK or ALTER_CONTEXT_RESP PDU.
type BindAck struct {
	MaxXmitFrag   uint16
	MaxRecvFrag   uint16
	AssocGroup    uint32
	SecondaryAddr string // with its NUL terminator on the wire; "" is length 0
	Results       []ContextResult
}

// BindAck decodes p's body as a BIND_ACK or ALTER_CONTEXT_RESP.
func (p *Packet) BindAck() (BindAck, error) {
	var a BindAck
	body := p.Body
	if len(body) < bindAckFixedSize {
		return a, malformed("short bind_ack")
	}
	o := p.order()
	a.MaxXmitFrag = o.Uint16(body[0:2])
	a.MaxRecvFrag = o.Uint16(body[2:4])
	a.AssocGroup = o.Uint32(body[4:8])
	n := int(o.Uint16(body[8:10]))
	off := bindAckFixedSize + n
	if off > len(body) {
		return BindAck{}, malformed("secondary address")
	}
	if n > 0 {
		s := body[bindAckFixedSize:off]
		if s[n-1] == 0 {
			s = s[:n-1]
		}
		a.SecondaryAddr = string(s)
	}
	off = (off + pduAlign - 1) &^ (pduAlign - 1)
	if off+4 > len(body) {
		return BindAck{}, malformed("result list")
	}
	nr := int(body[off])
	rest := body[off+4:]
	if len(rest) < nr*bindAckResultSize {
		return BindAck{}, malformed("results")
	}
	if nr > 0 {
		a.Results = make([]ContextResult, nr)
	}
	for i := range nr {
		r := rest[i*bindAckResultSize:]
		a.Results[i] = ContextResult{
			Result:   o.Uint16(r[0:2]),
			Reason:   o.Uint16(r[2:4]),
			Transfer: readSyntaxID(r[4:24], o),
		}
	}
	return a, nil
}

// Append appends the body of a to dst, which must start a PDU at a
// multiple of 4 bytes (the result list is 4-byte aligned).
func (a *BindAck) Append(dst []byte, o binary.AppendByteOrder) []byte {
	start := len(dst) - headerSize
	dst = o.AppendUint16(dst, a.MaxXmitFrag)
	dst = o.AppendUint16(dst, a.MaxRecvFrag)
	dst = o.AppendUint32(dst, a.AssocGroup)
	if a.SecondaryAddr == "" {
		dst = o.AppendUint16(dst, 0)
	} else {
		dst = o.AppendUint16(dst, uint16(len(a.SecondaryAddr)+1))
		dst = append(dst, a.SecondaryAddr...)
		dst = append(dst, 0)
	}
	dst = pad(dst, start, pduAlign)
	dst = append(dst, byte(len(a.Results)), 0, 0, 0)
	for _, r := range a.Results {
		dst = o.AppendUint16(dst, r.Result)
		dst = o.AppendUint16(dst, r.Reason)
		dst = appendSyntaxID(dst, r.Transfer, o)
	}
	return dst
}

// pad appends zeros until len(dst)-start is a multiple of align.
func pad(dst []byte, start, align int) []byte {
	for (len(dst)-start)%align != 0 {
		dst = append(dst, 0)
	}
	return dst
}

// BindNakReason decodes p's body as a BIND_NAK and returns its
// provider_reject_reason.
func (p *Packet) BindNakReason() (uint16, error) {
	if len(p.Body) < 2 {
		return 0, malformed("short bind_nak")
	}
	return p.order().Uint16(p.Body[0:2]), nil
}

// AppendHeader appends a header with frag_length and auth_length 0; Finish
// sets them once the PDU is complete.
func AppendHeader(dst []byte, t PacketType, flags uint8, drep [4]byte, callID uint32) []byte {
	dst = append(dst, 5, 0, byte(t), flags, drep[0], drep[1], drep[2], drep[3], 0, 0, 0, 0)
	return byteOrder(drep).AppendUint32(dst, callID)
}

// AppendAuth appends the auth padding, the sec_trailer and the auth value
// to the PDU that starts at dst[start:]: the padding aligns what follows
// the body start (offset bodyStart within the PDU) to align bytes.
func AppendAuth(dst []byte, start, bodyStart, align int, v AuthVerifier) []byte {
	n := len(dst)
	dst = pad(dst, start+bodyStart, align)
	v.PadLength = uint8(len(dst) - n)
	o := byteOrder([4]byte(dst[start+4 : start+8]))
	dst = append(dst, byte(v.Type), byte(v.Level), v.PadLength, 0)
	dst = o.AppendUint32(dst, v.ContextID)
	return append(dst, v.Value...)
}

// Finish sets frag_length to len(pdu) and auth_length.
func Finish(pdu []byte, authLength int) {
	o := byteOrder([4]byte(pdu[4:8]))
	o.PutUint16(pdu[8:10], uint16(len(pdu)))
	o.PutUint16(pdu[10:12], uint16(authLength))
}
