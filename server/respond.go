package server

import (
	"slices"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// reply is the response frame being built for one request frame: the
// responses in it (their offsets, how each is signed and hashed) and the
// async operations to start once it is sent. It belongs to the reader
// goroutine; an async completion builds its own.
type reply struct {
	elems  []elem
	starts []*asyncOp
	// seal encrypts the frame: set for an encrypted request frame, or by
	// the first response of a session that requires encryption.
	seal sealer
	// encrypted: the request frame was encrypted (its requests are
	// Request.IsEncrypted, MS-SMB2 3.3.5.2.1.1).
	encrypted bool
}

// sealer is how a response frame is encrypted: with a session's
// server-to-client Crypter under its SessionId. The zero sealer sends in
// clear. The Crypter is used under conn.wmu, which orders its nonces.
type sealer struct {
	c   *smbcrypto.Crypter
	sid uint64
}

// sealFor is how the response to r is encrypted (MS-SMB2 3.3.4.1.4): as
// the request frame if it was encrypted; else with r's session key when the
// session requires encryption, except NEGOTIATE and SESSION_SETUP.
func (c *conn) sealFor(r *request) sealer {
	if c.encrypted {
		return c.seal
	}
	if s := r.sess; s != nil && s.encryptData && s.enc != nil &&
		r.hdr.Command != smb2.CmdNegotiate && r.hdr.Command != smb2.CmdSessionSetup {
		return sealer{s.enc, s.id}
	}
	return sealer{}
}

// elem is one response of a (compound) reply frame.
type elem struct {
	start   int
	signer  smbcrypto.Signer       // non-nil: sign this response
	preauth *smbcrypto.PreauthHash // non-nil: hash this response into it
}

// respond writes the response header of request r at buf[start:] (the
// body follows it up to len(buf)) and records how the response is signed:
// an async request gets its interim STATUS_PENDING response, an error
// status an ERROR body (MS-SMB2 3.3.4.4). It returns the frame and the
// status the chain of related requests sees.
func (c *conn) respond(buf []byte, start int, r *request, st ntstatus.Status, granted uint16) ([]byte, ntstatus.Status) {
	hdr := &r.in
	bodyStart := start + smb2.HeaderSize
	rh := smb2.Header{
		CreditCharge: hdr.CreditCharge,
		Status:       st,
		Command:      hdr.Command,
		Credit:       granted,
		Flags:        smb2.FlagServerToRedir | hdr.Flags&(smb2.FlagRelatedOperations|smb2.FlagPriorityMask),
		MessageID:    hdr.MessageID,
		ProcessID:    hdr.ProcessID,
		TreeID:       r.respTree,
		SessionID:    r.respSession,
	}
	e := elem{start: start, preauth: r.preauth}
	switch {
	case r.op != nil:
		rh.Status = ntstatus.Pending
		rh.Flags |= smb2.FlagAsyncCommand
		rh.AsyncID = r.op.id
		st = ntstatus.Pending
		buf = (&smb2.ErrorResponse{}).Append(buf[:bodyStart])
		c.starts = append(c.starts, r.op)
	case isError(st):
		buf = (&smb2.ErrorResponse{ErrorContextCount: r.errContexts, ErrorData: r.errData[:r.errLen]}).Append(buf[:bodyStart])
	}
	rh.Append(buf[start:start])
	if c.seal.c == nil {
		c.seal = c.sealFor(r) // a compound is encrypted as one unit
	}
	switch {
	case r.signer != nil:
		e.signer = r.signer
	case r.noSign || r.op != nil:
	case r.sess != nil && r.sess.signer != nil && (r.signed || r.sess.signingRequired):
		e.signer = r.sess.signer
	}
	c.elems = append(c.elems, e)
	return buf, st
}

// send finishes a reply frame (transport header, preauth hashes,
// signatures or encryption) and writes it. buf[:4] is reserved for the
// transport header. A sealed frame is not signed (MS-SMB2 3.3.4.1.1): its
// messages move up behind a TRANSFORM_HEADER and are encrypted in place,
// which costs no allocation while buf has 68 bytes of spare capacity (a
// pooled buffer has).
func (c *conn) send(buf []byte, elems []elem, seal sealer) error {
	for i, e := range elems {
		if e.preauth != nil {
			e.preauth.Update(buf[e.start:elemEnd(buf, elems, i)])
		}
	}
	if seal.c != nil {
		n := len(buf)
		buf = slices.Grow(buf, smb2.TransformHeaderSize+16)[:n+smb2.TransformHeaderSize]
		copy(buf[4+smb2.TransformHeaderSize:], buf[4:n])
		th := smb2.TransformHeader{Flags: smb2.TransformFlagEncrypted, SessionID: seal.sid}
		th.Put(buf[4:])
	}
	smb2.PutFrameLength(buf)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if seal.c != nil {
		seal.c.Seal(buf[4:])
	} else {
		for i, e := range elems {
			if e.signer != nil {
				e.signer.Sign(buf[e.start:elemEnd(buf, elems, i)])
			}
		}
	}
	_, err := c.sock.Write(buf)
	return err
}

func elemEnd(buf []byte, elems []elem, i int) int {
	if i+1 < len(elems) {
		return elems[i+1].start
	}
	return len(buf)
}

// beginElem pads the previous response to 8 bytes, links it to the new one
// and reserves the new response's header.
func (c *conn) beginElem(buf []byte) ([]byte, int) {
	if n := len(c.elems); n > 0 {
		prev := c.elems[n-1].start
		for (len(buf)-prev)%8 != 0 {
			buf = append(buf, 0)
		}
		smb2.PutNextCommand(buf[prev:], uint32(len(buf)-prev))
	}
	start := len(buf)
	buf = append(buf, make([]byte, smb2.HeaderSize)...)
	return buf, start
}

// isError reports whether st is an error status whose response body is an
// ERROR response. STATUS_BUFFER_OVERFLOW carries data and is not one, nor is
// MORE_PROCESSING_REQUIRED on SESSION_SETUP.
func isError(st ntstatus.Status) bool {
	switch st {
	case ntstatus.Success, ntstatus.BufferOverflow, ntstatus.MoreProcessingRequired, ntstatus.Pending:
		return false
	}
	return st&0xC0000000 == 0xC0000000 || st&0xC0000000 == 0x80000000
}
