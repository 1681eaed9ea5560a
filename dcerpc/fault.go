package dcerpc

import (
	"errors"
	"fmt"

	"github.com/smbpipe/smbpipe/ndr"
)

// Fault status codes (MS-RPCE 2.2.2.11 table, C706 appendix E).
const (
	FaultAccessDenied      uint32 = 0x00000005
	FaultOther             uint32 = 0x00000001
	FaultNDR               uint32 = 0x000006f7 // RPC_X_BAD_STUB_DATA
	FaultSecPkgError       uint32 = 0x00000721
	FaultOpRangeError      uint32 = 0x1c010002 // nca_s_op_rng_error
	FaultUnknownInterface  uint32 = 0x1c010003 // nca_s_unk_if
	FaultProtoError        uint32 = 0x1c01000b // nca_s_proto_error
	FaultCancel            uint32 = 0x1c00000d // nca_s_fault_cancel
	FaultContextMismatch   uint32 = 0x1c00001a // nca_s_fault_context_mismatch
	FaultRemoteNoMemory    uint32 = 0x1c00001b
	FaultInvalidTag        uint32 = 0x1c000006
	FaultUnsupportedType   uint32 = 0x1c000017 // nca_s_unsupported_type
	FaultNoCallActive      uint32 = 0x000006bd
	FaultServerUnavailable uint32 = 0x000006ba
)

var faultNames = map[uint32]string{
	FaultAccessDenied:     "access denied",
	FaultOther:            "fault other",
	FaultNDR:              "bad stub data",
	FaultSecPkgError:      "security package error",
	FaultOpRangeError:     "nca_s_op_rng_error",
	FaultUnknownInterface: "nca_s_unk_if",
	FaultProtoError:       "nca_s_proto_error",
	FaultCancel:           "nca_s_fault_cancel",
	FaultContextMismatch:  "nca_s_fault_context_mismatch",
	FaultRemoteNoMemory:   "nca_s_fault_remote_no_memory",
	FaultUnsupportedType:  "nca_s_unsupported_type",
	FaultNoCallActive:     "no call active",
}

// Fault is an error carrying a fault status. A handler returns one to
// answer with a FAULT PDU; the client returns one when it receives a FAULT.
type Fault uint32

// Name returns the fault's name ("nca_s_op_rng_error", "access denied"),
// or its value in hex when it has none.
func (f Fault) Name() string {
	if n, ok := faultNames[uint32(f)]; ok {
		return n
	}
	return fmt.Sprintf("0x%08x", uint32(f))
}

func (f Fault) Error() string {
	if n, ok := faultNames[uint32(f)]; ok {
		return fmt.Sprintf("dcerpc: fault 0x%08x (%s)", uint32(f), n)
	}
	return fmt.Sprintf("dcerpc: fault 0x%08x", uint32(f))
}

// ErrStubData is what a handler returns (possibly wrapped) when the request
// stub does not decode: the call faults with FaultNDR (bad stub data).
var ErrStubData = errors.New("dcerpc: bad stub data")

// faultOf maps a handler's error to a fault status.
func faultOf(err error) uint32 {
	var f Fault
	switch {
	case errors.As(err, &f):
		return uint32(f)
	case errors.Is(err, ErrStubData), errors.Is(err, ndr.ErrMalformed):
		return FaultNDR
	}
	return FaultOther
}
