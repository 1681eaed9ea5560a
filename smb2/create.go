package smb2

const (
	createRequestSize  = 57
	createResponseSize = 89
	createRequestBuf   = HeaderSize + 56
	createResponseBuf  = HeaderSize + 88
	createContextHdr   = 16
	closeRequestSize   = 24
	closeResponseSize  = 60
	flushRequestSize   = 24
)

// Decode parses a CREATE request body. NameLength must be even. The create
// context chain must start 8-aligned and is validated whole (see
// NextCreateContext), so iterating it afterwards cannot fail.
func (m *CreateRequest) Decode(msg []byte) error {
	const what = "CREATE request"
	b, err := fixedBody(msg, what, createRequestSize)
	if err != nil {
		return err
	}
	nameLen := le16(b, 46)
	if nameLen%2 != 0 {
		return malformed(what, "NameLength", "odd")
	}
	name, ok := span(msg, uint64(le16(b, 44)), uint64(nameLen), createRequestBuf)
	if !ok {
		return malformed(what, "NameOffset", "out of range")
	}
	ctxs, err := createContextsAt(msg, le32(b, 48), le32(b, 52), createRequestBuf, what)
	if err != nil {
		return err
	}
	*m = CreateRequest{
		SecurityFlags:        b[2],
		RequestedOplockLevel: b[3],
		ImpersonationLevel:   le32(b, 4),
		SmbCreateFlags:       le64(b, 8),
		DesiredAccess:        le32(b, 24),
		FileAttributes:       le32(b, 28),
		ShareAccess:          le32(b, 32),
		CreateDisposition:    le32(b, 36),
		CreateOptions:        le32(b, 40),
		Name:                 name,
		CreateContexts:       ctxs,
	}
	return nil
}

// Append appends a CREATE request body: NameOffset 0x78 (also for an empty
// name), the create context chain (as given, e.g. from
// AppendCreateContexts) 8-aligned after the name, and a single zero byte
// when both are empty.
func (m *CreateRequest) Append(dst []byte) []byte {
	b := len(dst)
	dst = app16(dst, createRequestSize)
	dst = append(dst, m.SecurityFlags, m.RequestedOplockLevel)
	dst = app32(dst, m.ImpersonationLevel)
	dst = app64(dst, m.SmbCreateFlags)
	dst = app64(dst, 0)
	dst = app32(dst, m.DesiredAccess)
	dst = app32(dst, m.FileAttributes)
	dst = app32(dst, m.ShareAccess)
	dst = app32(dst, m.CreateDisposition)
	dst = app32(dst, m.CreateOptions)
	dst = app16(dst, createRequestBuf)
	dst = app16(dst, uint16(len(m.Name)))
	if len(m.CreateContexts) > 0 {
		dst = app32(dst, uint32(align8(createRequestBuf+len(m.Name))))
		dst = app32(dst, uint32(len(m.CreateContexts)))
	} else {
		dst = app64(dst, 0)
	}
	if len(m.Name) == 0 && len(m.CreateContexts) == 0 {
		return append(dst, 0)
	}
	dst = append(dst, m.Name...)
	if len(m.CreateContexts) > 0 {
		dst = padTo8(dst, b)
		dst = append(dst, m.CreateContexts...)
	}
	return dst
}

// Decode parses a CREATE response body; the create context chain is
// validated whole, as for CreateRequest.
func (m *CreateResponse) Decode(msg []byte) error {
	const what = "CREATE response"
	b, err := fixedBody(msg, what, createResponseSize)
	if err != nil {
		return err
	}
	ctxs, err := createContextsAt(msg, le32(b, 80), le32(b, 84), createResponseBuf, what)
	if err != nil {
		return err
	}
	*m = CreateResponse{
		OplockLevel:    b[2],
		Flags:          b[3],
		CreateAction:   le32(b, 4),
		CreationTime:   le64(b, 8),
		LastAccessTime: le64(b, 16),
		LastWriteTime:  le64(b, 24),
		ChangeTime:     le64(b, 32),
		AllocationSize: le64(b, 40),
		EndOfFile:      le64(b, 48),
		FileAttributes: le32(b, 56),
		FileID:         fileID(b, 64),
		CreateContexts: ctxs,
	}
	return nil
}

// Append appends a CREATE response body. With no create contexts,
// CreateContextsOffset and Length are 0 (as Windows and Samba send) and no
// padding byte follows; otherwise the chain starts at 0x98.
func (m *CreateResponse) Append(dst []byte) []byte {
	dst = app16(dst, createResponseSize)
	dst = append(dst, m.OplockLevel, m.Flags)
	dst = app32(dst, m.CreateAction)
	dst = app64(dst, m.CreationTime)
	dst = app64(dst, m.LastAccessTime)
	dst = app64(dst, m.LastWriteTime)
	dst = app64(dst, m.ChangeTime)
	dst = app64(dst, m.AllocationSize)
	dst = app64(dst, m.EndOfFile)
	dst = app32(dst, m.FileAttributes)
	dst = app32(dst, 0)
	dst = appFileID(dst, m.FileID)
	if len(m.CreateContexts) == 0 {
		return app64(dst, 0)
	}
	dst = app32(dst, createResponseBuf)
	dst = app32(dst, uint32(len(m.CreateContexts)))
	return append(dst, m.CreateContexts...)
}

// createContextsAt returns the chain at msg[off:off+n], checking that it is
// in range, 8-aligned and well formed.
func createContextsAt(msg []byte, off, n uint32, min int, what string) ([]byte, error) {
	chain, ok := span(msg, uint64(off), uint64(n), min)
	if !ok {
		return nil, malformed(what, "CreateContextsOffset", "out of range")
	}
	if n > 0 && off%8 != 0 {
		return nil, malformed(what, "CreateContextsOffset", "not 8-aligned")
	}
	for rest := chain; len(rest) > 0; {
		var err error
		if _, rest, err = NextCreateContext(rest); err != nil {
			return nil, err
		}
	}
	return chain, nil
}

// NextCreateContext returns the first create context of chain (MS-SMB2
// 2.2.13.2) and the rest of the chain, nil after the last one (Next 0). A
// non-zero Next must be a multiple of 8, cover the context's header, name
// and data, and lie strictly inside chain. Name and Data alias chain; a
// zero-length Data is nil whatever its DataOffset. It does not allocate.
//
//	for rest := chain; len(rest) > 0; {
//		cc, rest, err = smb2.NextCreateContext(rest)
//		...
//	}
func NextCreateContext(chain []byte) (cc CreateContext, rest []byte, err error) {
	const what = "create context"
	if len(chain) < createContextHdr {
		return CreateContext{}, nil, malformed(what, "", "shorter than 16 bytes")
	}
	next := le32(chain, 0)
	elem := chain
	if next != 0 {
		if next%8 != 0 || next < createContextHdr || uint64(next) >= uint64(len(chain)) {
			return CreateContext{}, nil, malformed(what, "Next", "misaligned or out of range")
		}
		elem, rest = chain[:next], chain[next:]
	}
	nameLen := le16(chain, 6)
	if nameLen == 0 {
		return CreateContext{}, nil, malformed(what, "NameLength", "zero")
	}
	name, ok := span(elem, uint64(le16(chain, 4)), uint64(nameLen), createContextHdr)
	if !ok {
		return CreateContext{}, nil, malformed(what, "NameOffset", "out of range")
	}
	data, ok := span(elem, uint64(le16(chain, 10)), uint64(le32(chain, 12)), createContextHdr)
	if !ok {
		return CreateContext{}, nil, malformed(what, "DataOffset", "out of range")
	}
	return CreateContext{Name: name, Data: data}, rest, nil
}

// AppendCreateContexts appends a well-formed chain: each context starts
// 8-aligned relative to len(dst) at the call (the caller places the chain
// at an 8-aligned message offset, as CreateRequest.Append and
// CreateResponse.Append do), the name follows the 16-byte header, the data
// follows 8-aligned (DataOffset 0 when empty), and Next links the contexts
// (0 in the last). Names longer than 65535 bytes are a caller bug and are
// truncated.
func AppendCreateContexts(dst []byte, ccs ...CreateContext) []byte {
	base := len(dst)
	for i, cc := range ccs {
		if i > 0 {
			dst = padTo8(dst, base)
		}
		start := len(dst)
		name := cc.Name
		if len(name) > 0xFFFF {
			name = name[:0xFFFF]
		}
		dst = app32(dst, 0) // Next, patched below
		dst = app16(dst, createContextHdr)
		dst = app16(dst, uint16(len(name)))
		dst = app16(dst, 0)
		dataOff := 0
		if len(cc.Data) > 0 {
			dataOff = align8(createContextHdr + len(name))
		}
		dst = app16(dst, uint16(dataOff))
		dst = app32(dst, uint32(len(cc.Data)))
		dst = append(dst, name...)
		if len(cc.Data) > 0 {
			dst = padTo8(dst, start)
			dst = append(dst, cc.Data...)
		}
		if i < len(ccs)-1 {
			put32(dst, start, uint32(align8(len(dst)-start)))
		}
	}
	return dst
}

// Decode parses a CLOSE request body.
func (m *CloseRequest) Decode(msg []byte) error {
	b, err := fixedBody(msg, "CLOSE request", closeRequestSize)
	if err != nil {
		return err
	}
	*m = CloseRequest{Flags: le16(b, 2), FileID: fileID(b, 8)}
	return nil
}

// Append appends a CLOSE request body.
func (m *CloseRequest) Append(dst []byte) []byte {
	dst = app16(dst, closeRequestSize)
	dst = app16(dst, m.Flags)
	dst = app32(dst, 0)
	return appFileID(dst, m.FileID)
}

// Decode parses a CLOSE response body.
func (m *CloseResponse) Decode(msg []byte) error {
	b, err := fixedBody(msg, "CLOSE response", closeResponseSize)
	if err != nil {
		return err
	}
	*m = CloseResponse{
		Flags:          le16(b, 2),
		CreationTime:   le64(b, 8),
		LastAccessTime: le64(b, 16),
		LastWriteTime:  le64(b, 24),
		ChangeTime:     le64(b, 32),
		AllocationSize: le64(b, 40),
		EndOfFile:      le64(b, 48),
		FileAttributes: le32(b, 56),
	}
	return nil
}

// Append appends a CLOSE response body.
func (m *CloseResponse) Append(dst []byte) []byte {
	dst = app16(dst, closeResponseSize)
	dst = app16(dst, m.Flags)
	dst = app32(dst, 0)
	dst = app64(dst, m.CreationTime)
	dst = app64(dst, m.LastAccessTime)
	dst = app64(dst, m.LastWriteTime)
	dst = app64(dst, m.ChangeTime)
	dst = app64(dst, m.AllocationSize)
	dst = app64(dst, m.EndOfFile)
	return app32(dst, m.FileAttributes)
}

// Decode parses a FLUSH request body.
func (m *FlushRequest) Decode(msg []byte) error {
	b, err := fixedBody(msg, "FLUSH request", flushRequestSize)
	if err != nil {
		return err
	}
	*m = FlushRequest{FileID: fileID(b, 8)}
	return nil
}

// Append appends a FLUSH request body.
func (m *FlushRequest) Append(dst []byte) []byte {
	dst = app16(dst, flushRequestSize)
	dst = app16(dst, 0)
	dst = app32(dst, 0)
	return appFileID(dst, m.FileID)
}

// Decode parses a FLUSH response body.
func (m *FlushResponse) Decode(msg []byte) error {
	return emptyBody(msg, "FLUSH response", smallBodySize)
}

// Append appends a FLUSH response body.
func (m *FlushResponse) Append(dst []byte) []byte { return appendEmptyBody(dst, smallBodySize) }
