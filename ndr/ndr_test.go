package ndr_test

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/ndr"
)

var syntaxUUID = ndr.MustParseUUID(ndr.TransferSyntaxUUID)

// vectors are small encodings worked out by hand from the rules of C706
// chapter 14 (alignment relative to the start of the stub, conformance
// before the elements, offset and actual count, referent ids, deferral),
// in both byte orders. write produces them; read decodes and returns the
// values, compared with want.
var vectors = []struct {
	name   string
	write  func(w *ndr.Writer)
	read   func(r *ndr.Reader) []any
	want   []any
	le, be string
}{
	{
		name: "alignment of primitives",
		write: func(w *ndr.Writer) {
			w.Uint8(1)
			w.Uint16(0x0203)
			w.Uint8(4)
			w.Uint32(0x05060708)
			w.Uint8(9)
			w.Uint64(0x0a0b0c0d0e0f1011)
			w.Uint16(0x1213)
		},
		read: func(r *ndr.Reader) []any {
			return []any{r.Uint8(), r.Uint16(), r.Uint8(), r.Uint32(), r.Uint8(), r.Uint64(), r.Uint16()}
		},
		want: []any{uint8(1), uint16(0x0203), uint8(4), uint32(0x05060708), uint8(9), uint64(0x0a0b0c0d0e0f1011), uint16(0x1213)},
		le:   "01000302" + "04000000" + "08070605" + "09000000" + "11100f0e0d0c0b0a" + "1312",
		be:   "01000203" + "04000000" + "05060708" + "09000000" + "0a0b0c0d0e0f1011" + "1213",
	},
	{
		name: "signed, floats, booleans",
		write: func(w *ndr.Writer) {
			w.Int8(-1)
			w.Int16(-2)
			w.Int32(-3)
			w.Int64(-4)
			w.Float32(1.5)
			w.Float64(-2.25)
			w.Bool(true)
			w.Bool(false)
		},
		read: func(r *ndr.Reader) []any {
			return []any{r.Int8(), r.Int16(), r.Int32(), r.Int64(), r.Float32(), r.Float64(), r.Bool(), r.Bool()}
		},
		want: []any{int8(-1), int16(-2), int32(-3), int64(-4), float32(1.5), float64(-2.25), true, false},
		le:   "ff00feff" + "fdffffff" + "fcffffffffffffff" + "0000c03f" + "00000000" + "00000000000002c0" + "0100",
		be:   "ff00fffe" + "fffffffd" + "fffffffffffffffc" + "3fc00000" + "00000000" + "c002000000000000" + "0100",
	},
	{
		name: "enum (16 bits) and v1_enum (32 bits)",
		write: func(w *ndr.Writer) {
			w.Enum(2)
			w.V1Enum(2)
			w.Enum(0x7fff)
		},
		read: func(r *ndr.Reader) []any { return []any{r.Enum(), r.V1Enum(), r.Enum()} },
		want: []any{uint16(2), uint32(2), uint16(0x7fff)},
		le:   "0200" + "0000" + "02000000" + "ff7f",
		be:   "0002" + "0000" + "00000002" + "7fff",
	},
	{
		name: "conformant array",
		write: func(w *ndr.Writer) {
			w.Uint8(0xAA)
			w.MaxCount(3)
			for _, v := range []uint16{1, 2, 3} {
				w.Uint16(v)
			}
		},
		read: func(r *ndr.Reader) []any {
			b := r.Uint8()
			a := make([]uint16, r.Elements(r.MaxCount(), 2))
			for i := range a {
				a[i] = r.Uint16()
			}
			return []any{b, a}
		},
		want: []any{uint8(0xAA), []uint16{1, 2, 3}},
		le:   "aa000000" + "03000000" + "010002000300",
		be:   "aa000000" + "00000003" + "000100020003",
	},
	{
		name: "varying array",
		// long a[10], length_is 2, first_is 2: offset 2, actual count 2.
		write: func(w *ndr.Writer) {
			w.Variance(2, 2)
			w.Uint32(0x11)
			w.Uint32(0x22)
		},
		read: func(r *ndr.Reader) []any {
			off, n := r.Variance(10, 4)
			a := make([]uint32, n)
			for i := range a {
				a[i] = r.Uint32()
			}
			return []any{off, a}
		},
		want: []any{uint32(2), []uint32{0x11, 0x22}},
		le:   "02000000" + "02000000" + "11000000" + "22000000",
		be:   "00000002" + "00000002" + "00000011" + "00000022",
	},
	{
		name: "conformant-varying array of bytes",
		write: func(w *ndr.Writer) {
			w.MaxCount(8)
			w.Variance(0, 3)
			w.Octets([]byte("abc"))
		},
		read: func(r *ndr.Reader) []any {
			max := r.MaxCount()
			off, n := r.Variance(max, 1)
			return []any{max, off, string(r.Octets(n))}
		},
		want: []any{uint32(8), uint32(0), "abc"},
		le:   "08000000" + "00000000" + "03000000" + "616263",
		be:   "00000008" + "00000000" + "00000003" + "616263",
	},
	{
		name:  "[string] wchar_t with a non-ASCII character",
		write: func(w *ndr.Writer) { w.WString("hé") },
		read:  func(r *ndr.Reader) []any { return []any{r.WString()} },
		want:  []any{"hé"},
		le:    "03000000" + "00000000" + "03000000" + "6800e9000000",
		be:    "00000003" + "00000000" + "00000003" + "006800e90000",
	},
	{
		name:  "[string] wchar_t with a surrogate pair",
		write: func(w *ndr.Writer) { w.WString("\U0001D11E") },
		read:  func(r *ndr.Reader) []any { return []any{r.WString()} },
		want:  []any{"\U0001D11E"},
		le:    "03000000" + "00000000" + "03000000" + "34d81edd0000",
		be:    "00000003" + "00000000" + "00000003" + "d834dd1e0000",
	},
	{
		name: "empty [string] wchar_t, then a short",
		write: func(w *ndr.Writer) {
			w.WString("")
			w.Uint16(7)
		},
		read: func(r *ndr.Reader) []any { return []any{r.WString(), r.Uint16()} },
		want: []any{"", uint16(7)},
		le:   "01000000" + "00000000" + "01000000" + "0000" + "0700",
		be:   "00000001" + "00000000" + "00000001" + "0000" + "0007",
	},
	{
		name: "[string] char",
		write: func(w *ndr.Writer) {
			w.ByteString("hi")
			w.Uint32(1)
		},
		read: func(r *ndr.Reader) []any { return []any{r.ByteString(), r.Uint32()} },
		want: []any{"hi", uint32(1)},
		le:   "03000000" + "00000000" + "03000000" + "686900" + "00" + "01000000",
		be:   "00000003" + "00000000" + "00000003" + "686900" + "00" + "00000001",
	},
	{
		name: "RPC_UNICODE_STRING, then an empty one",
		write: func(w *ndr.Writer) {
			w.UnicodeString("ab")
			w.UnicodeString("")
			w.Flush()
		},
		read: func(r *ndr.Reader) []any {
			var a, b string
			r.UnicodeString(&a)
			r.UnicodeString(&b)
			r.Flush()
			return []any{a, b}
		},
		want: []any{"ab", ""},
		le:   "04000400" + "00000200" + "00000000" + "00000000" + "02000000" + "00000000" + "02000000" + "61006200",
		be:   "00040004" + "00020000" + "00000000" + "00000000" + "00000002" + "00000000" + "00000002" + "00610062",
	},
	{
		name: "UUID (the NDR transfer syntax), mixed-endian",
		write: func(w *ndr.Writer) {
			w.Uint8(0)
			w.UUID(syntaxUUID)
		},
		read: func(r *ndr.Reader) []any { return []any{r.Uint8(), r.UUID()} },
		want: []any{uint8(0), syntaxUUID},
		le:   "00000000" + "045d888aeb1cc9119fe808002b104860",
		be:   "00000000" + "8a885d041ceb11c99fe808002b104860",
	},
	{
		name: "context handle",
		write: func(w *ndr.Writer) {
			w.ContextHandle(ndr.ContextHandle{Attributes: 1, UUID: syntaxUUID})
		},
		read: func(r *ndr.Reader) []any { return []any{r.ContextHandle()} },
		want: []any{ndr.ContextHandle{Attributes: 1, UUID: syntaxUUID}},
		le:   "01000000" + "045d888aeb1cc9119fe808002b104860",
		be:   "00000001" + "8a885d041ceb11c99fe808002b104860",
	},
	{
		name: "conformant structure: max count, then the structure's alignment",
		// struct { hyper h; short a[]; } (size_is elsewhere), as a
		// top-level parameter at offset 0.
		write: func(w *ndr.Writer) {
			w.MaxCount(2)
			w.Align(8)
			w.Uint64(1)
			w.Uint16(10)
			w.Uint16(11)
		},
		read: func(r *ndr.Reader) []any {
			n := r.MaxCount()
			r.Align(8)
			h := r.Uint64()
			a := make([]uint16, r.Elements(n, 2))
			for i := range a {
				a[i] = r.Uint16()
			}
			return []any{h, a}
		},
		want: []any{uint64(1), []uint16{10, 11}},
		le:   "02000000" + "00000000" + "0100000000000000" + "0a000b00",
		be:   "00000002" + "00000000" + "0000000000000001" + "000a000b",
	},
	{
		name: "union with a 16-bit discriminant and a long arm",
		write: func(w *ndr.Writer) {
			w.Enum(3)
			w.Uint32(0xdeadbeef)
		},
		read: func(r *ndr.Reader) []any {
			switch d := r.Enum(); d {
			case 3:
				return []any{d, r.Uint32()}
			default:
				r.Fail("unknown arm")
				return nil
			}
		},
		want: []any{uint16(3), uint32(0xdeadbeef)},
		le:   "0300" + "0000" + "efbeadde",
		be:   "0003" + "0000" + "deadbeef",
	},
	{
		name: "full pointers: two aliases and a NULL, one referent",
		write: func(w *ndr.Writer) {
			v := new(uint32)
			*v = 42
			for _, p := range []*uint32{v, v, nil} {
				if w.FullPtr(p) {
					w.Defer(func(w *ndr.Writer) { w.Uint32(*p) })
				}
			}
			w.Flush()
		},
		read: func(r *ndr.Reader) []any {
			var ids []uint32
			var firsts []bool
			var v uint32
			for range 3 {
				id, first := r.FullPtr()
				ids, firsts = append(ids, id), append(firsts, first)
				if first {
					r.Defer(func(r *ndr.Reader) { v = r.Uint32() })
				}
			}
			r.Flush()
			return []any{ids, firsts, v}
		},
		want: []any{[]uint32{0x20000, 0x20000, 0}, []bool{true, false, false}, uint32(42)},
		le:   "00000200" + "00000200" + "00000000" + "2a000000",
		be:   "00020000" + "00020000" + "00000000" + "0000002a",
	},
	{
		name: "embedded [ref] pointer",
		write: func(w *ndr.Writer) {
			w.DeferRef(func(w *ndr.Writer) { w.Uint16(7) })
			w.Uint8(1)
			w.Flush()
		},
		read: func(r *ndr.Reader) []any {
			var v uint16
			r.DeferRef(func(r *ndr.Reader) { v = r.Uint16() })
			b := r.Uint8()
			r.Flush()
			return []any{b, v}
		},
		want: []any{uint8(1), uint16(7)},
		le:   "00000200" + "01" + "00" + "0700",
		be:   "00020000" + "01" + "00" + "0007",
	},
	{
		name: "top-level pointer chain (uint16 ***, the outer one [ref])",
		write: func(w *ndr.Writer) {
			if w.UniquePtr(true) {
				if w.UniquePtr(true) {
					w.Uint16(5)
				}
			}
		},
		read: func(r *ndr.Reader) []any {
			if r.UniquePtr() && r.UniquePtr() {
				return []any{r.Uint16()}
			}
			return nil
		},
		want: []any{uint16(5)},
		le:   "00000200" + "04000200" + "0500",
		be:   "00020000" + "00020004" + "0005",
	},
}

func TestVectors(t *testing.T) {
	for _, tc := range vectors {
		for _, order := range []ndr.ByteOrder{ndr.LittleEndian, ndr.BigEndian} {
			t.Run(tc.name+"/"+order.String(), func(t *testing.T) {
				want := tc.le
				if order == ndr.BigEndian {
					want = tc.be
				}
				// A prefix (a PDU header) does not move the alignment.
				prefix := []byte{0xEE, 0xEE, 0xEE}
				w := ndr.NewWriter(prefix, order)
				tc.write(w)
				got, err := w.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				if hex.EncodeToString(got[:3]) != "eeeeee" {
					t.Fatalf("prefix overwritten: %x", got[:3])
				}
				if g := hex.EncodeToString(got[3:]); g != want {
					t.Fatalf("encoding\n got %s\nwant %s", g, want)
				}
				data, _ := hex.DecodeString(want)
				r := ndr.NewReader(data, order)
				values := tc.read(r)
				wantDecoded(t, r, values, tc.want)
			})
		}
	}
}

// readerCases are stubs a Reader must reject, and the reason it gives.
// The stubs are little-endian; a few are repeated big-endian.
var readerCases = []struct {
	name  string
	hex   string
	read  func(r *ndr.Reader)
	want  string
	order ndr.ByteOrder
}{
	{"short", "010203", func(r *ndr.Reader) { r.Uint32() }, "too short", ndr.LittleEndian},
	{"alignment past the end", "01", func(r *ndr.Reader) { r.Uint8(); r.Align(4); r.Uint8() }, "too short", ndr.LittleEndian},
	{"enum above 32767", "0080", func(r *ndr.Reader) { r.Enum() }, "enum", ndr.LittleEndian},
	{"NULL embedded [ref]", "00000000", func(r *ndr.Reader) { r.DeferRef(func(*ndr.Reader) {}) }, "NULL [ref]", ndr.LittleEndian},
	{"conformance beyond the data", "ffffffff00000000", func(r *ndr.Reader) { r.Elements(r.MaxCount(), 1) }, "larger than the data", ndr.LittleEndian},
	{"conformance times size beyond the data", "0300000000000000000000", func(r *ndr.Reader) { r.Elements(r.MaxCount(), 4) }, "larger than the data", ndr.LittleEndian},
	{"offset + actual count overflows", "ffffffff" + "ffffffff" + "02000000", func(r *ndr.Reader) { r.Variance(r.MaxCount(), 1) }, "beyond the maximum", ndr.LittleEndian},
	{"actual count above max", "02000000" + "00000000" + "03000000" + "414243", func(r *ndr.Reader) { r.Variance(r.MaxCount(), 1) }, "beyond the maximum", ndr.LittleEndian},
	{"string with an offset", "04000000" + "01000000" + "02000000" + "41000000", func(r *ndr.Reader) { r.WString() }, "offset", ndr.LittleEndian},
	{"string without NUL", "02000000" + "00000000" + "02000000" + "41004200", func(r *ndr.Reader) { r.WString() }, "NUL", ndr.LittleEndian},
	{"string with a lone surrogate", "02000000" + "00000000" + "02000000" + "00d80000", func(r *ndr.Reader) { r.WString() }, "UTF-16", ndr.LittleEndian},
	{"string with a lone low surrogate", "03000000" + "00000000" + "03000000" + "00dc41000000", func(r *ndr.Reader) { r.WString() }, "UTF-16", ndr.LittleEndian},
	{"empty string, no terminator", "00000000" + "00000000" + "00000000", func(r *ndr.Reader) { r.WString() }, "terminator", ndr.LittleEndian},
	{"byte string without NUL", "02000000" + "00000000" + "02000000" + "4142", func(r *ndr.Reader) { r.ByteString() }, "NUL", ndr.LittleEndian},
	{"string with a lone surrogate before the NUL", "04000000" + "00000000" + "04000000" + "00d8000041000000", func(r *ndr.Reader) { r.WString() }, "UTF-16", ndr.LittleEndian},
	{"RPC_UNICODE_STRING Length above MaximumLength", "04000200" + "00000200", func(r *ndr.Reader) { var s string; r.UnicodeString(&s) }, "Length above", ndr.LittleEndian},
	{"RPC_UNICODE_STRING max count disagrees", "02000200" + "00000200" + "02000000" + "00000000" + "01000000" + "4100",
		func(r *ndr.Reader) { var s string; r.UnicodeString(&s); r.Flush() }, "disagree", ndr.LittleEndian},
	{"RPC_UNICODE_STRING actual count disagrees", "04000400" + "00000200" + "02000000" + "00000000" + "01000000" + "4100",
		func(r *ndr.Reader) { var s string; r.UnicodeString(&s); r.Flush() }, "disagree", ndr.LittleEndian},
	{"unflushed referent", "00000200", func(r *ndr.Reader) { r.DeferUnique(func(r *ndr.Reader) { r.Uint8() }) }, "not flushed", ndr.LittleEndian},
	{"Fail", "", func(r *ndr.Reader) { r.Fail("unknown level") }, "unknown level", ndr.LittleEndian},

	{"enum above 32767", "8000", func(r *ndr.Reader) { r.Enum() }, "enum", ndr.BigEndian},
	{"conformance beyond the data", "0000000300000000", func(r *ndr.Reader) { r.Elements(r.MaxCount(), 4) }, "larger than the data", ndr.BigEndian},
	{"string without NUL", "00000002" + "00000000" + "00000002" + "00410042", func(r *ndr.Reader) { r.WString() }, "NUL", ndr.BigEndian},
	{"string with a lone surrogate", "00000002" + "00000000" + "00000002" + "d8000000", func(r *ndr.Reader) { r.WString() }, "UTF-16", ndr.BigEndian},
	{"RPC_UNICODE_STRING Length above MaximumLength", "00040002" + "00020000", func(r *ndr.Reader) { var s string; r.UnicodeString(&s) }, "Length above", ndr.BigEndian},
}

func TestReaderErrors(t *testing.T) {
	for _, tc := range readerCases {
		t.Run(tc.name+"/"+tc.order.String(), func(t *testing.T) {
			data, _ := hex.DecodeString(tc.hex)
			r := ndr.NewReader(data, tc.order)
			tc.read(r)
			err := r.Err()
			if !errors.Is(err, ndr.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrMalformed mentioning %q", err, tc.want)
			}
			var e *ndr.Error
			if !errors.As(err, &e) || e.Encode {
				t.Fatalf("err = %#v, want a decode *ndr.Error", err)
			}
			if strings.Contains(tc.want, "flushed") {
				return // not a recorded error: Flush would proceed
			}
			// Sticky: later reads return zero values and keep the
			// first error.
			if v := r.Uint32(); v != 0 || r.WString() != "" || r.UniquePtr() || r.Err() != err {
				t.Fatalf("after the error: %d, %v", v, r.Err())
			}
		})
	}
}

// A [string] ends at its first NUL, as for the C code behind a Windows
// stub: what follows it (even an unpaired surrogate) is not part of the
// value.
func TestStringEndsAtFirstNUL(t *testing.T) {
	for _, tc := range []struct {
		hex   string
		read  func(r *ndr.Reader) string
		order ndr.ByteOrder
		want  string
	}{
		{"05000000" + "00000000" + "05000000" + "49005000" + "0000" + "00d8" + "0000", (*ndr.Reader).WString, ndr.LittleEndian, "IP"},
		{"00000004" + "00000000" + "00000004" + "0041" + "0000" + "0042" + "0000", (*ndr.Reader).WString, ndr.BigEndian, "A"},
		{"05000000" + "00000000" + "05000000" + "4100424300", (*ndr.Reader).ByteString, ndr.LittleEndian, "A"},
	} {
		data, _ := hex.DecodeString(tc.hex)
		r := ndr.NewReader(data, tc.order)
		if got := tc.read(r); got != tc.want || r.Err() != nil {
			t.Errorf("%s: got %q, %v; want %q", tc.hex, got, r.Err(), tc.want)
		}
	}
}

// wantDecoded checks that r read all of its input without an error and
// that got, what it decoded, is want.
func wantDecoded(t *testing.T, r *ndr.Reader, got, want any) {
	t.Helper()
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if r.Remaining() != 0 {
		t.Errorf("%d bytes left over", r.Remaining())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %#v\nwant %#v", got, want)
	}
}
