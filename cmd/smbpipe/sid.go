package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/security"
)

const sidUsage = `usage: smbpipe sid [--config FILE] [--token] NAME...
       smbpipe sid [--config FILE] [--token] [--groups SID,...] [--sid SID] NAME@REALM

Prints the SID of each NAME under the configuration, one "SID NAME" line
each, so that an sddl can name this server's accounts:
(A;;0x12019B;;;S-1-5-21-A-B-C-1001). NAME is an [[account]] (alice, or
SERVER\alice as Windows writes it), guest, Administrator, anonymous,
machine (the machine SID), a BUILTIN group (Administrators,
BUILTIN\Administrators, Users, Guests, ...), a well-known account by its
Windows name (SYSTEM, NT AUTHORITY\SYSTEM, Everyone, NT AUTHORITY\NETWORK,
NT AUTHORITY\Authenticated Users), an SDDL alias (AU, WD, AN, SY, ...) or
a literal S-1-... string. The SIDs are stable across restarts: the machine
SID is machine_sid (or derived from server_name), an account's RID is its
rid (or derived from its name).

--token also prints the token a session of that account (or guest, or
anonymous) gets: the SIDs AccessCheck compares with the pipe's DACL.

NAME@REALM is a Kerberos logon, as in smbpipe explain: without --groups the
account whose kerberos_principal names it (its token has no NTLM SID
S-1-5-64-10); with --groups the token built from a PAC with those group
SIDs and the user SID --sid (default: the mapped account's).
Exit status: 0, or 2 when a name is unknown or the config is bad.
`

func runSID(args []string) int { return sidCmd(args, os.Stdout, os.Stderr) }

// sidCmd is runSID with its output streams injected (for tests).
func sidCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sid")
	configPath := fs.String("config", "", "config file (default: the embedded default)")
	token := fs.Bool("token", false, "print the session token too")
	groups := fs.String("groups", "", "Kerberos: the PAC's group SIDs, comma-separated")
	userSID := fs.String("sid", "", "Kerberos: the PAC's user SID")
	if c := parseFlags(fs, args, sidUsage, stdout, stderr); c >= 0 {
		return c
	}
	if fs.NArg() == 0 {
		return usageError(stderr, "sid", "missing NAME (an account, guest, anonymous, a group such as BUILTIN\\Administrators or Everyone, or a SID)", sidUsage)
	}
	cfg := policy.Default()
	if *configPath != "" {
		var err error
		if cfg, err = policy.Load(*configPath); err != nil {
			fmt.Fprintf(stderr, "smbpipe sid: %v\n", err)
			return 2
		}
	}
	snap, err := policy.Compile(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe sid: %v\n", err)
		return 2
	}
	code := 0
	for _, name := range fs.Args() {
		if strings.Contains(name, "@") {
			id, sd, err := kerberosSessionOf(snap, name, *userSID, *groups)
			switch {
			case err != nil:
				fmt.Fprintf(stderr, "smbpipe sid: %v\n", err)
				code = 2
				continue
			case sd.Status != ntstatus.Success:
				fmt.Fprintf(stderr, "smbpipe sid: %s: %s\n", name, sd.Reason)
				code = 2
				continue
			}
			fmt.Fprintf(stdout, "%s %s (Kerberos)\n", id.Token.User, name)
			if *token {
				for _, x := range id.Token.SIDs() {
					fmt.Fprintf(stdout, "  %s %s\n", x, snap.SIDName(x))
				}
			}
			continue
		}
		sid, canonical, ok := lookupName(snap, name)
		if !ok {
			fmt.Fprintf(stderr, "smbpipe sid: %q is not an account, guest, anonymous, machine, a BUILTIN group, an SDDL alias or a SID\n", name)
			code = 2
			continue
		}
		fmt.Fprintf(stdout, "%s %s\n", sid, canonical)
		if !*token {
			continue
		}
		var id policy.Identity
		switch {
		case strings.EqualFold(name, "anonymous") || canonical == `NT AUTHORITY\ANONYMOUS LOGON`:
			id = policy.Identity{Kind: policy.Anonymous}
		case strings.EqualFold(name, "guest"):
			id = policy.Identity{Kind: policy.Guest}
		default:
			id = policy.Identity{Kind: policy.User, User: canonical}
		}
		tok, ok := snap.Token(id)
		if !ok {
			fmt.Fprintf(stdout, "  (no session token: %s is not an account)\n", canonical)
			continue
		}
		for _, x := range tok.SIDs() {
			fmt.Fprintf(stdout, "  %s %s\n", x, snap.SIDName(x))
		}
	}
	return code
}

// lookupName resolves NAME as sid does: the config's names (accounts,
// guest, anonymous, machine, BUILTIN groups, SDDL aliases, SIDs), this
// server's accounts as Windows writes them (SERVER\alice), and the
// well-known accounts by their Windows names (SYSTEM, NT AUTHORITY\SYSTEM,
// Everyone, NT AUTHORITY\Authenticated Users).
func lookupName(snap *policy.Snapshot, name string) (security.SID, string, bool) {
	if sid, canonical, ok := snap.LookupSID(name); ok {
		return sid, canonical, true
	}
	if dom, n, ok := strings.Cut(name, `\`); ok && strings.EqualFold(dom, snap.Config().ServerName) {
		if sid, canonical, ok := snap.LookupSID(n); ok {
			return sid, canonical, true
		}
	}
	return policy.LookupWindowsName(name)
}
