package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/security"
)

const explainUsage = `usage: smbpipe explain [--config FILE] --user anonymous|guest|NAME --pipe NAME
                       [--access read,write|0xMASK] [--impersonation N]
       smbpipe explain [--config FILE] --user NAME@REALM [--groups SID,...]
                       [--sid SID] --pipe NAME ...
       smbpipe explain [--config FILE] --user anonymous|guest|NAME
                       --rpc SERVICE.CALL [--level N] [--access 0xMASK]

Shows how the access policy decides an open of \\server\pipe\NAME: each gate,
every ACE considered with the bits it granted or denied, the NTSTATUS and the
Win32 error a Windows client sees, and, when denied, the smallest change that
would grant (when several gates deny, one line per change, all needed). A
pipe exists if the config lists it; instances are assumed free.
Exit status: 0 granted, 1 denied, 2 bad input.

With --rpc, shows how a call on one of the Windows services is decided
(srvsvc, wkssvc, lsarpc, samr; e.g. samr.EnumerateUsersInDomain,
srvsvc.NetrShareEnum --level 2, lsarpc.LookupSids): the CREATE of the
service's pipe first, then the [Lsa] rules (RestrictAnonymous,
RestrictAnonymousSAM, TurnOffAnonymousBlock, RestrictRemoteSAM), the
administrator-only levels and the object's descriptor, with the result the
call returns and the fix. A call on a handle is decided after the open it
needs (LsarOpenPolicy2, SamrConnect5) with MAXIMUM_ALLOWED; --access sets
the desired access of an open call (default MAXIMUM_ALLOWED).

--access takes a mask (0x12019F) or names joined by commas: read, write
(GENERIC_READ, GENERIC_WRITE), execute, all, max (MAXIMUM_ALLOWED),
read_data, write_data, append_data, read_control, write_dac, synchronize.
The default is read,write, what Windows clients ask for.

A --user NAME@REALM is a Kerberos logon. Without --groups it is a ticket
without a PAC: the [[account]] whose kerberos_principal names it, as the
server maps it. With --groups it is a ticket whose PAC carries those SIDs
(the domain groups, e.g. S-1-5-21-...-512, ExtraSids, resource groups) and
the user SID --sid (default: the mapped account's); the token is the one
the server builds from a PAC (plus Everyone, BUILTIN\Users, NETWORK,
Authenticated Users, This Organization), and each ACE line names the SID
of the token it matched.
`

func runExplain(args []string) int { return explain(args, os.Stdout, os.Stderr) }

// explain is runExplain with its output streams injected (for tests).
func explain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain")
	configPath := fs.String("config", "", "config file (default: the embedded default)")
	user := fs.String("user", "", "anonymous, guest, an account name or a Kerberos principal NAME@REALM")
	groups := fs.String("groups", "", "Kerberos: the PAC's group SIDs, comma-separated")
	userSID := fs.String("sid", "", "Kerberos: the PAC's user SID")
	pipeName := fs.String("pipe", "", "pipe name as the client opens it")
	access := fs.String("access", "read,write", "desired access")
	imp := fs.Uint("impersonation", uint(policy.ImpersonationImpersonation), "impersonation level (0-3)")
	rpcCall := fs.String("rpc", "", "SERVICE.CALL: explain an RPC call instead of a pipe open")
	level := fs.Uint("level", 0, "the call's info level or class (--rpc)")
	matrix := fs.Bool("matrix", false, "print the effective-access matrix")
	format := fs.String("format", "text", "matrix format: text, csv, json or md")
	if c := parseFlags(fs, args, explainUsage, stdout, stderr); c >= 0 {
		return c
	}
	if *matrix {
		return explainMatrix(*configPath, *format, *user != "" || *pipeName != "" || *rpcCall != "" || fs.NArg() > 0, stdout, stderr)
	}
	accessSet := false
	fs.Visit(func(f *flag.Flag) { accessSet = accessSet || f.Name == "access" })
	if *rpcCall != "" && !accessSet {
		*access = "max"
	}
	problem := ""
	switch {
	case fs.NArg() > 0:
		problem = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case *user == "" && *pipeName == "" && *rpcCall == "":
		problem = "missing --user WHO and --pipe NAME (or --rpc SERVICE.CALL; or --matrix)"
	case *user == "":
		problem = "missing --user WHO (anonymous, guest, an account or NAME@REALM)"
	case *pipeName == "" && *rpcCall == "":
		problem = "missing --pipe NAME (or --rpc SERVICE.CALL)"
	case *pipeName != "" && *rpcCall != "":
		problem = "--pipe and --rpc: give one of them"
	}
	if problem != "" {
		return usageError(stderr, "explain", problem, explainUsage)
	}
	mask, err := parseAccess(*access)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe explain: --access: %v\n", err)
		return 2
	}
	var cfg *policy.Config
	if *configPath == "" {
		cfg = policy.Default()
	} else if cfg, err = policy.Load(*configPath); err != nil {
		fmt.Fprintf(stderr, "smbpipe explain: %v\n", err)
		return 2
	}
	snap, err := policy.Compile(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe explain: %v\n", err)
		return 2
	}
	source := "embedded default"
	if *configPath != "" {
		source = *configPath
	}

	var op policy.RPCOp
	if *rpcCall != "" {
		iface, call, ok := strings.Cut(*rpcCall, ".")
		if op, ok = policy.LookupRPCOp(iface, call); !ok || call == "" {
			fmt.Fprintf(stderr, "smbpipe explain: --rpc %q: not a call the policy knows; %s calls: %s\n", *rpcCall,
				strings.ToLower(iface), strings.Join(policy.RPCOps(strings.ToLower(iface)), ", "))
			return 2
		}
	}

	w := &lineWriter{w: stdout}
	w.printf("config:   %s", source)
	if *rpcCall != "" {
		lv := ""
		if op.HasLevel() {
			lv = fmt.Sprintf(" level %d", *level)
		}
		w.printf("request:  user %s, call %s.%s%s, desired access 0x%08X", *user, op.Interface, op.Name, lv, mask)
	} else {
		w.printf("request:  user %s, pipe %q, desired access 0x%08X (%s), impersonation level %d", *user, *pipeName, mask, policy.WindowsRights(mask), *imp)
	}

	// The session first: SESSION_SETUP decides whether this caller gets a
	// session at all, and of which kind.
	var id policy.Identity
	var sd policy.SessionDecision
	if strings.Contains(*user, "@") || *groups != "" || *userSID != "" {
		if id, sd, err = kerberosSessionOf(snap, *user, *userSID, *groups); err != nil {
			fmt.Fprintf(stderr, "smbpipe explain: %v\n", err)
			return 2
		}
	} else {
		id, sd = sessionOf(snap, *user)
	}
	w.printf("session setup: %s", sd.Reason)
	if sd.Status != ntstatus.Success {
		code, name := sd.Status.Win32()
		w.printf("result: %s (0x%08X), Win32 %d %s", sd.Status, uint32(sd.Status), code, name)
		w.printf("rule:     %s", sd.Rule)
		switch sd.Rule {
		case policy.RuleNullSessionRefused:
			w.printf("fix:      set allow_anonymous = true")
		case policy.RuleEncryptionRequired:
			kind := "null"
			if sd.Kind == policy.Guest {
				kind = "guest"
			}
			w.printf("fix:      log on as an [[account]] (a user session has a key and encrypts), or set encryption = \"enabled\" (%s sessions are then served in clear)", kind)
		case ruleKerberosOff:
			w.printf("fix:      configure [kerberos] keytab (and realm, service_names)")
		case ruleKerberosPrincipal:
			w.printf("fix:      set kerberos_principal = %q on the account the principal is, or log on with a ticket that carries a PAC", *user)
		case policy.RuleLogonFailure:
			if id.Kind == policy.Guest && strings.EqualFold(*user, "guest") {
				w.printf("fix:      set guest = true")
				break
			}
			w.printf("fix:      add an [[account]] named %q, or set guest = true", *user)
		default:
			w.printf("fix:      add an [[account]] named %q, or set guest = true", *user)
		}
		return 1
	}
	if snap.Config().Encryption == "required" {
		// A user session passes the gate and must encrypt.
		w.printf(`encryption: encryption = "required": the session is marked SMB2_SESSION_FLAG_ENCRYPT_DATA; requests in clear get STATUS_ACCESS_DENIED, and a client that cannot encrypt (SMB 2.x, no cipher in common with %s) is refused at SESSION_SETUP with STATUS_ACCESS_DENIED`,
			strings.Join(snap.Config().EncryptionCiphers, ", "))
	}

	if *rpcCall != "" {
		return explainRPC(w, snap, policy.RPCRequest{Identity: id, Interface: op.Interface, Op: op.Name,
			Level: uint32(*level), Access: mask})
	}

	d := snap.Decide(policy.Request{
		Identity:           id,
		PipeName:           *pipeName,
		DesiredAccess:      mask,
		ImpersonationLevel: uint32(*imp),
		Pipe:               snap.PipeInfo(*pipeName),
	})
	for _, s := range d.Steps {
		w.printf("%s", s)
	}
	w.printf("rule:     %s", d.Rule)
	w.printf("reason:   %s", d.Reason)
	if d.Status != ntstatus.Success {
		// Several gates deny: each change on its own line, all needed.
		for i, f := range d.Fixes {
			if len(d.Fixes) > 1 {
				f = fmt.Sprintf("(%d) %s", i+1, f)
			}
			w.printf("fix:      %s", f)
		}
		return 1
	}
	return 0
}

// explainRPC prints DecideRPC's explanation of r.
func explainRPC(w *lineWriter, snap *policy.Snapshot, r policy.RPCRequest) int {
	d := snap.DecideRPC(r)
	for _, s := range d.Steps {
		w.printf("%s", s)
	}
	w.printf("rule:     %s", d.Rule)
	w.printf("reason:   %s", d.Reason)
	if d.Allowed {
		return 0
	}
	for i, f := range d.Fixes {
		if len(d.Fixes) > 1 {
			f = fmt.Sprintf("(%d) %s", i+1, f)
		}
		w.printf("fix:      %s", f)
	}
	return 1
}

// sessionOf decides the session of user (anonymous, guest or an account
// name) as SESSION_SETUP does, and returns the identity it has. DOMAIN\name
// is name: NTLM carries the domain apart, and the server logs a client on
// to its account whatever domain it sends (SERVER\alice, WORKGROUP\alice).
func sessionOf(snap *policy.Snapshot, user string) (policy.Identity, policy.SessionDecision) {
	if i := strings.LastIndexByte(user, '\\'); i >= 0 {
		user = user[i+1:]
	}
	switch strings.ToLower(user) {
	case "anonymous", "":
		return policy.Identity{Kind: policy.Anonymous}, snap.CheckSession(true, "")
	case "guest":
		id := policy.Identity{Kind: policy.Guest, User: "guest"}
		if snap.Config().Guest {
			return id, snap.EncryptionGate(policy.SessionDecision{Status: ntstatus.Success, Kind: policy.Guest, Reason: "guest sessions are enabled (guest = true)"})
		}
		return id, policy.SessionDecision{Status: ntstatus.LogonFailure, Rule: policy.RuleLogonFailure,
			Reason: "guest sessions are disabled (guest = false): an unknown user name gets STATUS_LOGON_FAILURE"}
	}
	sd := snap.CheckSession(false, user)
	id := policy.Identity{Kind: sd.Kind, User: user, Domain: snap.Config().Domain}
	if _, canonical, ok := snap.LookupAccount(user); ok {
		id.User = canonical
	}
	return id, sd
}

// The rules of Kerberos session decisions, as the server's audit names them.
const (
	ruleKerberosOff       = "kerberos"
	ruleKerberosPrincipal = "kerberos-principal"
)

// kerberosSessionOf decides a Kerberos logon of principal as the server
// does: with a PAC (groups given) the token is policy.KerberosToken of the
// user SID and the groups; without, the account whose kerberos_principal
// names it, or a refusal.
func kerberosSessionOf(snap *policy.Snapshot, principal, userSID, groups string) (policy.Identity, policy.SessionDecision, error) {
	name, realm, ok := strings.Cut(principal, "@")
	if !ok || name == "" || realm == "" || strings.Contains(realm, "@") {
		return policy.Identity{}, policy.SessionDecision{}, fmt.Errorf("--user %q: --groups and --sid are for a Kerberos principal NAME@REALM", principal)
	}
	kc := &snap.Config().Kerberos
	if !kc.Enabled() {
		return policy.Identity{Kind: policy.User, User: name}, policy.SessionDecision{Status: ntstatus.LogonFailure, Kind: policy.User, Rule: ruleKerberosOff,
			Reason: "Kerberos is off ([kerberos] has no keytab): the server offers NTLM only"}, nil
	}
	// The client's realm may be another one (a cross-realm ticket, which
	// the KDCs' trust made possible): the server checks only that the
	// ticket is for its own service and realm, as Windows does.
	mapped, hasAccount := snap.KerberosAccount(principal)
	if groups == "" && userSID == "" {
		if !hasAccount {
			return policy.Identity{Kind: policy.User, User: name}, policy.SessionDecision{Status: ntstatus.LogonFailure, Kind: policy.User, Rule: ruleKerberosPrincipal,
				Reason: "a ticket without a PAC, and no [[account]] has kerberos_principal = \"" + principal + "\""}, nil
		}
		return mapped, snap.EncryptionGate(policy.SessionDecision{Status: ntstatus.Success, Kind: policy.User,
			Reason: "a Kerberos ticket without a PAC, mapped to account " + mapped.User + " (kerberos_principal)"}), nil
	}
	var user security.SID
	switch {
	case userSID != "":
		var err error
		if user, err = security.ParseSID(userSID); err != nil {
			return policy.Identity{}, policy.SessionDecision{}, fmt.Errorf("--sid: %v", err)
		}
	case hasAccount:
		user = mapped.Token.User
	default:
		return policy.Identity{}, policy.SessionDecision{}, fmt.Errorf("--groups: give the PAC's user SID with --sid (no [[account]] has kerberos_principal = %q)", principal)
	}
	var sids []security.SID
	for _, g := range strings.Split(groups, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		x, err := security.ParseSID(g)
		if err != nil {
			return policy.Identity{}, policy.SessionDecision{}, fmt.Errorf("--groups: %q: %v", g, err)
		}
		sids = append(sids, x)
	}
	id := policy.Identity{Kind: policy.User, User: name, Domain: realm, Token: policy.KerberosToken(user, security.SID{}, sids)}
	return id, snap.EncryptionGate(policy.SessionDecision{Status: ntstatus.Success, Kind: policy.User,
		Reason: fmt.Sprintf("a Kerberos ticket whose PAC (server signature verified) names user %s and %d groups", user, len(sids))}), nil
}

type lineWriter struct{ w io.Writer }

func (l *lineWriter) printf(format string, args ...any) { fmt.Fprintf(l.w, format+"\n", args...) }

// parseAccess parses --access: a number, or comma-separated names.
func parseAccess(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty")
	}
	if s[0] >= '0' && s[0] <= '9' {
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return 0, fmt.Errorf("invalid mask %q", s)
		}
		return uint32(v), nil
	}
	names := map[string]uint32{
		"read": security.GenericRead, "write": security.GenericWrite, "execute": security.GenericExecute,
		"all": security.GenericAll, "max": security.MaximumAllowed, "maximum_allowed": security.MaximumAllowed,
		"read_data": security.FileReadData, "write_data": security.FileWriteData, "append_data": security.FileAppendData,
		"read_control": security.ReadControl, "write_dac": security.WriteDAC, "synchronize": security.Synchronize,
		"access_system_security": security.AccessSystemSecurity,
	}
	var m uint32
	for _, n := range strings.Split(s, ",") {
		v, ok := names[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			return 0, fmt.Errorf("unknown access %q", n)
		}
		m |= v
	}
	return m, nil
}
