package client

import (
	"errors"
	"fmt"

	"github.com/smbpipe/smbpipe/ntstatus"
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
)

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
