package dcerpc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/auth/spnego"
)

// ClientOptions configure Bind. The zero value binds without RPC-level
// authentication, little-endian, with 4280-byte fragments.
type ClientOptions struct {
	// AuthLevel is the RPC-level protection: LevelNone (or 0) for none
	// (the transport's identity), LevelConnect, LevelIntegrity or
	// LevelPrivacy. Levels above none need NTLM.
	AuthLevel AuthLevel
	// SPNEGO wraps NTLMSSP in SPNEGO (auth type 9, the last leg in an
	// ALTER_CONTEXT) instead of raw NTLMSSP (auth type 10, AUTH3).
	SPNEGO bool
	// NTLM holds the credentials (a fresh ntlm.Client: Bind runs its
	// exchange; Seal is set for LevelPrivacy).
	NTLM *ntlm.Client
	// AuthContextID is the sec_trailer's auth_context_id.
	AuthContextID uint32
	// MaxFrag is the fragment size asked for; 0 means 4280.
	MaxFrag int
	// AssocGroup joins an existing association group (0: a new one).
	AssocGroup uint32
	// BigEndian sends PDUs and stubs big-endian.
	BigEndian bool
	// Features offers bind time feature negotiation with these bits.
	Features uint64
	// ConcMpx asks for concurrent multiplexing (PFC_CONC_MPX).
	ConcMpx bool
}

// Client is the client side of one association. Calls are serialized.
type Client struct {
	conn       MessageConn
	rd         *frameReader
	drep       [4]byte
	xmit       int
	assocGroup uint32
	callID     uint32
	nextCtx    uint16
	ctxID      uint16 // the first context, used by Call
	features   uint16
	auth       *cliAuth

	mu  sync.Mutex
	buf []byte
}

type cliAuth struct {
	typ   AuthType
	level AuthLevel
	ctxID uint32
	sec   *ntlm.Security
}

// BindError is returned by Bind and AlterContext when the server refuses:
// a BIND_NAK (Nak true, Reason the reject reason) or a presentation
// context rejected (Result and Reason of the context).
type BindError struct {
	Nak    bool
	Result uint16
	Reason uint16
}

func (e *BindError) Error() string {
	if e.Nak {
		return fmt.Sprintf("dcerpc: bind_nak, reason %d", e.Reason)
	}
	return fmt.Sprintf("dcerpc: presentation context rejected: result %d, reason %d", e.Result, e.Reason)
}

// Bind opens an association for iface on conn (a pipe opened with the
// root package's Dialer, a client.Pipe, a pipe.End, or StreamConn of a
// TCP connection). The Client does not close conn.
func Bind(ctx context.Context, conn MessageConn, iface SyntaxID, o *ClientOptions) (*Client, error) {
	var opts ClientOptions
	if o != nil {
		opts = *o
	}
	c := &Client{conn: conn, rd: newFrameReader(conn, maxFragLength), drep: LittleEndian, callID: 1}
	if opts.BigEndian {
		c.drep = BigEndian
	}
	mf := opts.MaxFrag
	if mf <= 0 {
		mf = 4280
	}
	elems := []ContextElem{{ID: 0, Abstract: iface, Transfer: []SyntaxID{NDR}}}
	if opts.Features != 0 {
		elems = append(elems, ContextElem{ID: 1, Abstract: iface, Transfer: []SyntaxID{BindTimeFeatures(opts.Features)}})
	}
	c.nextCtx = uint16(len(elems))
	bind := BindBody{MaxXmitFrag: uint16(mf), MaxRecvFrag: uint16(mf), AssocGroup: opts.AssocGroup, Contexts: elems}

	var flags uint8
	if opts.ConcMpx {
		flags |= FlagConcMpx
	}
	var neg, mechTypes []byte
	level := opts.AuthLevel
	if level > LevelNone {
		if opts.NTLM == nil {
			return nil, errors.New("dcerpc: an auth level needs NTLM credentials")
		}
		typ := AuthNTLM
		if opts.SPNEGO {
			typ = AuthSPNEGO
		}
		c.auth = &cliAuth{typ: typ, level: level, ctxID: opts.AuthContextID}
		if effectiveLevel(level) == LevelPrivacy {
			opts.NTLM.Seal = true
		}
		var err error
		if neg, err = opts.NTLM.Negotiate(); err != nil {
			return nil, err
		}
		if opts.SPNEGO {
			mechTypes = spnego.EncodeMechTypes([]string{spnego.OIDNTLMSSP})
			neg = spnego.EncodeInit(&spnego.Init{MechTypes: []string{spnego.OIDNTLMSSP}, MechToken: neg})
		}
	}
	p, err := c.roundTrip(ctx, TypeBind, flags, &bind, neg)
	if err != nil {
		return nil, err
	}
	ack, err := c.checkAck(p, TypeBindAck, 0)
	if err != nil {
		return nil, err
	}
	c.xmit = min(int(ack.MaxRecvFrag), int(ack.MaxXmitFrag))
	if c.xmit < 2048 {
		return nil, fmt.Errorf("%w: fragment size %d", ErrMalformed, c.xmit)
	}
	c.assocGroup = ack.AssocGroup
	for _, r := range ack.Results {
		if r.Result == ResultNegotiateAck {
			c.features = r.Reason
		}
	}
	if c.auth == nil {
		return c, nil
	}
	if p.AuthLength == 0 {
		return nil, errors.New("dcerpc: bind_ack without the auth challenge")
	}
	chal := p.Auth.Value
	if opts.SPNEGO {
		resp, err := spnego.DecodeResp(chal)
		if err != nil {
			return nil, err
		}
		chal = resp.ResponseToken
	}
	authMsg, key, err := opts.NTLM.Authenticate(chal)
	if err != nil {
		return nil, err
	}
	a := c.auth
	if a.sec, err = ntlm.NewSecurity(key, opts.NTLM.NegotiatedFlags(), false); err != nil && effectiveLevel(level) >= LevelIntegrity {
		return nil, err
	}
	if !opts.SPNEGO {
		// AUTH3: no answer.
		c.buf = AppendHeader(c.buf[:0], TypeAuth3, FlagFirstFrag|FlagLastFrag, c.drep, p.CallID)
		c.buf = append(c.buf, 0, 0, 0, 0)
		c.buf = AppendAuth(c.buf, 0, 0, pduAlign, AuthVerifier{Type: a.typ, Level: a.level, ContextID: a.ctxID, Value: authMsg})
		Finish(c.buf, len(authMsg))
		if _, err := conn.Write(c.buf); err != nil {
			return nil, err
		}
		return c, nil
	}
	out := spnego.Resp{NegState: spnego.NoState, ResponseToken: authMsg}
	if a.sec != nil {
		out.MechListMIC = a.sec.Sign(nil, mechTypes)
	}
	alter := BindBody{MaxXmitFrag: uint16(mf), MaxRecvFrag: uint16(mf), AssocGroup: c.assocGroup, Contexts: elems[:1]}
	p, err = c.roundTrip(ctx, TypeAlter, 0, &alter, spnego.EncodeResp(&out))
	if err != nil {
		return nil, err
	}
	if _, err := c.checkAck(p, TypeAlterResp, 0); err != nil {
		return nil, err
	}
	if p.AuthLength == 0 {
		return nil, errors.New("dcerpc: alter_context_resp without the SPNEGO answer")
	}
	resp, err := spnego.DecodeResp(p.Auth.Value)
	if err != nil {
		return nil, err
	}
	if resp.NegState != spnego.AcceptCompleted {
		return nil, fmt.Errorf("dcerpc: SPNEGO negState %d", resp.NegState)
	}
	if a.sec != nil && out.MechListMIC != nil {
		if resp.MechListMIC == nil || a.sec.Verify(mechTypes, resp.MechListMIC) != nil {
			return nil, errors.New("dcerpc: bad SPNEGO mechListMIC from the server")
		}
		a.sec.ResetRC4()
	}
	return c, nil
}

// AssocGroup returns the association group the server put the association in.
func (c *Client) AssocGroup() uint32 { return c.assocGroup }

// MaxFrag returns the negotiated fragment size.
func (c *Client) MaxFrag() int { return c.xmit }

// Features returns the bind time features the server acknowledged.
func (c *Client) Features() uint16 { return c.features }

// AlterContext adds a presentation context for iface and returns its id,
// for CallContext.
func (c *Client) AlterContext(ctx context.Context, iface SyntaxID) (uint16, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextCtx
	c.nextCtx++
	alter := BindBody{MaxXmitFrag: uint16(c.xmit), MaxRecvFrag: uint16(c.xmit), AssocGroup: c.assocGroup,
		Contexts: []ContextElem{{ID: id, Abstract: iface, Transfer: []SyntaxID{NDR}}}}
	p, err := c.roundTrip(ctx, TypeAlter, 0, &alter, nil)
	if err != nil {
		return 0, err
	}
	if _, err := c.checkAck(p, TypeAlterResp, 0); err != nil {
		return 0, err
	}
	return id, nil
}

// roundTrip sends a BIND or ALTER_CONTEXT and reads the answer.
func (c *Client) roundTrip(ctx context.Context, t PacketType, flags uint8, b *BindBody, token []byte) (*Packet, error) {
	id := c.callID
	c.callID++
	c.buf = AppendHeader(c.buf[:0], t, FlagFirstFrag|FlagLastFrag|flags, c.drep, id)
	c.buf = b.Append(c.buf, byteOrder(c.drep))
	if token != nil {
		a := c.auth
		c.buf = AppendAuth(c.buf, 0, 0, pduAlign, AuthVerifier{Type: a.typ, Level: a.level, ContextID: a.ctxID, Value: token})
	}
	Finish(c.buf, len(token))
	if _, err := c.conn.Write(c.buf); err != nil {
		return nil, err
	}
	p, err := c.next(ctx, id)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// next reads the next PDU, which must be one of call id's.
func (c *Client) next(ctx context.Context, id uint32) (Packet, error) {
	raw, err := c.rd.next(ctx)
	if err != nil {
		return Packet{}, err
	}
	p, err := Decode(raw)
	if err != nil {
		return Packet{}, err
	}
	if p.CallID != id {
		return Packet{}, fmt.Errorf("%w: a PDU of call %d while waiting for call %d", ErrMalformed, p.CallID, id)
	}
	return p, nil
}

// checkAck decodes a BIND_ACK / ALTER_CONTEXT_RESP and checks that the
// context at index i was accepted.
func (c *Client) checkAck(p *Packet, want PacketType, i int) (*BindAck, error) {
	switch p.Type {
	case want:
	case TypeBindNak:
		r, err := p.BindNakReason()
		if err != nil {
			return nil, err
		}
		return nil, &BindError{Nak: true, Reason: r}
	case TypeFault:
		return nil, p.faultError()
	default:
		return nil, fmt.Errorf("%w: %s answers a bind", ErrMalformed, p.Type)
	}
	ack, err := p.BindAck()
	if err != nil {
		return nil, err
	}
	if len(ack.Results) <= i {
		return nil, fmt.Errorf("%w: no result for the context", ErrMalformed)
	}
	if r := ack.Results[i]; r.Result != ResultAcceptance {
		return nil, &BindError{Result: r.Result, Reason: r.Reason}
	}
	return &ack, nil
}

// Call calls opnum on the association's first presentation context with
// the request stub (NDR in the association's byte order) and returns the
// response stub. A FAULT answer is returned as a Fault error.
func (c *Client) Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error) {
	return c.CallContext(ctx, c.ctxID, opnum, stub)
}

// CallContext is Call on presentation context ctxID (from AlterContext).
func (c *Client) CallContext(ctx context.Context, ctxID, opnum uint16, stub []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.callID
	c.callID++
	if err := c.send(id, ctxID, opnum, stub); err != nil {
		// The server may have refused the call before its last fragment
		// (a FAULT, then the end of the association): its answer, if it
		// came, says why better than the failed write.
		var f Fault
		if resp, rerr := c.receive(ctx, id); errors.As(rerr, &f) {
			return resp, rerr
		}
		return nil, err
	}
	return c.receive(ctx, id)
}

// send writes a request in fragments of at most the negotiated size.
func (c *Client) send(id uint32, ctxID, opnum uint16, stub []byte) error {
	o := byteOrder(c.drep)
	a := c.auth
	signs := a != nil && effectiveLevel(a.level) >= LevelIntegrity
	chunk := fragChunk(c.xmit, requestBodySize, signs)
	for off, first := 0, true; ; first = false {
		n := min(chunk, len(stub)-off)
		last := off+n == len(stub)
		b := AppendHeader(c.buf[:0], TypeRequest, fragFlags(first, last), c.drep, id)
		b = o.AppendUint32(b, uint32(len(stub)-off))
		b = o.AppendUint16(b, ctxID)
		b = o.AppendUint16(b, opnum)
		b = append(b, stub[off:off+n]...)
		if signs {
			b = protect(b, headerSize+requestBodySize,
				AuthVerifier{Type: a.typ, Level: a.level, ContextID: a.ctxID}, a.sec)
		} else {
			Finish(b, 0)
		}
		c.buf = b
		if _, err := c.conn.Write(b); err != nil {
			return err
		}
		off += n
		if last {
			return nil
		}
	}
}

// faultError returns what the FAULT PDU p answers: a Fault with its
// status, or the error that decoding its body met.
func (p *Packet) faultError() error {
	f, err := p.Fault()
	if err != nil {
		return err
	}
	return Fault(f.Status)
}

// receive reads the response fragments of call id and reassembles the stub.
func (c *Client) receive(ctx context.Context, id uint32) ([]byte, error) {
	var out []byte
	a := c.auth
	signs := a != nil && effectiveLevel(a.level) >= LevelIntegrity
	for first := true; ; first = false {
		p, err := c.next(ctx, id)
		if err != nil {
			return nil, err
		}
		switch p.Type {
		case TypeFault:
			return nil, p.faultError()
		case TypeResponse:
		default:
			return nil, fmt.Errorf("%w: %s answers a request", ErrMalformed, p.Type)
		}
		if first != (p.Flags&FlagFirstFrag != 0) {
			return nil, fmt.Errorf("%w: response fragment flags %#x", ErrMalformed, p.Flags)
		}
		r, err := p.Response()
		if err != nil {
			return nil, err
		}
		stub := r.Stub
		if signs {
			if p.AuthLength == 0 || p.Auth.Type != a.typ || p.Auth.Level != a.level || int(p.Auth.PadLength) > len(stub) {
				return nil, fmt.Errorf("%w: response auth verifier", ErrMalformed)
			}
			msg := p.Raw[:len(p.Raw)-int(p.AuthLength)]
			if err := unprotect(a.sec, a.level, stub, msg, p.Auth.Value); err != nil {
				return nil, fmt.Errorf("dcerpc: response: %w", err)
			}
			stub = stub[:len(stub)-int(p.Auth.PadLength)]
		}
		if first && r.AllocHint > 0 && int(r.AllocHint) <= 4<<20 {
			out = make([]byte, 0, r.AllocHint)
		}
		out = append(out, stub...)
		if p.Flags&FlagLastFrag != 0 {
			return out, nil
		}
	}
}
