package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

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
	ciphers := c.cfg.offeredCiphers()
	if len(ciphers) > 0 && slices.ContainsFunc(dialects, func(d smb2.Dialect) bool { return d >= smb2.Dialect300 }) {
		// The client supports encryption (MS-SMB2 2.2.3), also on 3.1.1,
		// where Samba's smbd chooses a cipher from the context only when
		// the capability is set too, as Windows and Samba's clients set
		// it. On 3.0.x it means AES-128-CCM: without it in Ciphers the
		// server's answer is ignored below.
		req.Capabilities |= smb2.CapEncryption
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
		if len(ciphers) > 0 {
			ec := smb2.EncryptionCaps{Ciphers: ciphers}
			req.Contexts = append(req.Contexts, smb2.NegotiateContext{Type: smb2.CtxEncryption, Data: ec.Append(nil)})
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
	if (n.dialect == smb2.Dialect300 || n.dialect == smb2.Dialect302) && n.serverCaps&smb2.CapEncryption != 0 {
		if len(ciphers) == 0 {
			return protocolErrorf("server offers encryption, not asked for")
		}
		if slices.Contains(ciphers, smb2.CipherAES128CCM) {
			n.cipher = smb2.CipherAES128CCM
		}
	}
	n.multiCredit = n.dialect > smb2.Dialect202 && n.serverCaps&smb2.CapLargeMTU != 0
	if !n.multiCredit {
		n.maxRead = min(n.maxRead, 65536)
		n.maxWrite = min(n.maxWrite, 65536)
		n.maxTransact = min(n.maxTransact, 65536)
	}
	if n.maxRead < minIOSize || n.maxWrite < minIOSize || n.maxTransact < minIOSize {
		// MS-SMB2 3.2.5.2: the client SHOULD disconnect; Windows' does.
		// Smaller sizes would also split messages that fit a 64 KiB write.
		return protocolErrorf("server limits read %d write %d transact %d, below %d", n.maxRead, n.maxWrite, n.maxTransact, minIOSize)
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
			case smb2.CtxEncryption:
				// One cipher, one the client offered, or 0: none in common.
				var e smb2.EncryptionCaps
				if err := e.Decode(ctxt.Data); err != nil || len(e.Ciphers) != 1 || n.cipher != 0 ||
					e.Ciphers[0] != 0 && !slices.Contains(ciphers, e.Ciphers[0]) {
					return protocolErrorf("bad encryption context in negotiate response")
				}
				n.cipher = e.Ciphers[0]
			}
		}
		if !sawPreauth {
			return protocolErrorf("3.1.1 negotiate response without preauth integrity context")
		}
		preauth.Update(cl.msg)
		n.preauth = preauth
	}
	if c.cfg.Encryption == EncryptionRequired && n.cipher == 0 {
		// Before any credential is sent: the session could never encrypt.
		return fmt.Errorf("client: negotiate: encryption required, but the server (dialect %s) offers none of the ciphers offered (%s): %w",
			DialectString(n.dialect), cipherNames(ciphers), ErrEncryption)
	}
	c.neg = n
	c.maxFrame.Store(int64(max(n.maxRead, n.maxTransact)) + frameSlack)
	return nil
}

// cipherNames renders cipher ids for an error.
func cipherNames(ids []uint16) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = smbcrypto.CipherName(id)
	}
	return strings.Join(names, ", ")
}

// minIOSize is the smallest MaxReadSize, MaxWriteSize and MaxTransactSize
// the client accepts.
const minIOSize = 65536

// SessionSetup authenticates with the Config's credentials through SPNEGO
// and NTLMSSP (anonymous or NTLMv2), derives the session keys and turns on
// signing when the session is signed. On 3.1.1 the signed final response
// of an authenticated session is verified. It may be called again after
// Logoff.
func (c *Conn) SessionSetup(ctx context.Context) error {
	if !c.neg.done {
		return fmt.Errorf("client: session setup before negotiate")
	}
	s, err := c.logon(ctx, &c.cfg, nil)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	c.sess.Store(s)
	c.writeMu.Unlock()
	return nil
}

// Reauthenticate runs a new NTLM exchange on the existing session (MS-SMB2
// 3.2.4.2.3.1): SESSION_SETUP requests carrying the session's SessionId,
// signed with the session's key when the session signs. cfg supplies the
// credentials (User, Domain, Password or NTHash, Workstation; its other
// fields are ignored); nil means the Conn's own. Only an authenticated
// session (neither null nor guest) with non-anonymous credentials can be
// re-authenticated.
//
// On success the session goes on with the same SessionId and the same
// signing key (the server keeps Session.SessionKey, MS-SMB2 3.3.5.5.2; the
// new exchange's key is discarded), so trees and opens stay usable; on 3.1.1
// the final response must be signed with that key. The identity the server
// uses for later access checks is the re-authenticated one.
//
// When the server fails the exchange (e.g. STATUS_LOGON_FAILURE), MS-SMB2
// 3.3.5.5.3 has it remove the session with its trees and opens, as smbpipe's
// server and Samba's smbd do: the Conn then has no session (SessionID is 0,
// as after Logoff) and SessionSetup may log on again. Errors before the
// server answered (transport, context) leave the session as it was.
//
// The caller should not issue other requests on the Conn until it returns.
func (c *Conn) Reauthenticate(ctx context.Context, cfg *Config) error {
	old := c.sess.Load()
	if old == nil {
		return fmt.Errorf("client: reauthenticate without a session")
	}
	if old.flags&(smb2.SessionFlagIsNull|smb2.SessionFlagIsGuest) != 0 || old.signer == nil {
		return fmt.Errorf("client: reauthenticate: only an authenticated session can be re-authenticated")
	}
	creds := &c.cfg
	if cfg != nil {
		cc := c.cfg
		cc.User, cc.Domain, cc.Password, cc.Workstation = cfg.User, cfg.Domain, cfg.Password, cfg.Workstation
		cc.Kerberos = cfg.Kerberos
		cc.NTHash = nil
		if cfg.NTHash != nil {
			if len(cfg.NTHash) != 16 {
				return errors.New("client: NTHash must be 16 bytes")
			}
			cc.NTHash = slices.Clone(cfg.NTHash)
		}
		creds = &cc
	}
	if creds.anonymous() {
		return fmt.Errorf("client: reauthenticate: anonymous credentials")
	}
	s, err := c.logon(ctx, creds, old)
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			// The server failed the exchange and removed the session.
			c.writeMu.Lock()
			c.sess.CompareAndSwap(old, nil)
			c.writeMu.Unlock()
			c.treeID.Store(0)
		}
		return err
	}
	c.writeMu.Lock()
	c.sess.Store(s)
	c.writeMu.Unlock()
	return nil
}

// logon runs the SPNEGO/NTLMSSP exchange with creds' credentials and
// returns the established session. With old nil it makes a new session
// (SessionId 0, unsigned requests, keys derived from the exchange). With
// old set it re-authenticates old: the requests carry old's SessionId and
// are signed when old signs, no preauth hash is kept, and the returned
// session keeps old's id, keys and signing.
func (c *Conn) logon(ctx context.Context, creds *Config, old *session) (*session, error) {
	if creds.Kerberos != nil {
		return c.kerberosLogon(ctx, creds, old) // kerberos.go
	}
	reauth := old != nil
	anon := creds.anonymous()
	nc := &ntlm.Client{
		User:        creds.User,
		Domain:      creds.Domain,
		Workstation: creds.Workstation,
		Password:    creds.Password,
		NTHash:      creds.NTHash,
		Rand: func(b []byte) {
			if _, err := io.ReadFull(c.cfg.Rand, b); err != nil {
				panic("client: random source failed: " + err.Error())
			}
		},
	}
	negMsg, err := nc.Negotiate()
	if err != nil {
		return nil, fmt.Errorf("client: session setup: %w", err)
	}
	mechs := []string{spnego.OIDNTLMSSP}
	mechTypes := spnego.EncodeMechTypes(mechs)
	tok := spnego.EncodeInit(&spnego.Init{MechTypes: mechs, MechToken: negMsg, RawMechTypes: mechTypes})

	pre, secMode, sid := c.setupStart(old)

	// Round 1: NEGOTIATE_MESSAGE -> CHALLENGE_MESSAGE.
	st, rsid, _, out, msg, err := c.sessionRound(ctx, sid, secMode, tok, pre, reauth)
	if err != nil {
		return nil, err
	}
	if st != ntstatus.MoreProcessingRequired {
		return nil, &Error{Op: "session setup", Status: st}
	}
	if reauth && rsid != sid {
		return nil, protocolErrorf("session id changed during re-authentication")
	}
	sid = rsid
	if pre != nil {
		pre.Update(msg)
	}
	_, resp, err := spnego.Decode(out)
	if err != nil || resp == nil || len(resp.ResponseToken) == 0 {
		return nil, protocolErrorf("session setup: no NTLMSSP challenge in the SPNEGO response")
	}
	if resp.NegState == spnego.Reject {
		return nil, &Error{Op: "session setup", Status: ntstatus.LogonFailure}
	}
	authMsg, sessionKey, err := nc.Authenticate(resp.ResponseToken)
	if err != nil {
		return nil, fmt.Errorf("client: session setup: %w", err)
	}
	rt := &spnego.Resp{NegState: spnego.NoState, ResponseToken: authMsg}
	if !anon {
		rt.MechListMIC = nc.MechListMIC(mechTypes)
	}

	// Round 2: AUTHENTICATE_MESSAGE -> SUCCESS.
	var roundPreauth smbcrypto.PreauthHash
	var pre2 *smbcrypto.PreauthHash
	if pre != nil {
		roundPreauth = *pre
		pre2 = &roundPreauth
	}
	st, sid2, flags, out, msg, err := c.sessionRound(ctx, sid, secMode, spnego.EncodeResp(rt), pre2, reauth)
	if err != nil {
		return nil, err
	}
	if st != ntstatus.Success {
		return nil, &Error{Op: "session setup", Status: st}
	}
	if sid2 != sid {
		return nil, protocolErrorf("session id changed during session setup")
	}
	if len(out) > 0 {
		if _, r2, err := spnego.Decode(out); err == nil && r2 != nil {
			if r2.NegState == spnego.Reject {
				return nil, &Error{Op: "session setup", Status: ntstatus.LogonFailure}
			}
			if len(r2.MechListMIC) > 0 && !anon && !nc.VerifyMechListMIC(mechTypes, r2.MechListMIC) {
				return nil, fmt.Errorf("client: session setup: server mechListMIC: %w", ErrSignature)
			}
		}
	}

	return c.establish(sid, flags, msg, sessionKey[:], anon, old, &roundPreauth)
}

// setupStart returns what a SESSION_SETUP exchange starts from: the
// preauth hash the exchange updates, a copy of the connection's (nil
// before 3.1.1 and on a re-authentication, where none is kept); the
// SecurityMode to send; and the SessionId, old's on a re-authentication
// (old != nil), 0 on a first logon.
func (c *Conn) setupStart(old *session) (pre *smbcrypto.PreauthHash, secMode uint8, sid uint64) {
	if c.neg.dialect == smb2.Dialect311 && old == nil {
		preauth := c.neg.preauth
		pre = &preauth
	}
	secMode = uint8(smb2.SigningEnabled)
	if c.cfg.RequireSigning {
		secMode |= uint8(smb2.SigningRequired)
	}
	if old != nil {
		sid = old.id
	}
	return pre, secMode, sid
}

// establish builds the session a successful SESSION_SETUP made: keys from
// the GSS session key (NTLM's 16 bytes, Kerberos' subkey of any length:
// smbcrypto truncates or keeps it whole as MS-SMB2 3.2.5.3.1 says), or
// old's on a re-authentication, and checks the final response msg's
// signature. roundPreauth is the 3.1.1 preauth hash of the exchange.
func (c *Conn) establish(sid uint64, flags uint16, msg, sessionKey []byte, anon bool, old *session, roundPreauth *smbcrypto.PreauthHash) (*session, error) {
	reauth := old != nil
	var err error
	s := &session{id: sid, flags: flags}
	nullOrGuest := anon || flags&(smb2.SessionFlagIsNull|smb2.SessionFlagIsGuest) != 0
	if reauth {
		if nullOrGuest {
			return nil, fmt.Errorf("client: reauthenticate: the server made the session null or guest (flags %#x)", flags)
		}
		// MS-SMB2 3.3.5.5.2: the session keeps its key; the new one is unused.
		s.signer, s.verifier, s.signing = old.signer, old.verifier, old.signing
	} else if !nullOrGuest {
		var keys smbcrypto.Keys
		if c.neg.dialect == smb2.Dialect311 {
			keys = smbcrypto.DeriveKeys(uint16(c.neg.dialect), sessionKey, roundPreauth)
		} else {
			keys = smbcrypto.DeriveKeys(uint16(c.neg.dialect), sessionKey, nil)
		}
		d, alg := uint16(c.neg.dialect), c.neg.signAlg
		s.signer = smbcrypto.NewSigner(d, alg, keys.Signing)
		s.verifier = smbcrypto.NewSigner(d, alg, keys.Signing)
		if s.signer == nil || s.verifier == nil {
			return nil, fmt.Errorf("client: session setup: no signer for dialect %s", DialectString(c.neg.dialect))
		}
		s.signing = c.cfg.RequireSigning || c.neg.serverSecMode&smb2.SigningRequired != 0
		if c.neg.cipher != 0 {
			pre := roundPreauth
			if c.neg.dialect != smb2.Dialect311 {
				pre = nil
			}
			c2s, s2c := smbcrypto.DeriveCipherKeys(d, c.neg.cipher, sessionKey, pre)
			if s.enc, err = smbcrypto.NewCrypter(c.neg.cipher, c2s); err != nil {
				return nil, fmt.Errorf("client: session setup: %w", err)
			}
			if s.dec, err = smbcrypto.NewCrypter(c.neg.cipher, s2c); err != nil {
				return nil, fmt.Errorf("client: session setup: %w", err)
			}
			mode := c.cfg.Encryption
			s.encrypt = flags&smb2.SessionFlagEncrypt != 0 || mode == EncryptionPreferred || mode == EncryptionRequired
		}
	} else if c.cfg.RequireSigning && !anon {
		return nil, fmt.Errorf("client: session setup: signing required but the server made a guest session")
	}
	switch {
	case reauth:
		s.enc, s.dec, s.encrypt = old.enc, old.dec, old.encrypt
	case s.encrypt:
	case flags&smb2.SessionFlagEncrypt != 0:
		return nil, fmt.Errorf("client: session setup: the server requires encryption, which this session cannot do (cipher %#x, flags %#x): %w", c.neg.cipher, flags, ErrEncryption)
	case c.cfg.Encryption == EncryptionRequired:
		return nil, fmt.Errorf("client: session setup: encryption required, but the session cannot encrypt (dialect %s, cipher %#x, anonymous or guest %v): %w",
			DialectString(c.neg.dialect), c.neg.cipher, nullOrGuest, ErrEncryption)
	}
	if !nullOrGuest {
		// The response that completes the session is signed on 3.1.1
		// (MS-SMB2 3.2.5.3.1) and, like every later reply, on a session
		// that signs; otherwise a man in the middle could rewrite it.
		var h smb2.Header
		if err := h.Decode(msg); err != nil {
			return nil, protocolErrorf("session setup response header: %v", err)
		}
		signed := h.Flags&smb2.FlagSigned != 0
		// A sealed re-authentication's reply arrived sealed (the reader
		// refuses it otherwise): authenticated, and not signed.
		sealed := reauth && old.encrypt
		if !signed && !sealed && (c.neg.dialect == smb2.Dialect311 || s.signing) {
			return nil, fmt.Errorf("client: session setup: final response not signed: %w", ErrSignature)
		}
		// A re-authentication's requests carry the session's SessionId, so
		// the reader has verified a signed reply with the session's key
		// already (and only the reader may use that verifier).
		if signed && !reauth && !s.verifier.Verify(msg) {
			return nil, fmt.Errorf("client: session setup: final response: %w", ErrSignature)
		}
	}
	return s, nil
}

// sessionRound sends one SESSION_SETUP and returns the status, session id,
// session flags, security buffer and the whole response message (copied).
// preauth, if set, is updated with the request. A re-authentication's
// request (sign) is signed when the session signs (MS-SMB2 3.2.4.1.1);
// otherwise it is never signed.
func (c *Conn) sessionRound(ctx context.Context, sid uint64, secMode uint8, tok []byte, preauth *smbcrypto.PreauthHash, sign bool) (st ntstatus.Status, rsid uint64, flags uint16, out, msg []byte, err error) {
	bp := newRequest()
	*bp = (&smb2.SessionSetupRequest{SecurityMode: secMode, SecurityBuffer: tok}).Append(*bp)
	r := &request{hdr: smb2.Header{Command: smb2.CmdSessionSetup, SessionID: sid}, buf: bp, noSign: !sign, preauth: preauth}
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
	if err := c.simpleDone(ctx, smb2.CmdTreeDisconnect, bp, 0, "tree disconnect", ""); err != nil {
		return err
	}
	c.treeID.Store(0)
	return nil
}

// Logoff ends the session. The Conn stays open: SessionSetup may log on
// again, Echo still works.
func (c *Conn) Logoff(ctx context.Context) error {
	bp := newRequest()
	*bp = (&smb2.LogoffRequest{}).Append(*bp)
	if err := c.simpleDone(ctx, smb2.CmdLogoff, bp, 0, "logoff", ""); err != nil {
		return err
	}
	c.writeMu.Lock()
	c.sess.Store(nil)
	c.writeMu.Unlock()
	c.treeID.Store(0)
	return nil
}
