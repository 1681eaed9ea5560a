package smb2

// STUBS: this file holds temporary bodies so that dependants compile while
// the codec is written. Every function here is replaced by a real
// implementation in its own file (header.go, frame.go, negotiate.go, ...),
// and this file is deleted.

import "errors"

var errStub = errors.New("smb2: not implemented yet")

// Decode parses the 64-byte header at the start of msg.
func (h *Header) Decode(msg []byte) error { return errStub }

// Append appends the 64-byte header (sync or async form by Flags).
func (h *Header) Append(dst []byte) []byte { return dst }

// NextMessage splits the first message off a compound frame using the
// header's NextCommand: msg is that message (including the padding up to
// NextCommand), rest is what follows (nil at the end). NextCommand must be a
// multiple of 8, at least HeaderSize, and within frame.
func NextMessage(frame []byte) (msg, rest []byte, err error) { return nil, nil, errStub }

// FrameLength returns the payload length from a 4-byte Direct-TCP / NetBIOS
// session header (first byte 0x00, then a 24-bit big-endian length).
func FrameLength(prefix [4]byte) (int, error) { return 0, errStub }

// PutFrameLength writes the 4-byte transport header for a frame whose payload
// is frame[4:].
func PutFrameLength(frame []byte) {}

// IsSMB1 reports whether msg starts with the SMB1 protocol id 0xFF 'SMB'.
func IsSMB1(msg []byte) bool { return false }

// ParseSMB1Negotiate returns the dialect strings of an SMB1 NEGOTIATE request
// (for the multi-protocol upgrade: "SMB 2.???", "SMB 2.002").
func ParseSMB1Negotiate(msg []byte) ([]string, error) { return nil, errStub }

// UTF16ToString decodes UTF-16LE (odd length is an error).
func UTF16ToString(b []byte) (string, error) { return "", errStub }

// AppendUTF16 appends s as UTF-16LE.
func AppendUTF16(dst []byte, s string) []byte { return dst }

// EqualFoldUTF16 reports whether the UTF-16LE bytes b equal s under simple
// case folding, without allocating.
func EqualFoldUTF16(b []byte, s string) bool { return false }

// Decode parses context data.
func (c *PreauthIntegrityCaps) Decode(data []byte) error { return errStub }

// Append appends context data.
func (c *PreauthIntegrityCaps) Append(dst []byte) []byte { return dst }

// Decode parses context data.
func (c *EncryptionCaps) Decode(data []byte) error { return errStub }

// Append appends context data.
func (c *EncryptionCaps) Append(dst []byte) []byte { return dst }

// Decode parses context data.
func (c *SigningCaps) Decode(data []byte) error { return errStub }

// Append appends context data.
func (c *SigningCaps) Append(dst []byte) []byte { return dst }

// NextCreateContext returns the first create context of chain and the rest
// of the chain (nil after the last one).
func NextCreateContext(chain []byte) (cc CreateContext, rest []byte, err error) {
	return CreateContext{}, nil, errStub
}

// AppendCreateContexts appends a well-formed chain (8-aligned, Next offsets set).
func AppendCreateContexts(dst []byte, ccs ...CreateContext) []byte { return dst }

// Decode parses the body of msg.
func (m *NegotiateRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *NegotiateRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *NegotiateResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *NegotiateResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *SessionSetupRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *SessionSetupRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *SessionSetupResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *SessionSetupResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *LogoffRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *LogoffRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *LogoffResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *LogoffResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *TreeConnectRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *TreeConnectRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *TreeConnectResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *TreeConnectResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *TreeDisconnectRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *TreeDisconnectRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *TreeDisconnectResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *TreeDisconnectResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *CreateRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *CreateRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *CreateResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *CreateResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *CloseRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *CloseRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *CloseResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *CloseResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *FlushRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *FlushRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *FlushResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *FlushResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *ReadRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *ReadRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *ReadResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *ReadResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *WriteRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *WriteRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *WriteResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *WriteResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *EchoRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *EchoRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *EchoResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *EchoResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *CancelRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *CancelRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *IoctlRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *IoctlRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *IoctlResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *IoctlResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *QueryInfoRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *QueryInfoRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *QueryInfoResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *QueryInfoResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *SetInfoRequest) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *SetInfoRequest) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *SetInfoResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *SetInfoResponse) Append(dst []byte) []byte { return dst }

// Decode parses the body of msg.
func (m *ErrorResponse) Decode(msg []byte) error { return errStub }

// Append appends the body.
func (m *ErrorResponse) Append(dst []byte) []byte { return dst }
