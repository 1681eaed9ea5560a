package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// chain carries what related compound requests inherit.
type chain struct {
	sessionID uint64
	treeID    uint32
	fileID    smb2.FileID
	status    ntstatus.Status
}

// handleFrame processes one frame (a single request or a compound) and
// sends the responses in one frame. An error drops the connection.
func (c *conn) handleFrame(payload []byte) error {
	if smb2.IsSMB1(payload) {
		return c.handleSMB1(payload)
	}
	c.seal, c.encrypted = sealer{}, false
	var tsid uint64 // the TRANSFORM_HEADER's SessionId
	if smb2.IsTransform(payload) {
		plain, s, err := c.decrypt(payload)
		if err != nil {
			return err
		}
		payload, tsid = plain, s.id
		c.seal, c.encrypted = sealer{s.enc, s.id}, true
	}
	bp := c.srv.bufs.get()
	defer c.srv.bufs.put(bp)
	buf := append((*bp)[:0], 0, 0, 0, 0)
	c.elems = c.elems[:0]
	c.starts = c.starts[:0]
	defer func() {
		// Operations whose interim response was never sent (the frame
		// failed) are dropped.
		for _, op := range c.starts {
			c.abandon(op)
		}
		c.starts = c.starts[:0]
		c.releaseScratch()
	}()
	ch := &c.ch
	*ch = chain{}
	first := true
	for rest := payload; len(rest) > 0; {
		msg, next, err := smb2.NextMessage(rest)
		if err != nil {
			return err
		}
		rest = next
		var hdr smb2.Header
		if err := hdr.Decode(msg); err != nil {
			return err
		}
		if hdr.IsResponse() {
			return errors.New("server: response received")
		}
		if c.encrypted {
			// MS-SMB2 3.3.5.2.1.1: the first request of a decrypted
			// frame is not related and names the transform's session,
			// as does every later unrelated one. A related one inherits
			// it (3.3.5.2.7.2): one naming another session would run
			// there unverified, on the word of another session's key
			// (an anonymous session's comes from a zero session key).
			related := hdr.Flags&smb2.FlagRelatedOperations != 0
			if first && related || !related && hdr.SessionID != tsid ||
				related && hdr.SessionID != tsid && hdr.SessionID != ^uint64(0) {
				return fmt.Errorf("server: encrypted request of session %#x in a frame encrypted for session %#x", hdr.SessionID, tsid)
			}
		}
		buf, err = c.handleMessage(buf, msg, &hdr, ch, first)
		if err != nil {
			return err
		}
		first = false
	}
	*bp = buf
	if len(c.elems) > 0 {
		if err := c.send(buf, c.elems, c.seal); err != nil {
			return err
		}
	}
	for _, op := range c.starts {
		c.startAsync(op)
	}
	c.starts = c.starts[:0]
	return nil
}

// request is the state of one request being dispatched.
type request struct {
	hdr  smb2.Header // as received, with related substitution
	in   smb2.Header // as received
	msg  []byte
	sess *session // the session of the request (after related substitution)
	tree *tree
	open *open
	// signed: the request carried a valid signature.
	signed bool
	// chain: what a related request inherits (set by handlers that create
	// a session, tree or open).
	ch *chain
	// outputs
	respSession uint64
	respTree    uint32
	signer      smbcrypto.Signer // set by SESSION_SETUP for the final response
	noSign      bool
	preauth     *smbcrypto.PreauthHash
	op          *asyncOp // set when the request went async
	// errData[:errLen] is the ErrorData of an error response, with
	// errContexts error contexts (setErrorData); errLen 0 means none.
	errData     [12]byte
	errLen      uint8
	errContexts uint8
}

// handleMessage runs one request of a frame and appends its response:
// the credits it charges, what a related request inherits, the command's
// handler (dispatch), the credits granted and the response header
// (respond).
func (c *conn) handleMessage(buf, msg []byte, hdr *smb2.Header, ch *chain, first bool) ([]byte, error) {
	if hdr.Command == smb2.CmdCancel {
		c.handleCancel(hdr, msg)
		return buf, nil
	}
	if !c.negotiated && hdr.Command != smb2.CmdNegotiate {
		return buf, errors.New("server: request before NEGOTIATE")
	}
	charge := hdr.CreditCharge
	if c.dialect == smb2.Dialect202 {
		charge = 1
	}
	if !c.credits.consume(hdr.MessageID, charge) {
		return buf, fmt.Errorf("server: MessageId %d (charge %d, %s) outside the credit window [%d, %d)",
			hdr.MessageID, charge, hdr.Command, c.credits.low, c.credits.high)
	}
	r := c.newRequest(msg, hdr, ch, first)

	buf, start := c.beginElem(buf)
	var st ntstatus.Status
	related := hdr.Flags&smb2.FlagRelatedOperations != 0
	switch {
	case related && first:
		st = ntstatus.InvalidParameter
	case related && isError(ch.status):
		st = ch.status
	default:
		var err error
		if buf, st, err = c.dispatch(buf, r); err != nil {
			return buf, err
		}
	}

	// Credits follow the outcome: none beyond the charge for NEGOTIATE
	// or a SESSION_SETUP that has not succeeded (see creditWindow.grant).
	extra := hdr.Command != smb2.CmdNegotiate && (hdr.Command != smb2.CmdSessionSetup || st == ntstatus.Success)
	granted := c.credits.grant(charge, hdr.Credit, extra)
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("smb request", "command", hdr.Command.String(), "mid", hdr.MessageID,
			"charge", hdr.CreditCharge, "req", hdr.Credit, "granted", granted, "window", c.credits.high-c.credits.low)
	}
	buf, st = c.respond(buf, start, r, st, granted)

	ch.sessionID = r.respSession
	ch.treeID = r.respTree
	if r.open != nil {
		ch.fileID = r.open.id
	}
	ch.status = st
	return buf, nil
}

// newRequest starts the state of one request: a related request takes the
// session and tree the previous one left when it names the wildcards
// (MS-SMB2 3.3.5.2.7.2).
func (c *conn) newRequest(msg []byte, hdr *smb2.Header, ch *chain, first bool) *request {
	r := &c.req
	*r = request{hdr: *hdr, in: *hdr, msg: msg, ch: ch}
	if hdr.Flags&smb2.FlagRelatedOperations != 0 && !first {
		if hdr.SessionID == ^uint64(0) {
			r.hdr.SessionID = ch.sessionID
		}
		if hdr.TreeID == ^uint32(0) {
			r.hdr.TreeID = ch.treeID
		}
	}
	r.respSession = r.hdr.SessionID
	r.respTree = r.hdr.TreeID
	return r
}

// dispatch checks the command's preconditions from the table and runs its
// handler, which appends the response body.
func (c *conn) dispatch(buf []byte, r *request) ([]byte, ntstatus.Status, error) {
	if int(r.hdr.Command) >= len(commands) || commands[r.hdr.Command].fn == nil {
		return buf, ntstatus.NotSupported, nil
	}
	spec := &commands[r.hdr.Command]

	// The session, for signing and encryption and for the commands that
	// need one. A decrypted request is not verified again (MS-SMB2
	// 3.3.5.2.4); a session that requires encryption refuses anything
	// else with STATUS_ACCESS_DENIED, in an encrypted response (3.3.5.2.9;
	// Samba encrypts that error too), a re-authentication's SESSION_SETUP
	// included (its refusal goes in clear, as every SESSION_SETUP response
	// to a clear request): the session keeps going, its identity unchanged
	// (as with Samba). Such a session has been established (EncryptData is set
	// then), so this is never a first logon's exchange.
	if sid := r.hdr.SessionID; sid != 0 && r.hdr.Command != smb2.CmdNegotiate {
		if s := c.sessions[sid]; s != nil {
			r.sess = s
			switch {
			case c.encrypted:
			case s.encryptData:
				c.log.Warn("smb unencrypted request on a session that requires encryption", "session", s.id, "command", r.hdr.Command.String())
				r.noSign = true
				return buf, ntstatus.AccessDenied, nil
			default:
				if st := c.verifyRequest(r, s); st != ntstatus.Success {
					return buf, st, nil
				}
			}
		}
	}
	if spec.session {
		if r.sess == nil {
			r.noSign = true
			return buf, ntstatus.UserSessionDeleted, nil
		}
		if !r.sess.valid {
			return buf, ntstatus.AccessDenied, nil
		}
	}
	if spec.tree {
		r.tree = r.sess.trees[r.hdr.TreeID]
		if r.tree == nil {
			return buf, ntstatus.NetworkNameDeleted, nil
		}
	}
	if spec.fileIDAt > 0 {
		fid, ok := smb2.FileIDAt(r.msg, spec.fileIDAt)
		if !ok {
			return buf, ntstatus.InvalidParameter, nil
		}
		if st := c.resolveOpen(r, fid); st != ntstatus.Success {
			return buf, st, nil
		}
	}
	return spec.fn(c, r, buf)
}

// decrypt opens an encrypted frame (MS-SMB2 3.3.5.2.1.1) and returns the
// plain frame, which aliases payload, and the session whose key opened it.
// Every failure drops the connection: a malformed TRANSFORM_HEADER, a
// SessionId that is not a session of this connection with keys, an
// anonymous session's message while no one has logged on as a user or
// guest on the connection (ConstrainedConnection; Windows Server 2022,
// smbtorture smb2.session.anon-encryption1), or a message that does not
// authenticate. Nothing of a frame that fails is acted on.
func (c *conn) decrypt(payload []byte) ([]byte, *session, error) {
	th, err := smb2.DecodeTransform(payload)
	if err != nil {
		return nil, nil, err
	}
	s := c.sessions[th.SessionID]
	switch {
	case s == nil || s.dec == nil:
		return nil, nil, fmt.Errorf("server: encrypted message for session %#x, which has no keys on this connection", th.SessionID)
	case s.ident.Kind == policy.Anonymous && !c.loggedOn():
		return nil, nil, errors.New("server: encrypted message of an anonymous session on a connection without a logon (ConstrainedConnection)")
	}
	plain, err := s.dec.Open(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("server: encrypted message for session %#x: %w", th.SessionID, err)
	}
	if !s.encrypting {
		s.encrypting = true
		c.srv.metrics.inc(MetricEncryptedSessions, smbcrypto.CipherName(c.cipher))
	}
	return plain, s, nil
}

// loggedOn reports whether a user or guest session is established on the
// connection, which lifts MS-SMB2's ConstrainedConnection.
func (c *conn) loggedOn() bool {
	for _, s := range c.sessions {
		if s.valid && s.ident.Kind != policy.Anonymous {
			return true
		}
	}
	return false
}

// verifyRequest applies MS-SMB2 3.3.5.2.4 to a request of session s, for
// every command but NEGOTIATE (SESSION_SETUP re-authentication included,
// so an unsigned exchange cannot take the keys off a signing session):
//   - SMB2_FLAGS_SIGNED set: the signature is verified with the session's
//     key; a session without one (guest, or an exchange not finished)
//     answers STATUS_NOT_SUPPORTED; a bad signature STATUS_ACCESS_DENIED,
//     in an unsigned response, and the connection stays.
//   - SMB2_FLAGS_SIGNED clear on a session that requires signing:
//     STATUS_ACCESS_DENIED, in a signed response.
//
// An anonymous session verifies with the key derived from a zero session
// key, as Windows Server 2022 does (SEMANTICS-2 §2.2).
func (c *conn) verifyRequest(r *request, s *session) ntstatus.Status {
	if r.hdr.Flags&smb2.FlagSigned == 0 {
		if s.signingRequired {
			c.log.Warn("smb unsigned request on a session that requires signing", "session", s.id, "command", r.hdr.Command.String())
			return ntstatus.AccessDenied
		}
		return ntstatus.Success
	}
	if s.verifier == nil {
		r.noSign = true
		return ntstatus.NotSupported
	}
	if !s.verifier.Verify(r.msg) {
		c.log.Warn("smb request with a bad signature", "session", s.id, "command", r.hdr.Command.String())
		r.noSign = true
		return ntstatus.AccessDenied
	}
	r.signed = true
	return ntstatus.Success
}

// resolveOpen finds the open fid names on the request's tree (the wildcard
// FileId of a related request names the previous request's open).
func (c *conn) resolveOpen(r *request, fid smb2.FileID) ntstatus.Status {
	if fid == smb2.WildcardFileID && r.hdr.Flags&smb2.FlagRelatedOperations != 0 {
		fid = r.ch.fileID
	}
	o := c.opens[fid.Volatile]
	if o == nil || o.id != fid || o.tree != r.tree {
		return ntstatus.FileClosed
	}
	r.open = o
	return ntstatus.Success
}
