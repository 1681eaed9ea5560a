package dcerpc_test

import (
	"testing"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/rpc/echo"
)

// addOneLoop binds rpcecho on a pipe instance and returns a function that
// makes one AddOne call with a prebuilt request, reading the answer into a
// fixed buffer: what allocates in it is the engine's (pipe ends do not
// allocate).
func addOneLoop(tb testing.TB) func() {
	f := newFixture(tb)
	c := f.dial()
	if _, err := c.Write(bindPDU(0, dcerpc.ContextElem{Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR}})); err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 4096)
	if _, _, err := c.ReadMsg(ctx(tb), buf); err != nil {
		tb.Fatal(err)
	}
	req := requestPDU(3, 2, echo.OpAddOne, le32(41))
	ctx := ctx(tb)
	return func() {
		if _, err := c.Write(req); err != nil {
			tb.Fatal(err)
		}
		n, _, err := c.ReadMsg(ctx, buf)
		if err != nil || n != 28 || buf[2] != byte(dcerpc.TypeResponse) || buf[24] != 42 {
			tb.Fatalf("answer %x %v", buf[:n], err)
		}
	}
}

var _ dcerpc.MessageConn = (*pipe.End)(nil)

// TestCallAllocs pins the engine at 0 allocations per call for a call
// with primitive parameters.
func TestCallAllocs(t *testing.T) {
	call := addOneLoop(t)
	call() // warm up: worker, buffers, call free list
	if n := testing.AllocsPerRun(200, call); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}

func BenchmarkAddOne(b *testing.B) {
	call := addOneLoop(b)
	b.ReportAllocs()
	for b.Loop() {
		call()
	}
}
