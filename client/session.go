package client

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/auth/spnego"
	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// Negotiate runs SMB2 NEGOTIATE with the configured dialect range. It must
// be the first request on the Conn and is not safe to run concurrently
// with other requests.
func (c *Conn) Negotiate(ctx context.Context) error {
	if c.neg.done {
		return fmt.Errorf("client: already negotiated")
	}
	dialects := c.cfg.dialects()
	req := smb2.NegotiateRequest{
		SecurityMode: smb2.SigningEnabled,
		ClientGUID:   c.cfg.ClientGUID,
		Dialects:     dialects,
	}
	if c.cfg.RequireSigning {
		req.SecurityMode |= smb2.SigningRequired
	}
	if req.ClientGUID == ([16]byte{}) {
		if _, err := io.ReadFull(c.cfg.Rand, req.ClientGUID[:]); err != nil {
			return err
		}
	}
	if dialects[len(dialects)-1] >= smb2.Dialect210 {
		req.Capabilities = smb2.CapLargeMTU
	}
	has311 := slices.Contains(dialects, smb2.Dialect311)
	if has311 {
		salt := make([]byte, 32)
		if _, err := io.ReadFull(c.cfg.Rand, salt); err != nil {
			return err
		}
		pre := smb2.PreauthIntegrityCaps{HashAlgorithms: []uint16{smb2.HashSHA512}, Salt: salt}
		sig := smb2.SigningCaps{SigningAlgorithms: c.cfg.SigningAlgorithms}
		req.Contexts = []smb2.NegotiateContext{
			{Type: smb2.CtxPreauthIntegrity, Data: pre.Append(nil)},
			{Type: smb2.CtxSigning, Data: sig.Append(nil)},
		}
	}
	bp := newRequest()
	*bp = req.Append(*bp)
	var preauth smbcrypto.PreauthHash
	cl, err := c.roundTrip(ctx, &request{hdr: smb2.Header{Command: smb2.CmdNegotiate}, buf: bp, preauth: &preauth})
	if err != nil {
		return fmt.Errorf("client: negotiate: %w", err)
	}
	defer c.release(cl)
	if cl.hdr.Status != ntstatus.Success {
		return &Error{Op: "negotiate", Status: cl.hdr.Status}
	}
	var resp smb2.NegotiateResponse
	if err := resp.Decode(cl.msg); err != nil {
		return protocolErrorf("negotiate response: %v", err)
	}
	if !slices.Contains(dialects, resp.DialectRevision) {
		return protocolErrorf("server chose dialect %s, not offered", DialectString(resp.DialectRevision))
	}
	n := negotiated{
		done:          true,
		dialect:       resp.DialectRevision,
		serverSecMode: resp.SecurityMode,
		serverCaps:    resp.Capabilities,
		serverGUID:    resp.ServerGUID,
		maxRead:       resp.MaxReadSize,
		maxWrite:      resp.MaxWriteSize,
		maxTransact:   resp.MaxTransactSize,
		signAlg:       smb2.SigningHMACSHA256,
	}
	if n.dialect >= smb2.Dialect300 {
		n.signAlg = smb2.SigningAESCMAC
	}
	n.multiCredit = n.dialect > smb2.Dialect202 && n.serverCaps&smb2.CapLargeMTU != 0
	if !n.multiCredit {
		n.maxRead = min(n.maxRead, 65536)
		n.maxWrite = min(n.maxWrite, 65536)
		n.maxTransact = min(n.maxTransact, 65536)
	}
	if n.maxRead == 0 || n.maxWrite == 0 || n.maxTransact == 0 {
		return protocolErrorf("server limits read %d write %d transact %d", n.maxRead, n.maxWrite, n.maxTransact)
	}
	if n.dialect == smb2.Dialect311 {
		var sawPreauth bool
		for _, ctxt := range resp.Contexts {
			switch ctxt.Type {
			case smb2.CtxPreauthIntegrity:
				var p smb2.PreauthIntegrityCaps
				if err := p.Decode(ctxt.Data); err != nil || len(p.HashAlgorithms) != 1 || p.HashAlgorithms[0] != smb2.HashSHA512 || sawPreauth {
					return protocolErrorf("bad preauth integrity context in negotiate response")
				}
				sawPreauth = true
			case smb2.CtxSigning:
				var s smb2.SigningCaps
				if err := s.Decode(ctxt.Data); err != nil || len(s.SigningAlgorithms) != 1 || !slices.Contains(c.cfg.SigningAlgorithms, s.SigningAlgorithms[0]) {
					return protocolErrorf("bad signing context in negotiate response")
				}
				n.signAlg = s.SigningAlgorithms[0]
			}
		}
		if !sawPreauth {
			return protocolErrorf("3.1.1 negotiate response without preauth integrity context")
		}
		preauth.Update(cl.msg)
		n.preauth = preauth
	}
	c.neg = n
	return nil
}

// SessionSetup authenticates with the Config's credentials through SPNEGO
// and NTLMSSP (anonymous or NTLMv2), derives the session keys and turns on
// signing when the session is signed. On 3.1.1 the signed final response
// of an authenticated session is verified. It may be called again after
// Logoff.
func (c *Conn) SessionSetup(ctx context.Context) error {
	if !c.neg.done {
		return fmt.Errorf("client: session setup before negotiate")
	}
	anon := c.cfg.anonymous()
	nc := &ntlm.Client{
		User:        c.cfg.User,
		Domain:      c.cfg.Domain,
		Workstation: c.cfg.Workstation,
		Password:    c.cfg.Password,
		NTHash:      c.cfg.NTHash,
		Rand: func(b []byte) {
			if _, err := io.ReadFull(c.cfg.Rand, b); err != nil {
				panic("client: random source failed: " + err.Error())
			}
		},
	}
	negMsg, err := nc.Negotiate()
	if err != nil {
		return fmt.Errorf("client: session setup: %w", err)
	}
	mechs := []string{spnego.OIDNTLMSSP}
	mechTypes := spnego.EncodeMechTypes(mechs)
	tok := spnego.EncodeInit(&spnego.Init{MechTypes: mechs, MechToken: negMsg, RawMechTypes: mechTypes})

	preauth := c.neg.preauth
	secMode := uint8(smb2.SigningEnabled)
	if c.cfg.RequireSigning {
		secMode |= uint8(smb2.SigningRequired)
	}

	// Round 1: NEGOTIATE_MESSAGE -> CHALLENGE_MESSAGE.
	st, sid, _, out, msg, err := c.sessionRound(ctx, 0, secMode, tok, &preauth)
	if err != nil {
		return err
	}
	if st != ntstatus.MoreProcessingRequired {
		return &Error{Op: "session setup", Status: st}
	}
	preauth.Update(msg)
	_, resp, err := spnego.Decode(out)
	if err != nil || resp == nil || len(resp.ResponseToken) == 0 {
		return protocolErrorf("session setup: no NTLMSSP challenge in the SPNEGO response")
	}
	if resp.NegState == spnego.Reject {
		return &Error{Op: "session setup", Status: ntstatus.LogonFailure}
	}
	authMsg, sessionKey, err := nc.Authenticate(resp.ResponseToken)
	if err != nil {
		return fmt.Errorf("client: session setup: %w", err)
	}
	rt := &spnego.Resp{NegState: spnego.NoState, ResponseToken: authMsg}
	if !anon {
		rt.MechListMIC = nc.MechListMIC(mechTypes)
	}

	// Round 2: AUTHENTICATE_MESSAGE -> SUCCESS.
	roundPreauth := preauth
	st, sid2, flags, out, msg, err := c.sessionRound(ctx, sid, secMode, spnego.EncodeResp(rt), &roundPreauth)
	if err != nil {
		return err
	}
	if st != ntstatus.Success {
		return &Error{Op: "session setup", Status: st}
	}
	if sid2 != sid {
		return protocolErrorf("session id changed during session setup")
	}
	if len(out) > 0 {
		if _, r2, err := spnego.Decode(out); err == nil && r2 != nil {
			if r2.NegState == spnego.Reject {
				return &Error{Op: "session setup", Status: ntstatus.LogonFailure}
			}
			if len(r2.MechListMIC) > 0 && !anon && !nc.VerifyMechListMIC(mechTypes, r2.MechListMIC) {
				return fmt.Errorf("client: session setup: server mechListMIC: %w", ErrSignature)
			}
		}
	}

	s := &session{id: sid, flags: flags}
	nullOrGuest := anon || flags&(smb2.SessionFlagIsNull|smb2.SessionFlagIsGuest) != 0
	if !nullOrGuest {
		var keys smbcrypto.Keys
		if c.neg.dialect == smb2.Dialect311 {
			keys = smbcrypto.DeriveKeys(uint16(c.neg.dialect), sessionKey[:], &roundPreauth)
		} else {
			keys = smbcrypto.DeriveKeys(uint16(c.neg.dialect), sessionKey[:], nil)
		}
		d, alg := uint16(c.neg.dialect), c.neg.signAlg
		s.signer = smbcrypto.NewSigner(d, alg, keys.Signing)
		s.verifier = smbcrypto.NewSigner(d, alg, keys.Signing)
		if s.signer == nil || s.verifier == nil {
			return fmt.Errorf("client: session setup: no signer for dialect %s", DialectString(c.neg.dialect))
		}
		var h smb2.Header
		if err := h.Decode(msg); err != nil {
			return protocolErrorf("session setup response header: %v", err)
		}
		signed := h.Flags&smb2.FlagSigned != 0
		if c.neg.dialect == smb2.Dialect311 && !signed {
			return fmt.Errorf("client: session setup: final 3.1.1 response not signed: %w", ErrSignature)
		}
		if signed && !s.verifier.Verify(msg) {
			return fmt.Errorf("client: session setup: final response: %w", ErrSignature)
		}
		s.signing = c.cfg.RequireSigning || c.neg.serverSecMode&smb2.SigningRequired != 0
	} else if c.cfg.RequireSigning && !anon {
		return fmt.Errorf("client: session setup: signing required but the server made a guest session")
	}
	c.writeMu.Lock()
	c.sess.Store(s)
	c.writeMu.Unlock()
	return nil
}

// sessionRound sends one SESSION_SETUP and returns the status, session id,
// session flags, security buffer and the whole response message (copied).
func (c *Conn) sessionRound(ctx context.Context, sid uint64, secMode uint8, tok []byte, preauth *smbcrypto.PreauthHash) (st ntstatus.Status, rsid uint64, flags uint16, out, msg []byte, err error) {
	bp := newRequest()
	*bp = (&smb2.SessionSetupRequest{SecurityMode: secMode, SecurityBuffer: tok}).Append(*bp)
	r := &request{hdr: smb2.Header{Command: smb2.CmdSessionSetup, SessionID: sid}, buf: bp, noSign: true}
	if c.neg.dialect == smb2.Dialect311 {
		r.preauth = preauth
	}
	cl, err := c.roundTrip(ctx, r)
	if err != nil {
		return 0, 0, 0, nil, nil, fmt.Errorf("client: session setup: %w", err)
	}
	defer c.release(cl)
	st, rsid = cl.hdr.Status, cl.hdr.SessionID
	msg = slices.Clone(cl.msg)
	if st != ntstatus.Success && st != ntstatus.MoreProcessingRequired {
		return st, rsid, 0, nil, msg, nil
	}
	var resp smb2.SessionSetupResponse
	if err := resp.Decode(msg); err != nil {
		return 0, 0, 0, nil, nil, protocolErrorf("session setup response: %v", err)
	}
	return st, rsid, resp.SessionFlags, resp.SecurityBuffer, msg, nil
}

// TreeConnect connects the tree \\server\IPC$.
func (c *Conn) TreeConnect(ctx context.Context) error {
	if c.SessionID() == 0 {
		return fmt.Errorf("client: tree connect without a session")
	}
	path := `\\` + c.host + `\IPC$`
	bp := newRequest()
	*bp = (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, path)}).Append(*bp)
	h := c.sessionHeader(smb2.CmdTreeConnect)
	h.TreeID = 0
	// MS-SMB2 3.2.4.2.4 / 3.3.5.7: on 3.1.1 an authenticated session signs
	// TREE_CONNECT even when it does not sign otherwise.
	cl, err := c.roundTrip(ctx, &request{hdr: h, buf: bp, forceSign: c.neg.dialect == smb2.Dialect311})
	if err != nil {
		return fmt.Errorf("client: tree connect: %w", err)
	}
	defer c.release(cl)
	if cl.hdr.Status != ntstatus.Success {
		return &Error{Op: "tree connect", Name: path, Status: cl.hdr.Status}
	}
	var resp smb2.TreeConnectResponse
	if err := resp.Decode(cl.msg); err != nil {
		return protocolErrorf("tree connect response: %v", err)
	}
	if resp.ShareType != smb2.ShareTypePipe {
		return protocolErrorf("%s is share type %d, not a pipe share", path, resp.ShareType)
	}
	c.treeID.Store(cl.hdr.TreeID)
	return nil
}

// TreeDisconnect disconnects IPC$. Pending reads on its pipes end with
// STATUS_PIPE_BROKEN.
func (c *Conn) TreeDisconnect(ctx context.Context) error {
	bp := newRequest()
	*bp = (&smb2.TreeDisconnectRequest{}).Append(*bp)
	cl, err := c.simple(ctx, smb2.CmdTreeDisconnect, bp, 0, "tree disconnect", "")
	if err != nil {
		return err
	}
	c.release(cl)
	c.treeID.Store(0)
	return nil
}

// Logoff ends the session. The Conn stays open: SessionSetup may log on
// again, Echo still works.
func (c *Conn) Logoff(ctx context.Context) error {
	bp := newRequest()
	*bp = (&smb2.LogoffRequest{}).Append(*bp)
	cl, err := c.simple(ctx, smb2.CmdLogoff, bp, 0, "logoff", "")
	if err != nil {
		return err
	}
	c.release(cl)
	c.writeMu.Lock()
	c.sess.Store(nil)
	c.writeMu.Unlock()
	c.treeID.Store(0)
	return nil
}
