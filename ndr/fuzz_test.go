package ndr_test

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smbpipe/smbpipe/ndr"
)

// kitchen is one stub of every shape the fuzz targets drive: a context
// handle, an encapsulated union whose arms are a small, a hyper, or a
// unique pointer to a conformant array of unique string pointers, a
// conformant-varying byte array, an RPC_UNICODE_STRING, a linked list of
// embedded unique pointers, two full pointers that may alias, and a
// [string] char.
type kitchen struct {
	Handle ndr.ContextHandle
	Level  uint16
	Small  uint8    // arm 1
	Big    uint64   // arm 2
	Names  []string // arm 3; nil is a NULL pointer
	Bytes  []byte
	Spare  uint32 // maximum count beyond len(Bytes)
	Label  string
	Chain  []uint32
	Alias  bool // the second full pointer repeats the first
	A, B   uint32
	Tag    string
}

func (k *kitchen) MarshalNDR(w *ndr.Writer) {
	w.ContextHandle(k.Handle)
	w.Enum(k.Level)
	switch k.Level {
	case 1:
		w.Uint8(k.Small)
	case 2:
		w.Uint64(k.Big)
	case 3:
		w.DeferUnique(k.Names != nil, func(w *ndr.Writer) {
			w.MaxCount(len(k.Names))
			for _, s := range k.Names {
				w.DeferUnique(true, func(w *ndr.Writer) { w.WString(s) })
			}
		})
	default:
		w.Fail("unknown level")
	}
	w.MaxCount(len(k.Bytes) + int(k.Spare))
	w.Variance(0, len(k.Bytes))
	w.Octets(k.Bytes)
	w.UnicodeString(k.Label)
	var chain func(w *ndr.Writer, rest []uint32)
	chain = func(w *ndr.Writer, rest []uint32) {
		w.DeferUnique(len(rest) > 0, func(w *ndr.Writer) {
			w.Uint32(rest[0])
			chain(w, rest[1:])
		})
	}
	chain(w, k.Chain)
	pa, pb := &k.A, &k.B
	if k.Alias {
		pb = pa
	}
	for _, p := range []*uint32{pa, pb} {
		if w.FullPtr(p) {
			w.Defer(func(w *ndr.Writer) { w.Uint32(*p) })
		}
	}
	w.Flush()
	w.ByteString(k.Tag)
}

func (k *kitchen) UnmarshalNDR(r *ndr.Reader) {
	k.Handle = r.ContextHandle()
	k.Level = r.Enum()
	switch k.Level {
	case 1:
		k.Small = r.Uint8()
	case 2:
		k.Big = r.Uint64()
	case 3:
		r.DeferUnique(func(r *ndr.Reader) {
			k.Names = make([]string, r.Elements(r.MaxCount(), 4))
			for i := range k.Names {
				r.DeferUnique(func(r *ndr.Reader) { k.Names[i] = r.WString() })
			}
		})
	default:
		r.Fail("unknown level")
	}
	max := r.MaxCount()
	offset, n := r.Variance(max, 1)
	if offset != 0 {
		r.Fail("offset")
	}
	k.Bytes = append([]byte{}, r.Octets(n)...)
	k.Spare = max - uint32(n)
	r.UnicodeString(&k.Label)
	var chain func(r *ndr.Reader)
	chain = func(r *ndr.Reader) {
		k.Chain = append(k.Chain, r.Uint32())
		r.DeferUnique(chain)
	}
	r.DeferUnique(chain)
	idA, first := r.FullPtr()
	if first {
		r.Defer(func(r *ndr.Reader) { k.A = r.Uint32() })
	}
	idB, first := r.FullPtr()
	if first {
		r.Defer(func(r *ndr.Reader) { k.B = r.Uint32() })
	}
	r.Flush()
	if idA == 0 || idB == 0 {
		r.Fail("NULL full pointer")
	}
	if k.Alias = idA == idB; k.Alias {
		k.B = k.A
	}
	k.Tag = r.ByteString()
}

// shapes are the decoders the fuzz targets run.
var shapes = []func() codec{
	func() codec { return new(kitchen) },
	func() codec { return new(netrShareEnumRequest) },
	func() codec { return new(netrShareEnumResponse) },
	func() codec { return new(lsarQueryInformationPolicyRequest) },
	func() codec { return new(lsarQueryInformationPolicyResponse) },
	func() codec { return new(nested) },
}

// FuzzDecode decodes arbitrary bytes as each shape, in both byte orders.
// Nothing may panic; what decodes holds no more elements than the input
// could carry, and encodes back to bytes that decode to the same value.
func FuzzDecode(f *testing.F) {
	for _, tc := range impacketVectors {
		b, _ := hex.DecodeString(tc.hex)
		f.Add(b)
	}
	for _, k := range sampleKitchens() {
		for _, order := range []ndr.ByteOrder{ndr.LittleEndian, ndr.BigEndian} {
			b, err := ndr.Marshal(nil, order, k)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, order := range []ndr.ByteOrder{ndr.LittleEndian, ndr.BigEndian} {
			for _, shape := range shapes {
				v := shape()
				err := ndr.Unmarshal(data, order, v)
				if err != nil {
					if !errors.Is(err, ndr.ErrMalformed) {
						t.Fatalf("%T: error %v does not wrap ErrMalformed", v, err)
					}
					continue
				}
				if n := size(reflect.ValueOf(v)); n > 2*len(data) {
					t.Fatalf("%T: %d elements and string bytes from %d bytes", v, n, len(data))
				}
				again, err := ndr.Marshal(nil, order, v)
				if err != nil {
					t.Fatalf("%T %+v decoded but does not encode: %v", v, v, err)
				}
				w := shape()
				if err := ndr.Unmarshal(again, order, w); err != nil {
					t.Fatalf("%T: re-encoding %x does not decode: %v", v, again, err)
				}
				if !reflect.DeepEqual(v, w) {
					t.Fatalf("%T: decode, encode, decode changed\n%+v\n%+v", v, v, w)
				}
			}
		}
	})
}

// size counts the slice elements and string bytes reachable from v.
func size(v reflect.Value) int {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return 0
		}
		return size(v.Elem())
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			n += size(v.Field(i))
		}
		return n
	case reflect.Slice:
		n := v.Len()
		if v.Type().Elem().Kind() == reflect.Struct || v.Type().Elem().Kind() == reflect.String {
			for i := range v.Len() {
				n += size(v.Index(i))
			}
		}
		return n
	case reflect.String:
		return v.Len()
	}
	return 0
}

func sampleKitchens() []*kitchen {
	return []*kitchen{
		{Level: 1, Small: 7, Bytes: []byte("abc"), Spare: 5, Label: "label", Chain: []uint32{1, 2, 3}, A: 9, B: 10, Tag: "tag"},
		{Handle: ndr.ContextHandle{Attributes: 1, UUID: syntaxUUID}, Level: 2, Big: 1 << 60, Alias: true, A: 4, B: 4},
		{Level: 3, Names: []string{"IPC$", "", "Téléphone ☎ \U0001D11E"}, Chain: []uint32{5}, A: 1, B: 2},
		{Level: 3, Names: []string{}, A: 1, B: 2, Tag: "x"},
	}
}

// FuzzRoundTrip builds values from the fuzzer's input, encodes them in
// both byte orders and checks that they decode to the same values.
func FuzzRoundTrip(f *testing.F) {
	f.Add("IPC$", "Remote IPC", uint8(2), uint16(3), uint64(1)<<40, []byte{1, 2, 3, 4, 5}, true)
	f.Add("", "", uint8(0), uint16(1), uint64(0), []byte{}, false)
	f.Add("a\x00b", "\xff\xfe", uint8(5), uint16(2), uint64(7), []byte("long enough to chain a few links"), false)
	f.Fuzz(func(t *testing.T, name, remark string, n uint8, level uint16, x uint64, raw []byte, alias bool) {
		name = strings.ToValidUTF8(name, "\uFFFD")
		remark = strings.ToValidUTF8(remark, "\uFFFD")
		if utf8.RuneCountInString(remark) > 1000 {
			remark = string([]rune(remark)[:1000])
		}
		var entries []shareInfo1
		for i := range int(n % 5) {
			entries = append(entries, shareInfo1{Name: name + strings.Repeat("$", i), Type: uint32(x) + uint32(i), Remark: remark})
		}
		var sub []uint32
		for i := 0; i+4 <= len(raw) && len(sub) < 15; i += 4 {
			sub = append(sub, uint32(raw[i])|uint32(raw[i+1])<<8|uint32(raw[i+2])<<16|uint32(raw[i+3])<<24)
		}
		var chain []uint32
		for _, b := range raw {
			chain = append(chain, uint32(b))
		}
		k := &kitchen{
			Level: level%3 + 1, Bytes: raw, Spare: uint32(n),
			Label: remark, Chain: chain, Alias: alias, A: uint32(x >> 32), B: uint32(x), Tag: name,
		}
		switch k.Level {
		case 1:
			k.Small = uint8(x)
		case 2:
			k.Big = x
		case 3:
			k.Names = []string{name, remark}
		}
		if alias {
			k.B = k.A
		}
		values := []codec{
			&netrShareEnumResponse{
				InfoStruct:   shareEnumStruct{Level: 1, Level1: &shareInfo1Container{Entries: entries}},
				TotalEntries: uint32(len(entries)),
				ResumeHandle: ptr(uint32(x)),
				Status:       uint32(x >> 32),
			},
			&lsarQueryInformationPolicyResponse{
				Class: policyAccountDomainInformation,
				Account: &accountDomInfo{DomainName: remark, DomainSID: &rpcSID{
					Revision: 1, Authority: [6]byte{0, 0, 0, 0, 0, byte(n)}, SubAuthority: sub,
				}},
			},
			k,
		}
		if sub == nil {
			values[1].(*lsarQueryInformationPolicyResponse).Account.DomainSID.SubAuthority = []uint32{}
		}
		// Only [string]s refuse a NUL (RPC_UNICODE_STRING keeps it); a
		// chain deeper than MaxDepth does not encode.
		hasNUL := strings.Contains(name, "\x00") || strings.Contains(remark, "\x00")
		unencodable := []bool{
			hasNUL && len(entries) > 0,
			false,
			strings.Contains(name, "\x00") || hasNUL && k.Level == 3 || len(chain) > ndr.MaxDepth,
		}
		for _, order := range []ndr.ByteOrder{ndr.LittleEndian, ndr.BigEndian} {
			for i, v := range values {
				stub, err := ndr.Marshal(nil, order, v)
				if unencodable[i] {
					if !errors.Is(err, ndr.ErrUnencodable) {
						t.Fatalf("%T: err = %v, want ErrUnencodable", v, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%T: %v", v, err)
				}
				got := reflect.New(reflect.TypeOf(v).Elem()).Interface().(codec)
				if err := ndr.Unmarshal(stub, order, got); err != nil {
					t.Fatalf("%T: %v\n%x", v, err, stub)
				}
				if !reflect.DeepEqual(got, v) {
					t.Fatalf("%v: round trip changed %T\n got %+v\nwant %+v", order, v, got, v)
				}
			}
		}
	})
}
