package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/md4"

	"github.com/smbpipe/smbpipe/internal/ntname"
	"github.com/smbpipe/smbpipe/internal/utf16le"
	"github.com/smbpipe/smbpipe/security"
)

// DefaultPipeSDDL is Windows' default named-pipe security descriptor
// (RtlDefaultNpAcl), used for a pipe without sddl: full control for
// LocalSystem, Administrators and the owner (LocalSystem: the server), read
// (0x120089) for Everyone and ANONYMOUS LOGON.
const DefaultPipeSDDL = "O:SYG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;WD)(A;;FR;;;AN)"

// Snapshot is an immutable compiled policy. It is safe for concurrent use;
// reload builds a new one. (Its one mutable part, a cache of the parsed
// descriptors of SDDL texts the config does not hold, has its own lock.)
type Snapshot struct {
	cfg        *Config
	machine    security.SID
	ctx        *security.SDDLContext
	accounts   map[string]*account                     // lower-cased name
	pipes      map[string]*compiledPipe                // ntname.Upcase(name)
	sds        map[string]*security.SecurityDescriptor // by SDDL text
	defaultSD  *security.SecurityDescriptor
	nullPipes  map[string]bool // normalised, ntname.Upcase
	anonToken  *security.Token
	guestToken *security.Token

	// The RPC services' descriptors (DecideRPC): Lsa RestrictRemoteSAM
	// (nil: no restriction), the LSA policy object's, the SAM server's.
	remoteSAM   *security.SecurityDescriptor
	lsaPolicySD *security.SecurityDescriptor
	samServerSD *security.SecurityDescriptor

	// more caches Descriptor's parses of SDDL texts the config does not
	// hold (a Go pipe's PipeMeta.SDDL): a map written once per text, under
	// moreMu, by copying it; read without a lock, so that a decision on
	// any connection costs a map lookup. At most maxMoreSDs texts.
	moreMu sync.Mutex
	more   atomic.Pointer[map[string]*security.SecurityDescriptor]

	// revision is the store revision the policy was read at (etcd's
	// ModRevision of the key); 0 for a file or a Config built in Go. Set
	// by CompileSource before the snapshot is shared.
	revision int64
}

// Revision is the revision of the policy store this snapshot was read
// at (etcd: the key's ModRevision, which `smbpipe policy push` prints);
// 0 when the policy came from a file or from Go.
func (s *Snapshot) Revision() int64 { return s.revision }

// maxMoreSDs bounds the descriptors Descriptor caches beyond the config's;
// past it, a text is parsed on every call.
const maxMoreSDs = 256

type account struct {
	name  string
	hash  [16]byte
	sid   security.SID
	token *security.Token
}

type compiledPipe struct {
	cfg     Pipe
	index   int // in Config.Pipes
	backend Backend
	sd      *security.SecurityDescriptor
}

// Compile validates a config whole and builds a snapshot. cfg is copied;
// the caller may reuse it. Errors are *ConfigError values joined with
// errors.Join (without file and line: Parse adds those).
func Compile(cfg *Config) (*Snapshot, error) {
	if cfg == nil {
		return nil, &ConfigError{Msg: "policy: nil config"}
	}
	s, errs := compile(cfg)
	if len(errs) > 0 {
		return nil, joinConfigErrors(errs)
	}
	return s, nil
}

func joinConfigErrors(errs []*ConfigError) error {
	if len(errs) == 1 {
		return errs[0]
	}
	es := make([]error, len(errs))
	for i, e := range errs {
		es[i] = e
	}
	return errors.Join(es...)
}

func compile(in *Config) (*Snapshot, []*ConfigError) {
	cfg := in.Clone()
	var errs []*ConfigError
	bad := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	s := &Snapshot{cfg: cfg, accounts: map[string]*account{}, pipes: map[string]*compiledPipe{},
		sds: map[string]*security.SecurityDescriptor{}, nullPipes: map[string]bool{}}

	if _, port, err := net.SplitHostPort(cfg.Listen); err != nil || port == "" {
		bad("listen", "%q is not HOST:PORT", cfg.Listen)
	}
	if cfg.ServerName == "" {
		bad("server_name", "must not be empty")
	}
	switch strings.ToLower(cfg.Signing) {
	case "enabled", "required":
		cfg.Signing = strings.ToLower(cfg.Signing)
	default:
		bad("signing", "%q: want \"enabled\" or \"required\"", cfg.Signing)
	}
	switch strings.ToLower(cfg.Encryption) {
	case "":
		cfg.Encryption = "enabled"
	case "off", "enabled", "required":
		cfg.Encryption = strings.ToLower(cfg.Encryption)
	default:
		bad("encryption", "%q: want \"off\", \"enabled\" or \"required\"", cfg.Encryption)
	}
	if cfg.EncryptionCiphers == nil {
		cfg.EncryptionCiphers = slices.Clone(DefaultCiphers)
	} else if len(cfg.EncryptionCiphers) == 0 {
		bad("encryption_ciphers", "empty: name at least one of %s (or set encryption = \"off\")", strings.Join(DefaultCiphers, ", "))
	}
	for i, c := range cfg.EncryptionCiphers {
		j := slices.IndexFunc(DefaultCiphers, func(d string) bool { return strings.EqualFold(c, d) })
		switch {
		case j < 0:
			bad("encryption_ciphers", "%q: want one of %s", c, strings.Join(DefaultCiphers, ", "))
		case slices.Contains(cfg.EncryptionCiphers[:i], DefaultCiphers[j]):
			bad("encryption_ciphers", "%q is listed twice", c)
		default:
			cfg.EncryptionCiphers[i] = DefaultCiphers[j]
		}
	}
	if v := cfg.LanmanServer.RestrictNullSessAccess; v != 0 && v != 1 {
		bad("LanmanServer.RestrictNullSessAccess", "%d: want 0 or 1", v)
	}
	for _, l := range []struct {
		key string
		v   int64
	}{
		{"limits.max_connections", int64(cfg.Limits.MaxConnections)},
		{"limits.max_sessions_per_connection", int64(cfg.Limits.MaxSessionsPerConnection)},
		{"limits.max_opens_per_session", int64(cfg.Limits.MaxOpensPerSession)},
		{"limits.max_async_per_connection", int64(cfg.Limits.MaxAsyncPerConnection)},
		{"limits.max_async_bytes_per_connection", int64(cfg.Limits.MaxAsyncBytesPerConnection)},
		{"limits.max_async_bytes", int64(cfg.Limits.MaxAsyncBytes)},
		{"limits.max_processes", int64(cfg.Limits.MaxProcesses)},
		{"limits.max_credits", int64(cfg.Limits.MaxCredits)},
		{"limits.max_message_size", int64(cfg.Limits.MaxMessageSize)},
		{"limits.handshake_timeout", int64(cfg.Limits.HandshakeTimeout)},
		{"limits.idle_timeout", int64(cfg.Limits.IdleTimeout)},
	} {
		if l.v < 0 {
			bad(l.key, "%d: must not be negative", l.v)
		}
	}
	if v := cfg.Limits.MaxCredits; v > DefaultMaxCredits {
		bad("limits.max_credits", "%d: at most %d", v, DefaultMaxCredits)
	}
	if v := cfg.Limits.MaxMessageSize; v != 0 && (v < MinMaxMessageSize || v > 1<<30) {
		bad("limits.max_message_size", "%d: want %d to %d bytes", v, MinMaxMessageSize, 1<<30)
	}
	if v := cfg.Lsa.EveryoneIncludesAnonymous; v != 0 && v != 1 {
		bad("Lsa.EveryoneIncludesAnonymous", "%d: want 0 or 1", v)
	}

	for _, v := range []struct {
		key      string
		v, limit int
	}{
		{"Lsa.RestrictAnonymous", cfg.Lsa.RestrictAnonymous, 2},
		{"Lsa.RestrictAnonymousSAM", cfg.Lsa.RestrictAnonymousSAM, 1},
		{"Lsa.TurnOffAnonymousBlock", cfg.Lsa.TurnOffAnonymousBlock, 1},
	} {
		if v.v < 0 || v.v > v.limit {
			bad(v.key, "%d: want 0 to %d", v.v, v.limit)
		}
	}

	if cfg.MachineSID != "" {
		m, err := security.ParseSID(cfg.MachineSID)
		if err != nil || m.Authority() != 5 || len(m.SubAuthorities()) != 4 || m.SubAuthorities()[0] != 21 {
			bad("machine_sid", "%q: want S-1-5-21-A-B-C", cfg.MachineSID)
		}
		s.machine = m
	} else {
		s.machine = deriveMachineSID(cfg.ServerName)
	}
	s.ctx = &security.SDDLContext{Machine: s.machine, Domain: s.machine}
	guest, _ := s.machine.WithRID(security.RIDGuest)
	s.guestToken = &security.Token{User: guest, Groups: []security.SID{security.Everyone(), security.BuiltinGuests(), security.Network()}}
	s.anonToken = &security.Token{User: security.AnonymousLogon(), Groups: []security.SID{security.Network()}}
	if cfg.Lsa.EveryoneIncludesAnonymous == 1 {
		s.anonToken.Groups = append(s.anonToken.Groups, security.Everyone())
	}

	for i, n := range cfg.LanmanServer.NullSessionPipes {
		k := normaliseNullSessionPipe(n)
		if k == "" {
			bad(fmt.Sprintf("LanmanServer.NullSessionPipes[%d]", i), "empty pipe name %q", n)
			continue
		}
		s.nullPipes[k] = true
	}

	rids := map[uint32]string{}
	for i, a := range cfg.Accounts {
		key := fmt.Sprintf("account[%d]", i)
		if a.Name == "" || strings.ContainsAny(a.Name, `\/@"[]:;|=,+*?<>`) {
			bad(key+".name", "invalid account name %q", a.Name)
			continue
		}
		if reservedAccountName(a.Name) {
			bad(key+".name", "%q names a built-in principal (anonymous, guest or a BUILTIN group such as Administrators); choose another account name", a.Name)
			continue
		}
		low := strings.ToLower(a.Name)
		if _, dup := s.accounts[low]; dup {
			bad(key+".name", "duplicate account %q", a.Name)
			continue
		}
		acc := &account{name: a.Name}
		switch {
		case a.Password != "" && a.NTHash != "":
			bad(key, "set password or nt_hash, not both")
		case a.NTHash != "":
			h, err := hex.DecodeString(a.NTHash)
			if err != nil || len(h) != 16 {
				bad(key+".nt_hash", "want 32 hex digits")
			}
			copy(acc.hash[:], h)
		case a.Password != "":
			acc.hash = ntHash(a.Password)
		default:
			bad(key, "account %q has neither password nor nt_hash", a.Name)
		}
		rid, ridKey := a.RID, key+".rid"
		if rid == 0 {
			rid, ridKey = deriveRID(a.Name), key+".name"
		}
		if other, dup := rids[rid]; dup {
			bad(ridKey, "RID %d of %q is also %q's; set rid explicitly", rid, a.Name, other)
		}
		if rid == security.RIDAdministrator || rid == security.RIDGuest {
			bad(ridKey, "RID %d is reserved", rid)
		}
		rids[rid] = a.Name
		acc.sid, _ = s.machine.WithRID(rid)
		groups := []security.SID{security.Everyone(), security.BuiltinUsers(), security.Network(),
			security.AuthenticatedUsers(), security.ThisOrganization(), security.NTLMAuthentication()}
		for j, g := range a.Groups {
			gs, err := groupSID(g, s.ctx)
			if err != nil {
				bad(fmt.Sprintf("%s.groups[%d]", key, j), "%v", err)
				continue
			}
			if !containsSID(groups, gs) {
				groups = append(groups, gs)
			}
		}
		acc.token = &security.Token{User: acc.sid, Groups: groups}
		s.accounts[low] = acc
	}

	if t := cfg.Lsa.RestrictRemoteSAM; t != "" {
		if sd, err := security.ParseSDDL(t, s.ctx); err != nil {
			bad("Lsa.RestrictRemoteSAM", "%s", sddlDetail(err))
		} else {
			s.remoteSAM = sd.MapGeneric(SAMServerMapping())
		}
	}
	for _, o := range []struct {
		text string
		m    security.GenericMapping
		dst  **security.SecurityDescriptor
	}{{lsaPolicySDDL, LSAPolicyMapping(), &s.lsaPolicySD}, {samServerSDDL, SAMServerMapping(), &s.samServerSD}} {
		sd, err := security.ParseSDDL(o.text, s.ctx)
		if err != nil {
			bad("", "built-in descriptor %s: %v", o.text, err)
			continue
		}
		*o.dst = sd.MapGeneric(o.m)
	}
	// The services' pipes, after the [[pipe]] entries: a [[pipe]] of the
	// same name replaces a service's pipe.
	for i, svc := range cfg.Services {
		names := ServicePipes(svc)
		if names == nil {
			bad(fmt.Sprintf("services[%d]", i), "unknown service %q (want srvsvc, wkssvc, lsarpc or samr)", svc)
			continue
		}
	next:
		for _, n := range names {
			for _, p := range cfg.Pipes {
				if ntname.Equal(p.Name, n) {
					continue next
				}
			}
			cfg.Pipes = append(cfg.Pipes, Pipe{Name: n, Backend: strings.ToLower(svc), Mode: "message", SDDL: ServicePipeSDDL})
		}
	}

	def, err := security.ParseSDDL(DefaultPipeSDDL, s.ctx)
	if err != nil {
		bad("", "default pipe SDDL: %v", err)
	} else {
		s.defaultSD = def.MapGeneric(security.FileMapping())
	}
	for i, p := range cfg.Pipes {
		key := fmt.Sprintf("pipe[%d]", i)
		if err := validPipeName(p.Name); err != nil {
			bad(key+".name", "%v", err)
			continue
		}
		up := ntname.Upcase(p.Name)
		if first, dup := s.pipes[up]; dup {
			bad(key+".name", "duplicate pipe %q: the same name as pipe[%d] %q (Windows compares pipe names upcased: %q)",
				p.Name, first.index, first.cfg.Name, up)
			continue
		}
		cp := &compiledPipe{cfg: p, index: i}
		if cp.backend, err = ParseBackend(p.Backend); err != nil {
			bad(key+".backend", "%v", err)
		}
		switch strings.ToLower(p.Mode) {
		case "message", "byte":
			cp.cfg.Mode = strings.ToLower(p.Mode)
			cfg.Pipes[i].Mode = cp.cfg.Mode
		default:
			bad(key+".mode", "%q: want \"message\" or \"byte\"", p.Mode)
		}
		if cp.backend.RPC() && cp.cfg.Mode == "byte" {
			bad(key+".mode", "backend %q serves DCE/RPC: the pipe must be \"message\" mode", p.Backend)
		}
		if p.MaxInstances < 0 {
			bad(key+".max_instances", "%d: want 0 (unlimited) or more", p.MaxInstances)
		}
		if p.SDDL == "" {
			cp.sd = s.defaultSD
		} else if sd, err := s.storeSDDL(p.SDDL); err != nil {
			bad(key+".sddl", "%s", sddlDetail(err))
		} else {
			cp.sd = sd
			s.sds[p.SDDL] = sd
		}
		s.pipes[up] = cp
	}
	return s, errs
}

// storeSDDL parses an SDDL as Windows stores a descriptor: generic bits
// mapped, owner and group defaulted to LocalSystem when absent.
func (s *Snapshot) storeSDDL(text string) (*security.SecurityDescriptor, error) {
	sd, err := security.ParseSDDL(text, s.ctx)
	if err != nil {
		return nil, err
	}
	sd = sd.MapGeneric(security.FileMapping())
	sy := security.LocalSystem()
	if sd.Owner == nil {
		o := sy
		sd.Owner = &o
	}
	if sd.Group == nil {
		g := sy
		sd.Group = &g
	}
	return sd, nil
}

func sddlDetail(err error) string {
	if se, ok := err.(*security.SDDLError); ok {
		return se.Detail()
	}
	return err.Error()
}

func containsSID(l []security.SID, s security.SID) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// normaliseNullSessionPipe brings a NullSessionPipes entry to the form
// compared with pipe names: leading backslashes and one "pipe\" prefix
// removed, upcased as Windows compares names (ntname).
func normaliseNullSessionPipe(n string) string {
	n = strings.TrimLeft(strings.TrimSpace(n), `\`)
	if len(n) > 5 && strings.EqualFold(n[:5], `pipe\`) {
		n = n[5:]
	}
	return ntname.Upcase(n)
}

func validPipeName(n string) error {
	switch {
	case n == "":
		return fmt.Errorf("empty pipe name")
	case len(n) > 256:
		return fmt.Errorf("pipe name longer than 256 characters")
	case strings.HasPrefix(n, `\`) || (len(n) > 5 && strings.EqualFold(n[:5], `pipe\`)):
		return fmt.Errorf("pipe name %q: write it without a leading backslash or \\pipe\\ prefix", n)
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("pipe name %q contains a control character", n)
		}
	}
	return nil
}

// groupSID resolves a group given in an account: a BUILTIN group name
// (with or without "BUILTIN\"), an SDDL alias or a SID.
func groupSID(g string, ctx *security.SDDLContext) (security.SID, error) {
	name := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(g, `BUILTIN\`), `builtin\`))
	if rid, ok := builtinGroupRID(name); ok {
		return security.NewSID(5, 32, rid)
	}
	if s, err := security.ParseSIDToken(g, ctx); err == nil {
		return s, nil
	}
	return security.SID{}, fmt.Errorf("unknown group %q (want a BUILTIN group name such as Administrators, an SDDL alias such as BA, or a SID)", g)
}

// builtinGroupRID is the RID of a BUILTIN group by its lower-case name.
func builtinGroupRID(name string) (uint32, bool) {
	switch name {
	case "administrators":
		return 544, true
	case "users":
		return 545, true
	case "guests":
		return 546, true
	case "power users":
		return 547, true
	case "account operators":
		return 548, true
	case "server operators":
		return 549, true
	case "print operators":
		return 550, true
	case "backup operators":
		return 551, true
	case "replicator":
		return 552, true
	case "pre-windows 2000 compatible access":
		return 554, true
	case "remote desktop users":
		return 555, true
	case "network configuration operators":
		return 556, true
	}
	return 0, false
}

// reservedAccountName reports whether an account of this name would be
// taken for another principal: explain, sid and the access matrix read
// "anonymous" and "guest" as the null session and the guest logon, and
// the matrix has an Administrators column; Windows too refuses a user
// named as a local group.
func reservedAccountName(name string) bool {
	low := strings.ToLower(name)
	if low == "anonymous" || low == "guest" {
		return true
	}
	_, ok := builtinGroupRID(strings.TrimPrefix(low, `builtin\`))
	return ok
}

// deriveMachineSID derives S-1-5-21-A-B-C from the server name, so the
// same name gives the same SIDs on every start.
func deriveMachineSID(serverName string) security.SID {
	h := sha256.Sum256([]byte("smbpipe machine sid\x00" + strings.ToUpper(serverName)))
	s, _ := security.NewSID(5, 21, binary.LittleEndian.Uint32(h[0:]), binary.LittleEndian.Uint32(h[4:]), binary.LittleEndian.Uint32(h[8:]))
	return s
}

// deriveRID derives an account RID from its name: 1000 + a hash, below
// 2^30.
func deriveRID(name string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(name)))
	return 1000 + h.Sum32()%(1<<30-1000)
}

func ntHash(password string) [16]byte {
	h := md4.New()
	h.Write(utf16le.Append(nil, password))
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Config returns the snapshot's config (read-only: callers must not modify
// it).
func (s *Snapshot) Config() *Config { return s.cfg }

// MachineSID is the machine SID accounts are relative to (machine_sid, or
// derived from server_name when absent).
func (s *Snapshot) MachineSID() security.SID { return s.machine }

// SDDLContext is the context the snapshot parses SDDL with (LA/LG relative
// to the machine SID).
func (s *Snapshot) SDDLContext() *security.SDDLContext { return s.ctx }

// LookupAccount finds an account case-insensitively and returns its NT hash.
func (s *Snapshot) LookupAccount(name string) (ntHash [16]byte, canonical string, ok bool) {
	a, ok := s.account(name)
	if !ok {
		return [16]byte{}, "", false
	}
	return a.hash, a.name, true
}

// Token returns the token of id: anonymous {S-1-5-7, S-1-5-2, plus S-1-1-0
// when EveryoneIncludesAnonymous = 1}; guest {machine-501, S-1-1-0,
// S-1-5-32-546, S-1-5-2}; a configured user {user SID, S-1-1-0,
// S-1-5-32-545, S-1-5-2, S-1-5-11, S-1-5-15, S-1-5-64-10, plus its groups}.
// ok is false for a User identity that names no account.
func (s *Snapshot) Token(id Identity) (tok *security.Token, ok bool) {
	if id.Token != nil {
		return id.Token, true
	}
	switch id.Kind {
	case Anonymous:
		return s.anonToken, true
	case Guest:
		return s.guestToken, true
	case User:
		if a, ok := s.account(id.User); ok {
			return a.token, true
		}
	}
	return nil, false
}

// account finds an account by name, case-insensitively, without
// allocating for an ASCII name.
func (s *Snapshot) account(name string) (*account, bool) {
	var buf keyBuf
	if key, ok := appendLower(buf[:0], name); ok {
		a, found := s.accounts[string(key)]
		return a, found
	}
	a, found := s.accounts[strings.ToLower(name)]
	return a, found
}

// SIDs returns the string SIDs of the token of id (for the pipe server's
// view of its caller and SMBPIPE_SIDS); nil for an unknown user.
func (s *Snapshot) SIDs(id Identity) []string {
	tok, ok := s.Token(id)
	if !ok {
		return nil
	}
	var out []string
	for _, x := range tok.SIDs() {
		out = append(out, x.String())
	}
	return out
}

// Descriptor returns the stored security descriptor for a pipe's SDDL (""
// is the default named-pipe descriptor), as QUERY_INFO returns it: generic
// rights mapped, owner and group LocalSystem when the SDDL names none. The
// descriptor is shared and must not be modified. Each text is parsed once
// (the config's at Compile, others at their first use), so that a
// decision does not allocate; Descriptor is safe for concurrent use.
func (s *Snapshot) Descriptor(sddl string) (*security.SecurityDescriptor, error) {
	if sddl == "" {
		return s.defaultSD, nil
	}
	if sd, ok := s.sds[sddl]; ok {
		return sd, nil
	}
	if m := s.more.Load(); m != nil {
		if sd, ok := (*m)[sddl]; ok {
			return sd, nil
		}
	}
	sd, err := s.storeSDDL(sddl)
	if err != nil {
		return nil, err
	}
	s.moreMu.Lock()
	defer s.moreMu.Unlock()
	var old map[string]*security.SecurityDescriptor
	if p := s.more.Load(); p != nil {
		old = *p
	}
	if prev, ok := old[sddl]; ok {
		return prev, nil // parsed meanwhile for another connection
	}
	if len(old) < maxMoreSDs {
		m := make(map[string]*security.SecurityDescriptor, len(old)+1)
		maps.Copy(m, old)
		m[sddl] = sd
		s.more.Store(&m)
	}
	return sd, nil
}

// Backend returns the parsed backend of the configured pipe name (compared
// as Windows compares names, see ntname).
func (s *Snapshot) Backend(name string) (Backend, bool) {
	p, ok := s.pipes[ntname.Upcase(name)]
	if !ok {
		return Backend{}, false
	}
	return p.backend, true
}

// NullSessionPipe reports whether name is listed in NullSessionPipes: the
// whole name, compared as Windows compares names (each UTF-16 code unit
// upcased through the NT table, see ntname); entries are normalised.
func (s *Snapshot) NullSessionPipe(name string) bool {
	var buf keyBuf
	return s.nullPipes[string(ntname.AppendUpcase(buf[:0], name))]
}

// LookupSID resolves a name to a SID the way an administrator writes it in
// this server's terms: an account (case-insensitive; canonical is its
// configured name), "guest" or "Guest" (machine-501), "Administrator"
// (machine-500), "anonymous" (S-1-5-7), "machine" (the machine SID), a
// BUILTIN group ("Administrators", `BUILTIN\Users`), an SDDL alias ("AU")
// or a literal S-1-… string. ok is false for anything else.
func (s *Snapshot) LookupSID(name string) (sid security.SID, canonical string, ok bool) {
	if a, found := s.accounts[strings.ToLower(name)]; found {
		return a.sid, a.name, true
	}
	switch strings.ToLower(name) {
	case "guest":
		g, _ := s.machine.WithRID(security.RIDGuest)
		return g, "Guest", true
	case "administrator":
		a, _ := s.machine.WithRID(security.RIDAdministrator)
		return a, "Administrator", true
	case "anonymous":
		return security.AnonymousLogon(), "ANONYMOUS LOGON", true
	case "machine":
		return s.machine, "machine", true
	}
	if g, err := groupSID(name, s.ctx); err == nil {
		return g, s.sidName(g), true
	}
	return security.SID{}, "", false
}

// SIDName names a SID for people: a well-known name, an account of this
// server, Administrator or Guest of its machine SID, else the SID string.
func (s *Snapshot) SIDName(x security.SID) string { return s.sidName(x) }
