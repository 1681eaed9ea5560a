package ndr

import (
	"errors"
	"strconv"
)

// TransferSyntaxUUID and TransferSyntaxVersion name the transfer syntax this
// package implements: NDR 2.0, offered in a bind as version 2.0.
const (
	TransferSyntaxUUID    = "8a885d04-1ceb-11c9-9fe8-08002b104860"
	TransferSyntaxVersion = 2
)

// MaxDepth bounds how deeply deferred referents may nest: a referent
// deferred while marshalling a referent that was itself deferred is one
// level deeper. A Reader or Writer that goes deeper fails. (Pointers that
// are not embedded, such as the chain of a uint16 ***, are not deferred and
// do not count.)
const MaxDepth = 64

// maxWriterDeferred bounds the referents one Writer may defer; a Reader
// allows one per four bytes of its input (a referent id takes four).
const maxWriterDeferred = 1 << 22

// A ByteOrder is the integer representation of a data representation label
// (DREP): the byte order of every integer, of UTF-16 code units and of the
// first three fields of a UUID. Characters are ASCII and floating-point
// numbers IEEE 754 in both.
type ByteOrder uint8

const (
	LittleEndian ByteOrder = iota // DREP 10 00 00 00: what Windows sends
	BigEndian                     // DREP 00 00 00 00
)

func (o ByteOrder) String() string {
	if o == BigEndian {
		return "big-endian"
	}
	return "little-endian"
}

// DREP returns the 4-byte data representation label for o (ASCII
// characters, IEEE floating point).
func (o ByteOrder) DREP() [4]byte {
	if o == BigEndian {
		return [4]byte{0x00, 0, 0, 0}
	}
	return [4]byte{0x10, 0, 0, 0}
}

// ParseDREP reads the data representation label of a PDU. It fails with
// ErrUnsupported for an EBCDIC character representation or a floating-point
// representation other than IEEE; the last two bytes are reserved and
// ignored.
func ParseDREP(drep [4]byte) (ByteOrder, error) {
	var o ByteOrder
	switch drep[0] >> 4 {
	case 0:
		o = BigEndian
	case 1:
		o = LittleEndian
	default:
		return 0, ErrUnsupported
	}
	if drep[0]&0x0F != 0 || drep[1] != 0 {
		return 0, ErrUnsupported
	}
	return o, nil
}

// A Marshaler writes itself to a Writer: scalars through its methods, the
// referents of embedded pointers through Writer.Defer. A type that is a
// whole request or response (several top-level parameters) calls
// Writer.Flush after each parameter.
type Marshaler interface {
	MarshalNDR(w *Writer)
}

// An Unmarshaler reads itself from a Reader, mirroring its MarshalNDR.
type Unmarshaler interface {
	UnmarshalNDR(r *Reader)
}

// Marshal appends m to buf (offset 0 for alignment is len(buf)), flushes the
// deferred referents and returns the extended buffer.
func Marshal(buf []byte, order ByteOrder, m Marshaler) ([]byte, error) {
	w := NewWriter(buf, order)
	m.MarshalNDR(w)
	w.Flush()
	return w.Bytes()
}

// Unmarshal decodes u from data, then reads the referents still deferred.
// Bytes left over after u are not an error (a stub may carry padding); use a
// Reader and Reader.Remaining to be stricter.
func Unmarshal(data []byte, order ByteOrder, u Unmarshaler) error {
	r := NewReader(data, order)
	u.UnmarshalNDR(r)
	r.Flush()
	return r.Err()
}

var (
	// ErrMalformed is wrapped by every error a Reader reports: the stub
	// data is not a valid encoding of what was expected. A server answers
	// with a fault of status nca_s_fault_ndr (RPC_X_BAD_STUB_DATA).
	ErrMalformed = errors.New("ndr: malformed stub data")

	// ErrUnencodable is wrapped by every error a Writer reports: a value
	// NDR cannot represent (a count above 2^32-1, a [string] with a NUL
	// inside, an enum above 32767, referents nested beyond MaxDepth).
	ErrUnencodable = errors.New("ndr: value cannot be encoded")

	// ErrUnsupported is returned by ParseDREP for an EBCDIC or non-IEEE
	// data representation.
	ErrUnsupported = errors.New("ndr: unsupported data representation")
)

// An Error is the first failure of a Reader or a Writer.
type Error struct {
	// Encode is true for a Writer's error, false for a Reader's.
	Encode bool
	// Offset is where in the stub data it happened.
	Offset int
	// Reason says what was wrong.
	Reason string
}

func (e *Error) Error() string {
	op := "decode"
	if e.Encode {
		op = "encode"
	}
	return "ndr: " + op + " at offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Unwrap returns ErrUnencodable for a Writer's error and ErrMalformed for a
// Reader's.
func (e *Error) Unwrap() error {
	if e.Encode {
		return ErrUnencodable
	}
	return ErrMalformed
}

// pad returns how many bytes take off to a multiple of n (a power of two;
// anything below 2 means no alignment).
func pad(off, n int) int {
	if n < 2 {
		return 0
	}
	return (n - off%n) % n
}
