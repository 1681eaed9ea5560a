package policy_test

import (
	"testing"

	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/security"
)

func TestWindowsName(t *testing.T) {
	snap := testserver.Snapshot(t, testserver.AliceEcho, "test.toml")
	alice, _, _ := snap.LookupSID("alice")
	admin, _, _ := snap.LookupSID("Administrator")
	for x, want := range map[security.SID]string{
		security.LocalSystem():           `NT AUTHORITY\SYSTEM`,
		security.AnonymousLogon():        `NT AUTHORITY\ANONYMOUS LOGON`,
		security.AuthenticatedUsers():    `NT AUTHORITY\Authenticated Users`,
		security.NTLMAuthentication():    `NT AUTHORITY\NTLM Authentication`,
		security.Everyone():              "Everyone",
		security.BuiltinAdministrators(): `BUILTIN\Administrators`,
		alice:                            `SMBPIPE\alice`,
		admin:                            `SMBPIPE\Administrator`,
	} {
		if got := snap.WindowsName(x); got != want {
			t.Errorf("WindowsName(%s) = %q, want %q", x, got, want)
		}
	}
	other, _ := security.ParseSID("S-1-5-21-9-9-9-1234")
	if got := snap.WindowsName(other); got != other.String() {
		t.Errorf("a foreign SID is named %q", got)
	}
}

func TestLookupWindowsName(t *testing.T) {
	for _, c := range []struct{ in, sid, canonical string }{
		{"SYSTEM", "S-1-5-18", `NT AUTHORITY\SYSTEM`},
		{`NT AUTHORITY\SYSTEM`, "S-1-5-18", `NT AUTHORITY\SYSTEM`},
		{`nt authority\system`, "S-1-5-18", `NT AUTHORITY\SYSTEM`},
		{"Everyone", "S-1-1-0", "Everyone"},
		{`BUILTIN\Administrators`, "S-1-5-32-544", `BUILTIN\Administrators`},
		{"Administrators", "S-1-5-32-544", `BUILTIN\Administrators`},
		{`NT AUTHORITY\Authenticated Users`, "S-1-5-11", `NT AUTHORITY\Authenticated Users`},
	} {
		sid, canonical, ok := policy.LookupWindowsName(c.in)
		if !ok || sid.String() != c.sid || canonical != c.canonical {
			t.Errorf("LookupWindowsName(%q) = %s %q %v, want %s %q", c.in, sid, canonical, ok, c.sid, c.canonical)
		}
	}
	for _, bad := range []string{"", "nobody", `NT AUTHORITY\Administrators`, `BUILTIN\SYSTEM`} {
		if sid, _, ok := policy.LookupWindowsName(bad); ok {
			t.Errorf("LookupWindowsName(%q) = %s", bad, sid)
		}
	}
}

func TestWindowsRights(t *testing.T) {
	for mask, want := range map[uint32]string{
		0:                     "none",
		0x1F01FF:              "FILE_ALL_ACCESS",
		0x120089:              "FILE_GENERIC_READ",
		0x12019F:              "FILE_GENERIC_READ|FILE_GENERIC_WRITE",
		0x12019B:              "FILE_GENERIC_READ|FILE_WRITE_DATA|FILE_WRITE_EA|FILE_WRITE_ATTRIBUTES",
		0x80000000:            "GENERIC_READ",
		0x00000001:            "FILE_READ_DATA",
		0x00200000 | 0x100000: "SYNCHRONIZE|0x200000",
	} {
		if got := policy.WindowsRights(mask); got != want {
			t.Errorf("WindowsRights(0x%X) = %q, want %q", mask, got, want)
		}
	}
}
