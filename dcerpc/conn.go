package dcerpc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"slices"
	"sync"

	"github.com/smbpipe/smbpipe/ndr"
)

// ProtocolError ends an association: the engine answered a PDU it could
// not accept with a fault (or a BIND_NAK) and stopped serving.
type ProtocolError struct {
	Type   PacketType
	CallID uint32
	Fault  uint32 // 0 after a BIND_NAK
	Reason string
}

func (e *ProtocolError) Error() string {
	if e.Fault == 0 {
		return fmt.Sprintf("dcerpc: %s (call %d): %s", e.Type, e.CallID, e.Reason)
	}
	return fmt.Sprintf("dcerpc: %s (call %d): %s: %v", e.Type, e.CallID, e.Reason, Fault(e.Fault))
}

type presContext struct {
	id    uint16
	iface *Interface
}

// conn is the server side of one association. The goroutine running
// serve owns the association state (contexts, reassembly, auth
// negotiation); calls run on worker goroutines, which share with it only
// what mu guards, and the writer state wmu guards.
type conn struct {
	srv     *Server
	mc      MessageConn
	caller  Caller
	ctx     context.Context
	cancel  context.CancelFunc
	rd      *frameReader
	maxFrag int // transport maximum for request fragments

	bound    bool
	xmit     int // negotiated fragment size
	group    *group
	contexts []presContext
	mpx      bool
	frag     *Call // request being reassembled

	mu      sync.Mutex
	auth    *srvAuth // replaced only by the serve goroutine, under mu
	active  map[uint32]*Call
	running int
	free    []*Call
	work    chan *Call
	wg      sync.WaitGroup

	wmu  sync.Mutex
	wbuf []byte
}

func newConn(s *Server, mc MessageConn, caller Caller) *conn {
	return &conn{
		srv:     s,
		mc:      mc,
		caller:  caller,
		rd:      newFrameReader(mc, maxFragLength),
		maxFrag: s.maxFrag(),
		active:  make(map[uint32]*Call),
		work:    make(chan *Call),
		wbuf:    make([]byte, 0, s.maxFrag()),
	}
}

func (c *conn) serve(ctx context.Context) error {
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.wg.Add(1)
	go c.worker()
	defer func() {
		c.cancel()
		close(c.work)
		c.wg.Wait()
		if c.group != nil {
			c.srv.leaveGroup(c.group)
		}
	}()
	for {
		raw, err := c.rd.next(c.ctx)
		if err != nil {
			if errors.Is(err, errFragTooLong) || errors.Is(err, ErrMalformed) {
				var h Header
				if hb := c.rd.buf[c.rd.r:c.rd.w]; len(hb) >= headerSize {
					h.Type, h.CallID = PacketType(hb[2]), byteOrder([4]byte(hb[4:8])).Uint32(hb[12:16])
				}
				return c.fatal(&h, 0, FaultProtoError, err.Error())
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		p, err := Decode(raw)
		if err != nil {
			return c.fatal(&Header{CallID: binary.LittleEndian.Uint32(raw[12:16])}, 0, FaultProtoError, err.Error())
		}
		if err := c.handle(&p); err != nil {
			return err
		}
	}
}

func (c *conn) handle(p *Packet) error {
	if p.DataRep[0]&^0x10 != 0 || p.DataRep[1] != 0 {
		if !c.bound {
			return c.nak(p, NakProtocolVersionNotSupported, "data representation")
		}
		return c.fatal(&p.Header, 0, FaultProtoError, "data representation")
	}
	if !c.bound {
		if p.Type != TypeBind {
			return c.nak(p, NakProtocolVersionNotSupported, p.Type.String()+" before bind")
		}
		return c.bind(p)
	}
	switch p.Type {
	case TypeRequest:
		return c.request(p)
	case TypeAlter:
		return c.alter(p)
	case TypeAuth3:
		return c.auth3(p)
	case TypeCoCancel, TypeOrphaned:
		c.abort(p.CallID, p.Type == TypeOrphaned)
		return nil
	case TypeBind:
		return c.fatal(&p.Header, 0, FaultProtoError, "second bind")
	}
	return c.fatal(&p.Header, 0, FaultProtoError, "unexpected "+p.Type.String())
}

// identity is the caller the calls see.
func (c *conn) identity() Caller {
	c.mu.Lock()
	a := c.auth
	c.mu.Unlock()
	if a != nil && a.done && !a.failed {
		id := a.caller
		id.ClientAddr = c.caller.ClientAddr
		return id
	}
	return c.caller
}

func (c *conn) authLevel() AuthLevel {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.auth == nil || !c.auth.done {
		return LevelNone
	}
	return c.auth.level
}

func (c *conn) authType() AuthType {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.auth == nil || !c.auth.done {
		return AuthNone
	}
	return c.auth.typ
}

// signer returns the auth context whose keys sign the PDUs, nil when they
// are not signed.
func (c *conn) signer() *srvAuth {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.auth; a != nil && a.done && a.signs() {
		return a
	}
	return nil
}

// authStep runs a leg of the authentication under mu: workers read the
// context's state (signer, identity) concurrently.
func (c *conn) authStep(a *srvAuth, token []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return a.step(c.srv, token)
}

func (c *conn) setAuth(a *srvAuth) {
	c.mu.Lock()
	c.auth = a
	c.mu.Unlock()
}

// bind handles the first PDU of the association.
func (c *conn) bind(p *Packet) error {
	b, err := p.Bind()
	if err != nil {
		return c.nak(p, NakProtocolVersionNotSupported, err.Error())
	}
	// Windows and Samba answer the same value in both fields: the
	// client's smaller one, at least 2048, at most the transport's,
	// truncated to a multiple of 8.
	c.xmit = min(max(2048, int(min(b.MaxXmitFrag, b.MaxRecvFrag))), c.maxFrag) &^ 7
	if c.group = c.srv.joinGroup(b.AssocGroup); c.group == nil {
		return c.nak(p, NakNotSpecified, fmt.Sprintf("unknown association group 0x%08x", b.AssocGroup))
	}
	if len(b.Contexts) == 0 {
		return c.nak(p, NakProtocolVersionNotSupported, "no presentation context")
	}
	results, err := c.negotiate(b.Contexts)
	if err != nil {
		return c.nak(p, NakNotSpecified, err.Error())
	}
	var flags uint8
	if p.Flags&FlagConcMpx != 0 {
		c.mpx = true
		flags |= FlagConcMpx
	}
	var token []byte
	if p.AuthLength != 0 {
		a, err := newSrvAuth(&p.Auth)
		if err != nil {
			reason := NakNotSpecified
			if errors.Is(err, errAuthType) {
				reason = NakAuthenticationTypeNotRecog
			}
			return c.nak(p, reason, err.Error())
		}
		if token, err = c.authStep(a, p.Auth.Value); err != nil {
			return c.nak(p, NakNotSpecified, "auth: "+err.Error())
		}
		c.setAuth(a)
		if p.Flags&FlagSupportHeaderSig != 0 {
			// NTLMSSP signatures always cover the header.
			flags |= FlagSupportHeaderSig
		}
	}
	c.bound = true
	c.auditBind("bind", p, b.Contexts, results)
	ack := BindAck{
		MaxXmitFrag:   uint16(c.xmit),
		MaxRecvFrag:   uint16(c.xmit),
		AssocGroup:    c.group.id,
		SecondaryAddr: c.srv.SecondaryAddr,
		Results:       results,
	}
	return c.writeAck(TypeBindAck, flags, p.CallID, &ack, token)
}

// alter handles ALTER_CONTEXT: more presentation contexts, or a further
// leg of the authentication.
func (c *conn) alter(p *Packet) error {
	b, err := p.Bind()
	if err != nil {
		return c.fatal(&p.Header, 0, FaultProtoError, err.Error())
	}
	var token []byte
	if p.AuthLength != 0 {
		a := c.auth
		switch {
		case a == nil:
			if a, err = newSrvAuth(&p.Auth); err != nil {
				return c.fatal(&p.Header, 0, FaultSecPkgError, err.Error())
			}
			c.setAuth(a)
		case a.done || a.failed:
			return c.fatal(&p.Header, 0, FaultAccessDenied, "alter_context on an established security context")
		case p.Auth.Type != a.typ:
			return c.fatal(&p.Header, 0, FaultSecPkgError, "auth type changed")
		case p.Auth.Level != a.level || p.Auth.ContextID != a.ctxID:
			return c.fatal(&p.Header, 0, FaultAccessDenied, "auth level or context changed")
		}
		if token, err = c.authStep(a, p.Auth.Value); err != nil {
			c.auditAuth(a, err)
			return c.fatal(&p.Header, 0, FaultAccessDenied, "auth: "+err.Error())
		}
		if a.done {
			c.setAuth(a) // publish done under mu
			c.auditAuth(a, nil)
		}
	}
	if len(b.Contexts) == 0 {
		return c.fatal(&p.Header, 0, FaultProtoError, "no presentation context")
	}
	results, err := c.negotiate(b.Contexts)
	if err != nil {
		return c.fatal(&p.Header, 0, FaultProtoError, err.Error())
	}
	c.auditBind("alter_context", p, b.Contexts, results)
	ack := BindAck{MaxXmitFrag: uint16(c.xmit), MaxRecvFrag: uint16(c.xmit), AssocGroup: c.group.id, Results: results}
	return c.writeAck(TypeAlterResp, 0, p.CallID, &ack, token)
}

// auth3 handles the last leg of a three-leg authentication. It has no
// answer; a failure makes the next request fault with access denied.
func (c *conn) auth3(p *Packet) error {
	a := c.auth
	if a == nil || !a.started || a.done || a.failed {
		return c.fatal(&p.Header, 0, FaultProtoError, "auth3 without an authentication in progress")
	}
	var err error
	switch {
	case p.AuthLength == 0:
		err = errAuthToken
	case p.Auth.Type != a.typ || p.Auth.Level != a.level || p.Auth.ContextID != a.ctxID:
		err = errors.New("dcerpc: auth3 changes the security context")
	default:
		_, err = c.authStep(a, p.Auth.Value)
	}
	if err != nil {
		c.mu.Lock()
		a.failed = true
		c.mu.Unlock()
	}
	c.auditAuth(a, err)
	return nil
}

// negotiate decides the presentation contexts of a BIND or ALTER_CONTEXT
// as Windows does (Samba's dcesrv_negotiate_contexts): one new context per
// PDU, the first acceptable one; NDR only; a bind time feature element
// answered with negotiate_ack.
func (c *conn) negotiate(elems []ContextElem) ([]ContextResult, error) {
	results := make([]ContextResult, len(elems))
	accepted, feature := false, false
	for i, e := range elems {
		r := &results[i]
		if len(e.Transfer) == 0 {
			return nil, errors.New("presentation context without transfer syntax")
		}
		r.Result, r.Reason = ResultProviderRejection, ReasonAbstractSyntaxNotSupported
		if bits, ok := bindTimeFeatures(e.Transfer[0]); ok {
			if feature {
				return nil, errors.New("two bind time feature elements")
			}
			feature = true
			// Security context multiplexing is not supported; keeping
			// the connection on orphan is what this engine does.
			r.Result, r.Reason = ResultNegotiateAck, uint16(bits)&FeatureKeepConnectionOnOrphan
			continue
		}
		iface := c.srv.lookup(e.Abstract)
		if iface == nil {
			continue
		}
		r.Reason = ReasonTransferSyntaxesNotSupported
		if accepted {
			continue
		}
		ndr := slices.Contains(e.Transfer, NDR)
		if pc := c.context(e.ID); pc != nil {
			if pc.iface != iface {
				return nil, fmt.Errorf("context %d rebound to another interface", e.ID)
			}
			if ndr {
				*r = ContextResult{Result: ResultAcceptance, Transfer: NDR}
				accepted = true
			}
			continue
		}
		if !ndr {
			continue
		}
		if len(c.contexts) >= maxContexts {
			r.Result, r.Reason = ResultUserRejection, ReasonLocalLimitExceeded
			continue
		}
		c.contexts = append(c.contexts, presContext{id: e.ID, iface: iface})
		*r = ContextResult{Result: ResultAcceptance, Transfer: NDR}
		accepted = true
	}
	return results, nil
}

// maxContexts bounds the presentation contexts of one association.
const maxContexts = 256

func (c *conn) context(id uint16) *presContext {
	for i := range c.contexts {
		if c.contexts[i].id == id {
			return &c.contexts[i]
		}
	}
	return nil
}

// request handles one REQUEST fragment.
func (c *conn) request(p *Packet) error {
	r, err := p.Request()
	if err != nil {
		return c.fatal(&p.Header, 0, FaultProtoError, err.Error())
	}
	if int(p.FragLength) > c.maxFrag {
		return c.fatal(&p.Header, r.ContextID, FaultProtoError, "fragment longer than the transport's maximum")
	}
	if a := c.auth; a != nil {
		if a.failed {
			return c.fatalFlags(&p.Header, r.ContextID, FaultAccessDenied, 0, "authentication failed")
		}
		if !a.done {
			return c.fatal(&p.Header, r.ContextID, FaultProtoError, "request before the authentication completed")
		}
	}
	first, last := p.Flags&FlagFirstFrag != 0, p.Flags&FlagLastFrag != 0
	call := c.frag
	if first {
		if call != nil {
			return c.fatalFlags(&Header{Type: TypeRequest, CallID: call.callID}, call.ctxID, FaultProtoError, 0, "new request while one is being reassembled")
		}
		c.mu.Lock()
		busy := c.running > 0
		c.mu.Unlock()
		if busy && !c.mpx {
			return c.fatalFlags(&p.Header, r.ContextID, FaultProtoError, 0, "concurrent call without PFC_CONC_MPX")
		}
		if p.Flags&FlagPendingCancel != 0 {
			return c.fatal(&p.Header, r.ContextID, FaultNoCallActive, "request with PFC_PENDING_CANCEL")
		}
	} else if call == nil || call.callID != p.CallID || call.drep != p.DataRep {
		return c.fatalFlags(&p.Header, r.ContextID, FaultProtoError, 0, "request fragment out of sequence")
	}
	stub, fault, why := c.verify(p, r.Stub)
	if fault != 0 {
		return c.fatalFlags(&p.Header, r.ContextID, fault, 0, why)
	}
	if first {
		pc := c.context(r.ContextID)
		if pc == nil {
			c.refuse(&p.Header, nil, r.Opnum, FaultUnknownInterface, "unknown presentation context")
			return c.fault(p.CallID, r.ContextID, FaultUnknownInterface, FlagDidNotExecute)
		}
		call = c.newCall(p, &r, pc.iface)
		c.frag = call
	}
	if len(call.in)+len(stub) > c.srv.maxRequest() || !last && int64(r.AllocHint) > int64(c.srv.maxRequest()) {
		c.frag = nil
		c.putCall(call)
		return c.fatalFlags(&p.Header, r.ContextID, FaultAccessDenied, 0, "request larger than the limit")
	}
	call.in = append(call.in, stub...)
	if !last {
		return nil
	}
	c.frag = nil
	iface := call.iface
	if c.authLevel() == LevelConnect && !iface.AllowConnect {
		c.putCall(call)
		c.refuse(&p.Header, iface, r.Opnum, FaultAccessDenied, "auth level connect refused by the interface")
		return c.fault(p.CallID, r.ContextID, FaultAccessDenied, 0)
	}
	if int(call.opnum) >= len(iface.Ops) || iface.Ops[call.opnum].Func == nil {
		c.putCall(call)
		c.refuse(&p.Header, iface, r.Opnum, FaultOpRangeError, "unknown opnum")
		return c.fault(p.CallID, r.ContextID, FaultOpRangeError, FlagDidNotExecute)
	}
	c.dispatch(call)
	return nil
}

// verify checks the auth verifier of a request fragment (and unseals the
// stub in place) and returns the stub without its auth padding, or a
// fault status.
func (c *conn) verify(p *Packet, stub []byte) ([]byte, uint32, string) {
	a := c.signer()
	if a == nil {
		if p.AuthLength == 0 {
			return stub, 0, ""
		}
		if c.auth == nil {
			return nil, FaultAccessDenied, "auth verifier on an unauthenticated association"
		}
		// CONNECT: a verifier may be present; it is not checked.
		if int(p.Auth.PadLength) > len(stub) {
			return nil, FaultProtoError, "auth_pad_length"
		}
		return stub[:len(stub)-int(p.Auth.PadLength)], 0, ""
	}
	if p.AuthLength == 0 {
		return nil, FaultProtoError, "request without auth verifier"
	}
	v := &p.Auth
	if v.Type != a.typ || v.Level != a.level || v.ContextID != a.ctxID {
		return nil, FaultAccessDenied, "auth verifier of another security context"
	}
	trailer := len(p.Raw) - int(p.AuthLength) - secTrailerSize
	if int(v.PadLength) > len(stub) || v.PadLength >= stubAlign || trailer%pduAlign != 0 {
		return nil, FaultProtoError, "auth padding"
	}
	msg := p.Raw[:trailer+secTrailerSize]
	if err := unprotect(a.sec, a.level, stub, msg, v.Value); err != nil {
		return nil, FaultSecPkgError, "signature: " + err.Error()
	}
	return stub[:len(stub)-int(v.PadLength)], 0, ""
}

func (c *conn) newCall(p *Packet, r *Request, iface *Interface) *Call {
	c.mu.Lock()
	var call *Call
	if n := len(c.free); n > 0 {
		call = c.free[n-1]
		c.free = c.free[:n-1]
	}
	c.mu.Unlock()
	if call == nil {
		call = &Call{conn: c}
	}
	call.iface, call.ctxID, call.callID, call.opnum, call.drep = iface, r.ContextID, p.CallID, r.Opnum, p.DataRep
	call.object, call.hasObj = r.Object, p.Flags&FlagObjectUUID != 0
	call.in = call.in[:0]
	call.ctx, call.cancel, call.cancelled, call.orphaned = nil, nil, false, false
	return call
}

func (c *conn) putCall(call *Call) {
	if call.cancel != nil {
		call.cancel()
	}
	c.mu.Lock()
	c.free = append(c.free, call)
	c.mu.Unlock()
}

// dispatch hands a complete call to a worker: the connection's own one,
// or with PFC_CONC_MPX a new goroutine when it is busy.
func (c *conn) dispatch(call *Call) {
	c.mu.Lock()
	c.active[call.callID] = call
	c.running++
	c.mu.Unlock()
	if !c.mpx {
		c.work <- call
		return
	}
	select {
	case c.work <- call:
	default:
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.run(call)
		}()
	}
}

func (c *conn) worker() {
	defer c.wg.Done()
	for call := range c.work {
		c.run(call)
	}
}

// run executes a call and sends its response or fault.
func (c *conn) run(call *Call) {
	op := call.iface.Ops[call.opnum].Func
	order := ndr.LittleEndian
	if call.BigEndian() {
		order = ndr.BigEndian
	}
	call.r.Reset(call.in, order)
	call.w = *ndr.NewWriter(call.out[:0], ndr.LittleEndian)
	err := op(call, &call.r, &call.w)
	if rerr := call.r.Err(); rerr != nil {
		err = fmt.Errorf("%w: %w", ErrStubData, rerr)
	}
	var out []byte
	if err == nil {
		call.w.Flush()
		out, err = call.w.Bytes()
		call.out = out
	}
	c.mu.Lock()
	delete(c.active, call.callID)
	c.running--
	c.mu.Unlock()
	call.mu.Lock()
	cancelled, orphaned := call.cancelled, call.orphaned
	call.mu.Unlock()
	switch {
	case orphaned || c.ctx.Err() != nil:
		// Nobody waits for the answer.
	case err != nil:
		status := faultOf(err)
		if cancelled && errors.Is(err, context.Canceled) {
			status = FaultCancel
		}
		if status == FaultNDR {
			// A stub that did not decode: refused, audited with the
			// decoder's reason.
			c.refuse(&Header{CallID: call.callID}, call.iface, call.opnum, status, err.Error())
		}
		c.fault(call.callID, call.ctxID, status, 0)
	default:
		c.writeResponse(call, out)
	}
	c.putCall(call)
}

// abort cancels the call callID (CO_CANCEL, ORPHANED). A call still being
// reassembled only remembers it, as Windows does.
func (c *conn) abort(callID uint32, orphaned bool) {
	if c.frag != nil && c.frag.callID == callID {
		c.frag.abort(orphaned)
		return
	}
	c.mu.Lock()
	call := c.active[callID]
	c.mu.Unlock()
	if call != nil {
		call.abort(orphaned)
	}
}

// writeResponse sends the response stub in fragments of at most the
// negotiated size, each signed or sealed at the association's level.
func (c *conn) writeResponse(call *Call, stub []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	a := c.signer()
	chunk := fragChunk(c.xmit, responseBodySize, a != nil)
	for off, first := 0, true; ; first = false {
		n := min(chunk, len(stub)-off)
		last := off+n == len(stub)
		b := AppendHeader(c.wbuf[:0], TypeResponse, fragFlags(first, last), LittleEndian, call.callID)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(stub)-off))
		b = binary.LittleEndian.AppendUint16(b, call.ctxID)
		b = append(b, 0, 0)
		b = append(b, stub[off:off+n]...)
		if a != nil {
			b = protect(b, headerSize+responseBodySize,
				AuthVerifier{Type: a.typ, Level: a.level, ContextID: a.ctxID}, a.sec)
		} else {
			Finish(b, 0)
		}
		c.wbuf = b
		if _, err := c.mc.Write(b); err != nil {
			return err
		}
		off += n
		if last {
			return nil
		}
	}
}

// writeAck sends a BIND_ACK or ALTER_CONTEXT_RESP with an auth token.
func (c *conn) writeAck(t PacketType, flags uint8, callID uint32, ack *BindAck, token []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := AppendHeader(c.wbuf[:0], t, FlagFirstFrag|FlagLastFrag|flags, LittleEndian, callID)
	b = ack.Append(b, binary.LittleEndian)
	if token != nil {
		a := c.auth
		b = AppendAuth(b, 0, 0, pduAlign, AuthVerifier{Type: a.typ, Level: a.level, ContextID: a.ctxID, Value: token})
		Finish(b, len(token))
	} else {
		Finish(b, 0)
	}
	c.wbuf = b
	_, err := c.mc.Write(b)
	return err
}

// fault sends a FAULT PDU.
func (c *conn) fault(callID uint32, ctxID uint16, status uint32, flags uint8) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := AppendHeader(c.wbuf[:0], TypeFault, FlagFirstFrag|FlagLastFrag|flags, LittleEndian, callID)
	b = binary.LittleEndian.AppendUint32(b, 0) // alloc_hint
	b = binary.LittleEndian.AppendUint16(b, ctxID)
	b = append(b, 0, 0) // cancel_count, reserved
	b = binary.LittleEndian.AppendUint32(b, status)
	b = binary.LittleEndian.AppendUint32(b, 0)
	Finish(b, 0)
	c.wbuf = b
	_, err := c.mc.Write(b)
	return err
}

// fatal answers a PDU with a fault marked did-not-execute and ends the
// association.
func (c *conn) fatal(h *Header, ctxID uint16, status uint32, why string) error {
	return c.fatalFlags(h, ctxID, status, FlagDidNotExecute, why)
}

func (c *conn) fatalFlags(h *Header, ctxID uint16, status uint32, flags uint8, why string) error {
	c.refuse(h, nil, 0, status, why)
	if err := c.fault(h.CallID, ctxID, status, flags); err != nil {
		return err
	}
	return &ProtocolError{Type: h.Type, CallID: h.CallID, Fault: status, Reason: why}
}

// nak answers the first PDU with a BIND_NAK and ends the association.
func (c *conn) nak(p *Packet, reason uint16, why string) error {
	if c.srv.Audit != nil {
		c.srv.audit(Event{Kind: "bind", CallID: p.CallID, AuthType: p.Auth.Type, AuthLevel: p.Auth.Level,
			Nak: true, Result: reason, Detail: "bind_nak: " + why, Caller: c.caller})
	}
	c.wmu.Lock()
	b := AppendHeader(c.wbuf[:0], TypeBindNak, FlagFirstFrag|FlagLastFrag, LittleEndian, p.CallID)
	b = binary.LittleEndian.AppendUint16(b, reason)
	b = append(b, 1, 5, 0) // one supported version: 5.0
	b = pad(b, 0, pduAlign)
	Finish(b, 0)
	c.wbuf = b
	_, err := c.mc.Write(b)
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	return &ProtocolError{Type: p.Type, CallID: p.CallID, Reason: why}
}

func (c *conn) refuse(h *Header, iface *Interface, opnum uint16, status uint32, why string) {
	if c.srv.Audit == nil {
		return
	}
	e := Event{Kind: "refused", CallID: h.CallID, Opnum: opnum, Fault: status, Detail: why,
		AuthLevel: c.authLevel(), AuthType: c.authType(), Caller: c.identity()}
	if iface != nil {
		e.Interface, e.Name = iface.Syntax, iface.Name
	}
	if c.group != nil {
		e.AssocGroup = c.group.id
	}
	c.srv.audit(e)
}

func (c *conn) auditBind(kind string, p *Packet, elems []ContextElem, results []ContextResult) {
	if c.srv.Audit == nil {
		return
	}
	e := Event{Kind: kind, CallID: p.CallID, AssocGroup: c.group.id, AuthType: p.Auth.Type, AuthLevel: p.Auth.Level, Caller: c.identity()}
	if p.AuthLength == 0 {
		e.AuthType, e.AuthLevel = AuthNone, LevelNone
	}
	set := false
	for i, r := range results {
		if r.Result == ResultNegotiateAck {
			continue
		}
		if !set || r.Result == ResultAcceptance && !e.Accepted {
			e.Interface, e.Result, e.Reason = elems[i].Abstract, r.Result, r.Reason
			e.Accepted = r.Result == ResultAcceptance
			if iface := c.srv.lookup(elems[i].Abstract); iface != nil {
				e.Name = iface.Name
			}
			set = true
		}
	}
	c.srv.audit(e)
}

func (c *conn) auditAuth(a *srvAuth, err error) {
	if c.srv.Audit == nil {
		return
	}
	e := Event{Kind: "auth", AssocGroup: c.group.id, AuthType: a.typ, AuthLevel: a.level, Accepted: err == nil, Caller: c.identity()}
	if err != nil {
		e.Detail = err.Error()
		e.Caller.User = a.user
	}
	c.srv.audit(e)
}
