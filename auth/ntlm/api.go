// Package ntlm implements NTLMSSP (MS-NLMP) for SMB: the server side
// (anonymous and NTLMv2 verification, session keys) and the client side
// (anonymous and NTLMv2 with a password or NT hash).
//
// Pure: bytes in, values out. One ServerHandshake or Client value per
// authentication exchange; values are not safe for concurrent use.
package ntlm

import "errors"

// Errors returned by ServerHandshake.Authenticate. Callers compare with errors.Is.
var (
	ErrNoSuchUser    = errors.New("ntlm: no such user")
	ErrWrongPassword = errors.New("ntlm: wrong password")
	ErrMalformed     = errors.New("ntlm: malformed message")
	ErrBadMIC        = errors.New("ntlm: MIC check failed")
)

// ServerConfig is what a server needs to run handshakes. Zero value: no
// accounts (every named user is unknown).
type ServerConfig struct {
	// Lookup returns the NT hash (MD4 of the UTF-16LE password) of an
	// account; the name comparison is the caller's (case-insensitive).
	Lookup func(user, domain string) (ntHash [16]byte, ok bool)
	// TargetName is the NetBIOS domain or server name put in the CHALLENGE;
	// empty means NetBIOSDomain.
	TargetName string
	// NetBIOSComputer and NetBIOSDomain go into the target info (empty:
	// TargetName, else "SMBPIPE"; the domain defaults to the computer name,
	// as for a workgroup server). DNSComputer and DNSDomain are sent when set.
	NetBIOSComputer string
	NetBIOSDomain   string
	DNSComputer     string
	DNSDomain       string
	// Now returns the current FILETIME (MsvAvTimestamp); nil means time.Now.
	Now func() uint64
	// Rand fills challenges and keys; nil means crypto/rand. The first call
	// of a handshake fills the 8-byte server challenge (a test hook).
	Rand func([]byte)
}

// Result is a successful authentication.
type Result struct {
	User        string
	Domain      string
	Workstation string
	Anonymous   bool
	// SessionKey is the exported session key (after KEY_EXCH), all zero
	// for anonymous sessions. SMB2 uses it as Session.SessionKey.
	SessionKey [16]byte
	// Flags are the negotiated NTLMSSP flags (Flag* constants).
	Flags uint32
	// MICPresent reports that the client protected the exchange with a
	// MIC (MsvAvFlags bit 0x2), which was verified. Such clients (Samba,
	// Windows) then expect a mechListMIC in the final SPNEGO token.
	MICPresent bool
}

// ServerHandshake is the server side of one NTLMSSP exchange.
type ServerHandshake struct {
	cfg ServerConfig
	st  serverState
}

// NewServerHandshake starts a server-side exchange.
func NewServerHandshake(cfg ServerConfig) *ServerHandshake { return &ServerHandshake{cfg: cfg} }

// Challenge consumes a NEGOTIATE_MESSAGE and returns the CHALLENGE_MESSAGE.
func (s *ServerHandshake) Challenge(negotiate []byte) ([]byte, error) { return s.challenge(negotiate) }

// Authenticate consumes the AUTHENTICATE_MESSAGE. For an unknown user it
// returns a *Result with User/Domain filled and ErrNoSuchUser, so the caller
// can decide to create a guest session; with ErrWrongPassword the *Result
// has User/Domain filled too (for the caller's log), and no key. Anonymous (null session) logons
// succeed with Result.Anonymous and a zero key; NTLMv1 responses and wrong
// proofs give ErrWrongPassword, a bad MIC ErrBadMIC, undecodable input or
// calls out of order ErrMalformed. Only one Authenticate per handshake.
func (s *ServerHandshake) Authenticate(auth []byte) (*Result, error) { return s.authenticate(auth) }

// MechListMIC computes the SPNEGO mechListMIC over mechList with the
// negotiated signing key (server to client direction), and VerifyMechListMIC
// checks the client's. Both are valid after a successful, non-anonymous
// Authenticate that negotiated extended session security; otherwise
// MechListMIC returns nil and VerifyMechListMIC false. Each call signs with
// sequence number 0 and a fresh RC4 handle (SPNEGO signs once per direction).
func (s *ServerHandshake) MechListMIC(mechList []byte) []byte { return s.mechListMIC(mechList) }

// VerifyMechListMIC checks a client's mechListMIC.
func (s *ServerHandshake) VerifyMechListMIC(mechList, mic []byte) bool {
	return s.verifyMechListMIC(mechList, mic)
}

// Client is the client side of one exchange. Empty User and empty
// Password/NTHash means an anonymous authentication.
type Client struct {
	User        string
	Domain      string
	Workstation string
	Password    string
	NTHash      []byte // 16 bytes; used when Password is empty
	// Now returns the current FILETIME, used only when the CHALLENGE
	// carries no MsvAvTimestamp; nil means time.Now.
	Now func() uint64
	// Rand fills the client challenge and the random session key; nil
	// means crypto/rand.
	Rand func([]byte)
	// Seal asks for NTLMSSP_NEGOTIATE_SEAL (DCE/RPC packet privacy).
	Seal bool
	st   clientState
}

// Negotiate returns the NEGOTIATE_MESSAGE.
func (c *Client) Negotiate() ([]byte, error) { return c.negotiate() }

// Authenticate consumes the CHALLENGE_MESSAGE and returns the
// AUTHENTICATE_MESSAGE and the exported session key.
func (c *Client) Authenticate(challenge []byte) (auth []byte, sessionKey [16]byte, err error) {
	return c.authenticate(challenge)
}

// MechListMIC / VerifyMechListMIC: client direction, valid after Authenticate.
func (c *Client) MechListMIC(mechList []byte) []byte { return c.mechListMIC(mechList) }

// VerifyMechListMIC checks the server's mechListMIC.
func (c *Client) VerifyMechListMIC(mechList, mic []byte) bool {
	return c.verifyMechListMIC(mechList, mic)
}

// NTHash returns MD4(UTF-16LE(password)).
func NTHash(password string) [16]byte { return ntHash(password) }
