package policy

import (
	"errors"

	"github.com/smbpipe/smbpipe/ntstatus"
)

// STUBS: replaced by the real implementation. Signatures are the contract.

// Config mirrors the TOML file (see README). Zero value is not valid; use
// Default or Parse.
type Config struct {
	Listen         string
	ServerName     string
	Domain         string
	AllowAnonymous bool
	Guest          bool
	Signing        string // "enabled" | "required"
	LanmanServer   LanmanServer
	Lsa            Lsa
	Accounts       []Account
	Pipes          []Pipe
}

// LanmanServer is HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters.
type LanmanServer struct {
	RestrictNullSessAccess int
	NullSessionPipes       []string
}

// Lsa is HKLM\SYSTEM\CurrentControlSet\Control\Lsa.
type Lsa struct{ EveryoneIncludesAnonymous int }

// Account is one [[account]].
type Account struct {
	Name     string
	Password string
	NTHash   string
	Groups   []string
}

// Pipe is one [[pipe]].
type Pipe struct {
	Name         string
	Backend      string
	Mode         string // "message" | "byte"
	MaxInstances int
	SDDL         string
}

// Default returns the embedded default configuration.
func Default() *Config { return nil }

// Parse parses and validates a TOML config; errors name file, line and key.
func Parse(data []byte, filename string) (*Config, error) { return nil, errors.New("stub") }

// Load reads and parses a file.
func Load(path string) (*Config, error) { return nil, errors.New("stub") }

// Snapshot is an immutable compiled policy.
type Snapshot struct{ cfg *Config }

// Compile validates a config whole and builds a snapshot.
func Compile(cfg *Config) (*Snapshot, error) { return &Snapshot{cfg: cfg}, nil }

// Config returns the snapshot's config (read-only).
func (s *Snapshot) Config() *Config { return s.cfg }

// LookupAccount finds an account case-insensitively and returns its NT hash.
func (s *Snapshot) LookupAccount(name string) (ntHash [16]byte, canonical string, ok bool) {
	return [16]byte{}, "", false
}

// Decide decides a pipe open. Pure.
func (s *Snapshot) Decide(r Request) Decision {
	return Decision{Status: ntstatus.AccessDenied, Rule: "stub"}
}

// SIDs returns the string SIDs of the token of id (for the pipe server's
// view of its caller and SMBPIPE_SIDS).
func (s *Snapshot) SIDs(id Identity) []string { return nil }
