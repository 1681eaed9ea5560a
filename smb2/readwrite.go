package smb2

const (
	readRequestSize   = 49
	readResponseSize  = 17
	writeRequestSize  = 49
	writeResponseSize = 17
	readRequestBuf    = HeaderSize + 48
	writeRequestBuf   = HeaderSize + 48
	// ReadResponseDataOffset is where READ response data starts, relative
	// to the header: right after the 16-byte fixed part.
	ReadResponseDataOffset = HeaderSize + 16
)

// Decode parses a READ request body. It does not allocate.
func (m *ReadRequest) Decode(msg []byte) error {
	const what = "READ request"
	b, err := fixedBody(msg, what, readRequestSize)
	if err != nil {
		return err
	}
	info, ok := span(msg, uint64(le16(b, 44)), uint64(le16(b, 46)), readRequestBuf)
	if !ok {
		return malformed(what, "ReadChannelInfoOffset", "out of range")
	}
	*m = ReadRequest{
		Padding:         b[2],
		Flags:           b[3],
		Length:          le32(b, 4),
		Offset:          le64(b, 8),
		FileID:          fileID(b, 16),
		MinimumCount:    le32(b, 32),
		Channel:         le32(b, 36),
		RemainingBytes:  le32(b, 40),
		ReadChannelInfo: info,
	}
	return nil
}

// Append appends a READ request body. ReadChannelInfoOffset is 0 when
// there is no channel info, and a single zero byte fills the buffer then.
func (m *ReadRequest) Append(dst []byte) []byte {
	dst = app16(dst, readRequestSize)
	dst = append(dst, m.Padding, m.Flags)
	dst = app32(dst, m.Length)
	dst = app64(dst, m.Offset)
	dst = appFileID(dst, m.FileID)
	dst = app32(dst, m.MinimumCount)
	dst = app32(dst, m.Channel)
	dst = app32(dst, m.RemainingBytes)
	if len(m.ReadChannelInfo) > 0 {
		dst = app16(dst, readRequestBuf)
	} else {
		dst = app16(dst, 0)
	}
	dst = app16(dst, uint16(len(m.ReadChannelInfo)))
	return appendVarOrPad(dst, m.ReadChannelInfo)
}

// Decode parses a READ response body.
func (m *ReadResponse) Decode(msg []byte) error {
	const what = "READ response"
	b, err := fixedBody(msg, what, readResponseSize)
	if err != nil {
		return err
	}
	data, ok := span(msg, uint64(b[2]), uint64(le32(b, 4)), ReadResponseDataOffset)
	if !ok {
		return malformed(what, "DataOffset", "out of range")
	}
	*m = ReadResponse{Data: data, DataRemaining: le32(b, 8), Flags: le32(b, 12)}
	return nil
}

// Append appends a READ response body: DataOffset 0x50, then Data. A
// server that reads straight into the message can instead use
// AppendReadResponseHeader.
func (m *ReadResponse) Append(dst []byte) []byte {
	dst = AppendReadResponseHeader(dst, len(m.Data), m.DataRemaining, m.Flags)
	return append(dst, m.Data...)
}

// AppendReadResponseHeader appends the 16-byte fixed part of a READ
// response announcing n bytes of data; the caller appends exactly n bytes
// of data next (for example by reading from the pipe into the spare
// capacity of dst). n must fit in 32 bits.
func AppendReadResponseHeader(dst []byte, n int, dataRemaining, flags uint32) []byte {
	dst = app16(dst, readResponseSize)
	dst = append(dst, ReadResponseDataOffset, 0)
	dst = app32(dst, uint32(n))
	dst = app32(dst, dataRemaining)
	return app32(dst, flags)
}

// Decode parses a WRITE request body. It does not allocate.
func (m *WriteRequest) Decode(msg []byte) error {
	const what = "WRITE request"
	b, err := fixedBody(msg, what, writeRequestSize)
	if err != nil {
		return err
	}
	data, ok := span(msg, uint64(le16(b, 2)), uint64(le32(b, 4)), writeRequestBuf)
	if !ok {
		return malformed(what, "DataOffset", "out of range")
	}
	info, ok := span(msg, uint64(le16(b, 40)), uint64(le16(b, 42)), writeRequestBuf)
	if !ok {
		return malformed(what, "WriteChannelInfoOffset", "out of range")
	}
	*m = WriteRequest{
		Offset:           le64(b, 8),
		FileID:           fileID(b, 16),
		Channel:          le32(b, 32),
		RemainingBytes:   le32(b, 36),
		Flags:            le32(b, 44),
		Data:             data,
		WriteChannelInfo: info,
	}
	return nil
}

// Append appends a WRITE request body: DataOffset 0x70 (also for empty
// data), then Data, then WriteChannelInfo (offset 0 when empty); a single
// zero byte when both are empty.
func (m *WriteRequest) Append(dst []byte) []byte {
	dst = m.appendFixed(dst)
	if len(m.Data) == 0 && len(m.WriteChannelInfo) == 0 {
		return append(dst, 0)
	}
	dst = append(dst, m.Data...)
	return append(dst, m.WriteChannelInfo...)
}

// AppendHead appends what Append appends before Data; the request is
// that followed by Data, sent from the caller's buffer without a copy
// (see PutFrameLengthPlus). Data must not be empty and WriteChannelInfo
// must be.
func (m *WriteRequest) AppendHead(dst []byte) []byte {
	if len(m.Data) == 0 || len(m.WriteChannelInfo) > 0 {
		panic("smb2: WriteRequest.AppendHead needs Data and no WriteChannelInfo")
	}
	return m.appendFixed(dst)
}

// appendFixed appends the fixed part of a WRITE request body.
func (m *WriteRequest) appendFixed(dst []byte) []byte {
	dst = app16(dst, writeRequestSize)
	dst = app16(dst, writeRequestBuf)
	dst = app32(dst, uint32(len(m.Data)))
	dst = app64(dst, m.Offset)
	dst = appFileID(dst, m.FileID)
	dst = app32(dst, m.Channel)
	dst = app32(dst, m.RemainingBytes)
	if len(m.WriteChannelInfo) > 0 {
		dst = app16(dst, uint16(writeRequestBuf+len(m.Data)))
	} else {
		dst = app16(dst, 0)
	}
	dst = app16(dst, uint16(len(m.WriteChannelInfo)))
	return app32(dst, m.Flags)
}

// Decode parses a WRITE response body.
func (m *WriteResponse) Decode(msg []byte) error {
	b, err := fixedBody(msg, "WRITE response", writeResponseSize)
	if err != nil {
		return err
	}
	*m = WriteResponse{Count: le32(b, 4), Remaining: le32(b, 8)}
	return nil
}

// Append appends a WRITE response body (16 bytes; WriteChannelInfo unused).
func (m *WriteResponse) Append(dst []byte) []byte {
	dst = app16(dst, writeResponseSize)
	dst = app16(dst, 0)
	dst = app32(dst, m.Count)
	dst = app32(dst, m.Remaining)
	return app32(dst, 0)
}
