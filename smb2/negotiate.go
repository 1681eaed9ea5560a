package smb2

import "slices"

const (
	negotiateRequestSize  = 36
	negotiateResponseSize = 65
	negotiateContextHdr   = 8
	// Buffer offsets (from the header start) where the variable parts begin.
	negotiateRequestDialects = HeaderSize + 36
	negotiateResponseBuffer  = HeaderSize + 64
)

// Decode parses a NEGOTIATE request body. The negotiate context list is
// read only when Dialects contains 3.1.1 (otherwise those 8 bytes are
// ClientStartTime and are ignored). Semantic checks (DialectCount 0, a
// missing preauth context, ...) are left to the server.
func (m *NegotiateRequest) Decode(msg []byte) error {
	const what = "NEGOTIATE request"
	b, err := fixedBody(msg, what, negotiateRequestSize)
	if err != nil {
		return err
	}
	n := int(le16(b, 2))
	raw, ok := span(msg, negotiateRequestDialects, uint64(n)*2, negotiateRequestDialects)
	if !ok {
		return malformed(what, "DialectCount", "dialects beyond the end of the message")
	}
	*m = NegotiateRequest{
		SecurityMode: le16(b, 4),
		Capabilities: le32(b, 8),
	}
	copy(m.ClientGUID[:], b[12:28])
	if n > 0 {
		m.Dialects = make([]Dialect, n)
		for i := range m.Dialects {
			m.Dialects[i] = Dialect(le16(raw, 2*i))
		}
	}
	if !slices.Contains(m.Dialects, Dialect311) {
		return nil
	}
	off, count := le32(b, 28), int(le16(b, 32))
	if count == 0 {
		return nil
	}
	m.Contexts, err = negotiateContextsAt(msg, off, count, negotiateRequestDialects+2*n, what)
	return err
}

// Append appends a NEGOTIATE request body. The context list is encoded
// only when Dialects contains 3.1.1; otherwise ClientStartTime is zero.
func (m *NegotiateRequest) Append(dst []byte) []byte {
	b := len(dst)
	has311 := slices.Contains(m.Dialects, Dialect311)
	dst = app16(dst, negotiateRequestSize)
	dst = app16(dst, uint16(len(m.Dialects)))
	dst = app16(dst, m.SecurityMode)
	dst = app16(dst, 0)
	dst = app32(dst, m.Capabilities)
	dst = append(dst, m.ClientGUID[:]...)
	ctxAt := 0
	if has311 && len(m.Contexts) > 0 {
		ctxAt = align8(negotiateRequestDialects + 2*len(m.Dialects))
		dst = app32(dst, uint32(ctxAt))
		dst = app16(dst, uint16(len(m.Contexts)))
		dst = app16(dst, 0)
	} else {
		dst = app64(dst, 0)
	}
	for _, d := range m.Dialects {
		dst = app16(dst, uint16(d))
	}
	if ctxAt != 0 {
		dst = padTo8(dst, b)
		dst = AppendNegotiateContexts(dst, m.Contexts)
	}
	return dst
}

// Context returns the data of the first context of type typ.
func (m *NegotiateRequest) Context(typ uint16) ([]byte, bool) {
	return FindNegotiateContext(m.Contexts, typ)
}

// Decode parses a NEGOTIATE response body. Contexts are read only when
// DialectRevision is 3.1.1.
func (m *NegotiateResponse) Decode(msg []byte) error {
	const what = "NEGOTIATE response"
	b, err := fixedBody(msg, what, negotiateResponseSize)
	if err != nil {
		return err
	}
	sec, ok := span(msg, uint64(le16(b, 56)), uint64(le16(b, 58)), negotiateResponseBuffer)
	if !ok {
		return malformed(what, "SecurityBufferOffset", "out of range")
	}
	*m = NegotiateResponse{
		SecurityMode:    le16(b, 2),
		DialectRevision: Dialect(le16(b, 4)),
		Capabilities:    le32(b, 24),
		MaxTransactSize: le32(b, 28),
		MaxReadSize:     le32(b, 32),
		MaxWriteSize:    le32(b, 36),
		SystemTime:      le64(b, 40),
		ServerStartTime: le64(b, 48),
		SecurityBuffer:  sec,
	}
	copy(m.ServerGUID[:], b[8:24])
	if m.DialectRevision != Dialect311 {
		return nil
	}
	count := int(le16(b, 6))
	if count == 0 {
		return nil
	}
	m.Contexts, err = negotiateContextsAt(msg, le32(b, 60), count, negotiateResponseBuffer+len(sec), what)
	return err
}

// Append appends a NEGOTIATE response body. SecurityBufferOffset is 0x80
// even when the buffer is empty; contexts follow 8-aligned, and only when
// DialectRevision is 3.1.1.
func (m *NegotiateResponse) Append(dst []byte) []byte {
	b := len(dst)
	withCtx := m.DialectRevision == Dialect311 && len(m.Contexts) > 0
	dst = app16(dst, negotiateResponseSize)
	dst = app16(dst, m.SecurityMode)
	dst = app16(dst, uint16(m.DialectRevision))
	if withCtx {
		dst = app16(dst, uint16(len(m.Contexts)))
	} else {
		dst = app16(dst, 0)
	}
	dst = append(dst, m.ServerGUID[:]...)
	dst = app32(dst, m.Capabilities)
	dst = app32(dst, m.MaxTransactSize)
	dst = app32(dst, m.MaxReadSize)
	dst = app32(dst, m.MaxWriteSize)
	dst = app64(dst, m.SystemTime)
	dst = app64(dst, m.ServerStartTime)
	dst = app16(dst, negotiateResponseBuffer)
	dst = app16(dst, uint16(len(m.SecurityBuffer)))
	if withCtx {
		dst = app32(dst, uint32(align8(negotiateResponseBuffer+len(m.SecurityBuffer))))
	} else {
		dst = app32(dst, 0)
	}
	dst = append(dst, m.SecurityBuffer...)
	if withCtx {
		dst = padTo8(dst, b)
		dst = AppendNegotiateContexts(dst, m.Contexts)
	}
	return dst
}

// Context returns the data of the first context of type typ.
func (m *NegotiateResponse) Context(typ uint16) ([]byte, bool) {
	return FindNegotiateContext(m.Contexts, typ)
}

// negotiateContextsAt checks the NegotiateContextOffset off of msg (8-aligned,
// not before min) and parses count contexts there.
func negotiateContextsAt(msg []byte, off uint32, count, min int, what string) ([]NegotiateContext, error) {
	if off%8 != 0 || uint64(off) < uint64(min) || uint64(off) > uint64(len(msg)) {
		return nil, malformed(what, "NegotiateContextOffset", "out of range or misaligned")
	}
	return ParseNegotiateContexts(msg[off:], count)
}

// ParseNegotiateContexts parses count negotiate contexts (MS-SMB2 2.2.3.1)
// from list, which starts with the first context at an 8-aligned message
// offset; each further context starts at the next multiple of 8 (relative
// to list). Bytes after the last context are ignored. Data fields alias
// list.
func ParseNegotiateContexts(list []byte, count int) ([]NegotiateContext, error) {
	const what = "negotiate context"
	if count <= 0 {
		return nil, nil
	}
	// Each context takes at least 8 bytes: bound the allocation by the input.
	if count > len(list)/negotiateContextHdr+1 {
		return nil, malformed(what, "NegotiateContextCount", "more contexts than bytes")
	}
	ctxs := make([]NegotiateContext, 0, count)
	pos := 0
	for i := 0; i < count; i++ {
		pos = align8(pos)
		if pos > len(list) || len(list)-pos < negotiateContextHdr {
			return nil, malformed(what, "", "beyond the end of the message")
		}
		typ, n := le16(list, pos), le16(list, pos+2)
		data, ok := span(list, uint64(pos+negotiateContextHdr), uint64(n), 0)
		if !ok {
			return nil, malformed(what, "DataLength", "beyond the end of the message")
		}
		ctxs = append(ctxs, NegotiateContext{Type: typ, Data: data})
		pos += negotiateContextHdr + int(n)
	}
	return ctxs, nil
}

// AppendNegotiateContexts appends ctxs as a negotiate context list, with
// zero padding between contexts so that each starts 8-aligned relative to
// len(dst) at the call (the caller starts the list at an 8-aligned message
// offset). No padding follows the last context. Data longer than 65535
// bytes is a caller bug and is truncated to fit DataLength.
func AppendNegotiateContexts(dst []byte, ctxs []NegotiateContext) []byte {
	base := len(dst)
	for i, c := range ctxs {
		if i > 0 {
			dst = padTo8(dst, base)
		}
		data := c.Data
		if len(data) > 0xFFFF {
			data = data[:0xFFFF]
		}
		dst = app16(dst, c.Type)
		dst = app16(dst, uint16(len(data)))
		dst = app32(dst, 0)
		dst = append(dst, data...)
	}
	return dst
}

// FindNegotiateContext returns the data of the first context of type typ.
func FindNegotiateContext(ctxs []NegotiateContext, typ uint16) ([]byte, bool) {
	for _, c := range ctxs {
		if c.Type == typ {
			return c.Data, true
		}
	}
	return nil, false
}

// uint16List reads n little-endian uint16 values from b (len(b) >= 2n).
func uint16List(b []byte, n int) []uint16 {
	if n == 0 {
		return nil
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = le16(b, 2*i)
	}
	return out
}

func appUint16List(dst []byte, l []uint16) []byte {
	for _, v := range l {
		dst = app16(dst, v)
	}
	return dst
}

// Decode parses PREAUTH_INTEGRITY_CAPABILITIES context data (MS-SMB2
// 2.2.3.1.1). Salt aliases data; trailing bytes are ignored.
func (c *PreauthIntegrityCaps) Decode(data []byte) error {
	const what = "PREAUTH_INTEGRITY_CAPABILITIES"
	if len(data) < 4 {
		return malformed(what, "", "shorter than 4 bytes")
	}
	n, saltLen := int(le16(data, 0)), int(le16(data, 2))
	algs, ok := span(data, 4, uint64(2*n), 4)
	if !ok {
		return malformed(what, "HashAlgorithmCount", "beyond the end of the data")
	}
	salt, ok := span(data, uint64(4+2*n), uint64(saltLen), 4)
	if !ok {
		return malformed(what, "SaltLength", "beyond the end of the data")
	}
	*c = PreauthIntegrityCaps{HashAlgorithms: uint16List(algs, n), Salt: salt}
	return nil
}

// Append appends PREAUTH_INTEGRITY_CAPABILITIES context data.
func (c *PreauthIntegrityCaps) Append(dst []byte) []byte {
	dst = app16(dst, uint16(len(c.HashAlgorithms)))
	dst = app16(dst, uint16(len(c.Salt)))
	dst = appUint16List(dst, c.HashAlgorithms)
	return append(dst, c.Salt...)
}

// decodeAlgList parses a count-prefixed uint16 list (ENCRYPTION and
// SIGNING capabilities).
func decodeAlgList(data []byte, what, field string) ([]uint16, error) {
	if len(data) < 2 {
		return nil, malformed(what, "", "shorter than 2 bytes")
	}
	n := int(le16(data, 0))
	algs, ok := span(data, 2, uint64(2*n), 2)
	if !ok {
		return nil, malformed(what, field, "beyond the end of the data")
	}
	return uint16List(algs, n), nil
}

// Decode parses ENCRYPTION_CAPABILITIES context data (MS-SMB2 2.2.3.1.2).
func (c *EncryptionCaps) Decode(data []byte) error {
	l, err := decodeAlgList(data, "ENCRYPTION_CAPABILITIES", "CipherCount")
	if err != nil {
		return err
	}
	c.Ciphers = l
	return nil
}

// Append appends ENCRYPTION_CAPABILITIES context data.
func (c *EncryptionCaps) Append(dst []byte) []byte {
	return appUint16List(app16(dst, uint16(len(c.Ciphers))), c.Ciphers)
}

// Decode parses SIGNING_CAPABILITIES context data (MS-SMB2 2.2.3.1.7).
func (c *SigningCaps) Decode(data []byte) error {
	l, err := decodeAlgList(data, "SIGNING_CAPABILITIES", "SigningAlgorithmCount")
	if err != nil {
		return err
	}
	c.SigningAlgorithms = l
	return nil
}

// Append appends SIGNING_CAPABILITIES context data.
func (c *SigningCaps) Append(dst []byte) []byte {
	return appUint16List(app16(dst, uint16(len(c.SigningAlgorithms))), c.SigningAlgorithms)
}
