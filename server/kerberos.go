package server

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/smbpipe/smbpipe/auth/kerberos"
	"github.com/smbpipe/smbpipe/auth/spnego"
	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// Audit rules of Kerberos logons.
const (
	ruleKerberos    = "kerberos"
	ruleNTLMOff     = "ntlm-disabled"
	ruleNoPrincipal = "kerberos-principal"
)

// krbState is the server's Kerberos state: the replay cache, which lives as
// long as the server (a reload must not forget what was replayed), and the
// acceptor of the policy in force, rebuilt (the keytab re-read) when a new
// snapshot takes effect.
type krbState struct {
	replay kerberos.ReplayCache

	mu   sync.Mutex
	snap *policy.Snapshot   // the snapshot acc and negToken were built for
	acc  *kerberos.Acceptor // nil: Kerberos off or the keytab unreadable
	err  error              // why acc is nil although a keytab is configured
	neg  []byte             // the NEGOTIATE response's SPNEGO token
	kt   os.FileInfo        // the keytab file acc was read from (refreshKeytab)
}

// negTokenNTLM is the NEGOTIATE token of a server without Kerberos.
var negTokenNTLM = spnego.EncodeInit(&spnego.Init{MechTypes: []string{spnego.OIDNTLMSSP}})

// kerberos returns the acceptor and NEGOTIATE token for snap, reading the
// keytab the first time snap is seen.
func (s *Server) kerberos(snap *policy.Snapshot) (*kerberos.Acceptor, []byte, error) {
	k := &s.krb
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.snap == snap {
		return k.acc, k.neg, k.err
	}
	k.snap, k.acc, k.err, k.neg, k.kt = snap, nil, nil, negTokenNTLM, nil
	kc := &snap.Config().Kerberos
	if !kc.Enabled() {
		return nil, k.neg, nil
	}
	acc, fi, err := s.readKeytab(kc, &k.replay)
	if err != nil {
		k.err = err
		s.log.LogAttrs(context.Background(), slog.LevelError, "kerberos keytab",
			slog.String("keytab", kc.Keytab), slog.String("error", err.Error()),
			slog.String("effect", "Kerberos logons are refused until the keytab can be read"))
	} else {
		k.acc, k.kt = acc, fi
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "kerberos keytab",
			slog.String("keytab", kc.Keytab), slog.Any("principals", acc.Keytab.Principals()))
	}
	// Windows' NegTokenInit2 (MS-SPNG 2.2.1): MS-KRB5, KRB5, NTLMSSP (no
	// NEGOEX), with the "please ignore" hint.
	mechs := []string{spnego.OIDMSKRB5, spnego.OIDKRB5}
	if !kc.DisableNTLM {
		mechs = append(mechs, spnego.OIDNTLMSSP)
	}
	k.neg = spnego.EncodeInit(&spnego.Init{MechTypes: mechs, HintName: spnego.HintNotDefined})
	return k.acc, k.neg, k.err
}

// readKeytab reads kc's keytab into an acceptor on replay, and returns
// the file's information as it was before the read.
func (s *Server) readKeytab(kc *policy.Kerberos, replay *kerberos.ReplayCache) (*kerberos.Acceptor, os.FileInfo, error) {
	fi, err := os.Stat(kc.Keytab)
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(kc.Keytab)
	if err != nil {
		return nil, nil, err
	}
	kt, err := kerberos.ParseKeytab(b)
	if err != nil {
		return nil, nil, err
	}
	return &kerberos.Acceptor{Keytab: kt, Realm: kc.Realm, Names: kc.ServiceNames, Replay: replay}, fi, nil
}

// refreshKeytab re-reads snap's keytab when the file changed since it was
// read, as MIT's and Samba's acceptors do (they read the keytab at every
// AP-REQ): a key added by kadmin ktadd, msktutil or net ads keytab while
// serving is used at once, and a key removed from the file is refused at
// once, without a reload. Every Kerberos logon calls it: one stat of the
// file when nothing changed. It returns the acceptor to use, nil when
// the file is unchanged, unreadable (the keys read before stay in force)
// or snap is no longer the policy in force.
func (s *Server) refreshKeytab(snap *policy.Snapshot) *kerberos.Acceptor {
	kc := &snap.Config().Kerberos
	if !kc.Enabled() {
		return nil
	}
	fi, err := os.Stat(kc.Keytab)
	if err != nil {
		return nil
	}
	k := &s.krb
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.snap != snap || (k.kt != nil && os.SameFile(fi, k.kt) && fi.Size() == k.kt.Size() && fi.ModTime().Equal(k.kt.ModTime())) {
		return nil
	}
	acc, fi, err := s.readKeytab(kc, &k.replay)
	if err != nil {
		s.log.LogAttrs(context.Background(), slog.LevelWarn, "kerberos keytab",
			slog.String("keytab", kc.Keytab), slog.String("error", err.Error()),
			slog.String("effect", "the keytab changed on disk but cannot be read; the keys read before stay in force"))
		return nil
	}
	k.acc, k.kt, k.err = acc, fi, nil
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "kerberos keytab",
		slog.String("keytab", kc.Keytab), slog.Any("principals", acc.Keytab.Principals()),
		slog.String("reason", "the file changed on disk"))
	return acc
}

// negToken is the SPNEGO token of the NEGOTIATE response.
func (c *conn) negToken() []byte {
	_, neg, _ := c.srv.kerberos(c.srv.snapshot())
	return neg
}

// kerberosSetup takes the SESSION_SETUP exchanges that are not NTLM's: a
// Kerberos AP-REQ (bare, GSS-framed, or SPNEGO's optimistic token when the
// client's first mechanism is Kerberos), and an NTLMSSP token when [kerberos]
// ntlm = false. handled is false for everything else, which the NTLM path
// serves as before.
func (c *conn) kerberosSetup(r *request, buf []byte, s *session, req *smb2.SessionSetupRequest) (_ []byte, _ ntstatus.Status, handled bool) {
	snap := c.srv.snapshot()
	kc := &snap.Config().Kerberos
	if !kc.Enabled() {
		return buf, 0, false
	}
	if p := s.krbMIC; p != nil {
		s.krbMIC = nil
		out, st := c.kerberosMIC(r, buf, s, req, p)
		return out, st, true
	}
	token, mech, wrapped := kerberosToken(req.SecurityBuffer)
	leg := krbLeg{mech: mech, wrapped: wrapped}
	if token != nil && wrapped {
		if init, _, err := spnego.Decode(req.SecurityBuffer); err == nil && init != nil {
			leg.mechTypes = init.RawMechTypes
		}
	}
	if token == nil && s.skewMech != "" {
		// The leg after a KRB_AP_ERR_SKEW: a NegTokenResp carrying the
		// client's new AP-REQ (MS-KILE 3.4.5, RFC 4178 4.2.2).
		if _, resp, err := spnego.Decode(req.SecurityBuffer); err == nil && resp != nil && kerberos.IsToken(resp.ResponseToken) {
			token = resp.ResponseToken
			leg = krbLeg{mech: s.skewMech, wrapped: true, retry: true, mechTypes: s.mechTypes, mic: resp.MechListMIC}
		}
	}
	s.skewMech = "" // whatever this leg is, the recovery offered is over
	if token == nil {
		if kc.DisableNTLM && isNTLM(req.SecurityBuffer) {
			c.srv.metrics.inc(MetricDenials, ruleNTLMOff)
			const why = "NTLM is refused ([kerberos] ntlm = false): the client must use Kerberos"
			c.auditSession(s, policy.User, "", "", s.valid, ntstatus.LogonFailure, ruleNTLMOff, why, slog.String("auth", "ntlm"))
			c.recordSession(s.id, policy.User, "", "", ntstatus.LogonFailure, ruleNTLMOff, why)
			c.endFailed(s, r)
			return buf, ntstatus.LogonFailure, true
		}
		return buf, 0, false
	}
	out, st := c.kerberosLogon(r, buf, s, snap, req, token, leg)
	return out, st, true
}

// krbLeg is what a Kerberos SESSION_SETUP leg came in: the SPNEGO
// mechanism to answer with (wrapped: in SPNEGO at all); retry: the leg
// after a KRB_AP_ERR_SKEW; the client's DER MechTypeList and, on a retry,
// its mechListMIC.
type krbLeg struct {
	mech           string
	wrapped, retry bool
	mechTypes, mic []byte
}

// kerberosToken finds the Kerberos token in a security buffer: GSS-framed
// or bare, or the mechToken of a NegTokenInit whose first mechanism is
// Kerberos (MS-KRB5 or KRB5). mech is the SPNEGO OID to answer with.
func kerberosToken(b []byte) (token []byte, mech string, wrapped bool) {
	if kerberos.IsToken(b) {
		return b, "", false
	}
	init, _, err := spnego.Decode(b)
	if err != nil || init == nil || len(init.MechTypes) == 0 || len(init.MechToken) == 0 {
		return nil, "", false
	}
	switch m := init.MechTypes[0]; m {
	case spnego.OIDMSKRB5, spnego.OIDKRB5:
		// MS-SPNG 3.2.5: the answer names the OID the client put first,
		// MS-KRB5 included.
		return init.MechToken, m, true
	}
	return nil, "", false
}

// isNTLM reports whether b is (or SPNEGO-wraps) an NTLMSSP exchange.
func isNTLM(b []byte) bool {
	if spnego.IsNTLMSSP(b) {
		return true
	}
	init, resp, err := spnego.Decode(b)
	switch {
	case err != nil:
		return false
	case init != nil:
		return slices.Contains(init.MechTypes, spnego.OIDNTLMSSP)
	}
	return spnego.IsNTLMSSP(resp.ResponseToken)
}

// kerberosLogon verifies the AP-REQ and establishes (or re-authenticates)
// the session. Every outcome is one "session setup" audit record with auth
// kerberos, the principal and the enctype.
func (c *conn) kerberosLogon(r *request, buf []byte, s *session, snap *policy.Snapshot,
	req *smb2.SessionSetupRequest, token []byte, leg krbLeg) ([]byte, ntstatus.Status) {
	mech, wrapped := leg.mech, leg.wrapped
	acc, _, kerr := c.srv.kerberos(snap)
	var res *kerberos.Result
	var attrs []slog.Attr
	var who *kerberos.Error // a refused AP-REQ: who and what it names
	refuse := func(st ntstatus.Status, rule, reason string) ([]byte, ntstatus.Status) {
		c.srv.metrics.inc(MetricDenials, rule)
		attrs = append([]slog.Attr{slog.String("auth", "kerberos")}, attrs...)
		user, domain := "", ""
		switch {
		case res != nil:
			user, domain = res.CName, res.CRealm
		case who != nil:
			// The principal is known once the ticket decrypts (Windows'
			// 4625 names the account of a failed logon too).
			if at := strings.LastIndexByte(who.Client, '@'); at >= 0 {
				user, domain = who.Client[:at], who.Client[at+1:]
				attrs = append(attrs, slog.String("principal", who.Client))
			}
			if who.Service != "" {
				attrs = append(attrs, slog.String("service", who.Service), slog.String("enctype", kerberos.ETypeName(who.EType)))
			}
		}
		c.auditSession(s, policy.User, user, domain, s.valid, st, rule, reason, attrs...)
		c.recordSession(s.id, policy.User, user, domain, st, rule, reason) // the administrator's decisions
		c.endFailed(s, r)
		return buf, st
	}
	if a := c.srv.refreshKeytab(snap); a != nil {
		acc = a // the keytab changed on disk
	}
	if acc == nil {
		return refuse(ntstatus.LogonFailure, ruleKerberos, "the keytab cannot be read: "+errString(kerr))
	}
	res, err := acc.Accept(token)
	if err != nil {
		var ke *kerberos.Error
		reason := err.Error()
		if errors.As(err, &ke) {
			who = ke
			reason = ke.Reason
			attrs = append(attrs, slog.Int("krb_error", int(ke.Code)))
		}
		st := ntstatus.LogonFailure
		switch {
		case errors.Is(err, kerberos.ErrMalformed):
			st = ntstatus.InvalidParameter
		case errors.Is(err, kerberos.ErrSkew):
			// What Windows answers a Kerberos logon whose authenticator
			// is outside the clock skew (KRB_AP_ERR_SKEW maps to
			// SEC_E_TIME_SKEW, STATUS_TIME_DIFFERENCE_AT_DC).
			st = ntstatus.TimeDifferenceAtDC
			if ke != nil && ke.Reply != nil && wrapped && !s.valid && !s.skewTried && len(leg.mechTypes) > 0 {
				s.mechTypes = slices.Clone(leg.mechTypes) // the retry's mechListMIC covers them
				return c.skewRecovery(r, buf, s, st, mech, reason, ke, attrs)
			}
		}
		return refuse(st, ruleKerberos, reason)
	}
	attrs = append(attrs, slog.String("principal", res.Client), slog.String("service", res.Service),
		slog.String("enctype", kerberos.ETypeName(res.EType)), slog.String("session_enctype", kerberos.ETypeName(res.SessionKeyEType)))
	if leg.retry && len(leg.mic) > 0 && !res.VerifyMechListMIC(leg.mechTypes, leg.mic) {
		// RFC 4178 5: the mechanism list the exchange started from was
		// altered on the way.
		return refuse(ntstatus.LogonFailure, ruleKerberos, "the client's SPNEGO mechListMIC does not verify after the clock skew recovery")
	}

	// The identity: the PAC's logon information, else an account that
	// names the principal.
	var ident policy.Identity
	var reason string
	switch {
	case res.PAC != nil && res.PAC.HasLogonInfo:
		p := res.PAC
		ident = policy.Identity{Kind: policy.User, User: p.EffectiveName, Domain: p.LogonDomainName,
			Token: policy.KerberosToken(p.User, p.PrimaryGroup, p.Groups)}
		if ident.User == "" {
			ident.User = res.CName
		}
		if ident.Domain == "" {
			ident.Domain = res.CRealm
		}
		reason = "ticket with a PAC (server signature verified): user " + p.User.String()
		attrs = append(attrs, slog.String("user_sid", p.User.String()), slog.Int("pac_groups", len(p.Groups)))
		if p.UPN != "" {
			attrs = append(attrs, slog.String("upn", p.UPN))
		}
	default:
		var ok bool
		if ident, ok = snap.KerberosAccount(res.Client); !ok {
			why := "ticket without a PAC"
			if res.PAC != nil {
				why = "ticket whose PAC has no logon information"
			}
			return refuse(ntstatus.LogonFailure, ruleNoPrincipal, why+" and no [[account]] has kerberos_principal = \""+res.Client+"\"")
		}
		reason = "ticket without PAC logon information mapped to account " + ident.User + " (kerberos_principal)"
	}
	if sd := snap.EncryptionGate(policy.SessionDecision{Status: ntstatus.Success, Kind: policy.User}); sd.Status != ntstatus.Success {
		return refuse(sd.Status, sd.Rule, sd.Reason)
	}
	if why := keylessUpgrade(s, policy.User); why != "" {
		return refuse(ntstatus.AccessDenied, ruleReauthKeyless, why)
	}

	var out []byte
	switch {
	case leg.retry:
		// A SPNEGO exchange of more than one round ends with the
		// mechListMICs (RFC 4178 5; Samba's client requires them), and
		// supportedMech was named in the first reply only (4.2.2).
		resp := spnego.Resp{NegState: spnego.AcceptCompleted, ResponseToken: res.Reply, MechListMIC: res.MechListMIC(leg.mechTypes)}
		if len(leg.mic) == 0 {
			// The client could not sign the list before it had the
			// acceptor's subkey: the AP-REP and our MIC now, its MIC in
			// one more leg (kerberosMIC), and only then the session.
			resp.NegState = spnego.AcceptIncomplete
			s.krbMIC = &pendingKerberos{res: res, ident: ident, reason: reason, attrs: attrs, snap: snap}
			r.noSign = true
			if c.dialect == smb2.Dialect311 {
				r.preauth = &s.preauth
			}
			return (&smb2.SessionSetupResponse{SecurityBuffer: spnego.EncodeResp(&resp)}).Append(buf), ntstatus.MoreProcessingRequired
		}
		out = spnego.EncodeResp(&resp)
	case wrapped:
		resp := spnego.Resp{NegState: spnego.AcceptCompleted, SupportedMech: mech}
		if res.Reply != nil {
			resp.ResponseToken = res.Reply
		}
		out = spnego.EncodeResp(&resp)
	case res.Reply != nil:
		out = res.Reply
	}
	return c.kerberosEstablish(r, buf, s, req, snap, res, ident, reason, attrs, out)
}

// pendingKerberos is an accepted AP-REQ whose SPNEGO exchange waits for the
// client's mechListMIC (after a clock skew recovery).
type pendingKerberos struct {
	res    *kerberos.Result
	ident  policy.Identity
	reason string
	attrs  []slog.Attr
	snap   *policy.Snapshot
}

// kerberosMIC takes the leg that carries the client's mechListMIC after
// kerberosLogon sent the AP-REP and its own: the session is established
// when the MIC verifies, refused otherwise.
func (c *conn) kerberosMIC(r *request, buf []byte, s *session, req *smb2.SessionSetupRequest, p *pendingKerberos) ([]byte, ntstatus.Status) {
	_, resp, err := spnego.Decode(req.SecurityBuffer)
	if err != nil || resp == nil || len(resp.MechListMIC) == 0 || !p.res.VerifyMechListMIC(s.mechTypes, resp.MechListMIC) {
		c.srv.metrics.inc(MetricDenials, ruleKerberos)
		attrs := append([]slog.Attr{slog.String("auth", "kerberos")}, p.attrs...)
		const why = "the client's SPNEGO mechListMIC is missing or does not verify after the clock skew recovery"
		c.auditSession(s, policy.User, p.res.CName, p.res.CRealm, s.valid, ntstatus.LogonFailure, ruleKerberos, why, attrs...)
		c.recordSession(s.id, policy.User, p.res.CName, p.res.CRealm, ntstatus.LogonFailure, ruleKerberos, why)
		c.endFailed(s, r)
		return buf, ntstatus.LogonFailure
	}
	out := spnego.EncodeResp(&spnego.Resp{NegState: spnego.AcceptCompleted})
	return c.kerberosEstablish(r, buf, s, req, p.snap, p.res, p.ident, p.reason, p.attrs, out)
}

// kerberosEstablish establishes the session of an accepted Kerberos logon,
// audits it, and builds the final response carrying out.
func (c *conn) kerberosEstablish(r *request, buf []byte, s *session, req *smb2.SessionSetupRequest, snap *policy.Snapshot,
	res *kerberos.Result, ident policy.Identity, reason string, attrs []slog.Attr, out []byte) ([]byte, ntstatus.Status) {
	reauth, flags := c.establish(r, s, req, snap, ident, func(signingRequired bool) {
		c.establishSessionKeys(s, res.SessionKey, signingRequired)
	})
	attrs = append([]slog.Attr{slog.String("auth", "kerberos")}, attrs...)
	c.auditSession(s, policy.User, ident.User, ident.Domain, reauth, ntstatus.Success, ruleKerberos, reason, attrs...)
	return (&smb2.SessionSetupResponse{SessionFlags: flags, SecurityBuffer: out}).Append(buf), ntstatus.Success
}

// skewRecovery answers an AP-REQ outside the clock skew as Windows and
// Samba (with Heimdal) do (MS-KILE 3.4.5 clock skew recovery): not a
// final failure but STATUS_MORE_PROCESSING_REQUIRED with a NegTokenResp
// carrying the KRB-ERROR KRB_AP_ERR_SKEW and the server's time. A client
// that recovers (Windows, Heimdal) corrects its offset and sends a new
// AP-REQ in the next leg, verified like any other; one that does not (MIT)
// reports the skew. One recovery per session: a second skewed AP-REQ is
// refused with STATUS_TIME_DIFFERENCE_AT_DC. The audit record of this
// leg is the refusal of the skewed AP-REQ.
func (c *conn) skewRecovery(r *request, buf []byte, s *session, st ntstatus.Status, mech, reason string, ke *kerberos.Error, attrs []slog.Attr) ([]byte, ntstatus.Status) {
	s.skewMech, s.skewTried = mech, true
	c.srv.metrics.inc(MetricDenials, ruleKerberos)
	user, domain := "", ""
	if at := strings.LastIndexByte(ke.Client, '@'); at >= 0 {
		user, domain = ke.Client[:at], ke.Client[at+1:]
		attrs = append(attrs, slog.String("principal", ke.Client))
	}
	attrs = append([]slog.Attr{slog.String("auth", "kerberos")}, attrs...)
	attrs = append(attrs, slog.String("service", ke.Service), slog.String("enctype", kerberos.ETypeName(ke.EType)), slog.Bool("skew_recovery", true))
	reason += "; KRB_AP_ERR_SKEW with the server's time sent for the client to retry once (MS-KILE 3.4.5)"
	c.auditSession(s, policy.User, user, domain, false, st, ruleKerberos, reason, attrs...)
	c.recordSession(s.id, policy.User, user, domain, st, ruleKerberos, reason) // listed even if the client never retries
	out := spnego.EncodeResp(&spnego.Resp{NegState: spnego.AcceptIncomplete, SupportedMech: mech, ResponseToken: ke.Reply})
	r.noSign = true
	if c.dialect == smb2.Dialect311 {
		r.preauth = &s.preauth // the session's key depends on this leg too
	}
	return (&smb2.SessionSetupResponse{SecurityBuffer: out}).Append(buf), ntstatus.MoreProcessingRequired
}

// establishSessionKeys derives a user session's signing and encryption
// keys from a GSS session key of any length (MS-SMB2 3.3.5.5.3): the
// first 16 bytes (zero-padded) for Session.SessionKey, the whole key for
// 3.1.1's AES-256 ciphers (smbcrypto does both).
func (c *conn) establishSessionKeys(s *session, key []byte, required bool) {
	keys := smbcrypto.DeriveKeys(uint16(c.dialect), key, &s.preauth)
	s.signer = smbcrypto.NewSigner(uint16(c.dialect), c.signAlg, keys.Signing)
	s.verifier = smbcrypto.NewSigner(uint16(c.dialect), c.signAlg, keys.Signing)
	s.signingRequired = required
	if c.cipher != 0 {
		c2s, s2c := smbcrypto.DeriveCipherKeys(uint16(c.dialect), c.cipher, key, &s.preauth)
		s.dec, _ = smbcrypto.NewCrypter(c.cipher, c2s)
		s.enc, _ = smbcrypto.NewCrypter(c.cipher, s2c)
	}
}

func errString(err error) string {
	if err == nil {
		return "no keytab"
	}
	return err.Error()
}
