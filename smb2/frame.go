package smb2

// MaxFrameLength is the largest payload the 4-byte Direct-TCP transport
// header can describe (24-bit length).
const MaxFrameLength = 1<<24 - 1

// NextMessage splits the first message off a compound frame (the payload
// after the 4-byte transport header) using the header's NextCommand.
//
// msg is that message, including the padding up to NextCommand; rest is
// what follows, or nil after the last message (NextCommand 0). A non-zero
// NextCommand must be a multiple of 8, at least HeaderSize and strictly
// inside frame, so every call makes progress and a loop over NextMessage
// ends. NextMessage checks the protocol id but does not otherwise decode
// the header. It does not allocate; msg and rest alias frame.
func NextMessage(frame []byte) (msg, rest []byte, err error) {
	if len(frame) < HeaderSize {
		return nil, nil, malformed("frame", "", "message shorter than a header")
	}
	if !isSMB2(frame) {
		return nil, nil, malformed("frame", "ProtocolId", "not 0xFE 'SMB'")
	}
	next := le32(frame, offNextCommand)
	switch {
	case next == 0:
		return frame, nil, nil
	case next%8 != 0:
		return nil, nil, malformed("frame", "NextCommand", "not a multiple of 8")
	case next < HeaderSize:
		return nil, nil, malformed("frame", "NextCommand", "smaller than a header")
	case uint64(next) >= uint64(len(frame)):
		return nil, nil, malformed("frame", "NextCommand", "beyond the end of the frame")
	}
	return frame[:next:next], frame[next:], nil
}

// FrameLength returns the payload length from a 4-byte Direct-TCP (or
// NetBIOS session message) header: a zero byte, then a 24-bit big-endian
// length. Any other first byte is an error.
func FrameLength(prefix [4]byte) (int, error) {
	if prefix[0] != 0 {
		return 0, malformed("frame", "transport header", "first byte is not zero")
	}
	return int(prefix[1])<<16 | int(prefix[2])<<8 | int(prefix[3]), nil
}

// PutFrameLength writes the 4-byte transport header at frame[0:4] for a
// frame whose payload is frame[4:]. The caller reserves those 4 bytes when
// it starts building the frame. It panics if len(frame) < 4 or the payload
// is longer than MaxFrameLength: both are bugs in the caller, which bounds
// its responses by the negotiated maximum sizes.
func PutFrameLength(frame []byte) { PutFrameLengthPlus(frame, 0) }

// PutFrameLengthPlus is PutFrameLength for a frame whose payload is
// frame[4:] followed by more bytes sent from another buffer (a request
// built with AppendHead).
func PutFrameLengthPlus(frame []byte, more int) {
	n := len(frame) - 4 + more
	if len(frame) < 4 || more < 0 || n > MaxFrameLength {
		panic("smb2: PutFrameLength: payload length out of range")
	}
	frame[0] = 0
	frame[1] = byte(n >> 16)
	frame[2] = byte(n >> 8)
	frame[3] = byte(n)
}

// SMB1 (MS-CIFS 2.2.3.1) header layout, as far as the multi-protocol
// negotiation needs it.
const (
	smb1HeaderSize   = 32
	smb1ComNegotiate = 0x72
)

// IsSMB1 reports whether msg starts with the SMB1 protocol id 0xFF 'SMB'.
func IsSMB1(msg []byte) bool {
	return len(msg) >= 4 && msg[0] == 0xFF && msg[1] == 'S' && msg[2] == 'M' && msg[3] == 'B'
}

// IsTransform reports whether msg starts with the SMB3 TRANSFORM_HEADER
// protocol id 0xFD 'SMB' (an encrypted message).
func IsTransform(msg []byte) bool {
	return len(msg) >= 4 && msg[0] == 0xFD && msg[1] == 'S' && msg[2] == 'M' && msg[3] == 'B'
}

// ParseSMB1Negotiate returns the dialect strings of an SMB1 NEGOTIATE
// request (MS-CIFS 2.2.4.52.1), in the client's order, for the
// multi-protocol upgrade to SMB2 ("SMB 2.???", "SMB 2.002", "NT LM 0.12",
// ...). msg is the SMB1 message (after the transport header). Each entry
// of the dialects buffer must be 0x02, a string and a NUL terminator.
func ParseSMB1Negotiate(msg []byte) ([]string, error) {
	const what = "SMB1 NEGOTIATE"
	if len(msg) < smb1HeaderSize+3 {
		return nil, malformed(what, "", "message too short")
	}
	if !IsSMB1(msg) {
		return nil, malformed(what, "Protocol", "not 0xFF 'SMB'")
	}
	if msg[4] != smb1ComNegotiate {
		return nil, malformed(what, "Command", "not SMB_COM_NEGOTIATE")
	}
	if msg[smb1HeaderSize] != 0 {
		return nil, malformed(what, "WordCount", "not 0")
	}
	n := int(le16(msg, smb1HeaderSize+1))
	b, ok := span(msg, smb1HeaderSize+3, uint64(n), smb1HeaderSize+3)
	if !ok {
		return nil, malformed(what, "ByteCount", "beyond the end of the message")
	}
	var dialects []string
	for len(b) > 0 {
		if b[0] != 0x02 {
			return nil, malformed(what, "BufferFormat", "not 0x02")
		}
		end := -1
		for i := 1; i < len(b); i++ {
			if b[i] == 0 {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, malformed(what, "DialectString", "not NUL-terminated")
		}
		dialects = append(dialects, string(b[1:end]))
		b = b[end+1:]
	}
	return dialects, nil
}

// Pad8 appends zero bytes to dst until len(dst)-start is a multiple of 8.
// A compound builder calls it after each message but the last (start is
// where that message's header begins), then sets that message's
// NextCommand to len(dst)-start with PutNextCommand.
func Pad8(dst []byte, start int) []byte { return padTo8(dst, start) }
