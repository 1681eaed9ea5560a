// Package smb2 is the SMB2/SMB3 wire codec: message structs, their decoding
// from and encoding to bytes, and the protocol's constants.
//
// It does no I/O and keeps no state. Decoders validate every offset and length
// and never panic, whatever the input. Decoded values alias the input buffer
// (byte-slice fields point into it): they are valid until the caller reuses
// that buffer. Encoders append to a caller-owned buffer and return it.
//
// Message layout: a message is the 64-byte header followed by the body.
// Offsets inside bodies (buffer offsets) are relative to the start of the
// header, so every body decoder takes the whole message (msg, header first)
// and every body encoder assumes the body will directly follow a 64-byte
// header (offset = HeaderSize + position within the body).
package smb2

import (
	"fmt"

	"github.com/smbpipe/smbpipe/ntstatus"
)

// Status is the NTSTATUS type used in headers.
type Status = ntstatus.Status

// HeaderSize is the size of the SMB2 sync and async header.
const HeaderSize = 64

// ProtocolID is the 4-byte magic that starts every SMB2 header.
var ProtocolID = [4]byte{0xFE, 'S', 'M', 'B'}

// Command is an SMB2 command code.
type Command uint16

// SMB2 commands.
const (
	CmdNegotiate      Command = 0x0000
	CmdSessionSetup   Command = 0x0001
	CmdLogoff         Command = 0x0002
	CmdTreeConnect    Command = 0x0003
	CmdTreeDisconnect Command = 0x0004
	CmdCreate         Command = 0x0005
	CmdClose          Command = 0x0006
	CmdFlush          Command = 0x0007
	CmdRead           Command = 0x0008
	CmdWrite          Command = 0x0009
	CmdLock           Command = 0x000A
	CmdIoctl          Command = 0x000B
	CmdCancel         Command = 0x000C
	CmdEcho           Command = 0x000D
	CmdQueryDirectory Command = 0x000E
	CmdChangeNotify   Command = 0x000F
	CmdQueryInfo      Command = 0x0010
	CmdSetInfo        Command = 0x0011
	CmdOplockBreak    Command = 0x0012
	NumCommands               = 0x0013
)

// Header flags.
const (
	FlagServerToRedir     uint32 = 0x00000001
	FlagAsyncCommand      uint32 = 0x00000002
	FlagRelatedOperations uint32 = 0x00000004
	FlagSigned            uint32 = 0x00000008
	FlagPriorityMask      uint32 = 0x00000070
	FlagDFSOperations     uint32 = 0x10000000
	FlagReplayOperation   uint32 = 0x20000000
)

// Dialect is an SMB2 dialect revision.
type Dialect uint16

// Dialects.
const (
	Dialect202      Dialect = 0x0202
	Dialect210      Dialect = 0x0210
	Dialect300      Dialect = 0x0300
	Dialect302      Dialect = 0x0302
	Dialect311      Dialect = 0x0311
	DialectWildcard Dialect = 0x02FF
)

// SecurityMode bits (NEGOTIATE, SESSION_SETUP).
const (
	SigningEnabled  uint16 = 0x0001
	SigningRequired uint16 = 0x0002
)

// Global capabilities.
const (
	CapDFS               uint32 = 0x00000001
	CapLeasing           uint32 = 0x00000002
	CapLargeMTU          uint32 = 0x00000004
	CapMultiChannel      uint32 = 0x00000008
	CapPersistentHandles uint32 = 0x00000010
	CapDirectoryLeasing  uint32 = 0x00000020
	CapEncryption        uint32 = 0x00000040
)

// Negotiate context types and algorithm ids.
const (
	CtxPreauthIntegrity uint16 = 0x0001
	CtxEncryption       uint16 = 0x0002
	CtxCompression      uint16 = 0x0003
	CtxNetname          uint16 = 0x0005
	CtxTransport        uint16 = 0x0006
	CtxRDMATransform    uint16 = 0x0007
	CtxSigning          uint16 = 0x0008

	HashSHA512 uint16 = 0x0001

	CipherAES128CCM uint16 = 0x0001
	CipherAES128GCM uint16 = 0x0002
	CipherAES256CCM uint16 = 0x0003
	CipherAES256GCM uint16 = 0x0004

	SigningHMACSHA256 uint16 = 0x0000
	SigningAESCMAC    uint16 = 0x0001
	SigningAESGMAC    uint16 = 0x0002
)

// Session flags (SESSION_SETUP response) and request flags.
const (
	SessionFlagIsGuest  uint16 = 0x0001
	SessionFlagIsNull   uint16 = 0x0002
	SessionFlagEncrypt  uint16 = 0x0004
	SessionSetupBinding uint8  = 0x01
)

// Share types and flags (TREE_CONNECT response).
const (
	ShareTypeDisk  uint8 = 0x01
	ShareTypePipe  uint8 = 0x02
	ShareTypePrint uint8 = 0x03

	ShareFlagNoCaching uint32 = 0x00000030
)

// IOCTL flags and FSCTL codes used on pipes.
const (
	IoctlIsFsctl uint32 = 0x00000001

	FsctlPipePeek           uint32 = 0x0011400C
	FsctlPipeWait           uint32 = 0x00110018
	FsctlPipeTransceive     uint32 = 0x0011C017
	FsctlValidateNegotiate  uint32 = 0x00140204
	FsctlDfsGetReferrals    uint32 = 0x00060194
	FsctlQueryNetworkIfInfo uint32 = 0x001401FC
)

// QUERY_INFO / SET_INFO info types and file information classes.
const (
	InfoFile       uint8 = 0x01
	InfoFilesystem uint8 = 0x02
	InfoSecurity   uint8 = 0x03
	InfoQuota      uint8 = 0x04

	FileBasicInformation        uint8 = 4
	FileStandardInformation     uint8 = 5
	FileInternalInformation     uint8 = 6
	FileEaInformation           uint8 = 7
	FileAccessInformation       uint8 = 8
	FilePositionInformation     uint8 = 14
	FileModeInformation         uint8 = 16
	FileAlignmentInformation    uint8 = 17
	FileAllInformation          uint8 = 18
	FileNetworkOpenInformation  uint8 = 34
	FilePipeInformation         uint8 = 23
	FilePipeLocalInformation    uint8 = 24
	FilePipeRemoteInformation   uint8 = 25
	FileAttributeTagInformation uint8 = 35
)

// READ and WRITE flags.
const (
	ReadFlagUnbuffered       uint8  = 0x01
	ReadFlagCompressed       uint8  = 0x02
	WriteFlagWriteThrough    uint32 = 0x00000001
	WriteFlagWriteUnbuffered uint32 = 0x00000002
)

// CREATE values.
const (
	ImpersonationAnonymous      uint32 = 0
	ImpersonationIdentification uint32 = 1
	ImpersonationImpersonation  uint32 = 2
	ImpersonationDelegate       uint32 = 3

	FileOpened uint32 = 1 // CreateAction

	FileAttributeNormal uint32 = 0x80

	CloseFlagPostQueryAttrib uint16 = 0x0001
)

// FileID identifies an open.
type FileID struct {
	Persistent uint64
	Volatile   uint64
}

// WildcardFileID is the all-0xFF FileId used by FSCTL_PIPE_WAIT and by
// related compound requests that refer to the previous request's open.
var WildcardFileID = FileID{^uint64(0), ^uint64(0)}

// Header is the SMB2 packet header (sync or async form).
type Header struct {
	CreditCharge uint16
	// Status is the NTSTATUS in responses; in requests of 3.x it is
	// ChannelSequence (low 16 bits) and Reserved.
	Status      Status
	Command     Command
	Credit      uint16 // CreditRequest in requests, CreditResponse in responses
	Flags       uint32
	NextCommand uint32
	MessageID   uint64
	AsyncID     uint64 // valid when Flags&FlagAsyncCommand != 0
	ProcessID   uint32 // sync form only (Reserved)
	TreeID      uint32 // sync form only
	SessionID   uint64
	Signature   [16]byte
}

// IsAsync reports whether the header is in async form.
func (h *Header) IsAsync() bool { return h.Flags&FlagAsyncCommand != 0 }

// IsResponse reports whether SERVER_TO_REDIR is set.
func (h *Header) IsResponse() bool { return h.Flags&FlagServerToRedir != 0 }

// String returns the dotted name of d ("2.0.2", "2.1", "3.0", "3.0.2",
// "3.1.1"), "2.???" for the SMB1 upgrade wildcard, "none" for 0 and the hex
// value otherwise.
func (d Dialect) String() string {
	switch d {
	case 0:
		return "none"
	case Dialect202:
		return "2.0.2"
	case Dialect210:
		return "2.1"
	case Dialect300:
		return "3.0"
	case Dialect302:
		return "3.0.2"
	case Dialect311:
		return "3.1.1"
	case DialectWildcard:
		return "2.???"
	}
	return fmt.Sprintf("%#04x", uint16(d))
}
