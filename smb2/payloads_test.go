package smb2

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

// payload is a value with Decode and Append.
type payload interface {
	Decode([]byte) error
	Append([]byte) []byte
}

// TestPayloads: each payload type encodes to the bytes MS-FSCC / MS-SMB2
// lay out (hand-written vectors), decodes them back, and refuses every
// truncation.
func TestPayloads(t *testing.T) {
	guid := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	tests := []struct {
		name  string
		v     payload
		empty payload
		hex   string
		min   int // shortest valid length
	}{
		{"peek", &PipePeekBuffer{NamedPipeState: 3, ReadDataAvailable: 5, NumberOfMessages: 1, MessageLength: 5, Data: []byte("hello")},
			&PipePeekBuffer{}, "03000000 05000000 01000000 05000000 68656c6c6f", 16},
		{"wait", &PipeWaitRequest{Timeout: -10000000, TimeoutSpecified: true, Name: "echo"},
			&PipeWaitRequest{}, "80 69 67 ff ff ff ff ff 08000000 01 00 6500630068006f00", 22},
		{"validate request", &ValidateNegotiateInfoRequest{Capabilities: 0x7f, GUID: guid, SecurityMode: 1, Dialects: []Dialect{0x202, 0x311}},
			&ValidateNegotiateInfoRequest{}, "7f000000 0102030405060708090a0b0c0d0e0f10 0100 0200 0202 1103", 28},
		{"validate response", &ValidateNegotiateInfoResponse{Capabilities: 0x44, GUID: guid, SecurityMode: 3, Dialect: 0x302},
			&ValidateNegotiateInfoResponse{}, "44000000 0102030405060708090a0b0c0d0e0f10 0300 0203", 24},
		{"pipe info", &FilePipeInfo{ReadMode: 1, CompletionMode: 0}, &FilePipeInfo{}, "01000000 00000000", 8},
		{"pipe local info", &FilePipeLocalInfo{1, 2, 0xffffffff, 3, 65536, 7, 65536, 65529, 3, 0}, &FilePipeLocalInfo{},
			"01000000 02000000 ffffffff 03000000 00000100 07000000 00000100 f9ff0000 03000000 00000000", 40},
		{"standard info", &FileStandardInfo{AllocationSize: 4096, NumberOfLinks: 1, DeletePending: true}, &FileStandardInfo{},
			"0010000000000000 0000000000000000 01000000 01 00 0000", 24},
		{"MxAc", &MaximalAccessResponse{MaximalAccess: 0x12019f}, &MaximalAccessResponse{}, "00000000 9f011200", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := hex.DecodeString(stripSpaces(tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			got := tt.v.Append(nil)
			if !bytes.Equal(got, want) {
				t.Fatalf("Append = %x, want %x", got, want)
			}
			if err := tt.empty.Decode(want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.empty, tt.v) {
				t.Fatalf("Decode = %+v, want %+v", tt.empty, tt.v)
			}
			for n := 0; n < tt.min; n++ {
				if err := tt.empty.Decode(want[:n]); err == nil {
					t.Errorf("Decode of %d of %d bytes succeeded", n, len(want))
				}
			}
		})
	}
}

func stripSpaces(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}

func TestSizeErrorDataAndFileIDAt(t *testing.T) {
	d, n := AppendSizeErrorData(nil, Dialect311, 0x1234)
	if hex.EncodeToString(d) != "040000000000000034120000" || n != 1 {
		t.Fatalf("3.1.1: %x %d", d, n)
	}
	d, n = AppendSizeErrorData(nil, Dialect302, 0x1234)
	if hex.EncodeToString(d) != "34120000" || n != 0 {
		t.Fatalf("3.0.2: %x %d", d, n)
	}
	msg := make([]byte, HeaderSize+24)
	msg[HeaderSize+8] = 7
	msg[HeaderSize+16] = 9
	if id, ok := FileIDAt(msg, 8); !ok || id != (FileID{Persistent: 7, Volatile: 9}) {
		t.Fatalf("FileIDAt = %v %v", id, ok)
	}
	if _, ok := FileIDAt(msg, 9); ok {
		t.Fatal("FileIDAt past the end succeeded")
	}
	if _, ok := FileIDAt(msg, -1); ok {
		t.Fatal("FileIDAt at a negative offset succeeded")
	}
}

// FuzzPayloads: no payload decoder panics, and what decodes re-encodes to
// a prefix of the input that decodes to the same value.
func FuzzPayloads(f *testing.F) {
	f.Add([]byte("\x03\x00\x00\x00\x05\x00\x00\x00\x01\x00\x00\x00\x05\x00\x00\x00hello"))
	f.Add([]byte("\x80\x69\x67\xff\xff\xff\xff\xff\x08\x00\x00\x00\x01\x00e\x00c\x00h\x00o\x00"))
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, mk := range []func() payload{
			func() payload { return &PipePeekBuffer{} }, func() payload { return &PipeWaitRequest{} },
			func() payload { return &ValidateNegotiateInfoRequest{} }, func() payload { return &ValidateNegotiateInfoResponse{} },
			func() payload { return &FilePipeInfo{} }, func() payload { return &FilePipeLocalInfo{} },
			func() payload { return &FileStandardInfo{} }, func() payload { return &MaximalAccessResponse{} },
		} {
			v := mk()
			if v.Decode(b) != nil {
				continue
			}
			enc := v.Append(nil)
			w := mk()
			if err := w.Decode(enc); err != nil {
				t.Fatalf("%T: re-encoded value does not decode: %v", v, err)
			}
			if !reflect.DeepEqual(v, w) {
				t.Fatalf("%T: %+v != %+v", v, v, w)
			}
		}
	})
}

func TestCreditCharge(t *testing.T) {
	for _, tc := range []struct {
		size int
		want uint16
	}{{0, 1}, {1, 1}, {65536, 1}, {65537, 2}, {131072, 2}, {8 << 20, 128}, {1 << 40, 0xFFFF}} {
		if got := CreditCharge(tc.size); got != tc.want {
			t.Errorf("CreditCharge(%d) = %d, want %d", tc.size, got, tc.want)
		}
	}
}
