package svc_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// TestBytes: WriteBytes and ReadBytes round-trip a length and a byte
// buffer (NULL when empty), the copy not aliasing the stub; a conformance
// other than the length fails the Reader.
func TestBytes(t *testing.T) {
	encode := func(length uint32, b []byte) []byte {
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		w.Uint32(length)
		svc.WriteBytes(w, b)
		w.Flush()
		stub, err := w.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return stub
	}
	decode := func(stub []byte) ([]byte, error) {
		r := ndr.NewReader(stub, ndr.LittleEndian)
		var got []byte
		svc.ReadBytes(r, &got, r.Uint32(), "mismatch")
		r.Flush()
		return got, r.Err()
	}
	for _, b := range [][]byte{nil, {1}, {1, 2, 3, 4, 5}} {
		stub := encode(uint32(len(b)), b)
		got, err := decode(stub)
		if err != nil || !bytes.Equal(got, b) || (b == nil) != (got == nil) {
			t.Errorf("%v: got %v, %v", b, got, err)
		}
		if len(got) > 0 {
			got[0]++
			if again, _ := decode(stub); !bytes.Equal(again, b) {
				t.Errorf("%v: the result aliases the stub", b)
			}
		}
	}
	if got, err := decode(encode(4, []byte{1, 2, 3})); err == nil || !strings.Contains(err.Error(), "mismatch") {
		t.Errorf("length 4, conformance 3: %v, %v, want the mismatch error", got, err)
	}
}

// TestResume: WriteResume and ReadResume round-trip a ResumeHandle, a
// NULL one as a NULL pointer (4 bytes) and a present one as a referent
// and its value (8 bytes).
func TestResume(t *testing.T) {
	for _, tc := range []struct {
		handle uint32
		null   bool
		size   int
	}{{0, true, 4}, {0, false, 8}, {7, false, 8}} {
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		svc.WriteResume(w, tc.handle, tc.null)
		b, err := w.Bytes()
		if err != nil || len(b) != tc.size {
			t.Fatalf("%+v: %d bytes, %v; want %d", tc, len(b), err, tc.size)
		}
		r := ndr.NewReader(b, ndr.LittleEndian)
		h, null := svc.ReadResume(r)
		if r.Err() != nil || h != tc.handle || null != tc.null {
			t.Errorf("%+v: read %d, %v, %v", tc, h, null, r.Err())
		}
	}
}
