package dcerpc_test

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/pipe"
)

// A service is an Interface: a syntax and one function per opnum reading
// its [in] parameters and writing its [out] ones. Here one operation,
// uint32 Double([in] uint32 v), served on a message-mode pipe and called
// with the Go client.
func Example() {
	srv := &dcerpc.Server{}
	double := dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("8d9f4e40-a03d-11ce-8f69-08003e30051b"), Major: 1}
	srv.Register(dcerpc.Interface{
		Name:   "double",
		Syntax: double,
		Ops: []dcerpc.Op{{Name: "Double", Func: func(c *dcerpc.Call, in *ndr.Reader, out *ndr.Writer) error {
			v := in.Uint32()
			out.Uint32(2 * v)
			return nil
		}}},
	})

	var ns pipe.Namespace
	l, _ := ns.Create("double", pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex})
	defer l.Close()
	client, _ := ns.Open("double", pipe.Caller{User: "alice"})
	defer client.Close()
	go func() {
		end, _ := l.AcceptEnd(context.Background())
		defer end.Close()
		who, _ := end.Caller()
		srv.ServeConn(context.Background(), end, dcerpc.Caller{User: who.User})
	}()

	c, err := dcerpc.Bind(context.Background(), client, double, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := c.Call(context.Background(), 0, binary.LittleEndian.AppendUint32(nil, 21))
	fmt.Println(binary.LittleEndian.Uint32(out), err)
	_, err = c.Call(context.Background(), 1, nil)
	fmt.Println(err)
	// Output:
	// 42 <nil>
	// dcerpc: fault 0x1c010002 (nca_s_op_rng_error)
}
