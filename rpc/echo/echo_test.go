package echo_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/rpc/echo"
)

func bind(t *testing.T, bigEndian bool) *dcerpc.Client {
	t.Helper()
	srv := &dcerpc.Server{}
	if err := srv.Register(echo.Interface()); err != nil {
		t.Fatal(err)
	}
	var ns pipe.Namespace
	l, err := ns.Create("rpcecho", pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := ns.Open("rpcecho", nil)
	s, _ := l.AcceptEnd(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeConn(context.Background(), s, dcerpc.Caller{})
		s.Close()
	}()
	t.Cleanup(func() { c.Close(); <-done; l.Close() })
	cl, err := dcerpc.Bind(context.Background(), c, echo.Syntax, &dcerpc.ClientOptions{BigEndian: bigEndian})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestStubs: each opnum's answer to a request encoded as Samba's pidl
// client encodes it (little-endian, and big-endian where the layout
// differs), with the values smbtorture rpc.echo checks.
func TestStubs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		be    bool
		opnum uint16
		in    string
		out   string
		fault uint32
	}{
		{"AddOne", false, echo.OpAddOne, "ffffffff", "00000000", 0},
		{"AddOne BE", true, echo.OpAddOne, "00000029", "2a000000", 0},
		{"EchoData", false, echo.OpEchoData, "03000000" + "03000000" + "616263", "03000000616263", 0},
		{"EchoData size mismatch", false, echo.OpEchoData, "03000000" + "04000000" + "61626364", "", dcerpc.FaultNDR},
		{"EchoData short", false, echo.OpEchoData, "10000000" + "10000000" + "6162", "", dcerpc.FaultNDR},
		{"SinkData", false, echo.OpSinkData, "02000000" + "02000000" + "0102", "", 0},
		{"SourceData", false, echo.OpSourceData, "05000000", "05000000" + "0001020304", 0},
		// TestCall: [ref] string "ab" in; out a unique pointer then the string.
		{"TestCall", false, echo.OpTestCall, "03000000" + "00000000" + "03000000" + "610062000000",
			"00000200" + "03000000" + "00000000" + "03000000" + "610062000000", 0},
		{"TestCall BE", true, echo.OpTestCall, "00000002" + "00000000" + "00000002" + "00610000",
			"00000200" + "02000000" + "00000000" + "02000000" + "61000000", 0},
		{"TestCall2 1", false, echo.OpTestCall2, "0100", "0100" + "0a" + "00" + "00000000", 0},
		{"TestCall2 2", false, echo.OpTestCall2, "0200", "0200" + "1400" + "00000000", 0},
		{"TestCall2 3", false, echo.OpTestCall2, "0300", "0300" + "0000" + "1e000000" + "00000000", 0},
		{"TestCall2 4", false, echo.OpTestCall2, "0400", "0400" + "000000000000" + "2800000000000000" + "00000000", 0},
		{"TestCall2 5", false, echo.OpTestCall2, "0500", "0500" + "000000000000" + "32" + "00000000000000" + "3c00000000000000" + "00000000", 0},
		{"TestCall2 6", false, echo.OpTestCall2, "0600", "0600" + "4650" + "00000000", 0},
		{"TestCall2 7", false, echo.OpTestCall2, "0700", "0700" + "000000000000" + "50" + "00000000000000" + "5a00000000000000" + "00000000", 0},
		{"TestCall2 8", false, echo.OpTestCall2, "0800", "", dcerpc.FaultNDR},
		{"TestSleep", false, echo.OpTestSleep, "00000000", "00000000", 0},
		// foo1 = 1; foo2 {e1 = 1, e2 = 1}; foo3 = union level 1 {e1 = 1}
		{"TestEnum", false, echo.OpTestEnum, "0100" + "0000" + "0100" + "0000" + "01000000" + "0100" + "0100",
			"0100" + "0000" + "0200" + "0000" + "01000000" + "0100" + "0100", 0},
		{"TestEnum level 2", false, echo.OpTestEnum, "0200" + "0000" + "0100" + "0000" + "01000000" + "0200" + "0000" + "0200" + "0000" + "02000000",
			"0200" + "0000" + "0200" + "0000" + "01000000" + "0200" + "0000" + "0200" + "0000" + "02000000", 0},
		{"TestSurrounding", false, echo.OpTestSurrounding, "02000000" + "02000000" + "01000200",
			"04000000" + "04000000" + "0000000000000000", 0},
		{"TestDoublePointer", false, echo.OpTestDoublePointer, "00000200" + "04000200" + "0700", "0700", 0},
		{"TestDoublePointer NULL", false, echo.OpTestDoublePointer, "00000200" + "00000000", "0000", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := bind(t, tc.be)
			out, err := cl.Call(context.Background(), tc.opnum, h(tc.in))
			if tc.fault != 0 {
				if f, ok := err.(dcerpc.Fault); !ok || uint32(f) != tc.fault {
					t.Fatalf("got %x %v, want fault %#x", out, err, tc.fault)
				}
				return
			}
			if err != nil || !bytes.Equal(out, h(tc.out)) {
				t.Fatalf("got %x %v\nwant %s", out, err, tc.out)
			}
		})
	}
}

// TestSleep: TestSleep answers after the delay asked for.
func TestSleep(t *testing.T) {
	cl := bind(t, false)
	start := time.Now()
	out, err := cl.Call(context.Background(), echo.OpTestSleep, h("01000000"))
	if err != nil || !bytes.Equal(out, h("01000000")) || time.Since(start) < time.Second {
		t.Fatalf("%x %v after %v", out, err, time.Since(start))
	}
}
