package smb2

// The payloads that travel inside IOCTL, QUERY_INFO, SET_INFO and CREATE
// context buffers and in ERROR responses: each a value with Decode (from
// the buffer alone; it never panics and never reads past it) and Append
// (to a caller-owned buffer), so that no other package writes their
// bytes.

// PipePeekBuffer is the output of FSCTL_PIPE_PEEK (MS-FSCC 2.3.46): the
// pipe's state and what is queued, then as much of the data as fits.
type PipePeekBuffer struct {
	NamedPipeState    uint32
	ReadDataAvailable uint32
	NumberOfMessages  uint32
	MessageLength     uint32 // of the first message (message mode)
	Data              []byte // aliases the input after Decode
}

// PipePeekHeaderSize is the fixed part of a PipePeekBuffer.
const PipePeekHeaderSize = 16

// Decode parses b.
func (m *PipePeekBuffer) Decode(b []byte) error {
	if len(b) < PipePeekHeaderSize {
		return malformed("FSCTL_PIPE_PEEK output", "length", "shorter than 16 bytes")
	}
	*m = PipePeekBuffer{
		NamedPipeState:    le32(b, 0),
		ReadDataAvailable: le32(b, 4),
		NumberOfMessages:  le32(b, 8),
		MessageLength:     le32(b, 12),
		Data:              b[PipePeekHeaderSize:],
	}
	return nil
}

// Append appends the buffer.
func (m *PipePeekBuffer) Append(dst []byte) []byte {
	dst = m.AppendHeader(dst)
	return append(dst, m.Data...)
}

// AppendHeader appends the fixed part only (the data is written after it
// by the caller).
func (m *PipePeekBuffer) AppendHeader(dst []byte) []byte {
	dst = app32(dst, m.NamedPipeState)
	dst = app32(dst, m.ReadDataAvailable)
	dst = app32(dst, m.NumberOfMessages)
	return app32(dst, m.MessageLength)
}

// PipeWaitRequest is the input of FSCTL_PIPE_WAIT (MS-FSCC 2.3.49): wait
// until an instance of Name (without \pipe\) is free.
type PipeWaitRequest struct {
	// Timeout is the raw value in 100 ns units (negative: relative, as the
	// NT API encodes it); it counts only when TimeoutSpecified.
	Timeout          int64
	TimeoutSpecified bool
	Name             string
}

// Decode parses b. A Name that is not valid UTF-16 decodes as "", which
// names no pipe.
func (m *PipeWaitRequest) Decode(b []byte) error {
	const what = "FSCTL_PIPE_WAIT input"
	if len(b) < 14 {
		return malformed(what, "length", "shorter than 14 bytes")
	}
	n := le32(b, 8)
	if uint64(n) > uint64(len(b)-14) {
		return malformed(what, "NameLength", "past the end")
	}
	name, err := UTF16ToString(b[14 : 14+n])
	if err != nil {
		name = ""
	}
	*m = PipeWaitRequest{Timeout: int64(le64(b, 0)), TimeoutSpecified: b[12] != 0, Name: name}
	return nil
}

// Append appends the request.
func (m *PipeWaitRequest) Append(dst []byte) []byte {
	dst = app64(dst, uint64(m.Timeout))
	at := len(dst)
	dst = app32(dst, 0) // NameLength, set below
	spec := byte(0)
	if m.TimeoutSpecified {
		spec = 1
	}
	dst = append(dst, spec, 0)
	start := len(dst)
	dst = AppendUTF16(dst, m.Name)
	put32(dst, at, uint32(len(dst)-start))
	return dst
}

// ValidateNegotiateInfoRequest is the input of
// FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 2.2.31.4): what the client sent
// in its NEGOTIATE.
type ValidateNegotiateInfoRequest struct {
	Capabilities uint32
	GUID         [16]byte
	SecurityMode uint16
	Dialects     []Dialect
}

// Decode parses b (Dialects is a new slice).
func (m *ValidateNegotiateInfoRequest) Decode(b []byte) error {
	const what = "VALIDATE_NEGOTIATE_INFO request"
	if len(b) < 24 {
		return malformed(what, "length", "shorter than 24 bytes")
	}
	count := int(le16(b, 22))
	if len(b)-24 < 2*count {
		return malformed(what, "DialectCount", "past the end")
	}
	*m = ValidateNegotiateInfoRequest{Capabilities: le32(b, 0), GUID: [16]byte(b[4:20]), SecurityMode: le16(b, 20),
		Dialects: make([]Dialect, count)}
	for i := range m.Dialects {
		m.Dialects[i] = Dialect(le16(b, 24+2*i))
	}
	return nil
}

// Append appends the request.
func (m *ValidateNegotiateInfoRequest) Append(dst []byte) []byte {
	dst = app32(dst, m.Capabilities)
	dst = append(dst, m.GUID[:]...)
	dst = app16(dst, m.SecurityMode)
	dst = app16(dst, uint16(len(m.Dialects)))
	for _, d := range m.Dialects {
		dst = app16(dst, uint16(d))
	}
	return dst
}

// ValidateNegotiateInfoResponse is the output of
// FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 2.2.32.6): what the server
// answered to NEGOTIATE.
type ValidateNegotiateInfoResponse struct {
	Capabilities uint32
	GUID         [16]byte
	SecurityMode uint16
	Dialect      Dialect
}

// ValidateNegotiateInfoResponseSize is its size.
const ValidateNegotiateInfoResponseSize = 24

// Decode parses b.
func (m *ValidateNegotiateInfoResponse) Decode(b []byte) error {
	if len(b) < ValidateNegotiateInfoResponseSize {
		return malformed("VALIDATE_NEGOTIATE_INFO response", "length", "shorter than 24 bytes")
	}
	*m = ValidateNegotiateInfoResponse{Capabilities: le32(b, 0), GUID: [16]byte(b[4:20]), SecurityMode: le16(b, 20),
		Dialect: Dialect(le16(b, 22))}
	return nil
}

// Append appends the response.
func (m *ValidateNegotiateInfoResponse) Append(dst []byte) []byte {
	dst = app32(dst, m.Capabilities)
	dst = append(dst, m.GUID[:]...)
	dst = app16(dst, m.SecurityMode)
	return app16(dst, uint16(m.Dialect))
}

// FilePipeInfo is FilePipeInformation (MS-FSCC 2.4.33), for QUERY_INFO
// and SET_INFO: the read mode (0 byte, 1 message) and the completion mode
// (0 queue, 1 complete at once).
type FilePipeInfo struct {
	ReadMode       uint32
	CompletionMode uint32
}

// FilePipeInfoSize is its size.
const FilePipeInfoSize = 8

// Decode parses b.
func (m *FilePipeInfo) Decode(b []byte) error {
	if len(b) < FilePipeInfoSize {
		return malformed("FilePipeInformation", "length", "shorter than 8 bytes")
	}
	*m = FilePipeInfo{ReadMode: le32(b, 0), CompletionMode: le32(b, 4)}
	return nil
}

// Append appends it.
func (m *FilePipeInfo) Append(dst []byte) []byte {
	return app32(app32(dst, m.ReadMode), m.CompletionMode)
}

// FilePipeLocalInfo is FilePipeLocalInformation (MS-FSCC 2.4.34).
type FilePipeLocalInfo struct {
	NamedPipeType          uint32 // 0 byte stream, 1 message
	NamedPipeConfiguration uint32 // 0 inbound, 1 outbound, 2 full duplex
	MaximumInstances       uint32 // 0xFFFFFFFF unlimited
	CurrentInstances       uint32
	InboundQuota           uint32
	ReadDataAvailable      uint32
	OutboundQuota          uint32
	WriteQuotaAvailable    uint32
	NamedPipeState         uint32 // 3 connected, 4 closing
	NamedPipeEnd           uint32 // 0 client end, 1 server end
}

// FilePipeLocalInfoSize is its size.
const FilePipeLocalInfoSize = 40

// Decode parses b.
func (m *FilePipeLocalInfo) Decode(b []byte) error {
	if len(b) < FilePipeLocalInfoSize {
		return malformed("FilePipeLocalInformation", "length", "shorter than 40 bytes")
	}
	*m = FilePipeLocalInfo{le32(b, 0), le32(b, 4), le32(b, 8), le32(b, 12), le32(b, 16),
		le32(b, 20), le32(b, 24), le32(b, 28), le32(b, 32), le32(b, 36)}
	return nil
}

// Append appends it.
func (m *FilePipeLocalInfo) Append(dst []byte) []byte {
	for _, v := range [...]uint32{m.NamedPipeType, m.NamedPipeConfiguration, m.MaximumInstances, m.CurrentInstances,
		m.InboundQuota, m.ReadDataAvailable, m.OutboundQuota, m.WriteQuotaAvailable, m.NamedPipeState, m.NamedPipeEnd} {
		dst = app32(dst, v)
	}
	return dst
}

// FileStandardInfo is FileStandardInformation (MS-FSCC 2.4.41).
type FileStandardInfo struct {
	AllocationSize uint64
	EndOfFile      uint64
	NumberOfLinks  uint32
	DeletePending  bool
	Directory      bool
}

// FileStandardInfoSize is its size (with the 2 reserved bytes).
const FileStandardInfoSize = 24

// Decode parses b.
func (m *FileStandardInfo) Decode(b []byte) error {
	if len(b) < FileStandardInfoSize {
		return malformed("FileStandardInformation", "length", "shorter than 24 bytes")
	}
	*m = FileStandardInfo{AllocationSize: le64(b, 0), EndOfFile: le64(b, 8), NumberOfLinks: le32(b, 16),
		DeletePending: b[20] != 0, Directory: b[21] != 0}
	return nil
}

// Append appends it.
func (m *FileStandardInfo) Append(dst []byte) []byte {
	dst = app64(dst, m.AllocationSize)
	dst = app64(dst, m.EndOfFile)
	dst = app32(dst, m.NumberOfLinks)
	return append(dst, boolByte(m.DeletePending), boolByte(m.Directory), 0, 0)
}

// MaximalAccessResponse is the data of the MxAc create context in a
// CREATE response (MS-SMB2 2.2.14.2.5).
type MaximalAccessResponse struct {
	QueryStatus   Status
	MaximalAccess uint32
}

// Decode parses b.
func (m *MaximalAccessResponse) Decode(b []byte) error {
	if len(b) < 8 {
		return malformed("MxAc response", "length", "shorter than 8 bytes")
	}
	*m = MaximalAccessResponse{QueryStatus: Status(le32(b, 0)), MaximalAccess: le32(b, 4)}
	return nil
}

// Append appends it.
func (m *MaximalAccessResponse) Append(dst []byte) []byte {
	return app32(app32(dst, uint32(m.QueryStatus)), m.MaximalAccess)
}

// AppendSizeErrorData appends the ErrorData of an ERROR response that
// carries a 4-byte value (the size a buffer needs, MS-SMB2 2.2.2): the
// value itself before 3.1.1, one error context (ErrorDataLength 4,
// ErrorId SMB2_ERROR_ID_DEFAULT) on 3.1.1. It returns the data and the
// ErrorContextCount.
func AppendSizeErrorData(dst []byte, dialect Dialect, v uint32) ([]byte, uint8) {
	if dialect == Dialect311 {
		return app32(app32(app32(dst, 4), 0), v), 1
	}
	return app32(dst, v), 0
}

// FileIDAt reads the FileId at body offset off of the request msg (header
// first); false when msg is too short.
func FileIDAt(msg []byte, off int) (FileID, bool) {
	p := HeaderSize + off
	if off < 0 || len(msg) < p+16 {
		return FileID{}, false
	}
	return fileID(msg, p), true
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// CreditCharge is the CreditCharge of a request that moves size bytes (the
// larger of its payload and its expected response) on a dialect with
// multi-credit requests (2.1 and later): one credit per 64 KiB started, at
// least one (MS-SMB2 3.1.5.2).
func CreditCharge(size int) uint16 {
	if size <= 65536 {
		return 1
	}
	return uint16(min((size-1)/65536+1, 0xFFFF))
}
