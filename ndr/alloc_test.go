package ndr_test

import (
	"encoding/hex"
	"testing"

	"github.com/smbpipe/smbpipe/ndr"
)

// primitives is a stub of every fixed-size kind: integers, enums, floats,
// a context handle, a UUID, a NULL pointer, array headers.
func writePrimitives(w *ndr.Writer) {
	w.Uint8(1)
	w.Uint16(2)
	w.Uint32(3)
	w.Uint64(4)
	w.Enum(5)
	w.V1Enum(6)
	w.Float64(7)
	w.ContextHandle(ndr.ContextHandle{Attributes: 8, UUID: syntaxUUID})
	w.UUID(syntaxUUID)
	w.UniquePtr(false)
	w.MaxCount(2)
	w.Variance(0, 2)
	w.Octets([]byte{9, 10})
	w.Flush()
}

var sink uint64

func readPrimitives(r *ndr.Reader) {
	sink += uint64(r.Uint8()) + uint64(r.Uint16()) + uint64(r.Uint32()) + r.Uint64()
	sink += uint64(r.Enum()) + uint64(r.V1Enum()) + uint64(r.Float64())
	h := r.ContextHandle()
	u := r.UUID()
	sink += uint64(h.Attributes) + uint64(u[0])
	if r.UniquePtr() {
		sink++
	}
	max := r.MaxCount()
	_, n := r.Variance(max, 1)
	sink += uint64(len(r.Octets(n)))
	r.Flush()
}

func TestAllocsPrimitives(t *testing.T) {
	for _, order := range []ndr.ByteOrder{ndr.LittleEndian, ndr.BigEndian} {
		w := ndr.NewWriter(nil, order)
		writePrimitives(w)
		stub, err := w.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		// Decoding with a reused Reader.
		r := ndr.NewReader(nil, order)
		if n := testing.AllocsPerRun(100, func() {
			r.Reset(stub, order)
			readPrimitives(r)
			if r.Err() != nil {
				t.Fatal(r.Err())
			}
		}); n != 0 {
			t.Errorf("%v: decoding primitives: %v allocations, want 0", order, n)
		}
		// Encoding into a buffer with room, with a reused Writer.
		buf := make([]byte, 0, 256)
		w = ndr.NewWriter(nil, order)
		if n := testing.AllocsPerRun(100, func() {
			w.Reset(buf[:0], order)
			writePrimitives(w)
			if w.Err() != nil {
				t.Fatal(w.Err())
			}
		}); n != 0 {
			t.Errorf("%v: encoding primitives: %v allocations, want 0", order, n)
		}
	}
}

// A string costs one allocation (the string itself), ASCII or not.
func TestAllocsString(t *testing.T) {
	for _, s := range []string{"Remote IPC", "Téléphone ☎"} {
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		w.WString(s)
		stub, _ := w.Bytes()
		var r ndr.Reader
		if n := testing.AllocsPerRun(100, func() {
			r.Reset(stub, ndr.LittleEndian)
			if r.WString() != s {
				t.Fatal("round trip")
			}
		}); n != 1 {
			t.Errorf("decoding %q: %v allocations, want 1", s, n)
		}
		buf := make([]byte, 0, 256)
		if n := testing.AllocsPerRun(100, func() {
			w.Reset(buf[:0], ndr.LittleEndian)
			w.WString(s)
		}); n != 0 {
			t.Errorf("encoding %q: %v allocations, want 0", s, n)
		}
	}
}

// The share enumeration response allocates per value decoded (entries,
// strings, pointers and their closures), not per byte: pin an upper bound
// so that a regression shows.
func TestAllocsShareEnum(t *testing.T) {
	stub, _ := hex.DecodeString(impacketVectors[1].hex)
	n := testing.AllocsPerRun(100, func() {
		var p netrShareEnumResponse
		if err := ndr.Unmarshal(stub, ndr.LittleEndian, &p); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("NetrShareEnum response (2 entries): %v allocations to decode", n)
	if n > 20 {
		t.Errorf("decoding the share enumeration: %v allocations, want at most 20", n)
	}
}
