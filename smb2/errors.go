package smb2

import "errors"

// ErrMalformed is wrapped by every error a decoder in this package returns.
// Callers compare with errors.Is(err, smb2.ErrMalformed); a server answers
// such a request with STATUS_INVALID_PARAMETER (or drops the connection when
// even the header cannot be trusted).
var ErrMalformed = errors.New("smb2: malformed message")

// DecodeError describes why a decoder rejected its input.
type DecodeError struct {
	// What names the structure being decoded: "header", "frame",
	// "CREATE request", "negotiate context", "SMB1 NEGOTIATE", "UTF-16", ...
	What string
	// Field is the MS-SMB2 name of the offending field (may be empty).
	Field string
	// Reason says what is wrong with it.
	Reason string
}

func (e *DecodeError) Error() string {
	s := "smb2: malformed " + e.What
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Reason
}

// Unwrap returns ErrMalformed.
func (e *DecodeError) Unwrap() error { return ErrMalformed }

// malformed builds a *DecodeError. It is only called on failure paths, so
// successful decodes stay allocation-free.
func malformed(what, field, reason string) error {
	return &DecodeError{What: what, Field: field, Reason: reason}
}
