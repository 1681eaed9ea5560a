package dcerpc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"testing"
	"time"

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

// capturedPDUs returns the PDUs of testdata/rpcclient-srvinfo-anon.pdus
// (rpcclient against smbd) that came from dir ('C' or 'S').
func capturedPDUs(f *testing.F, dir byte) [][]byte {
	b, err := os.ReadFile("testdata/rpcclient-srvinfo-anon.pdus")
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, line := range strings.Split(string(b), "\n") {
		if len(line) < 3 || line[0] != dir {
			continue
		}
		pdu, err := hex.DecodeString(line[2:])
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, pdu)
	}
	return out
}

// recorder is a MessageConn reading a fixed input in one go and keeping
// what the engine writes. Once the input is read it reports the end only
// after the answer to call 2 (its last RESPONSE fragment or a FAULT), as
// a client waits for it: the engine drops the answers of calls whose
// client went away.
type recorder struct {
	in   []byte
	out  [][]byte
	done chan struct{}
}

func (r *recorder) ReadMsg(_ context.Context, b []byte) (int, bool, error) {
	if len(r.in) == 0 {
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
		}
		return 0, false, io.EOF
	}
	n := copy(b, r.in)
	r.in = r.in[n:]
	return n, false, nil
}

func (r *recorder) Write(b []byte) (int, error) {
	r.out = append(r.out, bytes.Clone(b))
	if p, err := dcerpc.Decode(b); err == nil && p.CallID == 2 &&
		(p.Type == dcerpc.TypeFault || p.Type == dcerpc.TypeResponse && p.Flags&dcerpc.FlagLastFrag != 0) {
		close(r.done)
	}
	return len(b), nil
}

// responseStub serves in and returns the stub of the answer to call 2,
// reassembled from its RESPONSE fragments, or the fault status.
func responseStub(t *testing.T, srv *dcerpc.Server, in []byte) ([]byte, uint32) {
	rec := &recorder{in: in, done: make(chan struct{})}
	srv.ServeConn(context.Background(), rec, dcerpc.Caller{})
	var stub []byte
	for _, b := range rec.out {
		p, err := dcerpc.Decode(b)
		if err != nil {
			t.Fatalf("the engine wrote a PDU that does not decode: %v", err)
		}
		if p.CallID != 2 {
			continue
		}
		switch p.Type {
		case dcerpc.TypeFault:
			fb, _ := p.Fault()
			return nil, fb.Status
		case dcerpc.TypeResponse:
			r, err := p.Response()
			if err != nil {
				t.Fatal(err)
			}
			stub = append(stub, r.Stub...)
		}
	}
	return stub, 0
}

// FuzzReassemble: an EchoData request cut into fragments anywhere (each
// byte of cuts is the next fragment's stub size less one) is answered
// exactly as the same request in one fragment: the data back, in
// response fragments that reassemble to it. The data seeds are the
// captured rpcclient PDUs (and their stubs).
func FuzzReassemble(f *testing.F) {
	for _, pdu := range append(capturedPDUs(f, 'C'), capturedPDUs(f, 'S')...) {
		f.Add(pdu, []byte{0, 7, 255, 3})
		f.Add(pdu[16:], []byte{15})
	}
	srv := &dcerpc.Server{}
	srv.Register(echo.Interface())
	bind := bindPDU(0, dcerpc.ContextElem{Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR}})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		if len(data) > 8<<10 || len(cuts) == 0 {
			return
		}
		stub := echoDataStub(data)
		want, fault := responseStub(t, srv, append(bytes.Clone(bind), requestPDU(3, 2, echo.OpEchoData, stub)...))
		if fault != 0 || !bytes.Equal(want, echoDataStub(data)[4:]) {
			t.Fatalf("one fragment: fault 0x%x, stub %x", fault, want)
		}
		in := bytes.Clone(bind)
		for off, i := 0, 0; off < len(stub); i++ {
			n := min(int(cuts[i%len(cuts)])+1, len(stub)-off)
			var flags uint8
			if off == 0 {
				flags |= dcerpc.FlagFirstFrag
			}
			if off+n == len(stub) {
				flags |= dcerpc.FlagLastFrag
			}
			in = append(in, requestPDU(flags, 2, echo.OpEchoData, stub[off:off+n])...)
			off += n
		}
		got, fault := responseStub(t, srv, in)
		if fault != 0 || !bytes.Equal(got, want) {
			t.Fatalf("fragmented: fault 0x%x, stub %d bytes, want %d", fault, len(got), len(want))
		}
	})
}
