package server

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/auth/spnego"
	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// session is one SMB2 session of a connection, owned by its reader.
type session struct {
	id    uint64
	valid bool // authentication completed

	// The exchange in progress (a new session or a re-authentication).
	hs        *ntlm.ServerHandshake
	spnego    bool
	mechTypes []byte // the client's DER MechTypeList (mechListMIC input)
	preauth   smbcrypto.PreauthHash
	// Kerberos clock skew recovery (kerberos.go): skewMech is the SPNEGO
	// mechanism of an exchange answered with KRB_AP_ERR_SKEW, whose next
	// leg may carry a new AP-REQ; skewTried: the session had its one
	// recovery.
	skewMech  string
	skewTried bool
	krbMIC    *pendingKerberos // accepted, waiting for the client's mechListMIC

	ident policy.Identity
	// keyKind is the kind of the first logon, whose session key the
	// session's keys come from whatever re-authentications follow.
	keyKind         policy.Kind
	sids            []string
	signingRequired bool
	signer          smbcrypto.Signer // signs responses; used under conn.wmu
	verifier        smbcrypto.Signer // verifies requests; reader only
	// Encryption (MS-SMB2 3.3.5.5.3): enc seals responses (under
	// conn.wmu), dec opens requests (reader); nil without a cipher, for a
	// guest, or before the first logon. encryptData: the session must
	// encrypt (encryption = "required"); encrypting: it has sent an
	// encrypted request or must.
	enc, dec    *smbcrypto.Crypter
	encryptData bool
	encrypting  bool
	trees       map[uint32]*tree
	nOpens      int          // opens on all its trees (max_opens_per_session)
	counted     bool         // in the sessions gauge
	live        *liveSession // what admin.go lists of it, once established
}

// guestAccount is the name a guest session presents to pipes and the
// audit log: the built-in Guest account (machine-501), never the name the
// client sent.
const guestAccount = "Guest"

// NTLMSSP message types (byte 8 of a message).
const (
	ntlmNegotiate    = 1
	ntlmAuthenticate = 3
)

// sessionSetup handles SESSION_SETUP (MS-SMB2 3.3.5.5) with SPNEGO-wrapped
// or raw NTLMSSP: new sessions and re-authentication of existing ones.
func (c *conn) sessionSetup(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	var req smb2.SessionSetupRequest
	if err := req.Decode(r.msg); err != nil {
		r.noSign = true
		return buf, ntstatus.InvalidParameter, nil
	}
	if req.Flags&smb2.SessionSetupBinding != 0 {
		r.noSign = true
		return buf, ntstatus.RequestNotAccepted, nil
	}
	if st := c.encryptionGate(r.hdr.SessionID); st != ntstatus.Success {
		r.noSign = true
		return buf, st, nil
	}
	var s *session
	if r.hdr.SessionID == 0 {
		if len(c.sessions) >= c.lim.MaxSessionsPerConnection {
			c.limitHit(limSessions, "max", c.lim.MaxSessionsPerConnection)
			r.noSign = true
			return buf, ntstatus.RequestNotAccepted, nil
		}
		s = &session{id: c.nextSess, trees: make(map[uint32]*tree)}
		c.nextSess++
		if c.dialect == smb2.Dialect311 {
			s.preauth = c.preauth
		}
		c.sessions[s.id] = s
	} else if s = c.sessions[r.hdr.SessionID]; s == nil {
		r.noSign = true
		return buf, ntstatus.UserSessionDeleted, nil
	}
	r.sess = s
	r.respSession = s.id
	if s.valid && s.signer != nil && r.signed {
		// Every response of a signed re-authentication, its
		// MORE_PROCESSING_REQUIRED legs and a failure included, is signed
		// with the session's key (MS-SMB2 3.3.4.1.1; Samba does too).
		r.signer = s.signer
	}
	hashing := c.dialect == smb2.Dialect311 && !s.valid
	if hashing {
		s.preauth.Update(r.msg)
	}
	if out, st, ok := c.kerberosSetup(r, buf, s, &req); ok {
		return out, st, nil // Kerberos, or NTLM refused (kerberos.go)
	}

	token, mic, wrapped, err := s.unwrap(req.SecurityBuffer)
	if err != nil || len(token) < 12 {
		if err == nil && wrapped && len(token) == 0 && s.hs == nil {
			// SPNEGO without an NTLMSSP token yet: ask for one.
			resp := spnego.EncodeResp(&spnego.Resp{NegState: spnego.AcceptIncomplete, SupportedMech: spnego.OIDNTLMSSP})
			r.noSign = true
			if hashing {
				r.preauth = &s.preauth
			}
			return (&smb2.SessionSetupResponse{SecurityBuffer: resp}).Append(buf), ntstatus.MoreProcessingRequired, nil
		}
		c.failSession(s, r, "undecodable security token")
		return buf, ntstatus.InvalidParameter, nil
	}
	snap := c.srv.snapshot()
	switch token[8] {
	case ntlmNegotiate:
		s.hs = ntlm.NewServerHandshake(ntlmConfigFor(snap))
		chal, err := s.hs.Challenge(token)
		if err != nil {
			c.failSession(s, r, "bad NTLMSSP NEGOTIATE: "+err.Error())
			return buf, ntstatus.InvalidParameter, nil
		}
		out := chal
		if wrapped {
			out = spnego.EncodeResp(&spnego.Resp{NegState: spnego.AcceptIncomplete, SupportedMech: spnego.OIDNTLMSSP, ResponseToken: chal})
		}
		r.noSign = true
		if hashing {
			r.preauth = &s.preauth
		}
		return (&smb2.SessionSetupResponse{SecurityBuffer: out}).Append(buf), ntstatus.MoreProcessingRequired, nil
	case ntlmAuthenticate:
		if s.hs == nil {
			c.failSession(s, r, "NTLMSSP AUTHENTICATE without NEGOTIATE")
			return buf, ntstatus.InvalidParameter, nil
		}
		return c.authenticate(r, buf, s, snap, &req, token, mic, wrapped)
	}
	c.failSession(s, r, "unexpected NTLMSSP message")
	return buf, ntstatus.InvalidParameter, nil
}

// authenticate completes an exchange with the client's AUTHENTICATE_MESSAGE.
func (c *conn) authenticate(r *request, buf []byte, s *session, snap *policy.Snapshot,
	req *smb2.SessionSetupRequest, token, mic []byte, wrapped bool) ([]byte, ntstatus.Status, error) {
	cfg := snap.Config()
	hs := s.hs
	s.hs = nil
	res, err := hs.Authenticate(token)
	var ident policy.Identity
	var flags uint16
	// Every outcome is one "session setup" audit record (auditSession);
	// sd is the session rule that applies to what the client asked for.
	var sd policy.SessionDecision
	var user, domain string
	if res != nil {
		sd = snap.CheckSession(res.Anonymous, res.User)
		if !res.Anonymous {
			user, domain = res.User, res.Domain
		}
	}
	refuse := func(kind policy.Kind, st ntstatus.Status, rule, reason string) ([]byte, ntstatus.Status, error) {
		c.srv.metrics.inc(MetricDenials, rule)
		c.auditSession(s, kind, user, domain, s.valid, st, rule, reason)
		c.recordSession(s.id, kind, user, domain, st, rule, reason)
		c.endFailed(s, r)
		return buf, st, nil
	}
	switch {
	case err == nil && res.Anonymous:
		// The same session rules as `smbpipe explain` (allow_anonymous).
		if sd.Status != ntstatus.Success {
			return refuse(policy.Anonymous, sd.Status, sd.Rule, sd.Reason)
		}
		ident = policy.Identity{Kind: policy.Anonymous}
		flags = smb2.SessionFlagIsNull
	case errors.Is(err, ntlm.ErrMalformed):
		// An AUTHENTICATE_MESSAGE that does not decode, such as an
		// NTLMv2 response whose AV pairs overrun it, is an invalid
		// parameter, not a wrong password (Windows and Samba agree;
		// smbtorture smb2.session.ntlmssp_bug14932).
		return refuse(policy.User, ntstatus.InvalidParameter, policy.RuleLogonFailure, err.Error())
	case errors.Is(err, ntlm.ErrNoSuchUser) && res != nil && res.User == "":
		// An empty user name with a challenge response is neither a
		// null session (MS-NLMP 3.2.5.1.2 wants the responses empty too)
		// nor a named account that a guest logon could stand for.
		return refuse(policy.User, ntstatus.LogonFailure, policy.RuleLogonFailure,
			"empty user name with a challenge response: neither a null session nor an account")
	case errors.Is(err, ntlm.ErrNoSuchUser) && res != nil && sd.Status == ntstatus.Success && sd.Kind == policy.Guest:
		// The pipe sees the Guest account, as Windows presents a guest
		// logon, never the name and domain the client chose.
		ident = policy.Identity{Kind: policy.Guest, User: guestAccount, Domain: cfg.Domain}
		flags = smb2.SessionFlagIsGuest
	case errors.Is(err, ntlm.ErrNoSuchUser) && res != nil && sd.Rule == policy.RuleEncryptionRequired:
		return refuse(policy.Guest, sd.Status, sd.Rule, sd.Reason)
	case errors.Is(err, ntlm.ErrNoSuchUser) && res != nil:
		return refuse(policy.Guest, ntstatus.LogonFailure, policy.RuleLogonFailure, sd.Reason)
	case err != nil:
		return refuse(policy.User, ntstatus.LogonFailure, policy.RuleLogonFailure, err.Error())
	default:
		_, name, ok := snap.LookupAccount(res.User)
		if !ok {
			name = res.User
		}
		// The account as configured, in the server's domain, whatever
		// domain the client sent (any is accepted for a local account).
		ident = policy.Identity{Kind: policy.User, User: name, Domain: cfg.Domain}
	}

	if why := keylessUpgrade(s, ident.Kind); why != "" {
		return refuse(policy.User, ntstatus.AccessDenied, ruleReauthKeyless, why)
	}

	var out []byte
	if wrapped {
		resp := spnego.Resp{NegState: spnego.AcceptCompleted}
		if mic != nil && ident.Kind == policy.User {
			if !hs.VerifyMechListMIC(s.mechTypes, mic) {
				return refuse(policy.User, ntstatus.LogonFailure, policy.RuleLogonFailure, "bad SPNEGO mechListMIC")
			}
			resp.MechListMIC = hs.MechListMIC(s.mechTypes)
		}
		out = spnego.EncodeResp(&resp)
	}

	reauth, more := c.establish(r, s, req, snap, ident, func(signingRequired bool) {
		c.establishKeys(s, ident.Kind, res.SessionKey, signingRequired)
	})
	flags |= more
	c.auditSession(s, ident.Kind, ident.User, ident.Domain, reauth, ntstatus.Success, sd.Rule, sd.Reason)
	return (&smb2.SessionSetupResponse{SessionFlags: flags, SecurityBuffer: out}).Append(buf), ntstatus.Success, nil
}

// establish makes s the established session of ident, whose logon
// succeeded, and returns whether it was a re-authentication and the
// SessionFlags it adds to the final response. A first logon installs the
// session's keys (installKeys, told whether signing is required). A
// re-authentication keeps the session's keys and its signing rule whoever
// the new identity is (MS-SMB2 3.3.5.5.2, 3.3.5.5.3; SEMANTICS-2 §2.3):
// only the identity used by later access checks changes. Its final
// response is signed with the kept key. Only a user's first logon signs
// its final response on its own keys or turns on encryption.
func (c *conn) establish(r *request, s *session, req *smb2.SessionSetupRequest, snap *policy.Snapshot, ident policy.Identity, installKeys func(signingRequired bool)) (reauth bool, flags uint16) {
	cfg := snap.Config()
	reauth = s.valid
	if !reauth {
		s.keyKind = ident.Kind
		installKeys(cfg.Signing == "required" ||
			uint16(req.SecurityMode)&smb2.SigningRequired != 0 ||
			c.clientSecMode&smb2.SigningRequired != 0)
	}
	switch {
	case reauth && s.signer != nil && (c.dialect == smb2.Dialect311 || s.signingRequired || r.signed):
		r.signer = s.signer
	case !reauth && ident.Kind == policy.User && (c.dialect == smb2.Dialect311 || s.signingRequired):
		r.signer = s.signer
	default:
		r.noSign = true
	}
	if !reauth && cfg.Encryption == "required" && ident.Kind == policy.User && s.enc != nil {
		// EncryptData with RejectUnencryptedAccess (MS-SMB2 3.3.5.5.3):
		// the session encrypts instead of signing; this response is
		// still signed as decided above.
		s.encryptData, s.encrypting, s.signingRequired = true, true, false
		flags |= smb2.SessionFlagEncrypt
		c.srv.metrics.inc(MetricEncryptedSessions, smbcrypto.CipherName(c.cipher))
	}
	s.ident = ident
	s.sids = snap.SIDs(ident)
	s.valid = true
	s.mechTypes = nil
	c.established = true
	if !s.counted {
		s.counted = true
		c.srv.metrics.inc(MetricSessions, "")
	}
	c.srv.metrics.inc(MetricSessionsTotal, kindName(ident.Kind))
	c.sessionUp(s) // the administrator's view and srvsvc's session list
	return reauth, flags
}

// ruleReauthKeyless is the audit rule of a refused keylessUpgrade.
const ruleReauthKeyless = "reauth-keyless-session"

// keylessUpgrade returns why a re-authentication of s as a user of kind
// is refused, or "" when it is not one that is: s was established
// anonymous or as a guest, and a re-authentication keeps the session's
// keys and signing rule (MS-SMB2 3.3.5.5.3). Those keys come from no
// secret (an anonymous session's from an all-zero session key, which
// anyone can derive; a guest has none) and no signing is required of
// such a session, so the user's requests could be forged and their
// encrypted traffic read, whatever signing and encryption the policy
// requires. The client logs on in a new session instead (the Go client
// never re-authenticates such a session; Windows clients make a new one).
func keylessUpgrade(s *session, kind policy.Kind) string {
	if !s.valid || kind != policy.User || s.keyKind == policy.User {
		return ""
	}
	return "re-authentication as a user of a session established " + kindName(s.keyKind) +
		": the session would keep keys that come from no secret; log on in a new session"
}

// establishKeys derives the keys of a session at its first successful
// authentication (never at a re-authentication):
//   - a user: from the NTLM session key; signing is required when the
//     server or the client asks for it (required);
//   - anonymous: from an all-zero session key, as Windows Server 2022
//     does, so a signed request is verified (a wrong signature is
//     STATUS_ACCESS_DENIED) while unsigned ones stay valid: an anonymous
//     session never requires signing (SEMANTICS-2 §2.2);
//   - guest: none; a signed request gets STATUS_NOT_SUPPORTED.
func (c *conn) establishKeys(s *session, kind policy.Kind, sessionKey [16]byte, required bool) {
	s.signer, s.verifier, s.signingRequired = nil, nil, false
	switch kind {
	case policy.Anonymous:
		sessionKey = [16]byte{}
	case policy.Guest:
		return
	}
	// Encryption keys for anonymous sessions too, from the zero key
	// (Windows Server 2022; decrypt refuses them on a connection without
	// a logon).
	c.establishSessionKeys(s, sessionKey[:], kind == policy.User && required)
}

// encryptionGate applies encryption = "required" at the top of
// SESSION_SETUP (MS-SMB2 3.3.5.5, EncryptData and RejectUnencryptedAccess):
// a connection that cannot encrypt, a 2.x dialect or a 3.x one without a
// cipher in common, is refused with STATUS_ACCESS_DENIED, never served in
// clear, with a "session setup" audit record saying which of these it is.
// Anonymous and guest logons are refused later, by the policy's
// EncryptionGate.
func (c *conn) encryptionGate(sessID uint64) ntstatus.Status {
	snap := c.srv.snapshot()
	cfg := snap.Config()
	if cfg == nil || cfg.Encryption != "required" || c.cipher != 0 {
		return ntstatus.Success
	}
	st := ntstatus.AccessDenied
	c.srv.metrics.inc(MetricDenials, policy.RuleEncryptionRequired)
	var reason string
	switch {
	case c.dialect < smb2.Dialect300:
		reason = "dialect " + c.dialect.String() + " has no encryption"
	case len(c.clientCiphers) == 0:
		reason = "the client did not offer encryption"
	default:
		names := make([]string, len(c.clientCiphers))
		for i, id := range c.clientCiphers {
			names[i] = smbcrypto.CipherName(id)
		}
		reason = "no cipher in common: the client offered " + strings.Join(names, ", ") +
			", encryption_ciphers allows " + strings.Join(cfg.EncryptionCiphers, ", ")
		if cfg.EncryptionCiphers == nil {
			reason = "no cipher in common: the client offered " + strings.Join(names, ", ")
		}
	}
	reason = `encryption = "required" and ` + reason + ": refused rather than served in clear"
	c.srv.log.LogAttrs(context.Background(), slog.LevelWarn, "session setup",
		slog.String("client", c.remote),
		slog.Uint64("session", sessID),
		slog.String("dialect", c.dialect.String()),
		slog.String("status", st.String()),
		slog.String("status_code", hex32(uint32(st))),
		slog.String("rule", policy.RuleEncryptionRequired),
		slog.String("reason", reason),
		slog.Int("event_id", eventLogonFailed),
		slog.Int64("policy_revision", snap.Revision()),
	)
	c.recordSession(sessID, policy.User, "", "", st, policy.RuleEncryptionRequired, reason)
	return st
}

// unwrap extracts the NTLMSSP token (and the client's mechListMIC) from a
// security buffer, SPNEGO-wrapped or raw.
func (s *session) unwrap(b []byte) (token, mic []byte, wrapped bool, err error) {
	if spnego.IsNTLMSSP(b) {
		return b, nil, false, nil
	}
	init, resp, err := spnego.Decode(b)
	if err != nil {
		return nil, nil, true, err
	}
	s.spnego = true
	if init != nil {
		if !slices.Contains(init.MechTypes, spnego.OIDNTLMSSP) {
			return nil, nil, true, errors.New("server: client does not offer NTLMSSP")
		}
		s.mechTypes = slices.Clone(init.RawMechTypes)
		if len(init.MechTypes) > 0 && init.MechTypes[0] != spnego.OIDNTLMSSP {
			// An optimistic token for another mechanism is ignored.
			return nil, nil, true, nil
		}
		return init.MechToken, init.MechListMIC, true, nil
	}
	return resp.ResponseToken, resp.MechListMIC, true, nil
}

// failSession ends a failed exchange: a session never established is
// removed; the response is not signed.
func (c *conn) failSession(s *session, r *request, msg string, args ...any) {
	c.log.Info("smb session setup failed: "+msg, append([]any{"session", s.id}, args...)...)
	c.endFailed(s, r)
}

// endFailed removes a session whose exchange failed (failSession without
// the log record, for failures auditSession records).
func (c *conn) endFailed(s *session, r *request) {
	r.noSign = true
	s.hs = nil
	c.dropSession(s)
}

// logoff handles LOGOFF: every tree and open of the session ends (pending
// reads complete with STATUS_PIPE_BROKEN).
func (c *conn) logoff(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	c.dropSession(r.sess)
	return (&smb2.LogoffResponse{}).Append(buf), ntstatus.Success, nil
}

// dropSession ends s and forgets it.
func (c *conn) dropSession(s *session) {
	c.endSession(s)
	c.sessionDown(s)
	delete(c.sessions, s.id)
	if s.counted {
		s.counted = false
		c.srv.metrics.dec(MetricSessions)
	}
}

// endSession disconnects every tree of s.
func (c *conn) endSession(s *session) {
	for _, t := range s.trees {
		c.endTree(t)
	}
}

func kindName(k policy.Kind) string {
	switch k {
	case policy.Anonymous:
		return "anonymous"
	case policy.Guest:
		return "guest"
	}
	return "user"
}
