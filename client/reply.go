package client

import (
	"fmt"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// expect is what the reply to one request must carry. It is fixed by send
// from the request and the session the request was sent on, before the
// request is written; the reader checks every reply against it. Whether a
// reply must be signed therefore follows from the request, never from the
// reply's own Command, SessionId or Flags (MS-SMB2 3.2.5.1.2, 3.2.5.1.3,
// 3.2.5.1.8).
type expect struct {
	cmd       smb2.Command
	sessionID uint64
	treeID    uint32 // 0: the request had no tree; otherwise a sync reply must carry it
	// anySession: a SESSION_SETUP without a SessionId, whose reply assigns
	// one.
	anySession bool
	// sess verifies a signed reply: the session the request was sent on,
	// when it has a signing key. nil: nothing to verify with (NEGOTIATE, a
	// new session's SESSION_SETUP, a request without a session).
	sess *session
	// mustSign: the request was signed, so its final reply must be signed
	// too, whatever its Flags say (except those of unsignedOK).
	mustSign bool
	// mustSeal: the request was encrypted, so every reply to it, interim
	// ones included, must arrive encrypted with the session's key.
	mustSeal bool
}

// unsignedOK reports the final replies to a signed request that may come
// unsigned. None carries data:
//   - the statuses a server sends without the session's key: the session
//     is gone (STATUS_USER_SESSION_DELETED, MS-SMB2 3.3.5.2.4) or expired
//     (STATUS_NETWORK_SESSION_EXPIRED, 3.3.5.2.9);
//   - a re-authentication's SESSION_SETUP replies other than the final
//     STATUS_SUCCESS (MORE_PROCESSING_REQUIRED with the NTLM challenge, or
//     a failure). MS-SMB2 3.3.4.1.1 has the server sign them and Samba
//     does, but smbpipe's server does not; a forged challenge only makes
//     the exchange fail, and the success that ends it must be signed.
func unsignedOK(cmd smb2.Command, st ntstatus.Status) bool {
	return st == ntstatus.UserSessionDeleted || st == ntstatus.NetworkSessionExpired ||
		cmd == smb2.CmdSessionSetup && st != ntstatus.Success
}

// check validates msg, whose header h has already decoded, as a reply to
// the request x describes; asyncID is the AsyncId of an interim response
// already received for it (0: none). It reports whether msg is a valid
// interim STATUS_PENDING response. An error means the connection can no
// longer be trusted: the caller fails it.
//
// check runs on the reader goroutine only: it uses x.sess's verifier.
func (x *expect) check(h *smb2.Header, msg []byte, asyncID uint64, sealed bool) (interim bool, err error) {
	if x.mustSeal && !sealed {
		// MS-SMB2 3.2.5.1.1.1, decided from the request, never from the
		// reply: a man in the middle cannot answer in clear.
		return false, fmt.Errorf("client: reply to %v (MessageId %d) is not encrypted: %w", x.cmd, h.MessageID, ErrSignature)
	}
	if h.Command != x.cmd {
		return false, x.errorf(h, "carries Command %v", h.Command)
	}
	if h.SessionID != x.sessionID && !x.anySession {
		return false, x.errorf(h, "carries SessionId %#x, the request %#x", h.SessionID, x.sessionID)
	}
	if h.IsAsync() {
		if h.AsyncID == 0 {
			return false, x.errorf(h, "is async with AsyncId 0")
		}
		if asyncID != 0 && h.AsyncID != asyncID {
			return false, x.errorf(h, "carries AsyncId %#x, its interim response %#x", h.AsyncID, asyncID)
		}
	} else if x.treeID != 0 && h.TreeID != x.treeID {
		return false, x.errorf(h, "carries TreeId %#x, the request %#x", h.TreeID, x.treeID)
	}
	if h.Status == ntstatus.Pending {
		// An interim response: never signed (MS-SMB2 3.2.5.1.3, 3.3.4.1.1),
		// so it may only say "wait": async, with an ERROR body. It carries
		// no data and only ends the request's expiration timer.
		if !h.IsAsync() {
			return false, x.errorf(h, "is STATUS_PENDING without SMB2_FLAGS_ASYNC_COMMAND")
		}
		var e smb2.ErrorResponse
		if err := e.Decode(msg); err != nil {
			return false, x.errorf(h, "is a malformed interim response: %v", err)
		}
		return true, nil
	}
	// A final reply. An encrypted one is authenticated already (its
	// signature field is zero, MS-SMB2 3.3.4.1.1); a plain one to an
	// encrypted request was refused above.
	if sealed {
		// nothing to verify
	} else if h.Flags&smb2.FlagSigned != 0 {
		if x.sess != nil && !x.sess.verifier.Verify(msg) {
			return false, fmt.Errorf("client: reply to %v (MessageId %d): %w", x.cmd, h.MessageID, ErrSignature)
		}
	} else if x.mustSign && !unsignedOK(h.Command, h.Status) {
		return false, fmt.Errorf("client: reply to %v (MessageId %d) is not signed: %w", x.cmd, h.MessageID, ErrSignature)
	}
	if err := checkBody(msg); err != nil {
		return false, x.errorf(h, "is malformed: %v", err)
	}
	return false, nil
}

func (x *expect) errorf(h *smb2.Header, format string, args ...any) error {
	return protocolErrorf("reply to %v (MessageId %d) %s", x.cmd, h.MessageID, fmt.Sprintf(format, args...))
}

// checkBody decodes the body of a final reply (msg starts with the header)
// with the decoder of its command, or as an ERROR response when its status
// calls for one (smb2.HasErrorBody). Commands the client never sends but a
// RawRequest may (LOCK, QUERY_DIRECTORY, CHANGE_NOTIFY, OPLOCK_BREAK) are
// not decoded.
func checkBody(msg []byte) error {
	if smb2.HasErrorBody(msg) {
		var m smb2.ErrorResponse
		return m.Decode(msg)
	}
	switch smb2.PeekCommand(msg) {
	case smb2.CmdNegotiate:
		var m smb2.NegotiateResponse
		return m.Decode(msg)
	case smb2.CmdSessionSetup:
		var m smb2.SessionSetupResponse
		return m.Decode(msg)
	case smb2.CmdLogoff:
		var m smb2.LogoffResponse
		return m.Decode(msg)
	case smb2.CmdTreeConnect:
		var m smb2.TreeConnectResponse
		return m.Decode(msg)
	case smb2.CmdTreeDisconnect:
		var m smb2.TreeDisconnectResponse
		return m.Decode(msg)
	case smb2.CmdCreate:
		var m smb2.CreateResponse
		return m.Decode(msg)
	case smb2.CmdClose:
		var m smb2.CloseResponse
		return m.Decode(msg)
	case smb2.CmdFlush:
		var m smb2.FlushResponse
		return m.Decode(msg)
	case smb2.CmdRead:
		var m smb2.ReadResponse
		return m.Decode(msg)
	case smb2.CmdWrite:
		var m smb2.WriteResponse
		return m.Decode(msg)
	case smb2.CmdIoctl:
		var m smb2.IoctlResponse
		return m.Decode(msg)
	case smb2.CmdEcho:
		var m smb2.EchoResponse
		return m.Decode(msg)
	case smb2.CmdQueryInfo:
		var m smb2.QueryInfoResponse
		return m.Decode(msg)
	case smb2.CmdSetInfo:
		var m smb2.SetInfoResponse
		return m.Decode(msg)
	}
	return nil
}
