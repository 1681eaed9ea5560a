package pipe

import (
	"strconv"
	"strings"
)

// Caller is an identity a server may attach to an instance as the info of
// Namespace.Open, so that the server end (End.Info) knows who opened the
// pipe. The package itself never looks inside it.
type Caller struct {
	User       string   // account name; "" when anonymous
	Domain     string   // domain or workgroup of the account
	SIDs       []string // user SID first, then groups, in string form (S-1-...)
	Anonymous  bool     // null session
	Guest      bool     // mapped to the guest account
	ClientAddr string   // remote address of the SMB connection (host:port)
	SessionID  uint64
	Signed     bool // the session signs its messages
	// Encrypted: the session must encrypt, so every message of the
	// instance is sealed (the server's encryption = "required"), or the
	// request that opened it was sealed (a client that encrypts by its own
	// choice under "enabled" may send later ones in clear).
	Encrypted bool
}

// Env returns the caller as environment variables for a process serving
// the pipe: SMBPIPE_USER, SMBPIPE_DOMAIN, SMBPIPE_SIDS (comma-separated),
// SMBPIPE_ANONYMOUS and SMBPIPE_GUEST ("1" or "0"), SMBPIPE_CLIENT_ADDR and
// SMBPIPE_SESSION_ID (decimal).
func (c Caller) Env() []string {
	return []string{
		"SMBPIPE_USER=" + c.User,
		"SMBPIPE_DOMAIN=" + c.Domain,
		"SMBPIPE_SIDS=" + strings.Join(c.SIDs, ","),
		"SMBPIPE_ANONYMOUS=" + flag(c.Anonymous),
		"SMBPIPE_GUEST=" + flag(c.Guest),
		"SMBPIPE_CLIENT_ADDR=" + c.ClientAddr,
		"SMBPIPE_SESSION_ID=" + strconv.FormatUint(c.SessionID, 10),
	}
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Caller returns the end's info as a Caller when it is one (a Caller or a
// *Caller given to Namespace.Open).
func (e *End) Caller() (Caller, bool) {
	switch c := e.inst.info.(type) {
	case Caller:
		return c, true
	case *Caller:
		if c != nil {
			return *c, true
		}
	}
	return Caller{}, false
}
