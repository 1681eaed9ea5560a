package security

import (
	"fmt"
	"strconv"
	"strings"
)

// SDDLContext supplies the SIDs that machine- and domain-relative SDDL
// aliases need: LA and LG (RID 500 and 501) are relative to Machine; DA,
// DU, DG and DC (512 to 515) to Domain. A zero SID makes those aliases an
// error when parsing and never used when formatting. A nil *SDDLContext is
// the zero context.
type SDDLContext struct {
	Machine SID
	Domain  SID
}

// SDDLError is a syntax or semantic error in an SDDL string. ACE is the
// 1-based position of the offending ACE in its ACL (0 when the error is not
// inside an ACE) and ACEText its text including parentheses.
type SDDLError struct {
	ACE     int
	ACEText string
	Msg     string
}

// Detail is the error without the package prefix, e.g.
// `ACE 2 (A;;XX;;;WD): unknown right "XX"`.
func (e *SDDLError) Detail() string {
	if e.ACE > 0 {
		return fmt.Sprintf("ACE %d %s: %s", e.ACE, e.ACEText, e.Msg)
	}
	return e.Msg
}

func (e *SDDLError) Error() string { return "security: sddl: " + e.Detail() }

// sidAlias maps a two-letter SDDL SID alias to its SID. ok is false for an
// unknown alias; err is set when the alias needs a context SID we lack.
func sidAlias(a string, ctx *SDDLContext) (s SID, ok bool, err error) {
	rel := func(base SID, what string, rid uint32) (SID, bool, error) {
		if base.IsZero() {
			return SID{}, true, fmt.Errorf("SID alias %q needs a %s SID", a, what)
		}
		s, err := base.WithRID(rid)
		return s, true, err
	}
	var c SDDLContext
	if ctx != nil {
		c = *ctx
	}
	switch a {
	case "WD":
		return Everyone(), true, nil
	case "AN":
		return AnonymousLogon(), true, nil
	case "AU":
		return AuthenticatedUsers(), true, nil
	case "NU":
		return Network(), true, nil
	case "IU":
		return Interactive(), true, nil
	case "SU":
		return Service(), true, nil
	case "SY":
		return LocalSystem(), true, nil
	case "BA":
		return BuiltinAdministrators(), true, nil
	case "BU":
		return BuiltinUsers(), true, nil
	case "BG":
		return BuiltinGuests(), true, nil
	case "PU":
		return PowerUsers(), true, nil
	case "RU":
		return PreWindows2000(), true, nil
	case "LS":
		return LocalService(), true, nil
	case "NS":
		return NetworkService(), true, nil
	case "OW":
		return OwnerRights(), true, nil
	case "CO":
		return CreatorOwner(), true, nil
	case "CG":
		return CreatorGroup(), true, nil
	case "RC":
		return Restricted(), true, nil
	case "LA":
		return rel(c.Machine, "machine", RIDAdministrator)
	case "LG":
		return rel(c.Machine, "machine", RIDGuest)
	case "DA":
		return rel(c.Domain, "domain", RIDDomainAdmins)
	case "DU":
		return rel(c.Domain, "domain", RIDDomainUsers)
	case "DG":
		return rel(c.Domain, "domain", RIDDomainGuests)
	case "DC":
		return rel(c.Domain, "domain", RIDDomainComps)
	}
	return SID{}, false, nil
}

// SIDAlias returns the SDDL alias of s ("AN", "BA", "LG" …) or "" when s
// has none in ctx.
func SIDAlias(s SID, ctx *SDDLContext) string {
	for _, a := range [...]string{"WD", "AN", "AU", "NU", "IU", "SU", "SY", "BA", "BU", "BG", "PU", "RU",
		"LS", "NS", "OW", "CO", "CG", "RC", "LA", "LG", "DA", "DU", "DG", "DC"} {
		if t, _, err := sidAlias(a, ctx); err == nil && t == s {
			return a
		}
	}
	return ""
}

// ParseSIDToken parses an SDDL SID field: an alias or a literal S-1-….
func ParseSIDToken(tok string, ctx *SDDLContext) (SID, error) {
	if len(tok) == 2 {
		s, ok, err := sidAlias(strings.ToUpper(tok), ctx)
		if err != nil {
			return SID{}, err
		}
		if ok {
			return s, nil
		}
	}
	if len(tok) > 2 && (tok[0] == 'S' || tok[0] == 's') && tok[1] == '-' {
		s, err := ParseSID(tok)
		if err != nil {
			return SID{}, fmt.Errorf("invalid SID %q", tok)
		}
		return s, nil
	}
	return SID{}, fmt.Errorf("unknown SID %q", tok)
}

// FormatSIDToken is the SDDL form of s: its alias when it has one, else
// the literal S-1-….
func FormatSIDToken(s SID, ctx *SDDLContext) string {
	if a := SIDAlias(s, ctx); a != "" {
		return a
	}
	return s.String()
}

func rightAlias(a string) (uint32, bool) {
	switch a {
	case "GA":
		return GenericAll, true
	case "GR":
		return GenericRead, true
	case "GW":
		return GenericWrite, true
	case "GX":
		return GenericExecute, true
	case "SD":
		return Delete, true
	case "RC":
		return ReadControl, true
	case "WD":
		return WriteDAC, true
	case "WO":
		return WriteOwner, true
	case "FA":
		return FileAllAccess, true
	case "FR":
		return FileGenericRead, true
	case "FW":
		return FileGenericWrite, true
	case "FX":
		return FileGenericExec, true
	// Directory-object names of bits 0x1 … 0x100 (Windows prints file and
	// pipe bits with them).
	case "CC":
		return 0x1, true
	case "DC":
		return 0x2, true
	case "LC":
		return 0x4, true
	case "SW":
		return 0x8, true
	case "RP":
		return 0x10, true
	case "WP":
		return 0x20, true
	case "DT":
		return 0x40, true
	case "LO":
		return 0x80, true
	case "CR":
		return 0x100, true
	}
	return 0, false
}

// ParseRights parses an SDDL rights field: concatenated two-letter aliases,
// or a number (0x hex, 0 octal, decimal).
func ParseRights(f string) (uint32, error) {
	if f == "" {
		return 0, nil
	}
	if f[0] >= '0' && f[0] <= '9' {
		v, err := strconv.ParseUint(f, 0, 32)
		if err != nil {
			return 0, fmt.Errorf("invalid rights number %q", f)
		}
		return uint32(v), nil
	}
	var m uint32
	for i := 0; i < len(f); i += 2 {
		tok := f[i:min(i+2, len(f))]
		v, ok := rightAlias(strings.ToUpper(tok))
		if !ok {
			return 0, fmt.Errorf("unknown right %q", tok)
		}
		m |= v
	}
	return m, nil
}

// FormatRights is the SDDL form of a mask: FA/FR/FW/FX when it equals one,
// concatenated generic and standard aliases when it holds only those bits,
// else lower-case hex as Windows prints it.
func FormatRights(m uint32) string {
	switch m {
	case FileAllAccess:
		return "FA"
	case FileGenericRead:
		return "FR"
	case FileGenericWrite:
		return "FW"
	case FileGenericExec:
		return "FX"
	}
	const named = GenericAll | GenericRead | GenericWrite | GenericExecute | Delete | ReadControl | WriteDAC | WriteOwner
	if m != 0 && m&^named == 0 {
		var b strings.Builder
		for _, a := range [...]string{"GA", "GR", "GW", "GX", "SD", "RC", "WD", "WO"} {
			if v, _ := rightAlias(a); m&v != 0 {
				b.WriteString(a)
			}
		}
		return b.String()
	}
	return "0x" + strconv.FormatUint(uint64(m), 16)
}

var aceFlagNames = [...]struct {
	name string
	flag AceFlags
}{{"OI", ObjectInherit}, {"CI", ContainerInherit}, {"NP", NoPropagateInherit}, {"IO", InheritOnly},
	{"ID", Inherited}, {"SA", SuccessfulAccess}, {"FA", FailedAccess}}

func parseAceFlags(f string) (AceFlags, error) {
	if len(f)%2 != 0 {
		return 0, fmt.Errorf("invalid ACE flags %q", f)
	}
	var out AceFlags
next:
	for i := 0; i < len(f); i += 2 {
		tok := strings.ToUpper(f[i : i+2])
		for _, n := range aceFlagNames {
			if n.name == tok {
				out |= n.flag
				continue next
			}
		}
		return 0, fmt.Errorf("unknown ACE flag %q", f[i:i+2])
	}
	return out, nil
}

func formatAceFlags(f AceFlags) string {
	var b strings.Builder
	for _, n := range aceFlagNames {
		if f&n.flag != 0 {
			b.WriteString(n.name)
		}
	}
	return b.String()
}

// ParseACE parses one ACE string "(type;flags;rights;;;sid)". Only ACE
// types A and D are accepted; object GUIDs must be empty.
func ParseACE(text string, ctx *SDDLContext) (ACE, error) {
	if len(text) < 2 || text[0] != '(' || text[len(text)-1] != ')' {
		return ACE{}, fmt.Errorf("ACE must be enclosed in parentheses")
	}
	fields := strings.Split(text[1:len(text)-1], ";")
	var a ACE
	switch t := strings.ToUpper(strings.TrimSpace(fields[0])); t {
	case "A":
		a.Type = AccessAllowed
	case "D":
		a.Type = AccessDenied
	case "OA", "OD", "AU", "AL", "OU", "OL", "ML", "SP", "XA", "XD", "XU", "ZA", "RA":
		return ACE{}, fmt.Errorf("ACE type %q is not supported (only A and D)", t)
	default:
		return ACE{}, fmt.Errorf("unknown ACE type %q", fields[0])
	}
	if len(fields) != 6 {
		if len(fields) == 7 {
			return ACE{}, fmt.Errorf("resource attributes are not supported")
		}
		return ACE{}, fmt.Errorf("ACE has %d fields, want 6 (type;flags;rights;object;inherited-object;sid)", len(fields))
	}
	var err error
	if a.Flags, err = parseAceFlags(strings.TrimSpace(fields[1])); err != nil {
		return ACE{}, err
	}
	if a.Mask, err = ParseRights(strings.TrimSpace(fields[2])); err != nil {
		return ACE{}, err
	}
	if strings.TrimSpace(fields[3]) != "" || strings.TrimSpace(fields[4]) != "" {
		return ACE{}, fmt.Errorf("object GUIDs are not supported")
	}
	if a.SID, err = ParseSIDToken(strings.TrimSpace(fields[5]), ctx); err != nil {
		return ACE{}, err
	}
	return a, nil
}

// FormatACE is the SDDL form of a.
func FormatACE(a ACE, ctx *SDDLContext) string {
	t := "A"
	if a.Type == AccessDenied {
		t = "D"
	}
	return "(" + t + ";" + formatAceFlags(a.Flags) + ";" + FormatRights(a.Mask) + ";;;" + FormatSIDToken(a.SID, ctx) + ")"
}

// isSection reports whether s[i:] starts a new SDDL component ("O:" …).
func isSection(s string, i int) bool {
	if i+1 >= len(s) || s[i+1] != ':' {
		return false
	}
	switch s[i] {
	case 'O', 'G', 'D', 'S', 'o', 'g', 'd', 's':
		return true
	}
	return false
}

// ParseSDDL parses a security descriptor string: O:, G:, D: in any order,
// each at most once. DACL flags P, AI, AR and NO_ACCESS_CONTROL (NULL DACL)
// are understood; "D:" alone is an empty DACL; no D: component leaves the
// DACL absent. A SACL (S:) is rejected. Rights are stored as written:
// generic bits are not mapped here (see SecurityDescriptor.MapGeneric).
// Errors are *SDDLError.
func ParseSDDL(s string, ctx *SDDLContext) (*SecurityDescriptor, error) {
	fail := func(format string, args ...any) (*SecurityDescriptor, error) {
		return nil, &SDDLError{Msg: fmt.Sprintf(format, args...)}
	}
	sd := &SecurityDescriptor{}
	seen := map[byte]bool{}
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		if !isSection(s, i) {
			return fail("expected O:, G: or D: at offset %d, found %q", i, s[i:min(len(s), i+8)])
		}
		sec := s[i] &^ 0x20 // upper case
		if seen[sec] {
			return fail("component %c: appears twice", sec)
		}
		seen[sec] = true
		i += 2
		switch sec {
		case 'S':
			return fail("SACL (S:) is not supported")
		case 'O', 'G':
			j := i
			for j < len(s) && !isSection(s, j) {
				j++
			}
			tok := strings.TrimSpace(s[i:j])
			id, err := ParseSIDToken(tok, ctx)
			if err != nil {
				what := "owner"
				if sec == 'G' {
					what = "group"
				}
				return fail("%s: %v", what, err)
			}
			if sec == 'O' {
				sd.Owner = &id
			} else {
				sd.Group = &id
			}
			i = j
		case 'D':
			sd.DACLPresent = true
			null := false
			acl := &ACL{}
			for i < len(s) && !isSection(s, i) {
				rest := s[i:]
				upper := strings.ToUpper(rest)
				switch {
				case rest[0] == ' ' || rest[0] == '\t':
					i++
				case strings.HasPrefix(upper, "NO_ACCESS_CONTROL"):
					null = true
					i += len("NO_ACCESS_CONTROL")
				case strings.HasPrefix(upper, "AI"):
					sd.Control |= SEDACLAutoInherited
					i += 2
				case strings.HasPrefix(upper, "AR"):
					sd.Control |= SEDACLAutoInheritReq
					i += 2
				case upper[0] == 'P':
					sd.Control |= SEDACLProtected
					i++
				case rest[0] == '(':
					end := strings.IndexByte(rest, ')')
					if end < 0 {
						return nil, &SDDLError{ACE: len(acl.ACEs) + 1, ACEText: rest, Msg: "missing ')'"}
					}
					text := rest[:end+1]
					a, err := ParseACE(text, ctx)
					if err != nil {
						return nil, &SDDLError{ACE: len(acl.ACEs) + 1, ACEText: text, Msg: err.Error()}
					}
					acl.ACEs = append(acl.ACEs, a)
					i += end + 1
				default:
					return fail("DACL: unexpected %q at offset %d", rest[:min(len(rest), 8)], i)
				}
			}
			if null && len(acl.ACEs) > 0 {
				return fail("DACL: NO_ACCESS_CONTROL with ACEs")
			}
			if !null {
				sd.DACL = acl
			}
		}
	}
	return sd, nil
}

// SDDL formats sd as an SDDL string (O:, G:, D: in that order; P, AI, AR
// flags; NO_ACCESS_CONTROL for a NULL DACL; no D: when the DACL is absent).
func (sd *SecurityDescriptor) SDDL(ctx *SDDLContext) string {
	var b strings.Builder
	if sd.Owner != nil {
		b.WriteString("O:" + FormatSIDToken(*sd.Owner, ctx))
	}
	if sd.Group != nil {
		b.WriteString("G:" + FormatSIDToken(*sd.Group, ctx))
	}
	if sd.DACLPresent {
		b.WriteString("D:")
		if sd.Control&SEDACLProtected != 0 {
			b.WriteString("P")
		}
		if sd.Control&SEDACLAutoInheritReq != 0 {
			b.WriteString("AR")
		}
		if sd.Control&SEDACLAutoInherited != 0 {
			b.WriteString("AI")
		}
		if sd.DACL == nil {
			b.WriteString("NO_ACCESS_CONTROL")
		} else {
			for _, a := range sd.DACL.ACEs {
				b.WriteString(FormatACE(a, ctx))
			}
		}
	}
	return b.String()
}
