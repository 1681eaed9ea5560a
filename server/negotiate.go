package server

import (
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// supportedDialects in order of preference (highest first).
var supportedDialects = [...]smb2.Dialect{
	smb2.Dialect311, smb2.Dialect302, smb2.Dialect300, smb2.Dialect210, smb2.Dialect202,
}

// securityMode is the server's SecurityMode under the current policy.
func (c *conn) securityMode() uint16 {
	m := smb2.SigningEnabled
	if cfg := c.srv.snapshot().Config(); cfg != nil && cfg.Signing == "required" {
		m |= smb2.SigningRequired
	}
	return m
}

// filetime converts t to a Windows FILETIME.
func filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000
}

// negotiate handles SMB2 NEGOTIATE (MS-SMB2 3.3.5.4). A NEGOTIATE after a
// dialect was fixed drops the connection.
func (c *conn) negotiate(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	if c.negotiated {
		return buf, 0, errors.New("server: second NEGOTIATE")
	}
	var req smb2.NegotiateRequest
	if err := req.Decode(r.msg); err != nil || len(req.Dialects) == 0 {
		return buf, ntstatus.InvalidParameter, nil
	}
	var d smb2.Dialect
	for _, sd := range supportedDialects {
		if slices.Contains(req.Dialects, sd) {
			d = sd
			break
		}
	}
	if d == 0 {
		return buf, ntstatus.NotSupported, nil
	}
	c.clientGUID = req.ClientGUID
	c.clientSecMode = req.SecurityMode
	c.clientCaps = req.Capabilities
	c.clientDialects = slices.Clone(req.Dialects)
	c.serverSecMode = c.securityMode()
	offered := c.offeredCiphers()
	c.clientCiphers = nil
	if d == smb2.Dialect300 || d == smb2.Dialect302 {
		// AES-128-CCM, implied by SMB2_GLOBAL_CAP_ENCRYPTION in both
		// directions (MS-SMB2 3.3.5.4).
		if req.Capabilities&smb2.CapEncryption != 0 {
			c.clientCiphers = []uint16{smb2.CipherAES128CCM}
			if slices.Contains(offered, smb2.CipherAES128CCM) {
				c.cipher = smb2.CipherAES128CCM
			}
		}
	}

	var ctxs []smb2.NegotiateContext
	if d == smb2.Dialect311 {
		var havePreauth bool
		c.signAlg = smb2.SigningAESCMAC
		var signCtx, encCtx bool
		var encCaps smb2.EncryptionCaps
		for _, nc := range req.Contexts {
			switch nc.Type {
			case smb2.CtxEncryption:
				// One context with at least one cipher, else
				// STATUS_INVALID_PARAMETER (MS-SMB2 3.3.5.4).
				if encCtx || encCaps.Decode(nc.Data) != nil || len(encCaps.Ciphers) == 0 {
					return buf, ntstatus.InvalidParameter, nil
				}
				encCtx = true
				c.clientCiphers = encCaps.Ciphers
			case smb2.CtxPreauthIntegrity:
				var p smb2.PreauthIntegrityCaps
				if err := p.Decode(nc.Data); err != nil {
					return buf, ntstatus.InvalidParameter, nil
				}
				havePreauth = slices.Contains(p.HashAlgorithms, smb2.HashSHA512)
			case smb2.CtxSigning:
				var sc smb2.SigningCaps
				if err := sc.Decode(nc.Data); err != nil {
					return buf, ntstatus.InvalidParameter, nil
				}
				if len(sc.SigningAlgorithms) == 0 {
					return buf, ntstatus.InvalidParameter, nil
				}
				c.signAlg, signCtx = chooseSigningAlgorithm(sc.SigningAlgorithms), true
			}
		}
		if !havePreauth {
			return buf, ntstatus.InvalidParameter, nil
		}
		salt := make([]byte, 32)
		_, _ = rand.Read(salt)
		pc := smb2.PreauthIntegrityCaps{HashAlgorithms: []uint16{smb2.HashSHA512}, Salt: salt}
		ctxs = append(ctxs, smb2.NegotiateContext{Type: smb2.CtxPreauthIntegrity, Data: pc.Append(nil)})
		if encCtx && len(offered) > 0 {
			// The answer names one cipher, 0 when none is common: the
			// client then knows encryption is supported but not with
			// its ciphers (MS-SMB2 3.3.5.4).
			c.cipher = chooseCipher(offered, encCaps.Ciphers)
			ec := smb2.EncryptionCaps{Ciphers: []uint16{c.cipher}}
			ctxs = append(ctxs, smb2.NegotiateContext{Type: smb2.CtxEncryption, Data: ec.Append(nil)})
		}
		if signCtx {
			sc := smb2.SigningCaps{SigningAlgorithms: []uint16{c.signAlg}}
			ctxs = append(ctxs, smb2.NegotiateContext{Type: smb2.CtxSigning, Data: sc.Append(nil)})
		}
		c.preauth.Update(r.msg)
		r.preauth = &c.preauth
	}
	c.dialect = d
	c.negotiated = true
	if d == smb2.Dialect202 {
		c.maxIO = min(c.maxIO, maxIOSize202)
	}
	r.noSign = true
	return c.appendNegotiateResponse(buf, d, ctxs), ntstatus.Success, nil
}

// appendNegotiateResponse appends a NEGOTIATE response body for dialect d.
func (c *conn) appendNegotiateResponse(buf []byte, d smb2.Dialect, ctxs []smb2.NegotiateContext) []byte {
	var caps uint32
	if d != smb2.Dialect202 {
		caps |= smb2.CapLargeMTU
	}
	if c.cipher != 0 && d != smb2.Dialect311 {
		caps |= smb2.CapEncryption // 3.1.1 says it in its context
	}
	c.serverCaps = caps
	resp := smb2.NegotiateResponse{
		SecurityMode:    c.serverSecMode,
		DialectRevision: d,
		ServerGUID:      c.srv.guid,
		Capabilities:    caps,
		MaxTransactSize: c.maxIO,
		MaxReadSize:     c.maxIO,
		MaxWriteSize:    c.maxIO,
		SystemTime:      filetime(time.Now()),
		SecurityBuffer:  c.negToken(),
		Contexts:        ctxs,
	}
	return resp.Append(buf)
}

// chooseSigningAlgorithm picks the 3.1.1 signing algorithm from the
// client's SIGNING_CAPABILITIES list. MS-SMB2 3.3.5.4 lets the server pick
// any algorithm both sides support (AES-CMAC when there is none): AES-GMAC
// when offered, as it costs a fraction of AES-CMAC per message; otherwise
// the client's first supported choice.
func chooseSigningAlgorithm(offered []uint16) uint16 {
	if slices.Contains(offered, smb2.SigningAESGMAC) {
		return smb2.SigningAESGMAC
	}
	for _, a := range offered {
		if a == smb2.SigningAESCMAC || a == smb2.SigningHMACSHA256 {
			return a
		}
	}
	return smb2.SigningAESCMAC
}

// offeredCiphers are the cipher ids the policy offers, in its order of
// preference; none when encryption is "off".
func (c *conn) offeredCiphers() []uint16 {
	cfg := c.srv.snapshot().Config()
	if cfg == nil || cfg.Encryption == "off" {
		return nil
	}
	names := cfg.EncryptionCiphers
	if names == nil {
		names = policy.DefaultCiphers
	}
	ids := make([]uint16, 0, len(names))
	for _, n := range names {
		for id := smb2.CipherAES128CCM; id <= smb2.CipherAES256GCM; id++ {
			if strings.EqualFold(smbcrypto.CipherName(id), n) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// chooseCipher picks the 3.1.1 cipher: the first of the server's list
// (policy encryption_ciphers, by default AES-128-GCM, AES-128-CCM,
// AES-256-GCM, AES-256-CCM) that the client offers, as Samba does, or 0.
// Windows' server rule is not documented; it picks from the intersection
// too (SEMANTICS-2 §1.2), and with the default order a Windows client,
// which offers AES-128-GCM first, gets AES-128-GCM from either.
func chooseCipher(server, client []uint16) uint16 {
	for _, id := range server {
		if slices.Contains(client, id) {
			return id
		}
	}
	return 0
}

// negotiation is what NEGOTIATE fixed for a connection (MS-SMB2
// 3.3.5.4): the reader goroutine writes it during NEGOTIATE and only
// reads it afterwards.
type negotiation struct {
	dialect        smb2.Dialect // 0: none yet; DialectWildcard after SMB1 upgrade
	negotiated     bool         // a final dialect is fixed
	clientGUID     [16]byte
	clientSecMode  uint16
	clientCaps     uint32
	clientDialects []smb2.Dialect
	serverSecMode  uint16
	serverCaps     uint32
	signAlg        uint16
	cipher         uint16 // the cipher sessions encrypt with; 0: none
	// clientCiphers are the ciphers the client offered (3.1.1:
	// ENCRYPTION_CAPABILITIES; 3.0, 3.0.2: AES-128-CCM with
	// SMB2_GLOBAL_CAP_ENCRYPTION), for the reason of a refusal.
	clientCiphers []uint16
	preauth       smbcrypto.PreauthHash // the connection's 3.1.1 preauth hash
	maxIO         uint32                // MaxTransact/Read/WriteSize offered
}

// handleSMB1 answers an SMB1 NEGOTIATE offering SMB2 with an SMB2 NEGOTIATE
// response (MS-SMB2 3.3.5.3); anything else drops the connection.
func (c *conn) handleSMB1(msg []byte) error {
	if c.dialect != 0 || len(msg) < 5 || msg[4] != 0x72 {
		return errors.New("server: unexpected SMB1 message")
	}
	dialects, err := smb2.ParseSMB1Negotiate(msg)
	if err != nil {
		return err
	}
	var wildcard, d202 bool
	for _, d := range dialects {
		switch d {
		case "SMB 2.???":
			wildcard = true
		case "SMB 2.002":
			d202 = true
		}
	}
	var d smb2.Dialect
	switch {
	case wildcard:
		d = smb2.DialectWildcard
	case d202:
		d = smb2.Dialect202
	default:
		return errors.New("server: SMB1 NEGOTIATE without an SMB2 dialect")
	}
	if !c.credits.consume(0, 1) {
		return errors.New("server: SMB1 NEGOTIATE after MessageId 0")
	}
	granted := c.credits.grant(1, 1, false)
	c.dialect = d
	if d == smb2.Dialect202 {
		c.negotiated = true
		c.maxIO = min(c.maxIO, maxIOSize202)
	}
	c.serverSecMode = c.securityMode()
	bp := c.srv.bufs.get()
	defer c.srv.bufs.put(bp)
	buf := append((*bp)[:0], 0, 0, 0, 0)
	c.elems = c.elems[:0]
	buf, start := c.beginElem(buf)
	buf = c.appendNegotiateResponse(buf, d, nil)
	rh := smb2.Header{Command: smb2.CmdNegotiate, Credit: granted, Flags: smb2.FlagServerToRedir}
	rh.Append(buf[start:start])
	*bp = buf
	return c.send(buf, []elem{{start: start}}, sealer{})
}
