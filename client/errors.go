package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// Sentinel errors. Callers compare with errors.Is.
var (
	// ErrProtocol reports a response the client cannot accept: malformed,
	// out of sequence, or with values the protocol forbids. It is wrapped
	// with the details.
	ErrProtocol = errors.New("client: protocol error")
	// ErrSignature reports a response whose signature is missing or wrong
	// on a signed session.
	ErrSignature = errors.New("client: bad or missing signature")
	// ErrAbandoned reports a request whose final response did not arrive
	// within Config.CancelTimeout after it was cancelled.
	ErrAbandoned = errors.New("client: request abandoned after cancel")
	// ErrRequestTimeout reports a request that had neither its reply nor an
	// interim response within Config.RequestTimeout; the connection was
	// closed. The error is a *RequestTimeoutError.
	ErrRequestTimeout = errors.New("client: request timed out")
	// ErrEncryption reports a session that cannot encrypt when it must:
	// Config.Encryption is EncryptionRequired, or the server requires
	// encryption, and there is no cipher or no key.
	ErrEncryption = errors.New("client: encryption not possible")
)

// RequestTimeoutError is the error of a connection closed by request
// expiration (MS-SMB2 3.2.6.1): Command, sent with MessageID, had neither a
// reply nor an interim response within Timeout. Every request in flight on
// the connection, and every later one, fails with it. It unwraps to
// ErrRequestTimeout.
type RequestTimeoutError struct {
	Command   smb2.Command
	MessageID uint64
	Timeout   time.Duration
}

func (e *RequestTimeoutError) Error() string {
	return fmt.Sprintf("client: no reply to %v (MessageId %d) within %v (the request timeout); connection closed",
		e.Command, e.MessageID, e.Timeout)
}

// Unwrap returns ErrRequestTimeout.
func (e *RequestTimeoutError) Unwrap() error { return ErrRequestTimeout }

// Error is a request the server failed with an NTSTATUS. It unwraps to the
// ntstatus.Status, so errors.Is(err, ntstatus.AccessDenied) and
// errors.As(err, new(ntstatus.Status)) both work.
type Error struct {
	Op     string // "negotiate", "session setup", "tree connect", "create", "read", ...
	Name   string // the pipe or share concerned, if any
	Status ntstatus.Status
}

func (e *Error) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("client: %s %s: %s", e.Op, e.Name, e.Status)
	}
	return fmt.Sprintf("client: %s: %s", e.Op, e.Status)
}

// Unwrap returns the status.
func (e *Error) Unwrap() error { return e.Status }

// protocolErrorf wraps ErrProtocol with details.
func protocolErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// timeoutError is returned when a deadline set with SetDeadline passes; it
// wraps os.ErrDeadlineExceeded and reports Timeout() true like net errors.
type timeoutError struct{ op string }

func (e *timeoutError) Error() string   { return "client: " + e.op + ": i/o timeout" }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
func (e *timeoutError) Unwrap() error   { return errDeadline }
