package robust

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/rpc/echo"
)

// rpcPipe serves rpcecho on \pipe\rpcecho (alice may open it).
const rpcPipe = `
[[pipe]]
name = "rpcecho"
backend = "rpcecho"
sddl = "D:(A;;0x12019B;;;AU)(A;;FA;;;SY)"
`

var echoCtx = dcerpc.ContextElem{Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR}}

func openRPC(t *testing.T, c *client.Conn) *client.Pipe {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p, err := c.OpenPipe(ctx, "rpcecho")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func pdu(t dcerpc.PacketType, flags uint8, callID uint32, body []byte) []byte {
	b := dcerpc.AppendHeader(nil, t, flags, dcerpc.LittleEndian, callID)
	b = append(b, body...)
	dcerpc.Finish(b, 0)
	return b
}

func bindBody(assoc uint32, elems ...dcerpc.ContextElem) []byte {
	return (&dcerpc.BindBody{MaxXmitFrag: 4280, MaxRecvFrag: 4280, AssocGroup: assoc, Contexts: elems}).Append(nil, binary.LittleEndian)
}

func requestBody(allocHint uint32, ctxID, opnum uint16, stub []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, allocHint)
	b = binary.LittleEndian.AppendUint16(b, ctxID)
	b = binary.LittleEndian.AppendUint16(b, opnum)
	return append(b, stub...)
}

// readAnswer reads the server's next PDU; closed reports that the server
// ended the instance instead (the client reads PIPE_BROKEN or EOF).
func readAnswer(t *testing.T, p *client.Pipe) (pk dcerpc.Packet, closed bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	buf := make([]byte, 0, 8192)
	for {
		n, _, err := p.ReadMsg(ctx, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if pk, err := dcerpc.Decode(buf); err == nil {
			return pk, false
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("no answer and no close within 10s")
			}
			return dcerpc.Packet{}, true
		}
	}
}

// wantFault reads a FAULT with status (and, when fatal, then the close of
// the instance).
func wantFault(t *testing.T, p *client.Pipe, status uint32, fatal bool) {
	t.Helper()
	pk, closed := readAnswer(t, p)
	if closed {
		t.Fatalf("closed without a fault, want fault 0x%08x", status)
	}
	f, err := pk.Fault()
	if pk.Type != dcerpc.TypeFault || err != nil || f.Status != status {
		t.Fatalf("answer %v (status 0x%08x, %v), want fault 0x%08x", pk.Type, f.Status, err, status)
	}
	if fatal {
		if _, closed := readAnswer(t, p); !closed {
			t.Fatal("the association went on after a protocol error")
		}
	}
}

// bound opens rpcecho and binds it raw (no RPC auth), context 0.
func bound(t *testing.T, c *client.Conn) *client.Pipe {
	t.Helper()
	p := openRPC(t, c)
	write(t, p, pdu(dcerpc.TypeBind, 3, 1, bindBody(0, echoCtx)))
	if pk, closed := readAnswer(t, p); closed || pk.Type != dcerpc.TypeBindAck {
		t.Fatalf("bind: %v, closed %v", pk.Type, closed)
	}
	return p
}

func write(t *testing.T, p *client.Pipe, b []byte) {
	t.Helper()
	if _, err := p.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// TestMalformedRPC: hostile DCE/RPC on an rpcecho pipe of a live server
// (fragment lengths that lie, endless fragments, auth padding that lies,
// presentation context abuse, a second bind, garbage) is answered with a
// FAULT (the association ending after a protocol error) or the close of
// that pipe instance, and audited; a well-behaved RPC client on another
// instance keeps calling throughout.
func TestMalformedRPC(t *testing.T) {
	ts := start(t, rpcPipe)
	conn := dial(t, ts.addr, alice)
	good, err := dcerpc.Bind(t.Context(), openRPC(t, conn), echo.Syntax, nil)
	if err != nil {
		t.Fatal(err)
	}
	addOne := func(i uint32) {
		t.Helper()
		out, err := good.Call(t.Context(), echo.OpAddOne, binary.LittleEndian.AppendUint32(nil, i))
		if err != nil || len(out) != 4 || binary.LittleEndian.Uint32(out) != i+1 {
			t.Fatalf("the well-behaved client's AddOne(%d): %x, %v", i, out, err)
		}
	}
	stub := binary.LittleEndian.AppendUint32(nil, 7)

	cases := []struct {
		name string
		run  func(t *testing.T, p *client.Pipe)
	}{
		{"frag_length shorter than the header", func(t *testing.T, p *client.Pipe) {
			b := pdu(dcerpc.TypeRequest, 3, 2, requestBody(4, 0, 0, stub))
			binary.LittleEndian.PutUint16(b[8:], 10)
			write(t, p, b)
			wantFault(t, p, dcerpc.FaultProtoError, true)
		}},
		{"frag_length past the transport maximum", func(t *testing.T, p *client.Pipe) {
			write(t, p, pdu(dcerpc.TypeRequest, 3, 2, requestBody(5000, 0, echo.OpSinkData, make([]byte, 5000))))
			wantFault(t, p, dcerpc.FaultProtoError, true)
		}},
		{"frag_length past the end of the message", func(t *testing.T, p *client.Pipe) {
			// A PDU may span messages: the engine waits for the rest,
			// the next PDU's bytes become this one's body, nothing is
			// answered, and the client's close ends the association.
			b := pdu(dcerpc.TypeRequest, 3, 2, requestBody(4, 0, echo.OpAddOne, stub))
			binary.LittleEndian.PutUint16(b[8:], uint16(len(b)+200))
			write(t, p, b)
			write(t, p, pdu(dcerpc.TypeRequest, 3, 3, requestBody(4, 0, echo.OpAddOne, stub)))
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			if n, _, err := p.ReadMsg(ctx, make([]byte, 1024)); err == nil {
				t.Fatalf("answered %d bytes to a PDU whose end never came", n)
			}
		}},
		{"alloc_hint past the request limit", func(t *testing.T, p *client.Pipe) {
			write(t, p, pdu(dcerpc.TypeRequest, dcerpc.FlagFirstFrag, 2, requestBody(0xFFFFFFFF, 0, echo.OpSinkData, stub)))
			wantFault(t, p, dcerpc.FaultAccessDenied, true)
		}},
		{"endless fragments", func(t *testing.T, p *client.Pipe) {
			chunk := make([]byte, 4096)
			flags := uint8(dcerpc.FlagFirstFrag)
			for i := 0; i <= (4<<20)/len(chunk); i++ {
				write(t, p, pdu(dcerpc.TypeRequest, flags, 2, requestBody(4096, 0, echo.OpSinkData, chunk)))
				flags = 0
			}
			wantFault(t, p, dcerpc.FaultAccessDenied, true)
		}},
		{"fragment of another call", func(t *testing.T, p *client.Pipe) {
			write(t, p, pdu(dcerpc.TypeRequest, dcerpc.FlagFirstFrag, 2, requestBody(8, 0, echo.OpSinkData, stub)))
			write(t, p, pdu(dcerpc.TypeRequest, dcerpc.FlagLastFrag, 9, requestBody(8, 0, echo.OpSinkData, stub)))
			wantFault(t, p, dcerpc.FaultProtoError, true)
		}},
		{"unknown context id", func(t *testing.T, p *client.Pipe) {
			write(t, p, pdu(dcerpc.TypeRequest, 3, 2, requestBody(4, 77, echo.OpAddOne, stub)))
			wantFault(t, p, dcerpc.FaultUnknownInterface, false)
			write(t, p, pdu(dcerpc.TypeRequest, 3, 3, requestBody(4, 0, echo.OpAddOne, stub)))
			if pk, closed := readAnswer(t, p); closed || pk.Type != dcerpc.TypeResponse {
				t.Fatalf("the association did not carry on: %v, closed %v", pk.Type, closed)
			}
		}},
		{"context id rebound to another interface", func(t *testing.T, p *client.Pipe) {
			mgmt := dcerpc.ContextElem{Abstract: dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("afa8bd80-7d8a-11c9-bef4-08002b102989"), Major: 1},
				Transfer: []dcerpc.SyntaxID{dcerpc.NDR}}
			write(t, p, pdu(dcerpc.TypeAlter, 3, 2, bindBody(0, mgmt)))
			wantFault(t, p, dcerpc.FaultProtoError, true)
		}},
		{"contexts beyond the limit", func(t *testing.T, p *client.Pipe) {
			var rejected bool
			for id := uint16(1); id < 300 && !rejected; id++ {
				e := echoCtx
				e.ID = id
				write(t, p, pdu(dcerpc.TypeAlter, 3, uint32(id)+1, bindBody(0, e)))
				pk, closed := readAnswer(t, p)
				if closed || pk.Type != dcerpc.TypeAlterResp {
					t.Fatalf("alter %d: %v, closed %v", id, pk.Type, closed)
				}
				ack, err := pk.BindAck()
				if err != nil || len(ack.Results) != 1 {
					t.Fatalf("alter %d: %v", id, err)
				}
				rejected = ack.Results[0].Result == dcerpc.ResultUserRejection && ack.Results[0].Reason == dcerpc.ReasonLocalLimitExceeded
			}
			if !rejected {
				t.Fatal("300 presentation contexts accepted")
			}
		}},
		{"second bind", func(t *testing.T, p *client.Pipe) {
			write(t, p, pdu(dcerpc.TypeBind, 3, 2, bindBody(0, echoCtx)))
			wantFault(t, p, dcerpc.FaultProtoError, true)
		}},
		{"not DCE/RPC 5.0", func(t *testing.T, p *client.Pipe) {
			b := pdu(dcerpc.TypeRequest, 3, 2, requestBody(4, 0, 0, stub))
			b[0] = 4
			write(t, p, b)
			wantFault(t, p, dcerpc.FaultProtoError, true)
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, bound(t, conn))
		})
		addOne(uint32(i))
	}

	// auth_pad_length lies on an association signed at integrity: more
	// padding than stub, and padding of 16 or more.
	for i, pad := range []uint8{200, 16} {
		t.Run("auth_pad_length "+string(rune('0'+i)), func(t *testing.T) {
			p := openRPC(t, conn)
			if _, err := dcerpc.Bind(t.Context(), p, echo.Syntax, &dcerpc.ClientOptions{AuthLevel: dcerpc.LevelIntegrity,
				NTLM: &ntlm.Client{User: "alice", Password: "Passw0rd!"}}); err != nil {
				t.Fatal(err)
			}
			b := dcerpc.AppendHeader(nil, dcerpc.TypeRequest, 3, dcerpc.LittleEndian, 9)
			b = append(b, requestBody(4, 0, echo.OpAddOne, stub)...)
			b = dcerpc.AppendAuth(b, 0, 24, 16, dcerpc.AuthVerifier{Type: dcerpc.AuthNTLM, Level: dcerpc.LevelIntegrity, Value: make([]byte, 16)})
			dcerpc.Finish(b, 16)
			b[len(b)-16-8+2] = pad
			write(t, p, b)
			wantFault(t, p, dcerpc.FaultProtoError, true)
		})
		addOne(uint32(100 + i))
	}

	log := ts.log.String()
	for _, want := range []string{`msg="rpc refused"`, `fault=nca_s_proto_error`, `fault=nca_s_unk_if`, `reason="request larger than the limit"`, `reason="auth padding"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the server log lacks %s", want)
		}
	}
}
