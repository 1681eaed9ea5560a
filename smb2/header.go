package smb2

import "github.com/smbpipe/smbpipe/ntstatus"

// Header field offsets (MS-SMB2 2.2.1).
const (
	offStructureSize = 4
	offCreditCharge  = 6
	offStatus        = 8
	offCommand       = 12
	offCredit        = 14
	offFlags         = 16
	offNextCommand   = 20
	offMessageID     = 24
	offAsyncID       = 32
	offProcessID     = 32
	offTreeID        = 36
	offSessionID     = 40
	offSignature     = 48
)

// CmdInvalid is what PeekCommand returns for a message too short to carry a
// command. It is not an SMB2 command.
const CmdInvalid Command = 0xFFFF

var commandNames = [NumCommands]string{
	"NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT",
	"CREATE", "CLOSE", "FLUSH", "READ", "WRITE", "LOCK", "IOCTL", "CANCEL",
	"ECHO", "QUERY_DIRECTORY", "CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO",
	"OPLOCK_BREAK",
}

// String returns the MS-SMB2 name of the command ("READ"), or a hex form.
func (c Command) String() string {
	if int(c) < len(commandNames) {
		return commandNames[c]
	}
	const hex = "0123456789ABCDEF"
	return "Command(0x" + string([]byte{hex[c>>12&15], hex[c>>8&15], hex[c>>4&15], hex[c&15]}) + ")"
}

func isSMB2(msg []byte) bool {
	return len(msg) >= 4 && msg[0] == ProtocolID[0] && msg[1] == ProtocolID[1] &&
		msg[2] == ProtocolID[2] && msg[3] == ProtocolID[3]
}

// Decode parses the 64-byte header at the start of msg (sync or async form
// by the ASYNC_COMMAND flag). It checks the protocol id and StructureSize;
// it does not look at the body. It does not allocate.
func (h *Header) Decode(msg []byte) error {
	if len(msg) < HeaderSize {
		return malformed("header", "", "shorter than 64 bytes")
	}
	if !isSMB2(msg) {
		return malformed("header", "ProtocolId", "not 0xFE 'SMB'")
	}
	if le16(msg, offStructureSize) != HeaderSize {
		return malformed("header", "StructureSize", "not 64")
	}
	*h = Header{
		CreditCharge: le16(msg, offCreditCharge),
		Status:       Status(le32(msg, offStatus)),
		Command:      Command(le16(msg, offCommand)),
		Credit:       le16(msg, offCredit),
		Flags:        le32(msg, offFlags),
		NextCommand:  le32(msg, offNextCommand),
		MessageID:    le64(msg, offMessageID),
		SessionID:    le64(msg, offSessionID),
	}
	if h.IsAsync() {
		h.AsyncID = le64(msg, offAsyncID)
	} else {
		h.ProcessID = le32(msg, offProcessID)
		h.TreeID = le32(msg, offTreeID)
	}
	copy(h.Signature[:], msg[offSignature:HeaderSize])
	return nil
}

// Append appends the 64-byte header: the async form (AsyncID) when Flags
// has FlagAsyncCommand, else the sync form (ProcessID, TreeID).
// NextCommand and Signature are written as they are; compounds and signing
// patch them afterwards with PutNextCommand and PutSignature.
func (h *Header) Append(dst []byte) []byte {
	dst = append(dst, ProtocolID[:]...)
	dst = app16(dst, HeaderSize)
	dst = app16(dst, h.CreditCharge)
	dst = app32(dst, uint32(h.Status))
	dst = app16(dst, uint16(h.Command))
	dst = app16(dst, h.Credit)
	dst = app32(dst, h.Flags)
	dst = app32(dst, h.NextCommand)
	dst = app64(dst, h.MessageID)
	if h.IsAsync() {
		dst = app64(dst, h.AsyncID)
	} else {
		dst = app32(dst, h.ProcessID)
		dst = app32(dst, h.TreeID)
	}
	dst = app64(dst, h.SessionID)
	return append(dst, h.Signature[:]...)
}

// In-place header accessors. They read or patch one field of the header at
// the start of msg without decoding the rest; they neither allocate nor
// check the protocol id. On a msg shorter than HeaderSize, the Peek
// functions return zero (CmdInvalid for PeekCommand) and the Put functions
// do nothing.

// PeekCommand returns the Command field, or CmdInvalid.
func PeekCommand(msg []byte) Command {
	if len(msg) < HeaderSize {
		return CmdInvalid
	}
	return Command(le16(msg, offCommand))
}

// PeekMessageID returns the MessageId field.
func PeekMessageID(msg []byte) uint64 {
	if len(msg) < HeaderSize {
		return 0
	}
	return le64(msg, offMessageID)
}

// PeekFlags returns the Flags field.
func PeekFlags(msg []byte) uint32 {
	if len(msg) < HeaderSize {
		return 0
	}
	return le32(msg, offFlags)
}

// PeekStatus returns the Status field.
func PeekStatus(msg []byte) Status {
	if len(msg) < HeaderSize {
		return 0
	}
	return Status(le32(msg, offStatus))
}

// PutNextCommand sets NextCommand (the offset of the next message of a
// compound, relative to this header; 0 for the last).
func PutNextCommand(msg []byte, next uint32) {
	if len(msg) >= HeaderSize {
		put32(msg, offNextCommand, next)
	}
}

// PutFlags sets Flags.
func PutFlags(msg []byte, flags uint32) {
	if len(msg) >= HeaderSize {
		put32(msg, offFlags, flags)
	}
}

// HasErrorBody reports whether msg, a response, carries an ERROR response
// body (MS-SMB2 2.2.2) rather than the command's own response body. That is
// the case for every non-success Status except those MS-SMB2 3.3.4.4 lists:
// STATUS_MORE_PROCESSING_REQUIRED on SESSION_SETUP, STATUS_BUFFER_OVERFLOW on
// READ, QUERY_INFO and IOCTL, STATUS_NOTIFY_ENUM_DIR on CHANGE_NOTIFY, and
// STATUS_INVALID_PARAMETER on an IOCTL whose body is a full IOCTL response
// (copy-chunk). An interim STATUS_PENDING response has an ERROR body.
// Requests and messages shorter than a header report false.
func HasErrorBody(msg []byte) bool {
	if len(msg) < HeaderSize || PeekFlags(msg)&FlagServerToRedir == 0 {
		return false
	}
	st := PeekStatus(msg)
	switch cmd := PeekCommand(msg); {
	case st == ntstatus.Success:
		return false
	case st == ntstatus.MoreProcessingRequired && cmd == CmdSessionSetup:
		return false
	case st == ntstatus.BufferOverflow && (cmd == CmdRead || cmd == CmdQueryInfo || cmd == CmdIoctl):
		return false
	case st == ntstatus.NotifyEnumDir && cmd == CmdChangeNotify:
		return false
	case st == ntstatus.InvalidParameter && cmd == CmdIoctl:
		return !(len(msg) >= HeaderSize+2 && le16(msg, HeaderSize) == ioctlResponseSize)
	}
	return true
}
