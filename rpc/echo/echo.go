// Package echo is Samba's rpcecho test interface (librpc/idl/echo.idl,
// UUID 60a15ec5-4de8-11d7-a637-005056a20182 version 1.0, endpoint
// \pipe\rpcecho) written with the dcerpc Go API, as smbtorture's rpc.echo
// exercises it. It is also the example of an RPC service: one function
// per opnum, reading the [in] parameters from an ndr.Reader and writing
// the [out] ones to an ndr.Writer in IDL order.
package echo

import (
	"time"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/ntstatus"
)

// Syntax is the rpcecho interface's.
var Syntax = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("60a15ec5-4de8-11d7-a637-005056a20182"), Major: 1}

// Opnums.
const (
	OpAddOne            = 0
	OpEchoData          = 1
	OpSinkData          = 2
	OpSourceData        = 3
	OpTestCall          = 4
	OpTestCall2         = 5
	OpTestSleep         = 6
	OpTestEnum          = 7
	OpTestSurrounding   = 8
	OpTestDoublePointer = 9
)

// MaxSleep bounds TestSleep (seconds).
const MaxSleep = 60

// Interface returns the rpcecho interface. Samba lets clients bound at auth
// level CONNECT use it.
func Interface() dcerpc.Interface {
	return dcerpc.Interface{
		Name:         "rpcecho",
		Syntax:       Syntax,
		AllowConnect: true,
		Ops: []dcerpc.Op{
			OpAddOne:            {Name: "AddOne", Func: addOne},
			OpEchoData:          {Name: "EchoData", Func: echoData},
			OpSinkData:          {Name: "SinkData", Func: sinkData},
			OpSourceData:        {Name: "SourceData", Func: sourceData},
			OpTestCall:          {Name: "TestCall", Func: testCall},
			OpTestCall2:         {Name: "TestCall2", Func: testCall2},
			OpTestSleep:         {Name: "TestSleep", Func: testSleep},
			OpTestEnum:          {Name: "TestEnum", Func: testEnum},
			OpTestSurrounding:   {Name: "TestSurrounding", Func: testSurrounding},
			OpTestDoublePointer: {Name: "TestDoublePointer", Func: testDoublePointer},
		},
	}
}

// void echo_AddOne([in] uint32 in_data, [out] uint32 *out_data)
func addOne(_ *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	v := r.Uint32()
	w.Uint32(v + 1)
	return nil
}

// conformantBytes reads [size_is(n)] uint8 data[]: the maximum count,
// which must be n, then n bytes.
func conformantBytes(r *ndr.Reader, n uint32) []byte {
	if m := r.MaxCount(); m != n && r.Err() == nil {
		r.Fail("size_is does not match the length")
		return nil
	}
	return r.Octets(r.Elements(n, 1))
}

// void echo_EchoData([in] uint32 len, [in,size_is(len)] uint8 in_data[],
// [out,size_is(len)] uint8 out_data[])
func echoData(_ *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	n := r.Uint32()
	data := conformantBytes(r, n)
	w.MaxCount(len(data))
	w.Octets(data)
	return nil
}

// void echo_SinkData([in] uint32 len, [in,size_is(len)] uint8 data[])
func sinkData(_ *dcerpc.Call, r *ndr.Reader, _ *ndr.Writer) error {
	conformantBytes(r, r.Uint32())
	return nil
}

// void echo_SourceData([in] uint32 len, [out,size_is(len)] uint8 data[]):
// data[i] = i & 0xff. The length is bounded by the request size limit of
// the engine for the other calls; here by 4 MiB.
func sourceData(_ *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	n := r.Uint32()
	if r.Err() != nil {
		return nil
	}
	if n > 4<<20 {
		return dcerpc.Fault(dcerpc.FaultRemoteNoMemory)
	}
	w.MaxCount(int(n))
	for i := range n {
		w.Uint8(uint8(i))
	}
	return nil
}

// void echo_TestCall([in,string,charset(UTF16)] uint16 *s1,
// [out,string,charset(UTF16)] uint16 **s2): *s2 is a copy of s1.
func testCall(_ *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	s := r.WString() // top-level [ref]: the string itself
	if r.Err() != nil {
		return nil
	}
	w.UniquePtr(true) // the [unique] *s2
	w.WString(s)
	return nil
}

// NTSTATUS echo_TestCall2([in] uint16 level, [out,switch_is(level)]
// echo_Info *info): the union arm of the level with Samba's values.
func testCall2(_ *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	level := r.Uint16()
	if r.Err() != nil {
		return nil
	}
	if level < 1 || level > 7 {
		// The union has no arm for it: Samba's marshalling fails.
		return dcerpc.Fault(dcerpc.FaultNDR)
	}
	w.Uint16(level) // the union's discriminant
	switch level {
	case 1:
		w.Uint8(10)
	case 2:
		w.Uint16(20)
	case 3:
		w.Uint32(30)
	case 4:
		w.Uint64(40)
	case 5: // struct {uint8 v1; hyper v2}, aligned to 8
		w.Align(8)
		w.Uint8(50)
		w.Uint64(60)
	case 6: // struct {uint8 v1; echo_info1 info1}
		w.Uint8(70)
		w.Uint8(80)
	case 7: // struct {uint8 v1; struct echo_info4 info4}, aligned to 8
		w.Align(8)
		w.Uint8(80)
		w.Uint64(90)
	}
	w.Uint32(uint32(ntstatus.Success))
	return nil
}

// uint32 echo_TestSleep([in] uint32 seconds): answers after that long
// (at most MaxSleep), or faults with nca_s_fault_cancel when the call is
// cancelled or orphaned first.
func testSleep(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	s := r.Uint32()
	if r.Err() != nil {
		return nil
	}
	t := time.NewTimer(time.Duration(min(s, MaxSleep)) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.Context().Done():
		return c.Context().Err()
	}
	w.Uint32(s)
	return nil
}

// void echo_TestEnum([in,out,ref] echo_Enum1 *foo1, [in,out,ref]
// echo_Enum2 *foo2, [in,out,ref,switch_is(*foo1)] echo_Enum3 *foo3):
// foo2->e1 becomes ECHO_ENUM2, the rest comes back as it went.
func testEnum(_ *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	foo1 := r.Enum()
	// echo_Enum2 {echo_Enum1 e1; [v1_enum] echo_Enum1_32 e2}
	r.Align(4)
	r.Enum() // foo2->e1, replaced
	e2 := r.V1Enum()
	// echo_Enum3: union switch_type(uint16): the discriminant, then the arm.
	d := r.Uint16()
	var u1 uint16
	var u2a uint16
	var u2b uint32
	switch d {
	case 1:
		u1 = r.Enum()
	case 2:
		r.Align(4)
		u2a = r.Enum()
		u2b = r.V1Enum()
	default:
		r.Fail("echo_Enum3: bad switch value")
	}
	if r.Err() != nil {
		return nil
	}
	if d != foo1 {
		return dcerpc.Fault(dcerpc.FaultNDR)
	}
	w.Enum(foo1)
	w.Align(4)
	w.Enum(2) // ECHO_ENUM2
	w.V1Enum(e2)
	w.Uint16(d)
	switch d {
	case 1:
		w.Enum(u1)
	case 2:
		w.Align(4)
		w.Enum(u2a)
		w.V1Enum(u2b)
	}
	return nil
}

// void echo_TestSurrounding([in,out,ref] echo_Surrounding *data): the
// conformant structure {uint32 x; [size_is(x)] uint16 surrounding[*]}
// comes back with x doubled and as many zeros.
func testSurrounding(_ *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	m := r.MaxCount()
	x := r.Uint32()
	if r.Err() == nil && m != x {
		r.Fail("echo_Surrounding: size_is does not match x")
	}
	r.Octets(r.Elements(x, 2) * 2)
	if r.Err() != nil {
		return nil
	}
	if x > 1<<20 {
		return dcerpc.Fault(dcerpc.FaultRemoteNoMemory)
	}
	w.MaxCount(int(2 * x))
	w.Uint32(2 * x)
	for range 2 * x {
		w.Uint16(0)
	}
	return nil
}

// uint16 echo_TestDoublePointer([in] uint16 ***data): ***data, or 0 when
// a pointer on the way is NULL.
func testDoublePointer(_ *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	var v uint16
	if r.UniquePtr() && r.UniquePtr() {
		v = r.Uint16()
	}
	if r.Err() != nil {
		return nil
	}
	w.Uint16(v)
	return nil
}
