package policy

import (
	"strconv"
	"strings"

	"github.com/smbpipe/smbpipe/security"
)

// Windows' vocabulary, for people who read explain's output beside a
// Windows server's: SIDs named as LookupAccountSid names them with their
// domain (NT AUTHORITY\SYSTEM, BUILTIN\Administrators, SERVER\alice) and
// access masks with the winnt.h names of their bits (FILE_GENERIC_READ).

// wellKnown are the SIDs WindowsName qualifies and LookupWindowsName
// accepts by name.
var wellKnown = [...]security.SID{
	security.NullSID(), security.Everyone(), security.Local(), security.CreatorOwner(),
	security.CreatorGroup(), security.OwnerRights(), security.Network(), security.Interactive(),
	security.Service(), security.AnonymousLogon(), security.AuthenticatedUsers(), security.Restricted(),
	security.ThisOrganization(), security.LocalSystem(), security.LocalService(), security.NetworkService(),
	security.BuiltinAdministrators(), security.BuiltinUsers(), security.BuiltinGuests(), security.PowerUsers(),
	security.PreWindows2000(), security.NTLMAuthentication(), security.LocalAccount(), security.LocalAccountAndAdmin(),
}

// ntAuthority reports whether a well-known SID is in the NT AUTHORITY
// domain: S-1-5-x that is not BUILTIN (S-1-5-32-x).
func ntAuthority(x security.SID) bool {
	subs := x.SubAuthorities()
	return x.Authority() == 5 && len(subs) > 0 && subs[0] != 32 && subs[0] != 21
}

// WindowsName names x as Windows does: NT AUTHORITY\SYSTEM,
// NT AUTHORITY\ANONYMOUS LOGON, BUILTIN\Administrators, Everyone, an
// account of this server as SERVER\alice (server_name), else the SID.
func (s *Snapshot) WindowsName(x security.SID) string {
	if n := x.Name(); n != "" {
		if ntAuthority(x) {
			return `NT AUTHORITY\` + n
		}
		return n
	}
	if n := s.sidName(x); n != x.String() && !strings.HasPrefix(n, "account ") {
		return s.cfg.ServerName + `\` + n
	}
	return x.String()
}

// LookupWindowsName resolves a well-known account name as Windows writes
// it, case-insensitively, with or without its domain: SYSTEM,
// NT AUTHORITY\SYSTEM, Everyone, NT AUTHORITY\Authenticated Users,
// BUILTIN\Administrators. canonical is WindowsName's form.
func LookupWindowsName(name string) (sid security.SID, canonical string, ok bool) {
	bare := name
	if d, n, found := strings.Cut(name, `\`); found && strings.EqualFold(d, "NT AUTHORITY") {
		bare = n
	}
	for _, x := range wellKnown {
		n := x.Name()
		short := n[strings.LastIndexByte(n, '\\')+1:]
		if strings.EqualFold(name, n) || strings.EqualFold(bare, n) || !strings.Contains(name, `\`) && strings.EqualFold(name, short) {
			if ntAuthority(x) {
				n = `NT AUTHORITY\` + n
			}
			return x, n, true
		}
	}
	return security.SID{}, "", false
}

// windowsRights are the names WindowsRights uses: the composite rights
// first, then each bit.
var windowsRights = [...]struct {
	mask uint32
	name string
}{
	{security.FileAllAccess, "FILE_ALL_ACCESS"},
	{security.FileGenericRead, "FILE_GENERIC_READ"},
	{security.FileGenericWrite, "FILE_GENERIC_WRITE"},
	{security.FileGenericExec, "FILE_GENERIC_EXECUTE"},
	{security.FileReadData, "FILE_READ_DATA"},
	{security.FileWriteData, "FILE_WRITE_DATA"},
	{security.FileAppendData, "FILE_APPEND_DATA"},
	{security.FileReadEA, "FILE_READ_EA"},
	{security.FileWriteEA, "FILE_WRITE_EA"},
	{security.FileExecute, "FILE_EXECUTE"},
	{security.FileDeleteChild, "FILE_DELETE_CHILD"},
	{security.FileReadAttributes, "FILE_READ_ATTRIBUTES"},
	{security.FileWriteAttributes, "FILE_WRITE_ATTRIBUTES"},
	{security.Delete, "DELETE"},
	{security.ReadControl, "READ_CONTROL"},
	{security.WriteDAC, "WRITE_DAC"},
	{security.WriteOwner, "WRITE_OWNER"},
	{security.Synchronize, "SYNCHRONIZE"},
	{security.AccessSystemSecurity, "ACCESS_SYSTEM_SECURITY"},
	{security.MaximumAllowed, "MAXIMUM_ALLOWED"},
	{security.GenericAll, "GENERIC_ALL"},
	{security.GenericExecute, "GENERIC_EXECUTE"},
	{security.GenericWrite, "GENERIC_WRITE"},
	{security.GenericRead, "GENERIC_READ"},
}

// WindowsRights names mask with winnt.h's names, the composite file rights
// first: 0x12019B is
// "FILE_GENERIC_READ|FILE_WRITE_DATA|FILE_WRITE_EA|FILE_WRITE_ATTRIBUTES".
// Bits without a name are appended in hex; 0 is "none".
func WindowsRights(mask uint32) string {
	var b strings.Builder
	rest := mask
	for _, r := range windowsRights {
		if mask&r.mask == r.mask && rest&r.mask != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(r.name)
			rest &^= r.mask
		}
	}
	if rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString("0x" + strings.ToUpper(strconv.FormatUint(uint64(rest), 16)))
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}
