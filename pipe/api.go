// Package pipe implements named-pipe objects the way Windows' npfs does:
// a namespace of pipes looked up case-insensitively, instances with a client
// end and a server end, byte and message mode, quotas with backpressure,
// peek and transceive. It knows nothing of SMB.
package pipe

import (
	"errors"
	"net"
)

// Errors. Callers compare with errors.Is.
var (
	ErrNotFound     = errors.New("pipe: no such pipe")
	ErrExists       = errors.New("pipe: pipe exists")
	ErrNotAvailable = errors.New("pipe: no free instance")   // max instances reached
	ErrBroken       = errors.New("pipe: other end closed")   // queue drained, peer gone
	ErrWouldBlock   = errors.New("pipe: would block")        // TryRead on an empty pipe
	ErrBusy         = errors.New("pipe: unread data queued") // Transceive precondition
	ErrBadState     = errors.New("pipe: invalid pipe state") // e.g. transceive on byte pipe
	ErrClosed       = net.ErrClosed                          // this end was closed
)

// Mode is the pipe type.
type Mode uint8

// Modes.
const (
	ByteMode    Mode = 0
	MessageMode Mode = 1
)

// Direction is the pipe configuration seen from the server.
type Direction uint8

// Directions (FilePipeLocalInformation.NamedPipeConfiguration).
const (
	Inbound  Direction = 0 // client to server only
	Outbound Direction = 1 // server to client only
	Duplex   Direction = 2
)

// Config describes a pipe. The zero value is a byte-mode pipe with
// unlimited instances and default quotas whose Direction is Inbound (the
// wire value 0: client to server only); set Direction: Duplex for a
// two-way pipe. A queue holds at most its quota: a message longer than
// the quota is not buffered, its writer waits until the reader has read
// it in place (see End.Write).
type Config struct {
	Mode         Mode
	Direction    Direction
	MaxInstances int // 0 = unlimited
	InQuota      int // bytes buffered client->server before writers block; 0 = 64 KiB
	OutQuota     int // bytes buffered server->client; 0 = 64 KiB
}

// PeekInfo is what FSCTL_PIPE_PEEK reports.
type PeekInfo struct {
	State           uint32 // 3 CONNECTED, 4 CLOSING
	Available       int    // bytes this end can read (a message read in place included)
	Messages        int    // messages queued (0 in byte mode)
	FirstMessageLen int    // bytes left of the first message (0 in byte mode)
}
