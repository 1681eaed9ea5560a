package client

import (
	"context"
	"fmt"

	"github.com/smbpipe/smbpipe/smb2"
)

// RawRequest is a request sent as given, for tests that need to step
// outside the protocol (hostile input, odd flags, replays).
type RawRequest struct {
	// Header is sent as given, except: MessageID, CreditCharge and Credit
	// are assigned by the Conn (so credits stay consistent) unless
	// KeepMessageID is set; FlagSigned and Signature are set when the
	// session signs and NoSign is false.
	Header smb2.Header
	// Body is appended after the 64-byte header verbatim.
	Body []byte
	// Size is the payload size used to compute CreditCharge (0: len(Body)).
	Size int
	// KeepMessageID sends Header.MessageID, CreditCharge and Credit as
	// given without taking credits (a MessageId still in flight is an
	// error). A response is still matched by MessageID.
	KeepMessageID bool
	// NoSign sends the request unsigned even on a signing session.
	NoSign bool
	// Sign signs the request whenever the session has a signing key, even
	// when the session does not sign in general (as a 3.1.1 TREE_CONNECT
	// must be). NoSign wins.
	Sign bool
	// NoEncrypt sends the request in clear even on a session that
	// encrypts (to test a server's refusal); its reply may come either way.
	NoEncrypt bool
}

// RawResponse is the final response to a RawRequest.
type RawResponse struct {
	Header smb2.Header
	// Msg is the whole response message (header first), owned by the caller.
	Msg []byte
}

// Body returns the bytes after the header.
func (r *RawResponse) Body() []byte { return r.Msg[smb2.HeaderSize:] }

// RoundTrip sends req and waits for its final response (interim
// STATUS_PENDING responses are absorbed; ctx ending sends CANCEL). The
// returned error is only for transport or protocol failures: the
// NTSTATUS, whatever it is, is in the response header.
func (c *Conn) RoundTrip(ctx context.Context, req *RawRequest) (*RawResponse, error) {
	bp := newRequest()
	*bp = append(*bp, req.Body...)
	size := req.Size
	if size == 0 {
		size = len(req.Body)
	}
	r := &request{hdr: req.Header, buf: bp, size: size, keepMID: req.KeepMessageID, noSign: req.NoSign, forceSign: req.Sign, noSeal: req.NoEncrypt}
	cl, err := c.roundTrip(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("client: raw %v: %w", req.Header.Command, err)
	}
	defer c.release(cl)
	return &RawResponse{Header: cl.hdr, Msg: append([]byte(nil), cl.msg...)}, nil
}

// WriteFrame writes payload as one transport frame (the 4-byte length
// prefix is added) without a caller waiting for replies. The requests in
// payload whose headers decode register their MessageIds, unless already in
// flight, so that the replies they provoke are checked like any other
// (against the command, SessionId and TreeId of their request; related
// operations of a compound match any SessionId and TreeId) and then
// dropped; they are not timed. A reply that matches nothing fails the
// connection. For hostile-input tests; the payload is not signed.
func (c *Conn) WriteFrame(payload []byte) error {
	c.discardReplies(payload)
	bp := getBuf(4 + len(payload))
	defer putBuf(bp)
	copy((*bp)[4:], payload)
	smb2.PutFrameLength(*bp)
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_, err := c.sock.Write(*bp)
	return err
}

// discardReplies registers the requests of payload for WriteFrame.
func (c *Conn) discardReplies(payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for rest := payload; len(rest) > 0; {
		msg, next, err := smb2.NextMessage(rest)
		if err != nil {
			return
		}
		rest = next
		var h smb2.Header
		if h.Decode(msg) != nil || h.IsResponse() || h.Command == smb2.CmdCancel || c.pending[h.MessageID] != nil {
			continue
		}
		related := h.Flags&smb2.FlagRelatedOperations != 0
		cl := callPool.Get().(*call)
		cl.mid = h.MessageID
		cl.x = expect{cmd: h.Command, sessionID: h.SessionID, anySession: related || h.Command == smb2.CmdSessionSetup && h.SessionID == 0}
		if !related {
			cl.x.treeID = h.TreeID
		}
		cl.reset(true, false, false)
		c.seq++
		cl.seq = c.seq
		c.pending[cl.mid] = cl
	}
}
