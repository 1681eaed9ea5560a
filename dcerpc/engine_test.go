package dcerpc_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/rpc/echo"
)

var unknownIface = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("12345678-1234-abcd-ef00-0123456789ab"), Major: 1}

// rawBind writes a BIND with the given contexts and returns the answer.
func rawBind(t *testing.T, c *pipe.End, group uint32, elems ...dcerpc.ContextElem) dcerpc.Packet {
	t.Helper()
	b := dcerpc.AppendHeader(nil, dcerpc.TypeBind, dcerpc.FlagFirstFrag|dcerpc.FlagLastFrag, dcerpc.LittleEndian, 1)
	body := dcerpc.BindBody{MaxXmitFrag: 5840, MaxRecvFrag: 5840, AssocGroup: group, Contexts: elems}
	b = body.Append(b, binary.LittleEndian)
	dcerpc.Finish(b, 0)
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	return readPDU(t, c)
}

// rawRequest writes a one-fragment REQUEST.
func rawRequest(t *testing.T, c *pipe.End, callID uint32, ctxID, opnum uint16, stub []byte) {
	t.Helper()
	b := dcerpc.AppendHeader(nil, dcerpc.TypeRequest, dcerpc.FlagFirstFrag|dcerpc.FlagLastFrag, dcerpc.LittleEndian, callID)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(stub)))
	b = binary.LittleEndian.AppendUint16(b, ctxID)
	b = binary.LittleEndian.AppendUint16(b, opnum)
	b = append(b, stub...)
	dcerpc.Finish(b, 0)
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func expectFault(t *testing.T, p dcerpc.Packet, status uint32, flags uint8) {
	t.Helper()
	if p.Type != dcerpc.TypeFault {
		t.Fatalf("got %s, want a fault", p.Type)
	}
	f, err := p.Fault()
	if err != nil || f.Status != status || p.Flags&flags != flags {
		t.Fatalf("fault %#x flags %#x (%v), want %#x flags %#x", f.Status, p.Flags, err, status, flags)
	}
}

// TestBindNegotiation: one new context per BIND, NDR64 declined, bind time
// features acknowledged as Windows does, unknown interfaces rejected; the
// fragment sizes as Windows computes them; one audit record.
func TestBindNegotiation(t *testing.T) {
	f := newFixture(t)
	c := f.dial()
	p := rawBind(t, c, 0,
		dcerpc.ContextElem{ID: 0, Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR}},
		dcerpc.ContextElem{ID: 1, Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR64}},
		dcerpc.ContextElem{ID: 2, Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.BindTimeFeatures(3)}},
		dcerpc.ContextElem{ID: 3, Abstract: unknownIface, Transfer: []dcerpc.SyntaxID{dcerpc.NDR}},
		dcerpc.ContextElem{ID: 4, Abstract: dcerpc.MgmtSyntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR}},
	)
	if p.Type != dcerpc.TypeBindAck {
		t.Fatalf("got %s", p.Type)
	}
	ack, err := p.BindAck()
	if err != nil {
		t.Fatal(err)
	}
	if ack.MaxXmitFrag != 4280 || ack.MaxRecvFrag != 4280 || ack.AssocGroup == 0 || ack.SecondaryAddr != `\PIPE\rpcecho` {
		t.Errorf("ack %+v", ack)
	}
	want := []dcerpc.ContextResult{
		{Result: dcerpc.ResultAcceptance, Transfer: dcerpc.NDR},
		{Result: dcerpc.ResultProviderRejection, Reason: dcerpc.ReasonTransferSyntaxesNotSupported},
		{Result: dcerpc.ResultNegotiateAck, Reason: dcerpc.FeatureKeepConnectionOnOrphan},
		{Result: dcerpc.ResultProviderRejection, Reason: dcerpc.ReasonAbstractSyntaxNotSupported},
		{Result: dcerpc.ResultProviderRejection, Reason: dcerpc.ReasonTransferSyntaxesNotSupported},
	}
	if len(ack.Results) != len(want) {
		t.Fatalf("results %+v", ack.Results)
	}
	for i := range want {
		if ack.Results[i] != want[i] {
			t.Errorf("result %d: %+v, want %+v", i, ack.Results[i], want[i])
		}
	}
	// Context 1 was refused: a request on it is nca_s_unk_if, and the
	// association goes on.
	rawRequest(t, c, 2, 1, 0, le32(1))
	expectFault(t, readPDU(t, c), dcerpc.FaultUnknownInterface, dcerpc.FlagDidNotExecute)
	rawRequest(t, c, 3, 0, 10, nil)
	expectFault(t, readPDU(t, c), dcerpc.FaultOpRangeError, dcerpc.FlagDidNotExecute)
	rawRequest(t, c, 4, 0, 0, le32(1))
	if p := readPDU(t, c); p.Type != dcerpc.TypeResponse {
		t.Fatalf("got %s", p.Type)
	}
	binds := f.eventsOf("bind")
	if len(binds) != 1 || !binds[0].Accepted || binds[0].Interface != echo.Syntax || binds[0].Name != "rpcecho" || binds[0].AuthLevel != dcerpc.LevelNone {
		t.Errorf("bind audit %+v", binds)
	}
	if r := f.eventsOf("refused"); len(r) != 2 || r[0].Fault != dcerpc.FaultUnknownInterface || r[1].Fault != dcerpc.FaultOpRangeError || r[1].Opnum != 10 {
		t.Errorf("refused audit %+v", r)
	}
}

// TestProtocolErrors: what ends an association, and how.
func TestProtocolErrors(t *testing.T) {
	f := newFixture(t)
	echoCtx := dcerpc.ContextElem{Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR}}

	t.Run("request before bind", func(t *testing.T) {
		c := f.dial()
		rawRequest(t, c, 1, 0, 0, le32(1))
		p := readPDU(t, c)
		if r, err := p.BindNakReason(); p.Type != dcerpc.TypeBindNak || err != nil || r != dcerpc.NakProtocolVersionNotSupported {
			t.Fatalf("%s %d %v", p.Type, r, err)
		}
	})
	t.Run("second bind", func(t *testing.T) {
		c := f.dial()
		rawBind(t, c, 0, echoCtx)
		p := rawBind(t, c, 0, echoCtx)
		expectFault(t, p, dcerpc.FaultProtoError, dcerpc.FlagDidNotExecute)
		if _, _, err := c.ReadMsg(ctx(t), make([]byte, 100)); err == nil {
			t.Error("association still open")
		}
	})
	t.Run("unknown group", func(t *testing.T) {
		c := f.dial()
		p := rawBind(t, c, 0x1234567, echoCtx)
		if r, err := p.BindNakReason(); p.Type != dcerpc.TypeBindNak || err != nil || r != dcerpc.NakNotSpecified {
			t.Fatalf("%s %d %v", p.Type, r, err)
		}
	})
	t.Run("fragment out of sequence", func(t *testing.T) {
		c := f.dial()
		rawBind(t, c, 0, echoCtx)
		b := dcerpc.AppendHeader(nil, dcerpc.TypeRequest, dcerpc.FlagLastFrag, dcerpc.LittleEndian, 9)
		b = append(b, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0)
		dcerpc.Finish(b, 0)
		c.Write(b)
		expectFault(t, readPDU(t, c), dcerpc.FaultProtoError, 0)
	})
	t.Run("oversized request", func(t *testing.T) {
		f := newFixture(t)
		f.srv.MaxRequest = 10000
		c := f.dial()
		cl, err := dcerpc.Bind(ctx(t), c, echo.Syntax, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.Call(ctx(t), echo.OpSinkData, echoDataStub(make([]byte, 20000)))
		if faultOf(err) != dcerpc.FaultAccessDenied {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("fragment over the transport maximum", func(t *testing.T) {
		c := f.dial()
		rawBind(t, c, 0, echoCtx)
		rawRequest(t, c, 5, 0, 1, echoDataStub(make([]byte, 5000)))
		expectFault(t, readPDU(t, c), dcerpc.FaultProtoError, 0)
	})
	t.Run("garbage", func(t *testing.T) {
		c := f.dial()
		c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
		expectFault(t, readPDU(t, c), dcerpc.FaultProtoError, 0)
		if _, _, err := c.ReadMsg(ctx(t), make([]byte, 100)); err == nil {
			t.Error("association still open")
		}
	})
}

// TestAuthFailures: a wrong password or an unknown user fails the
// association at its first request; RPC-level auth without accounts is
// refused at bind.
func TestAuthFailures(t *testing.T) {
	f := newFixture(t)
	for _, user := range []string{"alice", "mallory"} {
		c := f.dial()
		cl, err := dcerpc.Bind(ctx(t), c, echo.Syntax, &dcerpc.ClientOptions{AuthLevel: dcerpc.LevelIntegrity,
			NTLM: ntlmClient(user, "wrong")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Call(ctx(t), echo.OpAddOne, le32(1)); faultOf(err) != dcerpc.FaultAccessDenied {
			t.Errorf("%s: %v", user, err)
		}
	}
	if a := f.eventsOf("auth"); len(a) != 2 || a[0].Accepted || a[0].Caller.User != "alice" {
		t.Errorf("auth audit %+v", a)
	}
	f.srv.NTLM = nil
	c := f.dial()
	_, err := dcerpc.Bind(ctx(t), c, echo.Syntax, &dcerpc.ClientOptions{AuthLevel: dcerpc.LevelIntegrity, NTLM: ntlmClient("alice", alicePassword)})
	var be *dcerpc.BindError
	if !errors.As(err, &be) || !be.Nak {
		t.Errorf("without NTLM: %v", err)
	}
}

// TestIdentity: the caller is the transport's without RPC auth, the
// RPC-authenticated one with it.
func TestIdentity(t *testing.T) {
	f := newFixture(t)
	who := dcerpc.Interface{Name: "who", Syntax: unknownIface, AllowConnect: true, Ops: []dcerpc.Op{{Name: "who", Func: func(c *dcerpc.Call, _ *ndr.Reader, w *ndr.Writer) error {
		w.WString(c.Caller().User + "/" + c.AuthLevel().String() + "/" + c.Transport().User)
		return nil
	}}}}
	if err := f.srv.Register(who); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		level dcerpc.AuthLevel
		want  string
	}{{dcerpc.LevelNone, "bob/none/bob"}, {dcerpc.LevelConnect, "alice/connect/bob"}, {dcerpc.LevelPrivacy, "alice/privacy/bob"}} {
		opts := &dcerpc.ClientOptions{AuthLevel: tc.level}
		if tc.level > dcerpc.LevelNone {
			opts.NTLM = ntlmClient("alice", alicePassword)
		}
		cl, err := dcerpc.Bind(ctx(t), f.dial(), unknownIface, opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := cl.Call(ctx(t), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := ndr.Unmarshal(out, ndr.LittleEndian, unmarshalFunc(func(r *ndr.Reader) { got = r.WString() })); err != nil || got != tc.want {
			t.Errorf("level %v: %q %v", tc.level, got, err)
		}
	}
}

type unmarshalFunc func(r *ndr.Reader)

func (f unmarshalFunc) UnmarshalNDR(r *ndr.Reader) { f(r) }

// TestHandles: context handles are shared by the connections of an
// association group, for their interface only, and die with the group
// (smbtorture rpc.handles semantics).
func TestHandles(t *testing.T) {
	f := newFixture(t)
	closed := make(chan string, 4)
	hs := dcerpc.Interface{Name: "handles", Syntax: unknownIface, Ops: []dcerpc.Op{
		{Name: "open", Func: func(c *dcerpc.Call, _ *ndr.Reader, w *ndr.Writer) error {
			w.ContextHandle(c.NewHandle(&closer{name: "h", ch: closed}))
			return nil
		}},
		{Name: "use", Func: func(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
			v, err := dcerpc.HandleValue[*closer](c, r.ContextHandle())
			if err != nil {
				return err
			}
			w.Uint32(uint32(len(v.name)))
			return nil
		}},
		{Name: "close", Func: func(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
			if _, err := c.CloseHandle(r.ContextHandle()); err != nil {
				return err
			}
			w.ContextHandle(dcerpc.Handle{})
			return nil
		}},
	}}
	if err := f.srv.Register(hs); err != nil {
		t.Fatal(err)
	}
	c1 := f.dial()
	p1, err := dcerpc.Bind(ctx(t), c1, unknownIface, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p1.Call(ctx(t), 0, nil)
	if err != nil || len(h) != 20 {
		t.Fatalf("open: %x %v", h, err)
	}
	p2, err := dcerpc.Bind(ctx(t), f.dial(), unknownIface, &dcerpc.ClientOptions{AssocGroup: p1.AssocGroup()})
	if err != nil || p2.AssocGroup() != p1.AssocGroup() {
		t.Fatalf("join: %v", err)
	}
	if out, err := p2.Call(ctx(t), 1, h); err != nil || !bytes.Equal(out, le32(1)) {
		t.Errorf("use on p2: %x %v", out, err)
	}
	c3 := f.dial()
	p3, err := dcerpc.Bind(ctx(t), c3, unknownIface, nil)
	if err != nil || p3.AssocGroup() == p1.AssocGroup() {
		t.Fatalf("p3: %v", err)
	}
	if _, err := p3.Call(ctx(t), 1, h); faultOf(err) != dcerpc.FaultContextMismatch {
		t.Errorf("use in another group: %v", err)
	}
	// An association of another interface joins the group too.
	pe, err := dcerpc.Bind(ctx(t), f.dial(), echo.Syntax, &dcerpc.ClientOptions{AssocGroup: p1.AssocGroup()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pe.Call(ctx(t), echo.OpAddOne, h[:4]); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Call(ctx(t), 2, h); err != nil {
		t.Errorf("close on p2: %v", err)
	}
	if _, err := p1.Call(ctx(t), 1, h); faultOf(err) != dcerpc.FaultContextMismatch {
		t.Errorf("use after close: %v", err)
	}
	if _, err := p1.Call(ctx(t), 2, h); faultOf(err) != dcerpc.FaultContextMismatch {
		t.Errorf("double close: %v", err)
	}
	// A handle left open is run down when the group's last connection
	// closes; the group id is then unknown.
	h2, err := p3.Call(ctx(t), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = h2
	group := p3.AssocGroup()
	c3.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("handle not run down")
	}
	if _, err := dcerpc.Bind(ctx(t), f.dial(), unknownIface, &dcerpc.ClientOptions{AssocGroup: group}); err == nil {
		t.Error("bound to a dead group")
	}
}

type closer struct {
	name string
	ch   chan string
}

func (c *closer) Close() error { c.ch <- c.name; return nil }

// TestCancel: CO_CANCEL ends a running call with nca_s_fault_cancel;
// ORPHANED ends it without an answer.
func TestCancel(t *testing.T) {
	f := newFixture(t)
	c := f.dial()
	rawBind(t, c, 0, dcerpc.ContextElem{Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR}})
	for _, tc := range []struct {
		t    dcerpc.PacketType
		id   uint32
		want dcerpc.PacketType
	}{{dcerpc.TypeCoCancel, 2, dcerpc.TypeFault}, {dcerpc.TypeOrphaned, 3, dcerpc.TypeResponse}} {
		start := time.Now()
		rawRequest(t, c, tc.id, 0, echo.OpTestSleep, le32(20))
		time.Sleep(50 * time.Millisecond)
		b := dcerpc.AppendHeader(nil, tc.t, dcerpc.FlagFirstFrag|dcerpc.FlagLastFrag, dcerpc.LittleEndian, tc.id)
		dcerpc.Finish(b, 0)
		c.Write(b)
		if tc.t == dcerpc.TypeOrphaned {
			// Nothing answers the orphaned call: the next call's answer
			// is the next PDU.
			time.Sleep(50 * time.Millisecond)
			rawRequest(t, c, 4, 0, echo.OpAddOne, le32(1))
		}
		p := readPDU(t, c)
		if p.Type != tc.want || time.Since(start) > 10*time.Second {
			t.Fatalf("%s: got %s after %v", tc.t, p.Type, time.Since(start))
		}
		if tc.want == dcerpc.TypeFault {
			expectFault(t, p, dcerpc.FaultCancel, 0)
		} else if p.CallID != 4 {
			t.Errorf("answer to call %d", p.CallID)
		}
	}
}

// TestConcurrentCalls: with PFC_CONC_MPX, calls run concurrently and each
// answer comes when its call is done (smbtorture rpc.echo sleep).
func TestConcurrentCalls(t *testing.T) {
	f := newFixture(t)
	c := f.dial()
	b := dcerpc.AppendHeader(nil, dcerpc.TypeBind, dcerpc.FlagFirstFrag|dcerpc.FlagLastFrag|dcerpc.FlagConcMpx, dcerpc.LittleEndian, 1)
	body := dcerpc.BindBody{MaxXmitFrag: 4280, MaxRecvFrag: 4280, Contexts: []dcerpc.ContextElem{{Abstract: echo.Syntax, Transfer: []dcerpc.SyntaxID{dcerpc.NDR}}}}
	b = body.Append(b, binary.LittleEndian)
	dcerpc.Finish(b, 0)
	c.Write(b)
	if p := readPDU(t, c); p.Type != dcerpc.TypeBindAck || p.Flags&dcerpc.FlagConcMpx == 0 {
		t.Fatalf("%s %#x", p.Type, p.Flags)
	}
	start := time.Now()
	rawRequest(t, c, 10, 0, echo.OpTestSleep, le32(2))
	rawRequest(t, c, 11, 0, echo.OpTestSleep, le32(1))
	rawRequest(t, c, 12, 0, echo.OpAddOne, le32(1))
	for _, want := range []uint32{12, 11, 10} {
		if p := readPDU(t, c); p.Type != dcerpc.TypeResponse || p.CallID != want {
			t.Fatalf("got %s for call %d, want call %d", p.Type, p.CallID, want)
		}
	}
	if d := time.Since(start); d > 2900*time.Millisecond {
		t.Errorf("calls ran one after the other: %v", d)
	}
}

// TestMgmt: mgmt answers on every association and lists the interfaces.
func TestMgmt(t *testing.T) {
	f := newFixture(t)
	cl, err := dcerpc.Bind(ctx(t), f.dial(), dcerpc.MgmtSyntax, &dcerpc.ClientOptions{AuthLevel: dcerpc.LevelConnect, NTLM: ntlmClient("alice", alicePassword)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cl.Call(ctx(t), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []dcerpc.SyntaxID
	var status uint32
	err = ndr.Unmarshal(out, ndr.LittleEndian, unmarshalFunc(func(r *ndr.Reader) {
		if !r.UniquePtr() {
			return
		}
		r.MaxCount()
		n := r.Elements(r.Uint32(), 4)
		ids = make([]dcerpc.SyntaxID, n)
		for i := range n {
			r.DeferUnique(func(r *ndr.Reader) {
				ids[i].UUID = r.UUID()
				v := r.Uint32()
				ids[i].Major, ids[i].Minor = uint16(v), uint16(v>>16)
			})
		}
		r.Flush()
		status = r.Uint32()
	}))
	if err != nil || status != 0 || len(ids) != 1 || ids[0] != echo.Syntax {
		t.Errorf("inq_if_ids: %+v %d %v", ids, status, err)
	}
	out, err = cl.Call(ctx(t), 2, nil)
	if err != nil || !bytes.Equal(out, append(le32(0), le32(1)...)) {
		t.Errorf("is_server_listening: %x %v", out, err)
	}
	out, err = cl.Call(ctx(t), 4, append(le32(10), le32(100)...))
	if err != nil || !bytes.Equal(out, []byte{100, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("inq_princ_name: %x %v", out, err)
	}
	if _, err := cl.Call(ctx(t), 5, nil); faultOf(err) != dcerpc.FaultOpRangeError {
		t.Errorf("opnum 5: %v", err)
	}
}
