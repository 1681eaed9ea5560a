package smb2

const (
	treeConnectRequestSize  = 9
	treeConnectResponseSize = 16
	treeConnectRequestBuf   = HeaderSize + 8
)

// Decode parses a TREE_CONNECT request body. The Path is returned as sent;
// the 3.1.1 TREE_CONNECT extension (Flags 0x0004) is not interpreted.
func (m *TreeConnectRequest) Decode(msg []byte) error {
	const what = "TREE_CONNECT request"
	b, err := fixedBody(msg, what, treeConnectRequestSize)
	if err != nil {
		return err
	}
	n := le16(b, 6)
	if n%2 != 0 {
		return malformed(what, "PathLength", "odd")
	}
	path, ok := span(msg, uint64(le16(b, 4)), uint64(n), treeConnectRequestBuf)
	if !ok {
		return malformed(what, "PathOffset", "out of range")
	}
	*m = TreeConnectRequest{Flags: le16(b, 2), Path: path}
	return nil
}

// Append appends a TREE_CONNECT request body (PathOffset 0x48).
func (m *TreeConnectRequest) Append(dst []byte) []byte {
	dst = app16(dst, treeConnectRequestSize)
	dst = app16(dst, m.Flags)
	dst = app16(dst, treeConnectRequestBuf)
	dst = app16(dst, uint16(len(m.Path)))
	return appendVarOrPad(dst, m.Path)
}

// Decode parses a TREE_CONNECT response body.
func (m *TreeConnectResponse) Decode(msg []byte) error {
	b, err := fixedBody(msg, "TREE_CONNECT response", treeConnectResponseSize)
	if err != nil {
		return err
	}
	*m = TreeConnectResponse{
		ShareType:     b[2],
		ShareFlags:    le32(b, 4),
		Capabilities:  le32(b, 8),
		MaximalAccess: le32(b, 12),
	}
	return nil
}

// Append appends a TREE_CONNECT response body.
func (m *TreeConnectResponse) Append(dst []byte) []byte {
	dst = app16(dst, treeConnectResponseSize)
	dst = append(dst, m.ShareType, 0)
	dst = app32(dst, m.ShareFlags)
	dst = app32(dst, m.Capabilities)
	return app32(dst, m.MaximalAccess)
}

// Decode parses a TREE_DISCONNECT request body.
func (m *TreeDisconnectRequest) Decode(msg []byte) error {
	return emptyBody(msg, "TREE_DISCONNECT request", smallBodySize)
}

// Append appends a TREE_DISCONNECT request body.
func (m *TreeDisconnectRequest) Append(dst []byte) []byte {
	return appendEmptyBody(dst, smallBodySize)
}

// Decode parses a TREE_DISCONNECT response body.
func (m *TreeDisconnectResponse) Decode(msg []byte) error {
	return emptyBody(msg, "TREE_DISCONNECT response", smallBodySize)
}

// Append appends a TREE_DISCONNECT response body.
func (m *TreeDisconnectResponse) Append(dst []byte) []byte {
	return appendEmptyBody(dst, smallBodySize)
}
