package ndr_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/ndr"
)

func TestWriterErrors(t *testing.T) {
	type node struct{ next *node }
	cycle := &node{}
	cycle.next = cycle
	var writeNode func(w *ndr.Writer, n *node)
	writeNode = func(w *ndr.Writer, n *node) {
		w.DeferUnique(n.next != nil, func(w *ndr.Writer) { writeNode(w, n.next) })
	}
	for _, tc := range []struct {
		name  string
		write func(w *ndr.Writer)
		want  string
	}{
		{"enum above 32767", func(w *ndr.Writer) { w.Enum(0x8000) }, "enum"},
		{"NUL in a [string]", func(w *ndr.Writer) { w.WString("a\x00b") }, "NUL"},
		{"NUL in a [string] char", func(w *ndr.Writer) { w.ByteString("\x00") }, "NUL"},
		{"negative count", func(w *ndr.Writer) { w.MaxCount(-1) }, "count"},
		{"RPC_UNICODE_STRING too long", func(w *ndr.Writer) { w.UnicodeString(strings.Repeat("a", 32768)); w.Flush() }, "32767"},
		{"unflushed", func(w *ndr.Writer) { w.DeferUnique(true, func(w *ndr.Writer) {}) }, "not flushed"},
		{"cycle of unique pointers", func(w *ndr.Writer) { writeNode(w, cycle); w.Flush() }, "MaxDepth"},
		{"full pointer key not comparable", func(w *ndr.Writer) { w.FullPtr([]int{1}) }, "comparable"},
		{"Fail", func(w *ndr.Writer) { w.Fail("unknown level") }, "unknown level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := ndr.NewWriter(nil, ndr.LittleEndian)
			tc.write(w)
			_, err := w.Bytes()
			if !errors.Is(err, ndr.ErrUnencodable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrUnencodable mentioning %q", err, tc.want)
			}
			if strings.Contains(tc.want, "flushed") {
				return
			}
			// Sticky: nothing more is written.
			n := w.Offset()
			w.Uint32(1)
			w.WString("x")
			if w.Offset() != n || w.Err() != err {
				t.Fatalf("Writer went on after %v", err)
			}
		})
	}
}

// A chain of embedded pointers as deep as MaxDepth decodes; one more level
// is an error, whatever the input claims.
func TestMaxDepth(t *testing.T) {
	chain := func(depth int) []byte {
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		var link func(w *ndr.Writer, left int)
		link = func(w *ndr.Writer, left int) {
			w.Uint32(uint32(left))
			w.DeferUnique(left > 0, func(w *ndr.Writer) { link(w, left-1) })
		}
		link(w, depth)
		w.Flush()
		b, err := w.Bytes()
		if err != nil {
			t.Fatalf("depth %d: %v", depth, err)
		}
		return b
	}
	read := func(data []byte) (int, error) {
		r := ndr.NewReader(data, ndr.LittleEndian)
		levels := 0
		var link func(r *ndr.Reader)
		link = func(r *ndr.Reader) {
			levels++
			r.Uint32()
			r.DeferUnique(link)
		}
		link(r)
		r.Flush()
		return levels, r.Err()
	}
	if n, err := read(chain(ndr.MaxDepth)); err != nil || n != ndr.MaxDepth+1 {
		t.Fatalf("depth MaxDepth: %d levels, %v", n, err)
	}
	// Encoding one more level already fails.
	w := ndr.NewWriter(nil, ndr.LittleEndian)
	var link func(w *ndr.Writer, left int)
	link = func(w *ndr.Writer, left int) {
		w.DeferUnique(left > 0, func(w *ndr.Writer) { link(w, left-1) })
	}
	link(w, ndr.MaxDepth+1)
	w.Flush()
	if err := w.Err(); !errors.Is(err, ndr.ErrUnencodable) {
		t.Fatalf("encoding MaxDepth+1 levels: %v", err)
	}
	// A hostile stub of MaxDepth+1 levels: each link is a value and a
	// non-NULL referent id.
	var hostile []byte
	for i := range ndr.MaxDepth + 2 {
		hostile = append(hostile, 1, 0, 0, 0, 0, 0, 2, 0)
		if i == ndr.MaxDepth+1 {
			hostile = append(hostile[:len(hostile)-4], 0, 0, 0, 0)
		}
	}
	if _, err := read(hostile); !errors.Is(err, ndr.ErrMalformed) || !strings.Contains(err.Error(), "MaxDepth") {
		t.Fatalf("decoding MaxDepth+1 levels: %v", err)
	}
}

// A Reader defers at most one referent per four bytes of input, whatever
// the decoding code asks.
func TestDeferredBound(t *testing.T) {
	r := ndr.NewReader(make([]byte, 8), ndr.LittleEndian)
	r.Defer(func(*ndr.Reader) {})
	r.Defer(func(*ndr.Reader) {})
	if r.Err() == nil || !strings.Contains(r.Err().Error(), "not flushed") {
		t.Fatalf("two referents for 8 bytes: %v", r.Err())
	}
	r.Defer(func(*ndr.Reader) {})
	if err := r.Err(); !errors.Is(err, ndr.ErrMalformed) || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("third referent for 8 bytes: %v", err)
	}
}

// Referents run depth-first in the order deferred: a referent's own
// referents come before its later siblings, and a Flush from inside a
// deferred function does not disturb that.
func TestDeferralOrder(t *testing.T) {
	w := ndr.NewWriter(nil, ndr.LittleEndian)
	mark := func(v uint8) func(*ndr.Writer) { return func(w *ndr.Writer) { w.Uint8(v) } }
	w.Uint8(0)
	w.Defer(func(w *ndr.Writer) {
		w.Uint8(1)
		w.Defer(func(w *ndr.Writer) {
			w.Uint8(2)
			w.Defer(mark(3))
		})
		w.Defer(mark(4))
		w.Flush() // nested: does nothing
	})
	w.Defer(mark(5))
	w.Uint8(0xFF)
	w.Flush()
	w.Defer(mark(6))
	w.Uint8(0xFE)
	w.Flush()
	got, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if want := "00ff0102030405fe06"; hex.EncodeToString(got) != want {
		t.Fatalf("order %x, want %s", got, want)
	}
}

func TestWriterPrefix(t *testing.T) {
	buf := make([]byte, 3, 64)
	w := ndr.NewWriter(buf, ndr.LittleEndian)
	w.Uint8(1)
	w.Uint32(2) // aligned relative to the Writer's start, not the buffer's
	got, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != "0000000100000002000000" {
		t.Fatalf("got %x", got)
	}
	if w.Offset() != 8 || w.Order() != ndr.LittleEndian {
		t.Fatalf("Offset %d, Order %v", w.Offset(), w.Order())
	}
}

func TestParseDREP(t *testing.T) {
	for _, tc := range []struct {
		drep [4]byte
		want ndr.ByteOrder
		ok   bool
	}{
		{[4]byte{0x10, 0, 0, 0}, ndr.LittleEndian, true},
		{[4]byte{0x00, 0, 0, 0}, ndr.BigEndian, true},
		{[4]byte{0x10, 0, 0xAA, 0xBB}, ndr.LittleEndian, true}, // reserved bytes ignored
		{[4]byte{0x11, 0, 0, 0}, 0, false},                     // EBCDIC
		{[4]byte{0x10, 1, 0, 0}, 0, false},                     // VAX floats
		{[4]byte{0x20, 0, 0, 0}, 0, false},
	} {
		got, err := ndr.ParseDREP(tc.drep)
		if tc.ok != (err == nil) || (tc.ok && got != tc.want) {
			t.Errorf("ParseDREP(%x) = %v, %v", tc.drep, got, err)
		}
		if !tc.ok && !errors.Is(err, ndr.ErrUnsupported) {
			t.Errorf("ParseDREP(%x): err %v, want ErrUnsupported", tc.drep, err)
		}
		if tc.ok && tc.drep[2] == 0 && got.DREP() != tc.drep {
			t.Errorf("%v.DREP() = %x, want %x", got, got.DREP(), tc.drep)
		}
	}
}

func TestUUID(t *testing.T) {
	u, err := ndr.ParseUUID("8A885D04-1CEB-11C9-9FE8-08002B104860")
	if err != nil {
		t.Fatal(err)
	}
	if u.String() != ndr.TransferSyntaxUUID || u.IsZero() || !(ndr.UUID{}).IsZero() {
		t.Fatalf("String %s", u)
	}
	if hex.EncodeToString(u[:]) != "8a885d041ceb11c99fe808002b104860" {
		t.Fatalf("bytes %x", u[:])
	}
	for _, bad := range []string{"", "8a885d04-1ceb-11c9-9fe8-08002b10486", "8a885d04-1ceb-11c9-9fe8x08002b104860", "8a885d04-1ceb-11c9-9fe8-08002b10486g", "{8a885d04-1ceb-11c9-9fe8-08002b104860}"} {
		if _, err := ndr.ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) succeeded", bad)
		}
	}
	if !(ndr.ContextHandle{}).IsZero() || (ndr.ContextHandle{Attributes: 1}).IsZero() {
		t.Error("ContextHandle.IsZero")
	}
}

func TestReaderReset(t *testing.T) {
	r := ndr.NewReader([]byte{1, 0, 0, 0}, ndr.LittleEndian)
	r.Uint64() // fails
	r.Reset([]byte{0, 0, 0, 2}, ndr.BigEndian)
	if v := r.Uint32(); v != 2 || r.Err() != nil || r.Order() != ndr.BigEndian || r.Offset() != 4 {
		t.Fatalf("after Reset: %d, %v", v, r.Err())
	}
}

// An RPC_UNICODE_STRING keeps NULs (its length is explicit) and leaves the
// destination alone when its buffer is NULL.
func TestUnicodeStringDecode(t *testing.T) {
	data, _ := hex.DecodeString("04000600" + "00000200" + "00000000" + "00000000" + "03000000" + "00000000" + "02000000" + "41000000")
	r := ndr.NewReader(data, ndr.LittleEndian)
	a, b := "old", "old"
	r.UnicodeString(&a)
	r.UnicodeString(&b)
	r.Flush()
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if a != "A\x00" || b != "old" {
		t.Fatalf("got %q, %q", a, b)
	}
}

// Flush and Reset called from a deferred function, after an error or not,
// neither panic nor lose the order.
func TestFlushFromDeferred(t *testing.T) {
	r := ndr.NewReader(make([]byte, 16), ndr.LittleEndian)
	r.Defer(func(r *ndr.Reader) {
		r.Defer(func(r *ndr.Reader) { r.Uint64() })
		r.Fail("bad")
		r.Flush()
	})
	r.Defer(func(r *ndr.Reader) { t.Error("ran after the error") })
	r.Flush()
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("err = %v", err)
	}

	r = ndr.NewReader(make([]byte, 16), ndr.LittleEndian)
	r.Defer(func(r *ndr.Reader) {
		r.Defer(func(r *ndr.Reader) { t.Error("ran after Reset") })
		r.Reset([]byte{1}, ndr.LittleEndian)
	})
	r.Defer(func(r *ndr.Reader) { t.Error("ran after Reset") })
	r.Flush()
	if r.Uint8() != 1 || r.Err() != nil {
		t.Fatalf("after Reset: %v", r.Err())
	}

	w := ndr.NewWriter(nil, ndr.LittleEndian)
	w.Defer(func(w *ndr.Writer) {
		w.Defer(func(w *ndr.Writer) { t.Error("ran after Reset") })
		w.Reset(nil, ndr.BigEndian)
	})
	w.Flush()
	if b, err := w.Bytes(); len(b) != 0 || err != nil {
		t.Fatalf("after Reset: %x, %v", b, err)
	}
}
