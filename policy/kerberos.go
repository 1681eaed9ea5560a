package policy

import (
	"fmt"
	"strings"

	"github.com/smbpipe/smbpipe/security"
)

// Kerberos is the [kerberos] table: Kerberos logons verified with a
// keytab (see the README's Kerberos section).
//
//	[kerberos]
//	keytab = "/etc/smbpipe/smbpipe.keytab"
//	realm = "SMBPIPE.TEST"
//	service_names = ["localhost", "smbpipe.smbpipe.test"]
//	ntlm = true
//
// The zero value (no keytab) leaves Kerberos off: SPNEGO offers NTLMSSP
// only, as a stand-alone Windows server does.
type Kerberos struct {
	// Keytab is the keytab file's path. The server reads it when a policy
	// takes effect, so a reload re-reads it (key rotation without a
	// restart).
	Keytab string
	// Realm is the service's realm; "" accepts tickets of any realm the
	// keytab has keys for.
	Realm string
	// ServiceNames are the host names of the service principals accepted:
	// cifs/NAME and host/NAME for each. Parse defaults them to
	// server_name, lower-cased.
	ServiceNames []string
	// DisableNTLM refuses NTLM logons (TOML ntlm = false): SPNEGO offers
	// Kerberos only and an NTLMSSP token is answered STATUS_LOGON_FAILURE.
	DisableNTLM bool
}

// Enabled reports whether Kerberos logons are accepted.
func (k *Kerberos) Enabled() bool { return k.Keytab != "" }

// rawKerberos is the TOML shape of [kerberos].
type rawKerberos struct {
	Keytab       *string   `toml:"keytab"`
	Realm        *string   `toml:"realm"`
	ServiceNames *[]string `toml:"service_names"`
	NTLM         *bool     `toml:"ntlm"`
}

// parseKerberos fills cfg.Kerberos from raw and validates it.
func parseKerberos(raw *rawKerberos, cfg *Config, filename string, loc locator) []error {
	k := Kerberos{Keytab: deref(raw.Keytab, ""), Realm: deref(raw.Realm, ""), DisableNTLM: !deref(raw.NTLM, true)}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{File: filename, Line: loc.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if raw.ServiceNames != nil {
		k.ServiceNames = append([]string(nil), (*raw.ServiceNames)...)
	} else if k.Keytab != "" {
		k.ServiceNames = []string{strings.ToLower(cfg.ServerName)}
	}
	for i, n := range k.ServiceNames {
		if n == "" || strings.ContainsAny(n, "/@ \t") {
			bad("kerberos.service_names", "entry %d %q: want a host name (cifs/NAME and host/NAME are accepted)", i, n)
		}
	}
	if k.Realm != "" && strings.ToUpper(k.Realm) != k.Realm {
		bad("kerberos.realm", "%q: a realm is written in upper case (%s)", k.Realm, strings.ToUpper(k.Realm))
	}
	if k.Keytab == "" && (raw.Realm != nil || raw.ServiceNames != nil || raw.NTLM != nil) {
		bad("kerberos.keytab", "[kerberos] without a keytab: set keytab to enable Kerberos")
	}
	for i, a := range cfg.Accounts {
		if p := a.KerberosPrincipal; p != "" && !validPrincipal(p) {
			bad(fmt.Sprintf("account[%d].kerberos_principal", i), "%q: want name@REALM", p)
		}
	}
	cfg.Kerberos = k
	return errs
}

func validPrincipal(p string) bool {
	at := strings.LastIndexByte(p, '@')
	return at > 0 && at < len(p)-1 && !strings.ContainsAny(p, " \t")
}

// KerberosAccount finds the account whose kerberos_principal is principal
// (name@REALM, compared exactly, name and realm, as MIT and Heimdal compare
// principals: the tickets without a PAC that this mapping serves come from
// such realms, where alice and ALICE are two principals, so a mapping for
// one must not let the other in) and returns its identity for a Kerberos
// logon: the account's token without the NTLM authentication SID
// S-1-5-64-10, which a Kerberos logon does not get. ok is false when no
// account maps it.
func (s *Snapshot) KerberosAccount(principal string) (Identity, bool) {
	if !validPrincipal(principal) {
		return Identity{}, false
	}
	for _, a := range s.cfg.Accounts {
		if a.KerberosPrincipal != principal {
			continue
		}
		acc, ok := s.account(a.Name)
		if !ok {
			return Identity{}, false
		}
		tok := &security.Token{User: acc.token.User}
		for _, g := range acc.token.Groups {
			if g != security.NTLMAuthentication() {
				tok.Groups = append(tok.Groups, g)
			}
		}
		return Identity{Kind: User, User: acc.name, Domain: s.cfg.Domain, Token: tok}, true
	}
	return Identity{}, false
}

// KerberosToken builds the token of a Kerberos network logon from a PAC's
// SIDs, as Windows' LSA does on a member server (SEMANTICS-2 §7): the user,
// the primary group, the PAC's groups (domain groups, ExtraSids such as
// S-1-18-1, resource groups), then Everyone, BUILTIN\Users, NETWORK,
// Authenticated Users and This Organization. No S-1-5-64-x (those name
// NTLM and other packages). Local aliases that domain groups belong to on a
// Windows member (Domain Admins in Administrators) are not added: grant the
// domain group's SID in the pipe's SDDL instead.
func KerberosToken(user, primary security.SID, groups []security.SID) *security.Token {
	tok := &security.Token{User: user}
	add := func(s security.SID) {
		if !s.IsZero() && s != user && !containsSID(tok.Groups, s) {
			tok.Groups = append(tok.Groups, s)
		}
	}
	add(primary)
	for _, g := range groups {
		add(g)
	}
	for _, g := range []security.SID{security.Everyone(), security.BuiltinUsers(), security.Network(),
		security.AuthenticatedUsers(), security.ThisOrganization()} {
		add(g)
	}
	return tok
}
