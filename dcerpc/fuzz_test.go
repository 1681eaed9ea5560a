package dcerpc_test

import (
	"context"
	"encoding/binary"
	"io"
	"testing"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/rpc/echo"
)

func bindPDU(flags uint8, elems ...dcerpc.ContextElem) []byte {
	b := dcerpc.AppendHeader(nil, dcerpc.TypeBind, dcerpc.FlagFirstFrag|dcerpc.FlagLastFrag|flags, dcerpc.LittleEndian, 1)
	body := dcerpc.BindBody{MaxXmitFrag: 4280, MaxRecvFrag: 4280, Contexts: elems}
	b = body.Append(b, binary.LittleEndian)
	dcerpc.Finish(b, 0)
	return b
}

func requestPDU(flags uint8, callID uint32, opnum uint16, stub []byte) []byte {
	b := dcerpc.AppendHeader(nil, dcerpc.TypeRequest, flags, dcerpc.LittleEndian, callID)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(stub)))
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint16(b, opnum)
	b = append(b, stub...)
	dcerpc.Finish(b, 0)
	return b
}

// FuzzDecode: Decode and the body decoders never panic, and what decodes
// as a BIND re-encodes to what decodes the same.
func FuzzDecode(f *testing.F) {
	echoCtx := dcerpc.ContextElem{ID: 3, Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR, dcerpc.NDR64}}
	f.Add(bindPDU(0, echoCtx))
	f.Add(requestPDU(3, 2, 1, echoDataStub([]byte("abc"))))
	ack := dcerpc.BindAck{MaxXmitFrag: 4280, MaxRecvFrag: 4280, AssocGroup: 7, SecondaryAddr: `\PIPE\x`,
		Results: []dcerpc.ContextResult{{Transfer: dcerpc.NDR}, {Result: 2, Reason: 1}}}
	b := dcerpc.AppendHeader(nil, dcerpc.TypeBindAck, 3, dcerpc.BigEndian, 1)
	b = ack.Append(b, binary.BigEndian)
	b = dcerpc.AppendAuth(b, 0, 0, 4, dcerpc.AuthVerifier{Type: dcerpc.AuthNTLM, Level: dcerpc.LevelPrivacy, Value: []byte("NTLMSSP\x00")})
	dcerpc.Finish(b, 8)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := dcerpc.Decode(b)
		if err != nil {
			return
		}
		if int(p.FragLength) != len(p.Raw) || len(p.Body)+16 > len(p.Raw) {
			t.Fatalf("lengths %d %d %d", p.FragLength, len(p.Raw), len(p.Body))
		}
		p.Request()
		p.Response()
		p.Fault()
		p.BindAck()
		p.BindNakReason()
		bb, err := p.Bind()
		if err != nil {
			return
		}
		o := binary.ByteOrder(binary.LittleEndian)
		drep := dcerpc.LittleEndian
		if p.BigEndian() {
			o, drep = binary.BigEndian, dcerpc.BigEndian
		}
		out := dcerpc.AppendHeader(nil, dcerpc.TypeBind, 3, drep, 1)
		out = bb.Append(out, o.(binary.AppendByteOrder))
		dcerpc.Finish(out, 0)
		q, err := dcerpc.Decode(out)
		if err != nil {
			t.Fatal(err)
		}
		bb2, err := q.Bind()
		if err != nil || len(bb2.Contexts) != len(bb.Contexts) || bb2.AssocGroup != bb.AssocGroup {
			t.Fatalf("round trip: %+v %+v %v", bb, bb2, err)
		}
		for i := range bb.Contexts {
			if bb.Contexts[i].Abstract != bb2.Contexts[i].Abstract || len(bb.Contexts[i].Transfer) != len(bb2.Contexts[i].Transfer) {
				t.Fatalf("context %d", i)
			}
		}
	})
}

// streamConn is a MessageConn reading a fixed input and discarding writes.
type streamConn struct {
	in    []byte
	chunk int
}

func (s *streamConn) ReadMsg(_ context.Context, b []byte) (int, bool, error) {
	if len(s.in) == 0 {
		return 0, false, io.EOF
	}
	n := copy(b[:min(len(b), max(s.chunk, 1))], s.in)
	s.in = s.in[n:]
	return n, false, nil
}

func (s *streamConn) Write(b []byte) (int, error) { return len(b), nil }

// FuzzServe: the engine (reassembly, binding, auth) never panics nor
// hangs on any input, read in chunks of any size.
func FuzzServe(f *testing.F) {
	echoCtx := dcerpc.ContextElem{Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR}}
	bind := bindPDU(dcerpc.FlagConcMpx, echoCtx)
	data := make([]byte, 9000)
	stub := echoDataStub(data)
	var frags []byte
	frags = append(frags, requestPDU(dcerpc.FlagFirstFrag, 2, 1, stub[:4000])...)
	frags = append(frags, requestPDU(0, 2, 1, stub[4000:8000])...)
	frags = append(frags, requestPDU(dcerpc.FlagLastFrag, 2, 1, stub[8000:])...)
	f.Add(append(append([]byte{}, bind...), frags...), 7)
	f.Add(append(append([]byte{}, bind...), requestPDU(3, 2, 0, le32(5))...), 4096)
	f.Add(append(append([]byte{}, bind...), requestPDU(3, 2, 99, nil)...), 1)
	srv := &dcerpc.Server{MaxRequest: 1 << 16}
	srv.Register(echo.Interface())
	f.Fuzz(func(t *testing.T, in []byte, chunk int) {
		srv.ServeConn(context.Background(), &streamConn{in: in, chunk: chunk}, dcerpc.Caller{})
	})
}
