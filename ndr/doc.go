// Package ndr encodes and decodes NDR 2.0, the transfer syntax of DCE/RPC
// (C706 chapter 14; transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860
// version 2), in both integer byte orders of the data representation label
// (ASCII characters and IEEE floats only). NDR64 and pipes are not
// implemented.
//
// The package knows nothing of RPC or SMB: it turns stub data into values
// and back. Interface stubs (rpcecho, srvsvc, lsarpc, ...) are written by
// hand against a Writer and a Reader, mirroring the IDL field by field.
//
// # Writer and Reader
//
// A Writer appends to a caller-owned buffer; offset 0 for alignment is the
// length the buffer had when the Writer was created (the start of the stub),
// so a PDU header can be written first into the same buffer. A Reader
// decodes a byte slice from its offset 0. Both take the byte order of the
// PDU (ParseDREP reads it from the header).
//
// Both keep the first error and turn every later call into a no-op that
// returns zero values, so that code marshalling a 20-field structure reads
// like the IDL, with one check at the end:
//
//	h := r.ContextHandle()
//	level := r.Uint32()
//	max := r.Uint32()
//	r.Flush()
//	if err := r.Err(); err != nil { ... }
//
// Primitive methods align themselves (Uint16 to 2, Uint32 to 4, Uint64 and
// Float64 to 8). Align aligns explicitly, as a structure or a union arm
// requires: NDR aligns a structure to its largest member, adds no trailing
// padding, and a conformant structure carries its array's maximum count
// first (MaxCount), before the structure's own alignment.
//
// Arrays are written by the caller around a header: MaxCount for the
// conformance, Variance for offset and actual count. The Reader checks each
// count before the caller allocates (Elements, Variance): a count is never
// trusted beyond the bytes left, so the memory a hostile stub can make a
// decoder allocate is bounded by its own size. Strings (WString for
// [string] wchar_t, ByteString for [string] char) and RPC_UNICODE_STRING
// (UnicodeString) are provided whole.
//
// # Pointers and the deferral model
//
// A top-level pointer (a parameter) is followed by its referent at once: a
// [ref] parameter has no representation at all, a unique one a referent
// id (UniquePtr) and then the referent. An embedded pointer (a member of a
// structure, union or array) is different: NDR writes its referent id in
// place and the referent only after the whole top-level construct. The
// Writer and Reader express this with a queue of functions: Defer (or
// DeferUnique, DeferRef) queues the referent's marshalling and Flush,
// called at the end of each top-level parameter, runs the queue. A deferred
// referent that defers in turn has its referents run right after it,
// before its own siblings: the depth-first order MIDL and Samba's pidl
// produce. The queue is a stack, not recursion, and is bounded (MaxDepth
// levels; for a Reader one referent per four bytes of input).
//
// For example, SHARE_INFO_1 (MS-SRVS 2.2.4.23) has two embedded string
// pointers; an array of two of them marshals as both structures (with
// referent ids), then entry 0's name and remark, then entry 1's:
//
//	func (s *ShareInfo1) MarshalNDR(w *ndr.Writer) {
//		w.DeferUnique(true, func(w *ndr.Writer) { w.WString(s.Name) })
//		w.Uint32(s.Type)
//		w.DeferUnique(true, func(w *ndr.Writer) { w.WString(s.Remark) })
//	}
//
//	func (s *ShareInfo1) UnmarshalNDR(r *ndr.Reader) {
//		r.DeferUnique(func(r *ndr.Reader) { s.Name = r.WString() })
//		s.Type = r.Uint32()
//		r.DeferUnique(func(r *ndr.Reader) { s.Remark = r.WString() })
//	}
//
// Full pointers ([ptr]) may alias: FullPtr numbers referents by a key and
// reports whether the referent must be marshalled; the Reader reports the
// first appearance of each referent id.
//
// Unions need no special method. A non-encapsulated union (switch_is) is
// its discriminant, marshalled again even when a member of the enclosing
// structure holds the same value, then the selected arm, which aligns as
// its own type does (NDR 2.0 does not pad the arm to the largest arm; NDR64
// would):
//
//	w.Uint32(level) // SHARE_ENUM_UNION's switch_type(DWORD)
//	switch level {
//	case 1:
//		w.DeferUnique(c1 != nil, c1.MarshalNDR)
//	default:
//		w.Fail("unknown level")
//	}
//
// An encapsulated union is a structure of the discriminant and the union.
// A decoder reports an unknown discriminant with Reader.Fail.
//
// # Why this shape
//
// The alternative of Samba's pidl, each type marshalled in two passes
// (scalars, then buffers) selected by a flag, needs generated code to stay
// correct; written by hand it doubles every function. A closure per
// embedded pointer keeps one function per type that reads like the IDL,
// and the deferral rule lives in one place, this package. The price is an
// allocation per deferred referent, paid only for pointers; primitives,
// context handles and UUIDs decode without allocating. The sticky error
// (as in bufio.Scanner) is chosen over cryptobyte's boolean returns for the
// same reason: RPC structures are long and flat, and a check per field would
// drown them.
package ndr
