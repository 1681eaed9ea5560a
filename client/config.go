package client

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smbpipe/smbpipe/smb2"
)

// Config configures a Conn. The zero value is an anonymous session that
// negotiates any dialect from 2.0.2 to 3.1.1 and signs only when the server
// requires it. A Config is copied when a Conn is made; the caller may reuse
// or change it afterwards.
type Config struct {
	// User, Domain and Password or NTHash are the NTLMv2 credentials. An
	// empty User with an empty Password and no NTHash means an anonymous
	// (null) session.
	User     string
	Domain   string
	Password string
	// NTHash (16 bytes, MD4 of the UTF-16LE password) is used when
	// Password is empty.
	NTHash      []byte
	Workstation string
	// Kerberos, when set, logs on with Kerberos instead of NTLM
	// (kerberos.go); User, Password and NTHash are then unused.
	Kerberos *Kerberos

	// MinDialect and MaxDialect bound the dialects offered; zero means
	// 2.0.2 and 3.1.1.
	MinDialect, MaxDialect smb2.Dialect

	// RequireSigning sets SIGNING_REQUIRED in NEGOTIATE and SESSION_SETUP
	// and signs every request of an authenticated session. Without it the
	// session is signed only when the server requires signing. Anonymous
	// and guest sessions are never signed.
	RequireSigning bool

	// SigningAlgorithms are offered in the 3.1.1 SIGNING_CAPABILITIES
	// context, in order of preference; nil means AES-GMAC, AES-CMAC (the
	// order Windows 11 and Samba's clients use; GMAC is the cheaper one).
	SigningAlgorithms []uint16
	// Encryption says when the session encrypts (SMB 3.x); the zero
	// value, EncryptionAuto, encrypts when the server requires it, as
	// Windows' client does.
	Encryption EncryptionMode
	// Ciphers are offered in the 3.1.1 ENCRYPTION_CAPABILITIES context, in
	// order of preference; nil means AES-128-GCM, AES-128-CCM,
	// AES-256-GCM, AES-256-CCM (Windows 11's order). 3.0 and 3.0.2 use
	// AES-128-CCM, offered when Ciphers has it.
	Ciphers []uint16

	// ServerName is the host name put in \\server\IPC$; "" means the host
	// part of the address dialed.
	ServerName string

	// ClientGUID is sent in NEGOTIATE; zero means random.
	ClientGUID [16]byte

	// Credits is the credit balance the client asks the server to keep
	// granted; 0 means 128.
	Credits uint16

	// CancelTimeout bounds the wait for the final response of a request
	// whose context ended (after SMB2 CANCEL was sent); 0 means 5 seconds.
	// When it passes, the request is abandoned with ErrAbandoned.
	CancelTimeout time.Duration

	// RequestTimeout bounds the wait for the reply to a request that the
	// server has not answered with an interim STATUS_PENDING response, as
	// the request expiration timer of Windows' client does (MS-SMB2
	// 3.2.6.1); 0 means 60 seconds, a negative value turns expiration off.
	// When it passes, the request fails with a *RequestTimeoutError naming
	// its command, and so does every other request on the connection,
	// which is closed. After an interim response a request waits as long
	// as its context allows; meanwhile the Conn sends ECHO when the
	// connection has been silent for half the limit, so a dead server is
	// found within about RequestTimeout.
	RequestTimeout time.Duration

	// Rand is the source of GUIDs, salts and NTLM client challenges; nil
	// means crypto/rand.
	Rand io.Reader
}

// EncryptionMode says when a session encrypts its messages.
type EncryptionMode uint8

const (
	// EncryptionAuto offers encryption and encrypts when the server marks
	// the session SMB2_SESSION_FLAG_ENCRYPT_DATA.
	EncryptionAuto EncryptionMode = iota
	// EncryptionOff does not offer encryption: a server that requires it
	// refuses the session.
	EncryptionOff
	// EncryptionPreferred encrypts whenever the server offers a cipher
	// and the session has a key (not anonymous, not guest); otherwise the
	// session runs in clear (signed as configured).
	EncryptionPreferred
	// EncryptionRequired encrypts every request after SESSION_SETUP and
	// fails the session setup when it cannot (a 2.x dialect, no common
	// cipher, an anonymous or guest session): never in clear.
	EncryptionRequired
)

// DefaultCiphers are the ciphers offered when Config.Ciphers is nil.
var DefaultCiphers = []uint16{smb2.CipherAES128GCM, smb2.CipherAES128CCM, smb2.CipherAES256GCM, smb2.CipherAES256CCM}

// offeredCiphers are the ciphers the client offers: none when encryption
// is off.
func (c *Config) offeredCiphers() []uint16 {
	switch {
	case c.Encryption == EncryptionOff:
		return nil
	case c.Ciphers != nil:
		return c.Ciphers
	}
	return DefaultCiphers
}

// DefaultRequestTimeout is the request expiration limit a zero
// Config.RequestTimeout means: 60 seconds, the default of Windows' client.
const DefaultRequestTimeout = 60 * time.Second

var allDialects = []smb2.Dialect{smb2.Dialect202, smb2.Dialect210, smb2.Dialect300, smb2.Dialect302, smb2.Dialect311}

// anonymous reports whether the config describes a null session.
func (c *Config) anonymous() bool {
	return c.User == "" && c.Password == "" && len(c.NTHash) == 0 && c.Kerberos == nil
}

// withDefaults returns a copy of c with zero fields defaulted, and validates it.
func (c *Config) withDefaults() (Config, error) {
	var d Config
	if c != nil {
		d = *c
	}
	if d.MinDialect == 0 {
		d.MinDialect = smb2.Dialect202
	}
	if d.MaxDialect == 0 {
		d.MaxDialect = smb2.Dialect311
	}
	if len(d.dialects()) == 0 {
		return d, fmt.Errorf("client: no dialect between %#04x and %#04x", uint16(d.MinDialect), uint16(d.MaxDialect))
	}
	if d.SigningAlgorithms == nil {
		d.SigningAlgorithms = []uint16{smb2.SigningAESGMAC, smb2.SigningAESCMAC}
	} else {
		d.SigningAlgorithms = append([]uint16(nil), d.SigningAlgorithms...)
	}
	if d.NTHash != nil {
		if len(d.NTHash) != 16 {
			return d, errors.New("client: NTHash must be 16 bytes")
		}
		d.NTHash = append([]byte(nil), d.NTHash...)
	}
	if d.Credits == 0 {
		d.Credits = 128
	}
	if d.CancelTimeout <= 0 {
		d.CancelTimeout = 5 * time.Second
	}
	if d.RequestTimeout == 0 {
		d.RequestTimeout = DefaultRequestTimeout
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	return d, nil
}

// dialects returns the dialects offered, ascending.
func (c *Config) dialects() []smb2.Dialect {
	var ds []smb2.Dialect
	for _, d := range allDialects {
		if d >= c.MinDialect && d <= c.MaxDialect {
			ds = append(ds, d)
		}
	}
	return ds
}

// ParseDialect parses a dialect as people write it: "2.0.2", "2.1", "3.0",
// "3.0.2", "3.1.1", Samba's "SMB2_02" ... "SMB3_11", or hex "0x0311".
func ParseDialect(s string) (smb2.Dialect, error) {
	switch s {
	case "2.0.2", "2.02", "SMB2_02", "0x0202", "202":
		return smb2.Dialect202, nil
	case "2.1", "2.10", "2.1.0", "SMB2_10", "0x0210", "210":
		return smb2.Dialect210, nil
	case "3.0", "3.00", "3.0.0", "SMB3_00", "0x0300", "300":
		return smb2.Dialect300, nil
	case "3.0.2", "3.02", "SMB3_02", "0x0302", "302":
		return smb2.Dialect302, nil
	case "3.1.1", "3.11", "SMB3_11", "0x0311", "311":
		return smb2.Dialect311, nil
	}
	return 0, fmt.Errorf("client: unknown dialect %q (want 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1)", s)
}

// DialectString returns the dotted name of d, e.g. "3.1.1" (d.String()).
func DialectString(d smb2.Dialect) string { return d.String() }
