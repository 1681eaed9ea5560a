package smb2

// TRANSFORM_HEADER (MS-SMB2 2.2.41): the header of an encrypted message.
const (
	// TransformHeaderSize is the size of the TRANSFORM_HEADER that
	// precedes an encrypted message.
	TransformHeaderSize = 52

	offTSignature    = 4
	offTNonce        = 20
	offTOriginalSize = 36
	offTReserved     = 40
	offTFlags        = 42
	offTSessionID    = 44

	// TransformFlagEncrypted is the Flags value of every SMB 3.x transform
	// header (3.1.1: "Encrypted"; 3.0 and 3.0.2 name the same value
	// EncryptionAlgorithm SMB2_ENCRYPTION_AES128_CCM).
	TransformFlagEncrypted uint16 = 0x0001
)

// TransformHeader is a decoded TRANSFORM_HEADER. Signature and Nonce are
// what the cipher checks (internal/smbcrypto reads them in place); the
// decoder keeps the fields a receiver checks before decrypting.
type TransformHeader struct {
	OriginalMessageSize uint32
	Flags               uint16
	SessionID           uint64
}

// DecodeTransform decodes the TRANSFORM_HEADER at the start of frame (a
// transport frame's payload) and checks it as MS-SMB2 3.3.5.2.1.1 and
// 3.2.5.1.1 require before any decryption: the protocol id 0xFD 'SMB', a
// message after the header (the frame is longer than 52 bytes),
// OriginalMessageSize equal to the length of that message, and Flags
// 0x0001. A receiver drops the connection on an error. It does not
// allocate.
func DecodeTransform(frame []byte) (TransformHeader, error) {
	const what = "TRANSFORM_HEADER"
	var t TransformHeader
	if len(frame) <= TransformHeaderSize {
		return t, malformed(what, "", "no encrypted message after the header")
	}
	if !IsTransform(frame) {
		return t, malformed(what, "ProtocolId", "not 0xFD 'SMB'")
	}
	t.OriginalMessageSize = le32(frame, offTOriginalSize)
	t.Flags = le16(frame, offTFlags)
	t.SessionID = le64(frame, offTSessionID)
	if uint64(t.OriginalMessageSize) != uint64(len(frame)-TransformHeaderSize) {
		return t, malformed(what, "OriginalMessageSize", "not the length of the encrypted message")
	}
	if t.Flags != TransformFlagEncrypted {
		return t, malformed(what, "Flags", "not 0x0001 (encrypted)")
	}
	return t, nil
}

// Put writes the header at frame[:TransformHeaderSize] for the message
// frame[TransformHeaderSize:]: the protocol id, OriginalMessageSize (the
// length of that message), Reserved 0, Flags and SessionId; Signature and
// Nonce are zeroed for the cipher to fill (smbcrypto.Crypter.Seal). The
// caller reserves the header's bytes when it starts building the message,
// so encrypting needs no copy. It panics if frame is shorter than the
// header, a bug in the caller.
func (t *TransformHeader) Put(frame []byte) {
	if len(frame) < TransformHeaderSize {
		panic("smb2: TransformHeader.Put: frame shorter than the header")
	}
	frame[0], frame[1], frame[2], frame[3] = 0xFD, 'S', 'M', 'B'
	clear(frame[offTSignature:offTOriginalSize])
	put32(frame, offTOriginalSize, uint32(len(frame)-TransformHeaderSize))
	put16(frame, offTReserved, 0)
	put16(frame, offTFlags, t.Flags)
	put64(frame, offTSessionID, t.SessionID)
}
