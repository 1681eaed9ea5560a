package smb2

const (
	queryInfoRequestSize  = 41
	queryInfoResponseSize = 9
	setInfoRequestSize    = 33
	setInfoResponseSize   = 2
	errorResponseSize     = 9
	queryInfoRequestBuf   = HeaderSize + 40
	queryInfoResponseBuf  = HeaderSize + 8
	setInfoRequestBuf     = HeaderSize + 32
	errorResponseData     = HeaderSize + 8
)

// Decode parses a QUERY_INFO request body.
func (m *QueryInfoRequest) Decode(msg []byte) error {
	const what = "QUERY_INFO request"
	b, err := fixedBody(msg, what, queryInfoRequestSize)
	if err != nil {
		return err
	}
	in, ok := span(msg, uint64(le16(b, 8)), uint64(le32(b, 12)), queryInfoRequestBuf)
	if !ok {
		return malformed(what, "InputBufferOffset", "out of range")
	}
	*m = QueryInfoRequest{
		InfoType:              b[2],
		FileInfoClass:         b[3],
		OutputBufferLength:    le32(b, 4),
		Input:                 in,
		AdditionalInformation: le32(b, 16),
		Flags:                 le32(b, 20),
		FileID:                fileID(b, 24),
	}
	return nil
}

// Append appends a QUERY_INFO request body (InputBufferOffset 0x68; a
// single zero byte when Input is empty).
func (m *QueryInfoRequest) Append(dst []byte) []byte {
	dst = app16(dst, queryInfoRequestSize)
	dst = append(dst, m.InfoType, m.FileInfoClass)
	dst = app32(dst, m.OutputBufferLength)
	dst = app16(dst, queryInfoRequestBuf)
	dst = app16(dst, 0)
	dst = app32(dst, uint32(len(m.Input)))
	dst = app32(dst, m.AdditionalInformation)
	dst = app32(dst, m.Flags)
	dst = appFileID(dst, m.FileID)
	return appendVarOrPad(dst, m.Input)
}

// Decode parses a QUERY_INFO response body.
func (m *QueryInfoResponse) Decode(msg []byte) error {
	const what = "QUERY_INFO response"
	b, err := fixedBody(msg, what, queryInfoResponseSize)
	if err != nil {
		return err
	}
	out, ok := span(msg, uint64(le16(b, 2)), uint64(le32(b, 4)), queryInfoResponseBuf)
	if !ok {
		return malformed(what, "OutputBufferOffset", "out of range")
	}
	*m = QueryInfoResponse{Output: out}
	return nil
}

// Append appends a QUERY_INFO response body (OutputBufferOffset 0x48).
func (m *QueryInfoResponse) Append(dst []byte) []byte {
	dst = app16(dst, queryInfoResponseSize)
	dst = app16(dst, queryInfoResponseBuf)
	dst = app32(dst, uint32(len(m.Output)))
	return append(dst, m.Output...)
}

// Decode parses a SET_INFO request body.
func (m *SetInfoRequest) Decode(msg []byte) error {
	const what = "SET_INFO request"
	b, err := fixedBody(msg, what, setInfoRequestSize)
	if err != nil {
		return err
	}
	buf, ok := span(msg, uint64(le16(b, 8)), uint64(le32(b, 4)), setInfoRequestBuf)
	if !ok {
		return malformed(what, "BufferOffset", "out of range")
	}
	*m = SetInfoRequest{
		InfoType:              b[2],
		FileInfoClass:         b[3],
		Buffer:                buf,
		AdditionalInformation: le32(b, 12),
		FileID:                fileID(b, 16),
	}
	return nil
}

// Append appends a SET_INFO request body (BufferOffset 0x60; a single zero
// byte when Buffer is empty).
func (m *SetInfoRequest) Append(dst []byte) []byte {
	dst = app16(dst, setInfoRequestSize)
	dst = append(dst, m.InfoType, m.FileInfoClass)
	dst = app32(dst, uint32(len(m.Buffer)))
	dst = app16(dst, setInfoRequestBuf)
	dst = app16(dst, 0)
	dst = app32(dst, m.AdditionalInformation)
	dst = appFileID(dst, m.FileID)
	return appendVarOrPad(dst, m.Buffer)
}

// Decode parses a SET_INFO response body.
func (m *SetInfoResponse) Decode(msg []byte) error {
	return emptyBody(msg, "SET_INFO response", setInfoResponseSize)
}

// Append appends a SET_INFO response body.
func (m *SetInfoResponse) Append(dst []byte) []byte {
	return appendEmptyBody(dst, setInfoResponseSize)
}

// Decode parses an ERROR response body (MS-SMB2 2.2.2). ErrorData is the
// ByteCount bytes after the fixed part (raw error contexts when
// ErrorContextCount > 0); with ByteCount 0 the one padding byte is optional
// and ErrorData is nil.
func (m *ErrorResponse) Decode(msg []byte) error {
	const what = "ERROR response"
	b, err := fixedBody(msg, what, errorResponseSize)
	if err != nil {
		return err
	}
	data, ok := span(msg, errorResponseData, uint64(le32(b, 4)), errorResponseData)
	if !ok {
		return malformed(what, "ByteCount", "beyond the end of the message")
	}
	*m = ErrorResponse{ErrorContextCount: b[2], ErrorData: data}
	return nil
}

// Append appends an ERROR response body; an empty ErrorData is encoded as
// ByteCount 0 and a single zero byte, as MS-SMB2 requires.
func (m *ErrorResponse) Append(dst []byte) []byte {
	dst = app16(dst, errorResponseSize)
	dst = append(dst, m.ErrorContextCount, 0)
	dst = app32(dst, uint32(len(m.ErrorData)))
	return appendVarOrPad(dst, m.ErrorData)
}
