package smb2

import (
	"encoding/hex"
	"testing"
)

func TestTransformHeader(t *testing.T) {
	// The first bytes of the transform frame of the "SMB 3.1.1 Encryption
	// in Windows 10" blog sample (AES-128-GCM WRITE request).
	hdr, _ := hex.DecodeString("FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C00000000870000000000010025000000001000006ECDD2A7")
	frame := append(hdr, make([]byte, 0x87-4)...)
	th, err := DecodeTransform(frame)
	if err != nil {
		t.Fatal(err)
	}
	if th != (TransformHeader{OriginalMessageSize: 0x87, Flags: 1, SessionID: 0x100000000025}) {
		t.Errorf("decoded %+v", th)
	}
	out := make([]byte, len(frame))
	th.Put(out)
	if hex.EncodeToString(out[36:52]) != hex.EncodeToString(frame[36:52]) || string(out[:4]) != "\xfdSMB" {
		t.Errorf("Put %x", out[:52])
	}
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"short", frame[:TransformHeaderSize]},
		{"nothing", nil},
		{"size mismatch", frame[:len(frame)-1]},
		{"flags", func() []byte { b := append([]byte(nil), frame...); b[42] = 2; return b }()},
		{"protocol", func() []byte { b := append([]byte(nil), frame...); b[0] = 0xFE; return b }()},
	} {
		if _, err := DecodeTransform(tc.frame); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeTransform(frame); th.Put(out) }); n != 0 {
		t.Errorf("%v allocs", n)
	}
}
