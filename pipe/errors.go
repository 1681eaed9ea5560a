package pipe

import "errors"

// Errors added to those of api.go. Callers compare with errors.Is.
var (
	// ErrInvalidConfig is wrapped by Namespace.Create for an empty name or
	// a Config field out of range.
	ErrInvalidConfig = errors.New("pipe: invalid config")
	// ErrDirection is returned for a read or write against the pipe's
	// direction: a client end writing to an Outbound pipe or reading from
	// an Inbound one, and the reverse for the server end.
	ErrDirection = errors.New("pipe: wrong direction for this end")
)
