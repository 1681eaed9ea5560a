package svc

import (
	"slices"
	"strconv"
	"strings"

	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/security"
)

// SID_NAME_USE values (MS-LSAT 2.2.13).
const (
	SidTypeUser           uint16 = 1
	SidTypeGroup          uint16 = 2
	SidTypeDomain         uint16 = 3
	SidTypeAlias          uint16 = 4
	SidTypeWellKnownGroup uint16 = 5
	SidTypeUnknown        uint16 = 8
)

// An Entry is a name the server can translate: an account or group of its
// account domain (named after the server, with the machine SID), an alias
// of the BUILTIN domain, a well-known SID, or a domain.
type Entry struct {
	Domain    string       // "SMBPIPE", "BUILTIN", "NT AUTHORITY", "" (Everyone)
	DomainSID security.SID // the SID without its RID (the SID itself for a domain)
	Name      string
	SID       security.SID
	Use       uint16
	// Admin is set on accounts in BUILTIN\Administrators.
	Admin bool
	// Comment is an account's or alias's description.
	Comment string
}

// RID is the entry's relative ID (0 for a domain).
func (e Entry) RID() uint32 {
	if e.Use == SidTypeDomain {
		return 0
	}
	return e.SID.RID()
}

// BuiltinSID is S-1-5-32, the BUILTIN domain.
func BuiltinSID() security.SID {
	s, _ := security.NewSID(5, 32)
	return s
}

// builtinAliases are the BUILTIN aliases smbpipe translates and lists.
var builtinAliases = []struct {
	rid           uint32
	name, comment string
}{
	{544, "Administrators", "Administrators have complete and unrestricted access to the computer/domain"},
	{545, "Users", "Users are prevented from making accidental or intentional system-wide changes and can run most applications"},
	{546, "Guests", "Guests have the same access as members of the Users group by default, except for the Guest account which is further restricted"},
	{547, "Power Users", "Power Users are included for backwards compatibility and possess limited administrative powers"},
	{549, "Server Operators", "Members can administer domain servers"},
	{551, "Backup Operators", "Backup Operators can override security restrictions for the sole purpose of backing up or restoring files"},
	{555, "Remote Desktop Users", "Members in this group are granted the right to logon remotely"},
}

// wellKnown are the well-known SIDs translated, with their domains.
var wellKnown = []struct {
	domain string
	sid    func() security.SID
}{
	{"", security.Everyone},
	{"", security.CreatorOwner},
	{"", security.CreatorGroup},
	{"NT AUTHORITY", security.Network},
	{"NT AUTHORITY", security.Interactive},
	{"NT AUTHORITY", security.Service},
	{"NT AUTHORITY", security.AnonymousLogon},
	{"NT AUTHORITY", security.AuthenticatedUsers},
	{"NT AUTHORITY", security.ThisOrganization},
	{"NT AUTHORITY", security.LocalSystem},
	{"NT AUTHORITY", security.LocalService},
	{"NT AUTHORITY", security.NetworkService},
	{"NT AUTHORITY", security.NTLMAuthentication},
}

func parent(s security.SID) security.SID {
	subs := s.SubAuthorities()
	if len(subs) == 0 {
		return s
	}
	p, _ := security.NewSID(s.Authority(), subs[:len(subs)-1]...)
	return p
}

// Accounts lists the users of the account domain, by RID: Administrator
// (500), Guest (501) and the configured accounts.
func Accounts(snap *policy.Snapshot) []Entry {
	cfg := snap.Config()
	dom := cfg.ServerName
	m := snap.MachineSID()
	adm, _ := m.WithRID(security.RIDAdministrator)
	gst, _ := m.WithRID(security.RIDGuest)
	out := []Entry{
		{Domain: dom, DomainSID: m, Name: "Administrator", SID: adm, Use: SidTypeUser, Admin: true,
			Comment: "Built-in account for administering the computer/domain"},
		{Domain: dom, DomainSID: m, Name: "Guest", SID: gst, Use: SidTypeUser,
			Comment: "Built-in account for guest access to the computer/domain"},
	}
	for _, a := range cfg.Accounts {
		sid, name, ok := snap.LookupSID(a.Name)
		if !ok {
			continue
		}
		tok, _ := snap.Token(policy.Identity{Kind: policy.User, User: name})
		out = append(out, Entry{Domain: dom, DomainSID: m, Name: name, SID: sid, Use: SidTypeUser,
			Admin: tok.Contains(security.BuiltinAdministrators())})
	}
	slices.SortFunc(out, func(a, b Entry) int { return int(a.RID()) - int(b.RID()) })
	return out
}

// Groups lists the groups of the account domain: None (513), every
// account's primary group on a server that is not a domain controller.
func Groups(snap *policy.Snapshot) []Entry {
	m := snap.MachineSID()
	none, _ := m.WithRID(security.RIDDomainUsers)
	return []Entry{{Domain: snap.Config().ServerName, DomainSID: m, Name: "None", SID: none, Use: SidTypeGroup,
		Comment: "Ordinary users"}}
}

// Aliases lists the BUILTIN aliases.
func Aliases() []Entry {
	b := BuiltinSID()
	out := make([]Entry, 0, len(builtinAliases))
	for _, a := range builtinAliases {
		sid, _ := b.WithRID(a.rid)
		out = append(out, Entry{Domain: "BUILTIN", DomainSID: b, Name: a.name, SID: sid, Use: SidTypeAlias, Comment: a.comment})
	}
	return out
}

// AliasMembers lists the members of a BUILTIN alias: the accounts whose
// tokens hold it (Administrators also holds Administrator; Guests holds
// Guest).
func AliasMembers(snap *policy.Snapshot, alias security.SID) []security.SID {
	var out []security.SID
	for _, a := range Accounts(snap) {
		switch a.RID() {
		case security.RIDAdministrator:
			if alias == security.BuiltinAdministrators() {
				out = append(out, a.SID)
			}
			continue
		case security.RIDGuest:
			if alias == security.BuiltinGuests() {
				out = append(out, a.SID)
			}
			continue
		}
		if tok, ok := snap.Token(policy.Identity{Kind: policy.User, User: a.Name}); ok && tok.Contains(alias) {
			out = append(out, a.SID)
		}
	}
	return out
}

// Domains are the two domains of a server that is not a domain controller:
// its account domain (server name, machine SID) and BUILTIN.
func Domains(snap *policy.Snapshot) []Entry {
	m := snap.MachineSID()
	return []Entry{
		{Domain: snap.Config().ServerName, DomainSID: m, Name: snap.Config().ServerName, SID: m, Use: SidTypeDomain},
		{Domain: "BUILTIN", DomainSID: BuiltinSID(), Name: "BUILTIN", SID: BuiltinSID(), Use: SidTypeDomain},
	}
}

// all lists every entry translated.
func all(snap *policy.Snapshot) []Entry {
	out := Domains(snap)
	out = append(out, Accounts(snap)...)
	out = append(out, Groups(snap)...)
	out = append(out, Aliases()...)
	for _, w := range wellKnown {
		s := w.sid()
		n := s.Name()
		if w.domain != "" {
			n = strings.TrimPrefix(n, w.domain+`\`)
		}
		out = append(out, Entry{Domain: w.domain, DomainSID: parent(s), Name: n, SID: s, Use: SidTypeWellKnownGroup})
	}
	return out
}

// LookupSID translates a SID. For a SID of a known domain whose RID names
// nothing, ok is false and e still carries the domain (Domain, DomainSID),
// with Name the RID in decimal, as Windows answers.
func LookupSID(snap *policy.Snapshot, s security.SID) (e Entry, ok bool) {
	for _, x := range all(snap) {
		if x.SID == s {
			return x, true
		}
	}
	p := parent(s)
	for _, d := range Domains(snap) {
		if d.SID == p {
			return Entry{Domain: d.Name, DomainSID: p, Name: strconv.FormatUint(uint64(s.RID()), 10), SID: s, Use: SidTypeUnknown}, false
		}
	}
	return Entry{SID: s, Name: s.String(), Use: SidTypeUnknown}, false
}

// LookupName translates a name: "name" (searched in every domain, the
// account domain first) or "DOMAIN\name", case-insensitively; a domain's
// own name, and "DOMAIN\", translate to the domain, an empty name to
// BUILTIN.
func LookupName(snap *policy.Snapshot, name string) (Entry, bool) {
	dom, n, qualified := strings.Cut(name, `\`)
	if !qualified {
		n, dom = dom, ""
	}
	switch {
	case qualified && n == "":
		// "DOMAIN\": the domain itself, as Windows and Samba translate it.
		for _, x := range Domains(snap) {
			if strings.EqualFold(x.Name, dom) {
				return x, true
			}
		}
		return Entry{Name: name, Use: SidTypeUnknown}, false
	case name == "":
		// An empty name: the BUILTIN domain, as Windows Server 2003 and
		// later answer it (smbtorture rpc.lsa.lookupnames).
		for _, x := range Domains(snap) {
			if x.SID == BuiltinSID() {
				return x, true
			}
		}
	}
	for _, x := range all(snap) {
		if qualified && !strings.EqualFold(x.Domain, dom) {
			continue
		}
		if strings.EqualFold(x.Name, n) {
			return x, true
		}
	}
	return Entry{Name: name, Use: SidTypeUnknown}, false
}
