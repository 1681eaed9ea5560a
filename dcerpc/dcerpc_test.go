package dcerpc_test

import (
	"bytes"
	"testing"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/rpc/echo"
)

// echoData builds an EchoData request stub: len, then the conformant array.
func echoDataStub(data []byte) []byte {
	b := le32(uint32(len(data)))
	b = append(b, le32(uint32(len(data)))...)
	return append(b, data...)
}

func TestCallLevels(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		level  dcerpc.AuthLevel
		spnego bool
		be     bool
	}{
		{"none", dcerpc.LevelNone, false, false},
		{"none,bigendian", dcerpc.LevelNone, false, true},
		{"ntlm,connect", dcerpc.LevelConnect, false, false},
		{"ntlm,sign", dcerpc.LevelIntegrity, false, false},
		{"ntlm,sign,seal", dcerpc.LevelPrivacy, false, false},
		{"spnego,sign", dcerpc.LevelIntegrity, true, false},
		{"spnego,sign,seal", dcerpc.LevelPrivacy, true, false},
		{"bigendian,ntlm,sign,seal", dcerpc.LevelPrivacy, false, true},
		{"bigendian,spnego,sign", dcerpc.LevelIntegrity, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.dial()
			opts := &dcerpc.ClientOptions{AuthLevel: tc.level, SPNEGO: tc.spnego, BigEndian: tc.be, AuthContextID: 7}
			if tc.level > dcerpc.LevelNone {
				opts.NTLM = &ntlm.Client{User: "alice", Password: alicePassword}
			}
			cl, err := dcerpc.Bind(ctx(t), c, echo.Syntax, opts)
			if err != nil {
				t.Fatal(err)
			}
			if cl.MaxFrag() != 4280 || cl.AssocGroup() == 0 {
				t.Errorf("max frag %d, group %#x", cl.MaxFrag(), cl.AssocGroup())
			}
			in := le32(41)
			if tc.be {
				in = []byte{0, 0, 0, 41}
			}
			out, err := cl.Call(ctx(t), echo.OpAddOne, in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, le32(42)) {
				t.Errorf("AddOne: %x", out)
			}
			// Fragmented both ways.
			data := make([]byte, 50000)
			for i := range data {
				data[i] = byte(i * 7)
			}
			stub := echoDataStub(data)
			if tc.be {
				stub = append([]byte{0, 0, 0xc3, 0x50, 0, 0, 0xc3, 0x50}, data...)
			}
			out, err = cl.Call(ctx(t), echo.OpEchoData, stub)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, append(le32(uint32(len(data))), data...)) {
				t.Errorf("EchoData: %d bytes back", len(out))
			}
		})
	}
}
