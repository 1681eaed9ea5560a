package server

import (
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
)

// caller builds the identity attached to both ends of an instance opened
// by session s (pipe.End.Caller on the server end).
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
		Encrypted:  s.encryptData || s.encrypting,
	}
}
