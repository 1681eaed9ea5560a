package policy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

//go:embed default.toml
var defaultTOML []byte

// DefaultTOML returns the text of the embedded default configuration.
func DefaultTOML() []byte { return bytes.Clone(defaultTOML) }

// Config mirrors the TOML file (see default.toml and the package doc).
// Parse fills absent keys with their defaults. A Config built in Go must
// set every field it relies on: the zero value means "not restricted"
// (RestrictNullSessAccess 0), no anonymous sessions and so on. Compile
// validates it.
type Config struct {
	Listen     string
	ServerName string
	Domain     string
	// MachineSID is this server's machine SID (S-1-5-21-A-B-C); "" derives
	// one from ServerName (see Snapshot.MachineSID).
	MachineSID     string
	AllowAnonymous bool
	Guest          bool
	Signing        string // "enabled" | "required"
	// Encryption is SMB3 encryption: "off" (not offered), "enabled"
	// (offered; used when the client encrypts) or "required" (MS-SMB2
	// EncryptData and RejectUnencryptedAccess: every session is marked
	// SMB2_SESSION_FLAG_ENCRYPT_DATA, unencrypted requests are refused and
	// clients that cannot encrypt, anonymous and guest sessions are refused
	// at SESSION_SETUP). "" means "enabled".
	Encryption string
	// EncryptionCiphers are the ciphers offered, in the server's order of
	// preference: "AES-128-GCM", "AES-128-CCM", "AES-256-GCM",
	// "AES-256-CCM". Nil means all four in that order (DefaultCiphers).
	EncryptionCiphers []string

	LanmanServer LanmanServer
	Lsa          Lsa
	// Services are the Windows RPC services presented on IPC$, each on
	// its pipes (see ServicePipes): "srvsvc", "wkssvc", "lsarpc" (pipes
	// lsarpc and lsass), "samr". A [[pipe]] of the same name replaces a
	// service's pipe. Parse defaults an absent key to all four, as
	// Windows; nil in a Config built in Go means none.
	Services []string
	Accounts []Account
	Pipes    []Pipe
	Limits   Limits
	// Kerberos is [kerberos] (kerberos.go); the zero value is off.
	Kerberos Kerberos

	// parsed is set by Parse (see Parsed).
	parsed bool
}

// Parsed reports whether c came from Parse (or Load, Default, a copy of
// one): every field holds what the file said or the file's default, so a
// zero value is meant. A Config built in Go is not Parsed; the root
// package's Server reads its zero values as the file's defaults (null
// sessions accepted, RestrictNullSessAccess 1).
func (c *Config) Parsed() bool { return c != nil && c.parsed }

// Limits bound what clients may take from the server ([limits]). Parse
// fills absent keys with the defaults below; in a Config built in Go a zero
// field means that default (Limits.WithDefaults), so every limit is always
// in force. A reload applies to connections accepted afterwards, except
// MaxConnections, MaxAsyncBytes and MaxProcesses, which apply at once.
type Limits struct {
	// MaxConnections is the most client connections at once; further
	// connections are closed on accept (4096).
	MaxConnections int
	// MaxSessionsPerConnection: a further SESSION_SETUP is answered
	// STATUS_REQUEST_NOT_ACCEPTED (64).
	MaxSessionsPerConnection int
	// MaxOpensPerSession: a further CREATE is answered
	// STATUS_TOO_MANY_OPENED_FILES (1024).
	MaxOpensPerSession int
	// MaxAsyncPerConnection is the most outstanding async operations
	// (pending READ, WRITE, TRANSCEIVE, WAIT) of one connection; a further one is
	// answered STATUS_INSUFFICIENT_RESOURCES (512).
	MaxAsyncPerConnection int
	// MaxAsyncBytesPerConnection bounds the bytes one connection's async
	// operations hold: the data of a WRITE or TRANSCEIVE that waits for
	// room in the pipe, and the reply of a READ or TRANSCEIVE until it is
	// sent. A request that would pass it is answered
	// STATUS_INSUFFICIENT_RESOURCES, except that a connection holding
	// nothing may always hold one request (so a single WRITE of the
	// negotiated MaxWriteSize still works) (4 MiB).
	MaxAsyncBytesPerConnection int
	// MaxAsyncBytes bounds the same bytes for the whole server, with the
	// same answer beyond it (128 MiB). Like MaxProcesses it applies at once
	// on reload.
	MaxAsyncBytes int
	// MaxProcesses bounds the backend processes (exec: one per open) of
	// the whole server; a CREATE that would start one more is answered
	// STATUS_INSUFFICIENT_RESOURCES (256).
	MaxProcesses int
	// MaxCredits is the most SMB2 credits a client may hold, the bound of
	// Windows' Smb2CreditsMax (8192, also the largest value; MS-SMB2
	// <209>).
	MaxCredits int
	// MaxMessageSize is the largest transport frame accepted, in bytes; a
	// longer frame closes the connection. The sizes offered in NEGOTIATE
	// are lowered to fit (8 MiB + 64 KiB; at least 128 KiB).
	MaxMessageSize int
	// HandshakeTimeout is how long a new connection has to finish NEGOTIATE
	// and its first SESSION_SETUP, and how long the rest of a frame may take
	// once its first byte arrived (a client trickling bytes is dropped)
	// (30s).
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that sent nothing for this long and
	// has no pipe open (15m).
	IdleTimeout time.Duration
}

// Default limits (see Limits).
const (
	DefaultMaxConnections           = 4096
	DefaultMaxSessionsPerConnection = 64
	DefaultMaxOpensPerSession       = 1024
	DefaultMaxAsyncPerConnection    = 512
	// The async byte bounds: 4 MiB is 64 pending 64 KiB writes per
	// connection (one WRITE of up to 8 MiB is always admitted); 128 MiB
	// server-wide keeps the worst case a small multiple of the server's
	// own footprint while allowing 32 connections at their bound at once.
	DefaultMaxAsyncBytesPerConnection = 4 << 20
	DefaultMaxAsyncBytes              = 128 << 20
	DefaultMaxProcesses               = 256
	DefaultMaxCredits                 = 8192
	DefaultMaxMessageSize             = 8<<20 + 64<<10
	MinMaxMessageSize                 = 128 << 10
	DefaultHandshakeTimeout           = 30 * time.Second
	DefaultIdleTimeout                = 15 * time.Minute
)

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxConnections, DefaultMaxConnections)
	def(&l.MaxSessionsPerConnection, DefaultMaxSessionsPerConnection)
	def(&l.MaxOpensPerSession, DefaultMaxOpensPerSession)
	def(&l.MaxAsyncPerConnection, DefaultMaxAsyncPerConnection)
	def(&l.MaxAsyncBytesPerConnection, DefaultMaxAsyncBytesPerConnection)
	def(&l.MaxAsyncBytes, DefaultMaxAsyncBytes)
	def(&l.MaxProcesses, DefaultMaxProcesses)
	def(&l.MaxCredits, DefaultMaxCredits)
	def(&l.MaxMessageSize, DefaultMaxMessageSize)
	if l.HandshakeTimeout == 0 {
		l.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	return l
}

// LanmanServer is HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters.
type LanmanServer struct {
	RestrictNullSessAccess int
	NullSessionPipes       []string
}

// Lsa is HKLM\SYSTEM\CurrentControlSet\Control\Lsa. Parse defaults
// absent keys to Windows' defaults for a member or stand-alone server
// (RestrictAnonymousSAM 1, RestrictRemoteSAM DefaultRestrictRemoteSAM); the
// zero value of a Config built in Go restricts nothing.
type Lsa struct {
	EveryoneIncludesAnonymous int
	// RestrictAnonymous 1: anonymous callers may not enumerate shares
	// (srvsvc) nor SAM accounts; 2: anonymous callers get nothing from
	// the RPC services (0, 1 or 2).
	RestrictAnonymous int
	// RestrictAnonymousSAM 1: anonymous callers may not connect to SAMR
	// to enumerate accounts.
	RestrictAnonymousSAM int
	// TurnOffAnonymousBlock 1: anonymous callers may open the LSA policy
	// (LsarOpenPolicy2) and translate SIDs and names; 0 (Windows'
	// default on a non-DC, LsaRestrictAnonymous): STATUS_ACCESS_DENIED.
	TurnOffAnonymousBlock int
	// RestrictRemoteSAM is the security descriptor (SDDL) a remote SAMR
	// connect is checked against: READ_CONTROL granted lets the caller
	// in. "" restricts nothing (Windows before 10 1607).
	RestrictRemoteSAM string
}

// DefaultRestrictRemoteSAM is Windows' default RestrictRemoteSAM on a
// non-DC since Windows 10 1607 and Server 2016: administrators only.
const DefaultRestrictRemoteSAM = "O:BAG:BAD:(A;;RC;;;BA)"

// DefaultServices are the RPC services Parse presents when the services
// key is absent.
var defaultServices = []string{"srvsvc", "wkssvc", "lsarpc", "samr"}

// DefaultServices returns the services presented by default.
func DefaultServices() []string { return append([]string(nil), defaultServices...) }

// Account is one [[account]].
type Account struct {
	Name     string
	Password string
	NTHash   string
	Groups   []string
	// RID is the account's relative ID; 0 derives a stable one from the
	// name.
	RID uint32
	// KerberosPrincipal (name@REALM) maps a Kerberos ticket without a PAC
	// to this account (kerberos.go).
	KerberosPrincipal string
}

// Pipe is one [[pipe]].
type Pipe struct {
	Name         string
	Backend      string
	Mode         string // "message" | "byte"
	MaxInstances int
	SDDL         string
}

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	n := *c
	n.LanmanServer.NullSessionPipes = append([]string(nil), c.LanmanServer.NullSessionPipes...)
	n.Services = append([]string(nil), c.Services...)
	if c.EncryptionCiphers != nil { // empty is not nil: an error, not the default
		n.EncryptionCiphers = append(make([]string, 0, len(c.EncryptionCiphers)), c.EncryptionCiphers...)
	}
	n.Accounts = append([]Account(nil), c.Accounts...)
	for i := range n.Accounts {
		n.Accounts[i].Groups = append([]string(nil), c.Accounts[i].Groups...)
	}
	n.Pipes = append([]Pipe(nil), c.Pipes...)
	n.Kerberos.ServiceNames = append([]string(nil), c.Kerberos.ServiceNames...)
	return &n
}

// ConfigError is one problem in a configuration: the file and line (when
// known), the key path ("pipe[0].sddl") and what is wrong. It formats as
// "smbpipe.toml:14: pipe[0].sddl: ACE 2 (A;;XX;;;WD): unknown right "XX"".
type ConfigError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// DefaultCiphers are the SMB3 ciphers in the default server preference
// order: Windows 11 / Server 2022's client order (MS-SMB2 <135>), which is
// also Samba's default "server smb3 encryption algorithms". The server
// picks the first of its list the client offers, so a Windows client gets
// AES-128-GCM, as from a Windows server.
var DefaultCiphers = []string{"AES-128-GCM", "AES-128-CCM", "AES-256-GCM", "AES-256-CCM"}

// derefCiphers is the encryption_ciphers key: nil when absent (the
// default), empty (an error) when the list is.
func derefCiphers(p *[]string) []string {
	if p == nil {
		return nil
	}
	return append(make([]string, 0, len(*p)), *p...)
}

// rawConfig is the TOML shape; pointers tell absent keys from zero values.
type rawConfig struct {
	Listen         *string `toml:"listen"`
	ServerName     *string `toml:"server_name"`
	Domain         *string `toml:"domain"`
	MachineSID     *string `toml:"machine_sid"`
	AllowAnonymous *bool   `toml:"allow_anonymous"`
	Guest          *bool   `toml:"guest"`
	Signing        *string `toml:"signing"`

	Encryption *string   `toml:"encryption"`
	Ciphers    *[]string `toml:"encryption_ciphers"`

	LanmanServer struct {
		RestrictNullSessAccess *int     `toml:"RestrictNullSessAccess"`
		NullSessionPipes       []string `toml:"NullSessionPipes"`
	} `toml:"LanmanServer"`
	Lsa struct {
		EveryoneIncludesAnonymous *int    `toml:"EveryoneIncludesAnonymous"`
		RestrictAnonymous         *int    `toml:"RestrictAnonymous"`
		RestrictAnonymousSAM      *int    `toml:"RestrictAnonymousSAM"`
		TurnOffAnonymousBlock     *int    `toml:"TurnOffAnonymousBlock"`
		RestrictRemoteSAM         *string `toml:"RestrictRemoteSAM"`
	} `toml:"Lsa"`
	Services *[]string `toml:"services"`
	Account  []struct {
		Name     string   `toml:"name"`
		Password string   `toml:"password"`
		NTHash   string   `toml:"nt_hash"`
		Groups   []string `toml:"groups"`
		RID      *int64   `toml:"rid"`
		Kerberos string   `toml:"kerberos_principal"`
	} `toml:"account"`
	Pipe []struct {
		Name         string  `toml:"name"`
		Backend      string  `toml:"backend"`
		Mode         *string `toml:"mode"`
		MaxInstances *int    `toml:"max_instances"`
		SDDL         string  `toml:"sddl"`
	} `toml:"pipe"`
	Limits struct {
		MaxConnections             *int    `toml:"max_connections"`
		MaxSessionsPerConnection   *int    `toml:"max_sessions_per_connection"`
		MaxOpensPerSession         *int    `toml:"max_opens_per_session"`
		MaxAsyncPerConnection      *int    `toml:"max_async_per_connection"`
		MaxAsyncBytesPerConnection *int    `toml:"max_async_bytes_per_connection"`
		MaxAsyncBytes              *int    `toml:"max_async_bytes"`
		MaxProcesses               *int    `toml:"max_processes"`
		MaxCredits                 *int    `toml:"max_credits"`
		MaxMessageSize             *int    `toml:"max_message_size"`
		HandshakeTimeout           *string `toml:"handshake_timeout"`
		IdleTimeout                *string `toml:"idle_timeout"`
	} `toml:"limits"`
	Kerberos rawKerberos `toml:"kerberos"`
}

// Default returns the embedded default configuration (a new copy on every
// call).
func Default() *Config {
	c, err := Parse(defaultTOML, "default.toml")
	if err != nil {
		// The embedded file is covered by tests; reaching this is a build
		// defect, not a runtime condition.
		panic("policy: embedded default.toml: " + err.Error())
	}
	return c
}

// Load reads and parses the file at path; errors name the path as given.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return Parse(data, path)
}

// Parse parses and validates a TOML config. Unknown keys, TOML syntax
// errors and invalid values are errors; each names filename, line and key
// (*ConfigError, several joined with errors.Join). Absent keys take the
// defaults documented in default.toml, which follow Windows (e.g. an
// absent RestrictNullSessAccess is 1).
func Parse(data []byte, filename string) (*Config, error) {
	var raw rawConfig
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	var unknown error
	if err := dec.Decode(&raw); err != nil {
		// Unknown keys are reported after a complete decode: the known
		// ones are checked too, so that every problem is reported at once.
		var sm *toml.StrictMissingError
		if !errors.As(err, &sm) {
			return nil, tomlError(err, filename)
		}
		unknown = tomlError(err, filename)
	}
	cfg := &Config{
		parsed:         true,
		Listen:         deref(raw.Listen, "127.0.0.1:4450"),
		ServerName:     deref(raw.ServerName, "SMBPIPE"),
		Domain:         deref(raw.Domain, "WORKGROUP"),
		MachineSID:     deref(raw.MachineSID, ""),
		AllowAnonymous: deref(raw.AllowAnonymous, true),
		Guest:          deref(raw.Guest, false),
		Signing:        deref(raw.Signing, "enabled"),
		Encryption:     deref(raw.Encryption, "enabled"),
		LanmanServer: LanmanServer{
			RestrictNullSessAccess: deref(raw.LanmanServer.RestrictNullSessAccess, 1),
			NullSessionPipes:       raw.LanmanServer.NullSessionPipes,
		},
		Lsa: Lsa{
			EveryoneIncludesAnonymous: deref(raw.Lsa.EveryoneIncludesAnonymous, 0),
			RestrictAnonymous:         deref(raw.Lsa.RestrictAnonymous, 0),
			RestrictAnonymousSAM:      deref(raw.Lsa.RestrictAnonymousSAM, 1),
			TurnOffAnonymousBlock:     deref(raw.Lsa.TurnOffAnonymousBlock, 0),
			RestrictRemoteSAM:         deref(raw.Lsa.RestrictRemoteSAM, DefaultRestrictRemoteSAM),
		},
		Services: deref(raw.Services, DefaultServices()),
	}
	cfg.EncryptionCiphers = derefCiphers(raw.Ciphers)
	loc := newLocator(data)
	var errs []error
	rl := &raw.Limits
	cfg.Limits = Limits{
		MaxConnections:             deref(rl.MaxConnections, DefaultMaxConnections),
		MaxSessionsPerConnection:   deref(rl.MaxSessionsPerConnection, DefaultMaxSessionsPerConnection),
		MaxOpensPerSession:         deref(rl.MaxOpensPerSession, DefaultMaxOpensPerSession),
		MaxAsyncPerConnection:      deref(rl.MaxAsyncPerConnection, DefaultMaxAsyncPerConnection),
		MaxAsyncBytesPerConnection: deref(rl.MaxAsyncBytesPerConnection, DefaultMaxAsyncBytesPerConnection),
		MaxAsyncBytes:              deref(rl.MaxAsyncBytes, DefaultMaxAsyncBytes),
		MaxProcesses:               deref(rl.MaxProcesses, DefaultMaxProcesses),
		MaxCredits:                 deref(rl.MaxCredits, DefaultMaxCredits),
		MaxMessageSize:             deref(rl.MaxMessageSize, DefaultMaxMessageSize),
		HandshakeTimeout:           DefaultHandshakeTimeout,
		IdleTimeout:                DefaultIdleTimeout,
	}
	for _, n := range []struct {
		key string
		v   *int
	}{
		{"limits.max_connections", rl.MaxConnections},
		{"limits.max_sessions_per_connection", rl.MaxSessionsPerConnection},
		{"limits.max_opens_per_session", rl.MaxOpensPerSession},
		{"limits.max_async_per_connection", rl.MaxAsyncPerConnection},
		{"limits.max_async_bytes_per_connection", rl.MaxAsyncBytesPerConnection},
		{"limits.max_async_bytes", rl.MaxAsyncBytes},
		{"limits.max_processes", rl.MaxProcesses},
		{"limits.max_credits", rl.MaxCredits},
	} {
		if n.v != nil && *n.v <= 0 {
			errs = append(errs, &ConfigError{File: filename, Line: loc.line(n.key), Key: n.key,
				Msg: fmt.Sprintf("%d: want a positive number", *n.v)})
		}
	}
	if v := rl.MaxCredits; v != nil && *v > DefaultMaxCredits {
		errs = append(errs, &ConfigError{File: filename, Line: loc.line("limits.max_credits"), Key: "limits.max_credits",
			Msg: fmt.Sprintf("%d: at most %d", *v, DefaultMaxCredits)})
	}
	for _, d := range []struct {
		key string
		in  *string
		out *time.Duration
	}{
		{"limits.handshake_timeout", rl.HandshakeTimeout, &cfg.Limits.HandshakeTimeout},
		{"limits.idle_timeout", rl.IdleTimeout, &cfg.Limits.IdleTimeout},
	} {
		if d.in == nil {
			continue
		}
		v, err := time.ParseDuration(*d.in)
		if err != nil || v <= 0 {
			errs = append(errs, &ConfigError{File: filename, Line: loc.line(d.key), Key: d.key,
				Msg: fmt.Sprintf("%q: want a positive duration such as \"30s\" or \"15m\"", *d.in)})
			continue
		}
		*d.out = v
	}
	for i, a := range raw.Account {
		acc := Account{Name: a.Name, Password: a.Password, NTHash: a.NTHash, Groups: a.Groups, KerberosPrincipal: a.Kerberos}
		if a.RID != nil {
			if *a.RID <= 0 || *a.RID > 0xFFFFFFFF {
				errs = append(errs, &ConfigError{File: filename, Line: loc.line(fmt.Sprintf("account[%d].rid", i)),
					Key: fmt.Sprintf("account[%d].rid", i), Msg: fmt.Sprintf("%d is not a valid RID (1 to 4294967295)", *a.RID)})
			}
			acc.RID = uint32(*a.RID)
		}
		cfg.Accounts = append(cfg.Accounts, acc)
	}
	for _, p := range raw.Pipe {
		mode := "byte"
		if b, err := ParseBackend(p.Backend); err == nil && b.RPC() {
			mode = "message" // an RPC pipe is a message-mode pipe
		}
		cfg.Pipes = append(cfg.Pipes, Pipe{Name: p.Name, Backend: p.Backend, Mode: deref(p.Mode, mode),
			MaxInstances: deref(p.MaxInstances, 0), SDDL: p.SDDL})
	}
	errs = append(errs, parseKerberos(&raw.Kerberos, cfg, filename, loc)...)
	if _, cerrs := compile(cfg); len(cerrs) > 0 {
		for _, e := range cerrs {
			e.File, e.Line = filename, loc.line(e.Key)
			errs = append(errs, e)
		}
	}
	if unknown != nil {
		// A misspelt key leaves the key meant absent: report the values
		// written in the file, not what their absence causes (a pipe
		// whose "nmae" is unknown has no name).
		errs = slices.DeleteFunc(errs, func(e error) bool {
			var ce *ConfigError
			return errors.As(e, &ce) && !loc.has(ce.Key)
		})
		errs = append([]error{unknown}, errs...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// tomlError turns go-toml's errors into ConfigErrors with lines.
func tomlError(err error, file string) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		var errs []error
		for _, e := range sm.Errors {
			line, _ := e.Position()
			errs = append(errs, &ConfigError{File: file, Line: line, Key: strings.Join(e.Key(), "."), Msg: unknownKeyMsg(e.Key())})
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		return &ConfigError{File: file, Line: line, Key: strings.Join(de.Key(), "."),
			Msg: plainTOMLError(de.Error())}
	}
	return &ConfigError{File: file, Msg: err.Error()}
}

// locator maps key paths ("pipe[1].sddl", "LanmanServer.NullSessionPipes",
// "account[0]") to the line they are written on, lower-cased.
type locator map[string]int

func newLocator(data []byte) locator {
	loc := locator{}
	var p unstable.Parser
	p.Reset(data)
	prefix := ""
	arrays := map[string]int{}
	keyOf := func(n *unstable.Node) string {
		var parts []string
		it := n.Key()
		for it.Next() {
			parts = append(parts, string(it.Node().Data))
		}
		return strings.ToLower(strings.Join(parts, "."))
	}
	// starts holds the offset of each line's first byte, so that a key's
	// line is a binary search (Parser.Shape scans from the start of the
	// file each time: quadratic in the size of a large policy).
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	lineOf := func(n *unstable.Node) int {
		// Key nodes carry the position of the expression.
		it := n.Key()
		if it.Next() && it.Node().Raw.Length > 0 {
			off := int(it.Node().Raw.Offset)
			return sort.Search(len(starts), func(i int) bool { return starts[i] > off })
		}
		return 0
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			prefix = keyOf(e)
			loc.set(prefix, lineOf(e))
		case unstable.ArrayTable:
			k := keyOf(e)
			prefix = fmt.Sprintf("%s[%d]", k, arrays[k])
			arrays[k]++
			loc.set(prefix, lineOf(e))
		case unstable.KeyValue:
			k := keyOf(e)
			if prefix != "" {
				k = prefix + "." + k
			}
			loc.set(k, lineOf(e))
		}
	}
	return loc
}

func (l locator) set(k string, line int) {
	if _, ok := l[k]; !ok && line > 0 {
		l[k] = line
	}
}

// has reports whether key itself (not only its table or array element)
// is written in the file.
func (l locator) has(key string) bool {
	if strings.HasSuffix(key, "]") {
		return false
	}
	_, ok := l[strings.ToLower(key)]
	return ok
}

// line finds the line of key, or of the closest enclosing table.
func (l locator) line(key string) int {
	k := strings.ToLower(key)
	for k != "" {
		if n, ok := l[k]; ok {
			return n
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

// Backend is a parsed pipe backend.
type Backend struct {
	Kind string   // "echo", "rpcecho", "srvsvc", "wkssvc", "lsarpc", "samr", "tcp", "unix" or "exec"
	Addr string   // tcp: HOST:PORT
	Path string   // unix: socket path
	Argv []string // exec: command and arguments (split on white space, no quoting)
}

// RPC reports whether the backend is a built-in DCE/RPC interface served
// by the server itself ("rpcecho", or a Windows service: "srvsvc",
// "wkssvc", "lsarpc", "samr"); its pipe must be message-mode.
func (b Backend) RPC() bool {
	switch b.Kind {
	case "rpcecho", "srvsvc", "wkssvc", "lsarpc", "samr":
		return true
	}
	return false
}

// ParseBackend parses "echo", "rpcecho", "srvsvc", "wkssvc", "lsarpc",
// "samr", "tcp:HOST:PORT", "unix:PATH" or "exec:COMMAND ARGS".
func ParseBackend(s string) (Backend, error) {
	kind, rest, _ := strings.Cut(s, ":")
	switch kind {
	case "echo":
		if s != "echo" {
			return Backend{}, fmt.Errorf("backend %q: echo takes no argument", s)
		}
		return Backend{Kind: "echo"}, nil
	case "rpcecho", "srvsvc", "wkssvc", "lsarpc", "samr":
		if s != kind {
			return Backend{}, fmt.Errorf("backend %q: %s takes no argument", s, kind)
		}
		return Backend{Kind: kind}, nil
	case "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil || host == "" {
			return Backend{}, fmt.Errorf("backend %q: want tcp:HOST:PORT", s)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Backend{}, fmt.Errorf("backend %q: invalid port %q", s, port)
		}
		return Backend{Kind: "tcp", Addr: rest}, nil
	case "unix":
		if rest == "" {
			return Backend{}, fmt.Errorf("backend %q: want unix:PATH", s)
		}
		return Backend{Kind: "unix", Path: rest}, nil
	case "exec":
		argv := strings.Fields(rest)
		if len(argv) == 0 {
			return Backend{}, fmt.Errorf("backend %q: want exec:COMMAND ARGS", s)
		}
		return Backend{Kind: "exec", Argv: argv}, nil
	}
	return Backend{}, fmt.Errorf("unknown backend %q (want echo, rpcecho, srvsvc, wkssvc, lsarpc, samr, tcp:HOST:PORT, unix:PATH or exec:COMMAND ARGS)", s)
}
