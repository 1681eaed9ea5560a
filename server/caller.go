package server

import (
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
)

// caller builds the identity attached to both ends of an instance opened
// by session s (pipe.End.Caller on the server end), in the request being
// dispatched. Encrypted is what this open can count on: the session must
// encrypt, or the CREATE arrived sealed; that the session sealed other
// requests before says nothing of this one.
func (c *conn) caller(s *session) *pipe.Caller {
	return &pipe.Caller{
		User:       s.ident.User,
		Domain:     s.ident.Domain,
		SIDs:       s.sids,
		Anonymous:  s.ident.Kind == policy.Anonymous,
		Guest:      s.ident.Kind == policy.Guest,
		ClientAddr: c.remote,
		SessionID:  s.id,
		Signed:     s.signer != nil && s.signingRequired,
		Encrypted:  s.encryptData || c.encrypted,
	}
}
