package smb2

const (
	sessionSetupRequestSize  = 25
	sessionSetupResponseSize = 9
	sessionSetupRequestBuf   = HeaderSize + 24
	sessionSetupResponseBuf  = HeaderSize + 8
	smallBodySize            = 4 // LOGOFF, TREE_DISCONNECT, ECHO, CANCEL, FLUSH response
)

// Decode parses a SESSION_SETUP request body.
func (m *SessionSetupRequest) Decode(msg []byte) error {
	const what = "SESSION_SETUP request"
	b, err := fixedBody(msg, what, sessionSetupRequestSize)
	if err != nil {
		return err
	}
	sec, ok := span(msg, uint64(le16(b, 12)), uint64(le16(b, 14)), sessionSetupRequestBuf)
	if !ok {
		return malformed(what, "SecurityBufferOffset", "out of range")
	}
	*m = SessionSetupRequest{
		Flags:             b[2],
		SecurityMode:      b[3],
		Capabilities:      le32(b, 4),
		Channel:           le32(b, 8),
		PreviousSessionID: le64(b, 16),
		SecurityBuffer:    sec,
	}
	return nil
}

// Append appends a SESSION_SETUP request body (SecurityBufferOffset 0x58;
// one zero byte stands in for an empty buffer).
func (m *SessionSetupRequest) Append(dst []byte) []byte {
	dst = app16(dst, sessionSetupRequestSize)
	dst = append(dst, m.Flags, m.SecurityMode)
	dst = app32(dst, m.Capabilities)
	dst = app32(dst, m.Channel)
	dst = app16(dst, sessionSetupRequestBuf)
	dst = app16(dst, uint16(len(m.SecurityBuffer)))
	dst = app64(dst, m.PreviousSessionID)
	return appendVarOrPad(dst, m.SecurityBuffer)
}

// Decode parses a SESSION_SETUP response body.
func (m *SessionSetupResponse) Decode(msg []byte) error {
	const what = "SESSION_SETUP response"
	b, err := fixedBody(msg, what, sessionSetupResponseSize)
	if err != nil {
		return err
	}
	sec, ok := span(msg, uint64(le16(b, 4)), uint64(le16(b, 6)), sessionSetupResponseBuf)
	if !ok {
		return malformed(what, "SecurityBufferOffset", "out of range")
	}
	*m = SessionSetupResponse{SessionFlags: le16(b, 2), SecurityBuffer: sec}
	return nil
}

// Append appends a SESSION_SETUP response body (SecurityBufferOffset 0x48,
// also when the buffer is empty).
func (m *SessionSetupResponse) Append(dst []byte) []byte {
	dst = app16(dst, sessionSetupResponseSize)
	dst = app16(dst, m.SessionFlags)
	dst = app16(dst, sessionSetupResponseBuf)
	dst = app16(dst, uint16(len(m.SecurityBuffer)))
	return append(dst, m.SecurityBuffer...)
}

// appendVarOrPad appends v, or a single zero byte when v is empty: request
// bodies with an odd StructureSize carry at least one byte of their
// variable part (MS-SMB2 2.2), and Windows clients send that byte.
func appendVarOrPad(dst, v []byte) []byte {
	if len(v) == 0 {
		return append(dst, 0)
	}
	return append(dst, v...)
}

// Decode parses a LOGOFF request body.
func (m *LogoffRequest) Decode(msg []byte) error {
	return emptyBody(msg, "LOGOFF request", smallBodySize)
}

// Append appends a LOGOFF request body.
func (m *LogoffRequest) Append(dst []byte) []byte { return appendEmptyBody(dst, smallBodySize) }

// Decode parses a LOGOFF response body.
func (m *LogoffResponse) Decode(msg []byte) error {
	return emptyBody(msg, "LOGOFF response", smallBodySize)
}

// Append appends a LOGOFF response body.
func (m *LogoffResponse) Append(dst []byte) []byte { return appendEmptyBody(dst, smallBodySize) }

// Decode parses an ECHO request body.
func (m *EchoRequest) Decode(msg []byte) error {
	return emptyBody(msg, "ECHO request", smallBodySize)
}

// Append appends an ECHO request body.
func (m *EchoRequest) Append(dst []byte) []byte { return appendEmptyBody(dst, smallBodySize) }

// Decode parses an ECHO response body.
func (m *EchoResponse) Decode(msg []byte) error {
	return emptyBody(msg, "ECHO response", smallBodySize)
}

// Append appends an ECHO response body.
func (m *EchoResponse) Append(dst []byte) []byte { return appendEmptyBody(dst, smallBodySize) }

// Decode parses a CANCEL request body.
func (m *CancelRequest) Decode(msg []byte) error {
	return emptyBody(msg, "CANCEL request", smallBodySize)
}

// Append appends a CANCEL request body.
func (m *CancelRequest) Append(dst []byte) []byte { return appendEmptyBody(dst, smallBodySize) }
