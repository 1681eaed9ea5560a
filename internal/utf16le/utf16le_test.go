package utf16le

import (
	"bytes"
	"testing"
	"unicode/utf16"
)

func TestRoundTrip(t *testing.T) {
	for _, s := range []string{"", "echo", "İnfo", "\u212aiosk", "a\U0001F600b", "ß"} {
		b := Append(nil, s)
		var want []byte
		for _, u := range utf16.Encode([]rune(s)) {
			want = append(want, byte(u), byte(u>>8))
		}
		if !bytes.Equal(b, want) {
			t.Errorf("Append(%q) = %x, want %x", s, b, want)
		}
		if got, ok := Decode(b); !ok || got != s {
			t.Errorf("Decode(Append(%q)) = %q, %v", s, got, ok)
		}
	}
	for _, bad := range [][]byte{{0x61}, {0x00, 0xD8}, {0x00, 0xDC, 0x61, 0x00}, {0x00, 0xD8, 0x61, 0x00}} {
		if _, ok := Decode(bad); ok {
			t.Errorf("Decode(%x) accepted", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("e\x00c\x00h\x00o\x00"))
	f.Add([]byte{0x3d, 0xd8, 0x00, 0xde})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := Decode(b)
		if ok && !bytes.Equal(Append(nil, s), b) {
			t.Fatalf("Decode(%x) = %q does not re-encode to the input", b, s)
		}
	})
}
