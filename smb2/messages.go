package smb2

// This file declares every message body smbpipe sends or receives. Each type
// has two methods:
//
//	Decode(msg []byte) error      // msg = header + body of ONE message (a
//	                              // compound element, ending at NextCommand or
//	                              // the frame end); parses the body at
//	                              // msg[HeaderSize:], offsets relative to msg[0]
//	Append(dst []byte) []byte     // appends the body; the body is assumed to
//	                              // follow a 64-byte header directly, so a
//	                              // buffer offset is HeaderSize + its position
//	                              // in the body
//
// Byte-slice fields alias msg after Decode. Fields named in MS-SMB2 keep their
// names; StructureSize, offsets, lengths and padding are not fields: they are
// checked on decode and computed on encode.

// NegotiateContext is one negotiate context, with its data undecoded.
type NegotiateContext struct {
	Type uint16
	Data []byte
}

// NegotiateRequest is SMB2 NEGOTIATE request (StructureSize 36).
type NegotiateRequest struct {
	SecurityMode uint16
	Capabilities uint32
	ClientGUID   [16]byte
	Dialects     []Dialect
	Contexts     []NegotiateContext // only when Dialects contains 3.1.1
}

// NegotiateResponse is SMB2 NEGOTIATE response (StructureSize 65).
type NegotiateResponse struct {
	SecurityMode    uint16
	DialectRevision Dialect
	ServerGUID      [16]byte
	Capabilities    uint32
	MaxTransactSize uint32
	MaxReadSize     uint32
	MaxWriteSize    uint32
	SystemTime      uint64 // FILETIME
	ServerStartTime uint64
	SecurityBuffer  []byte
	Contexts        []NegotiateContext // encoded only when DialectRevision is 3.1.1
}

// PreauthIntegrityCaps is the data of a PREAUTH_INTEGRITY_CAPABILITIES context.
type PreauthIntegrityCaps struct {
	HashAlgorithms []uint16
	Salt           []byte
}

// EncryptionCaps is the data of an ENCRYPTION_CAPABILITIES context.
type EncryptionCaps struct{ Ciphers []uint16 }

// SigningCaps is the data of a SIGNING_CAPABILITIES context.
type SigningCaps struct{ SigningAlgorithms []uint16 }

// SessionSetupRequest is SMB2 SESSION_SETUP request (StructureSize 25).
type SessionSetupRequest struct {
	Flags             uint8
	SecurityMode      uint8
	Capabilities      uint32
	Channel           uint32
	PreviousSessionID uint64
	SecurityBuffer    []byte
}

// SessionSetupResponse is SMB2 SESSION_SETUP response (StructureSize 9).
type SessionSetupResponse struct {
	SessionFlags   uint16
	SecurityBuffer []byte
}

// LogoffRequest is SMB2 LOGOFF request (StructureSize 4).
type LogoffRequest struct{}

// LogoffResponse is SMB2 LOGOFF response (StructureSize 4).
type LogoffResponse struct{}

// TreeConnectRequest is SMB2 TREE_CONNECT request (StructureSize 9).
type TreeConnectRequest struct {
	Flags uint16
	Path  []byte // UTF-16LE, e.g. \\server\IPC$; see UTF16ToString
}

// TreeConnectResponse is SMB2 TREE_CONNECT response (StructureSize 16).
type TreeConnectResponse struct {
	ShareType     uint8
	ShareFlags    uint32
	Capabilities  uint32
	MaximalAccess uint32
}

// TreeDisconnectRequest is SMB2 TREE_DISCONNECT request (StructureSize 4).
type TreeDisconnectRequest struct{}

// TreeDisconnectResponse is SMB2 TREE_DISCONNECT response (StructureSize 4).
type TreeDisconnectResponse struct{}

// CreateRequest is SMB2 CREATE request (StructureSize 57).
type CreateRequest struct {
	SecurityFlags        uint8
	RequestedOplockLevel uint8
	ImpersonationLevel   uint32
	SmbCreateFlags       uint64
	DesiredAccess        uint32
	FileAttributes       uint32
	ShareAccess          uint32
	CreateDisposition    uint32
	CreateOptions        uint32
	Name                 []byte // UTF-16LE, NameLength must be even
	CreateContexts       []byte // raw chain; iterate with NextCreateContext
}

// CreateContext is one element of a CREATE context chain.
type CreateContext struct {
	Name []byte // ASCII tag such as "MxAc", "DHnQ"
	Data []byte
}

// CreateResponse is SMB2 CREATE response (StructureSize 89).
type CreateResponse struct {
	OplockLevel    uint8
	Flags          uint8
	CreateAction   uint32
	CreationTime   uint64
	LastAccessTime uint64
	LastWriteTime  uint64
	ChangeTime     uint64
	AllocationSize uint64
	EndOfFile      uint64
	FileAttributes uint32
	FileID         FileID
	CreateContexts []byte // raw chain, built with AppendCreateContexts
}

// CloseRequest is SMB2 CLOSE request (StructureSize 24).
type CloseRequest struct {
	Flags  uint16
	FileID FileID
}

// CloseResponse is SMB2 CLOSE response (StructureSize 60).
type CloseResponse struct {
	Flags          uint16
	CreationTime   uint64
	LastAccessTime uint64
	LastWriteTime  uint64
	ChangeTime     uint64
	AllocationSize uint64
	EndOfFile      uint64
	FileAttributes uint32
}

// FlushRequest is SMB2 FLUSH request (StructureSize 24).
type FlushRequest struct{ FileID FileID }

// FlushResponse is SMB2 FLUSH response (StructureSize 4).
type FlushResponse struct{}

// ReadRequest is SMB2 READ request (StructureSize 49).
type ReadRequest struct {
	Padding         uint8
	Flags           uint8
	Length          uint32
	Offset          uint64
	FileID          FileID
	MinimumCount    uint32
	Channel         uint32
	RemainingBytes  uint32
	ReadChannelInfo []byte
}

// ReadResponse is SMB2 READ response (StructureSize 17). DataOffset is 0x50.
type ReadResponse struct {
	Data          []byte
	DataRemaining uint32
	Flags         uint32
}

// WriteRequest is SMB2 WRITE request (StructureSize 49).
type WriteRequest struct {
	Offset           uint64
	FileID           FileID
	Channel          uint32
	RemainingBytes   uint32
	Flags            uint32
	Data             []byte
	WriteChannelInfo []byte
}

// WriteResponse is SMB2 WRITE response (StructureSize 17).
type WriteResponse struct {
	Count     uint32
	Remaining uint32
}

// EchoRequest is SMB2 ECHO request (StructureSize 4).
type EchoRequest struct{}

// EchoResponse is SMB2 ECHO response (StructureSize 4).
type EchoResponse struct{}

// CancelRequest is SMB2 CANCEL request (StructureSize 4).
type CancelRequest struct{}

// IoctlRequest is SMB2 IOCTL request (StructureSize 57).
type IoctlRequest struct {
	CtlCode           uint32
	FileID            FileID
	Input             []byte
	MaxInputResponse  uint32
	MaxOutputResponse uint32
	Flags             uint32
	Output            []byte // rarely non-empty in requests
}

// IoctlResponse is SMB2 IOCTL response (StructureSize 49).
type IoctlResponse struct {
	CtlCode uint32
	FileID  FileID
	Input   []byte
	Output  []byte
	Flags   uint32
}

// QueryInfoRequest is SMB2 QUERY_INFO request (StructureSize 41).
type QueryInfoRequest struct {
	InfoType              uint8
	FileInfoClass         uint8
	OutputBufferLength    uint32
	Input                 []byte
	AdditionalInformation uint32
	Flags                 uint32
	FileID                FileID
}

// QueryInfoResponse is SMB2 QUERY_INFO response (StructureSize 9).
type QueryInfoResponse struct{ Output []byte }

// SetInfoRequest is SMB2 SET_INFO request (StructureSize 33).
type SetInfoRequest struct {
	InfoType              uint8
	FileInfoClass         uint8
	Buffer                []byte
	AdditionalInformation uint32
	FileID                FileID
}

// SetInfoResponse is SMB2 SET_INFO response (StructureSize 2).
type SetInfoResponse struct{}

// ErrorResponse is SMB2 ERROR response (StructureSize 9). An empty
// ErrorData is encoded as a single zero byte, as MS-SMB2 requires.
type ErrorResponse struct {
	ErrorContextCount uint8
	ErrorData         []byte
}

// Body is implemented by every message body type in this package.
type Body interface {
	Decode(msg []byte) error
	Append(dst []byte) []byte
}
