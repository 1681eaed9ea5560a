package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSID(t *testing.T) {
	const cfg = "testdata/explain/policy.toml"
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--config", cfg, "alice", "BOB", "guest", "Administrator", "anonymous", "machine"}, 0,
			"S-1-5-21-111-222-333-1001 alice\nS-1-5-21-111-222-333-1002 bob\nS-1-5-21-111-222-333-501 Guest\n" +
				"S-1-5-21-111-222-333-500 Administrator\nS-1-5-7 ANONYMOUS LOGON\nS-1-5-21-111-222-333 machine\n"},
		{[]string{"--config", cfg, "Administrators", `BUILTIN\Users`, "AU", "S-1-5-21-111-222-333-1001"}, 0,
			"S-1-5-32-544 BUILTIN\\Administrators\nS-1-5-32-545 BUILTIN\\Users\nS-1-5-11 Authenticated Users\nS-1-5-21-111-222-333-1001 alice\n"},
		{[]string{"--config", cfg, "--token", "bob"}, 0,
			"S-1-5-21-111-222-333-1002 bob\n  S-1-5-21-111-222-333-1002 bob\n  S-1-1-0 Everyone\n  S-1-5-32-545 BUILTIN\\Users\n" +
				"  S-1-5-2 NETWORK\n  S-1-5-11 Authenticated Users\n  S-1-5-15 This Organization\n  S-1-5-64-10 NTLM Authentication\n" +
				"  S-1-5-32-544 BUILTIN\\Administrators\n"},
		{[]string{"--config", cfg, "--token", "anonymous"}, 0, "S-1-5-7 ANONYMOUS LOGON\n  S-1-5-7 ANONYMOUS LOGON\n  S-1-5-2 NETWORK\n"},
		{[]string{"--config", cfg, "SYSTEM", "Everyone", `NT AUTHORITY\SYSTEM`, `BUILTIN\Administrators`, `nt authority\authenticated users`, "SY"}, 0,
			"S-1-5-18 NT AUTHORITY\\SYSTEM\nS-1-1-0 Everyone\nS-1-5-18 NT AUTHORITY\\SYSTEM\nS-1-5-32-544 BUILTIN\\Administrators\n" +
				"S-1-5-11 NT AUTHORITY\\Authenticated Users\nS-1-5-18 SYSTEM\n"},
		{[]string{"--config", cfg, "--token", `GOLDEN\alice`}, 0,
			"S-1-5-21-111-222-333-1001 alice\n  S-1-5-21-111-222-333-1001 alice\n  S-1-1-0 Everyone\n  S-1-5-32-545 BUILTIN\\Users\n" +
				"  S-1-5-2 NETWORK\n  S-1-5-11 Authenticated Users\n  S-1-5-15 This Organization\n  S-1-5-64-10 NTLM Authentication\n"},
		{[]string{"--config", cfg, `OTHER\alice`}, 2, ""},
		{[]string{"--config", cfg, "mallory"}, 2, ""},
		{[]string{"--config", "testdata/explain/nosuch.toml", "alice"}, 2, ""},
		{[]string{}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := sidCmd(tt.args, &out, &errb); code != tt.code || out.String() != tt.out {
				t.Fatalf("exit %d, want %d\n%s--- want\n%s--- stderr\n%s", code, tt.code, out.String(), tt.out, errb.String())
			}
		})
	}
	var out, errb bytes.Buffer
	if code := sidCmd(nil, &out, &errb); code != 2 || !strings.HasPrefix(errb.String(), "smbpipe sid: missing NAME") {
		t.Errorf("no name: exit %d, %q", code, errb.String())
	}
	// Without --config the embedded default's SIDs are derived from its
	// server_name: the same on every run.
	var a, b bytes.Buffer
	sidCmd([]string{"guest"}, &a, &bytes.Buffer{})
	sidCmd([]string{"guest"}, &b, &bytes.Buffer{})
	if a.String() != b.String() || !strings.HasPrefix(a.String(), "S-1-5-21-") {
		t.Errorf("default config: %q then %q", a.String(), b.String())
	}
}
