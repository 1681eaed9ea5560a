// Package ntstatus holds the NTSTATUS codes smbpipe sends and understands,
// their symbolic names, and the Win32 error a Windows client reports for each.
//
// It is pure data: no I/O, no dependencies beyond the standard library.
package ntstatus

import "fmt"

// Status is an NTSTATUS value as carried in the SMB2 header.
type Status uint32

// Codes used by smbpipe (values from MS-ERREF 2.3).
const (
	Success                Status = 0x00000000
	Pending                Status = 0x00000103
	NotifyEnumDir          Status = 0x0000010C
	BufferOverflow         Status = 0x80000005
	NoMoreFiles            Status = 0x80000006
	Unsuccessful           Status = 0xC0000001
	NotImplemented         Status = 0xC0000002
	InvalidInfoClass       Status = 0xC0000003
	InfoLengthMismatch     Status = 0xC0000004
	InvalidHandle          Status = 0xC0000008
	InvalidParameter       Status = 0xC000000D
	NoSuchFile             Status = 0xC000000F
	InvalidDeviceRequest   Status = 0xC0000010
	EndOfFile              Status = 0xC0000011
	MoreProcessingRequired Status = 0xC0000016
	NoMemory               Status = 0xC0000017
	AccessDenied           Status = 0xC0000022
	BufferTooSmall         Status = 0xC0000023
	ObjectNameInvalid      Status = 0xC0000033
	ObjectNameNotFound     Status = 0xC0000034
	ObjectNameCollision    Status = 0xC0000035
	ObjectPathNotFound     Status = 0xC000003A
	ObjectPathSyntaxBad    Status = 0xC000003B
	SharingViolation       Status = 0xC0000043
	PrivilegeNotHeld       Status = 0xC0000061
	LogonFailure           Status = 0xC000006D
	AccountRestriction     Status = 0xC000006E
	AccountDisabled        Status = 0xC0000072
	NoneMapped             Status = 0xC0000073
	InsufficientResources  Status = 0xC000009A
	BadImpersonationLevel  Status = 0xC00000A5
	InstanceNotAvailable   Status = 0xC00000AB
	PipeNotAvailable       Status = 0xC00000AC
	InvalidPipeState       Status = 0xC00000AD
	PipeBusy               Status = 0xC00000AE
	IllegalFunction        Status = 0xC00000AF
	PipeDisconnected       Status = 0xC00000B0
	PipeClosing            Status = 0xC00000B1
	PipeConnected          Status = 0xC00000B2
	PipeListening          Status = 0xC00000B3
	InvalidReadMode        Status = 0xC00000B4
	IOTimeout              Status = 0xC00000B5
	FileForcedClosed       Status = 0xC00000B6
	NotSupported           Status = 0xC00000BB
	NetworkNameDeleted     Status = 0xC00000C9
	BadNetworkName         Status = 0xC00000CC
	RequestNotAccepted     Status = 0xC00000D0
	PipeEmpty              Status = 0xC00000D9
	InternalError          Status = 0xC00000E5
	FileClosed             Status = 0xC0000128
	Cancelled              Status = 0xC0000120
	PipeBroken             Status = 0xC000014B
	FSDriverRequired       Status = 0xC000019C
	UserSessionDeleted     Status = 0xC0000203
	NetworkSessionExpired  Status = 0xC000035C
	NotFound               Status = 0xC0000225
	ConnectionDisconnected Status = 0xC000020C
	InvalidNetworkResponse Status = 0xC00000C3
	TooManyOpenedFiles     Status = 0xC000011F
	RequestAborted         Status = 0xC0000240
	DataError              Status = 0xC000003E
	InvalidSignature       Status = 0xC000A000
	AccessViolationStatus  Status = 0xC0000005
	WrongPassword          Status = 0xC000006A
	NoSuchUser             Status = 0xC0000064
	DuplicateObjectID      Status = 0xC000022A
	CannotDelete           Status = 0xC0000121
	NotADirectory          Status = 0xC0000103
	FileIsADirectory       Status = 0xC00000BA
	RemoteNotListening     Status = 0xC00000BC
	UnexpectedNetworkError Status = 0xC00000C4
	NetworkAccessDenied    Status = 0xC00000CA
	BadDeviceType          Status = 0xC00000CB
	SMBBadCommand          Status = 0x00160002
	BadFileType            Status = 0xC0000124
	TimeDifferenceAtDC     Status = 0xC0000133
)

var names = map[Status]string{
	Success: "STATUS_SUCCESS", Pending: "STATUS_PENDING", NotifyEnumDir: "STATUS_NOTIFY_ENUM_DIR",
	BufferOverflow: "STATUS_BUFFER_OVERFLOW", NoMoreFiles: "STATUS_NO_MORE_FILES",
	Unsuccessful: "STATUS_UNSUCCESSFUL", NotImplemented: "STATUS_NOT_IMPLEMENTED",
	InvalidInfoClass: "STATUS_INVALID_INFO_CLASS", InfoLengthMismatch: "STATUS_INFO_LENGTH_MISMATCH",
	InvalidHandle: "STATUS_INVALID_HANDLE", InvalidParameter: "STATUS_INVALID_PARAMETER",
	NoSuchFile: "STATUS_NO_SUCH_FILE", InvalidDeviceRequest: "STATUS_INVALID_DEVICE_REQUEST",
	EndOfFile: "STATUS_END_OF_FILE", MoreProcessingRequired: "STATUS_MORE_PROCESSING_REQUIRED",
	NoMemory: "STATUS_NO_MEMORY", AccessDenied: "STATUS_ACCESS_DENIED", BufferTooSmall: "STATUS_BUFFER_TOO_SMALL",
	ObjectNameInvalid: "STATUS_OBJECT_NAME_INVALID", ObjectNameNotFound: "STATUS_OBJECT_NAME_NOT_FOUND",
	ObjectNameCollision: "STATUS_OBJECT_NAME_COLLISION", ObjectPathNotFound: "STATUS_OBJECT_PATH_NOT_FOUND",
	ObjectPathSyntaxBad: "STATUS_OBJECT_PATH_SYNTAX_BAD", SharingViolation: "STATUS_SHARING_VIOLATION",
	PrivilegeNotHeld: "STATUS_PRIVILEGE_NOT_HELD", LogonFailure: "STATUS_LOGON_FAILURE",
	AccountRestriction: "STATUS_ACCOUNT_RESTRICTION", AccountDisabled: "STATUS_ACCOUNT_DISABLED",
	NoneMapped: "STATUS_NONE_MAPPED", InsufficientResources: "STATUS_INSUFFICIENT_RESOURCES",
	BadImpersonationLevel: "STATUS_BAD_IMPERSONATION_LEVEL", InstanceNotAvailable: "STATUS_INSTANCE_NOT_AVAILABLE",
	PipeNotAvailable: "STATUS_PIPE_NOT_AVAILABLE", InvalidPipeState: "STATUS_INVALID_PIPE_STATE",
	PipeBusy: "STATUS_PIPE_BUSY", IllegalFunction: "STATUS_ILLEGAL_FUNCTION",
	PipeDisconnected: "STATUS_PIPE_DISCONNECTED", PipeClosing: "STATUS_PIPE_CLOSING",
	PipeConnected: "STATUS_PIPE_CONNECTED", PipeListening: "STATUS_PIPE_LISTENING",
	InvalidReadMode: "STATUS_INVALID_READ_MODE", IOTimeout: "STATUS_IO_TIMEOUT",
	FileForcedClosed: "STATUS_FILE_FORCED_CLOSED", NotSupported: "STATUS_NOT_SUPPORTED",
	NetworkNameDeleted: "STATUS_NETWORK_NAME_DELETED", BadNetworkName: "STATUS_BAD_NETWORK_NAME",
	RequestNotAccepted: "STATUS_REQUEST_NOT_ACCEPTED", PipeEmpty: "STATUS_PIPE_EMPTY",
	InternalError: "STATUS_INTERNAL_ERROR", FileClosed: "STATUS_FILE_CLOSED", Cancelled: "STATUS_CANCELLED",
	PipeBroken: "STATUS_PIPE_BROKEN", FSDriverRequired: "STATUS_FS_DRIVER_REQUIRED",
	UserSessionDeleted: "STATUS_USER_SESSION_DELETED", NetworkSessionExpired: "STATUS_NETWORK_SESSION_EXPIRED",
	NotFound: "STATUS_NOT_FOUND", ConnectionDisconnected: "STATUS_CONNECTION_DISCONNECTED",
	InvalidNetworkResponse: "STATUS_INVALID_NETWORK_RESPONSE", TooManyOpenedFiles: "STATUS_TOO_MANY_OPENED_FILES",
	RequestAborted: "STATUS_REQUEST_ABORTED", DataError: "STATUS_DATA_ERROR", InvalidSignature: "STATUS_INVALID_SIGNATURE",
	AccessViolationStatus: "STATUS_ACCESS_VIOLATION", WrongPassword: "STATUS_WRONG_PASSWORD",
	NoSuchUser: "STATUS_NO_SUCH_USER", DuplicateObjectID: "STATUS_DUPLICATE_OBJECTID",
	CannotDelete: "STATUS_CANNOT_DELETE", NotADirectory: "STATUS_NOT_A_DIRECTORY", FileIsADirectory: "STATUS_FILE_IS_A_DIRECTORY",
	RemoteNotListening: "STATUS_REMOTE_NOT_LISTENING", UnexpectedNetworkError: "STATUS_UNEXPECTED_NETWORK_ERROR",
	NetworkAccessDenied: "STATUS_NETWORK_ACCESS_DENIED", BadDeviceType: "STATUS_BAD_DEVICE_TYPE",
	SMBBadCommand: "STATUS_SMB_BAD_COMMAND", BadFileType: "STATUS_BAD_FILE_TYPE",
	TimeDifferenceAtDC: "STATUS_TIME_DIFFERENCE_AT_DC",
}

// String returns the symbolic name, e.g. "STATUS_ACCESS_DENIED", or the hex
// value for codes this package does not name.
func (s Status) String() string {
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("NTSTATUS(0x%08X)", uint32(s))
}

// IsError reports whether s is of the error severity (0xC...).
func (s Status) IsError() bool { return uint32(s)>>30 == 3 }

// IsWarning reports whether s is of the warning severity (0x8...), such as
// STATUS_BUFFER_OVERFLOW, which carries data.
func (s Status) IsWarning() bool { return uint32(s)>>30 == 2 }

// Error makes a Status usable as a Go error. Callers compare with errors.Is
// or errors.As against a Status value.
func (s Status) Error() string { return s.String() }

// Win32 error codes a Windows client reports (RtlNtStatusToDosError).
var win32 = map[Status]uint32{
	Success: 0, BufferOverflow: 234, AccessDenied: 5, ObjectNameNotFound: 2, ObjectNameInvalid: 123,
	ObjectPathNotFound: 3, PipeNotAvailable: 231, InstanceNotAvailable: 231, PipeBusy: 231,
	BadImpersonationLevel: 1346, BadNetworkName: 67, PipeBroken: 109, PipeDisconnected: 233,
	PipeClosing: 232, PipeEmpty: 232, InvalidPipeState: 230, PipeListening: 536, IOTimeout: 121,
	LogonFailure: 1326, InvalidParameter: 87, NotSupported: 50, InsufficientResources: 1450,
	Cancelled: 995, InvalidHandle: 6, FileClosed: 6, UserSessionDeleted: 1312, NetworkNameDeleted: 64,
	InvalidDeviceRequest: 1, EndOfFile: 38, InfoLengthMismatch: 24, InvalidInfoClass: 87,
	MoreProcessingRequired: 234, PrivilegeNotHeld: 1314, NotImplemented: 1, FSDriverRequired: 588,
	InvalidSignature: 6, Pending: 997, NoMemory: 8, AccountDisabled: 1331, WrongPassword: 86,
	NoSuchUser: 1317, BufferTooSmall: 122, TimeDifferenceAtDC: 1398,
}

var win32Names = map[uint32]string{
	0: "ERROR_SUCCESS", 1: "ERROR_INVALID_FUNCTION", 2: "ERROR_FILE_NOT_FOUND", 3: "ERROR_PATH_NOT_FOUND",
	5: "ERROR_ACCESS_DENIED", 6: "ERROR_INVALID_HANDLE", 8: "ERROR_NOT_ENOUGH_MEMORY", 24: "ERROR_BAD_LENGTH",
	38: "ERROR_HANDLE_EOF", 50: "ERROR_NOT_SUPPORTED", 64: "ERROR_NETNAME_DELETED", 67: "ERROR_BAD_NET_NAME",
	86: "ERROR_INVALID_PASSWORD", 87: "ERROR_INVALID_PARAMETER", 109: "ERROR_BROKEN_PIPE",
	121: "ERROR_SEM_TIMEOUT", 122: "ERROR_INSUFFICIENT_BUFFER", 123: "ERROR_INVALID_NAME",
	230: "ERROR_BAD_PIPE", 231: "ERROR_PIPE_BUSY", 232: "ERROR_NO_DATA", 233: "ERROR_PIPE_NOT_CONNECTED",
	234: "ERROR_MORE_DATA", 536: "ERROR_PIPE_LISTENING", 588: "ERROR_FS_DRIVER_REQUIRED",
	995: "ERROR_OPERATION_ABORTED", 997: "ERROR_IO_PENDING", 1312: "ERROR_NO_SUCH_LOGON_SESSION",
	1314: "ERROR_PRIVILEGE_NOT_HELD", 1317: "ERROR_NO_SUCH_USER", 1326: "ERROR_LOGON_FAILURE",
	1331: "ERROR_ACCOUNT_DISABLED", 1398: "ERROR_TIME_SKEW", 1346: "ERROR_BAD_IMPERSONATION_LEVEL", 1450: "ERROR_NO_SYSTEM_RESOURCES",
}

// Win32 returns the Win32 error code and its name that a Windows client
// reports for s (what GetLastError returns after the failed call).
func (s Status) Win32() (code uint32, name string) {
	c, ok := win32[s]
	if !ok {
		return 317, "ERROR_MR_MID_NOT_FOUND"
	}
	return c, win32Names[c]
}
