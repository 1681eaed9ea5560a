package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/smbpipe/smbpipe/bench"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/lsarpc"
	"github.com/smbpipe/smbpipe/rpc/samr"
	"github.com/smbpipe/smbpipe/rpc/srvsvc"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/wkssvc"
	"github.com/smbpipe/smbpipe/security"
)

const rpcUsage = `usage: smbpipe rpc [flags] //HOST COMMAND [ARGS...]   (or \\HOST; HOST:PORT)

Calls the Windows RPC services of a server (smbpipe, Samba, Windows) over
SMB named pipes, like Samba's rpcclient: each command opens its service's
pipe on IPC$, binds (no RPC-level authentication: the SMB session's
identity calls) and prints what the calls return, in rpcclient's layout.

commands:
  srvinfo [LEVEL]            srvsvc NetrServerGetInfo (default 101)
  shares [LEVEL]             srvsvc NetrShareEnum (default 1; 2 and 502 are
                             for administrators); also netshareenumall
  netsharegetinfo NAME [LEVEL]
                             srvsvc NetrShareGetInfo (default 1)
  sessions [LEVEL]           srvsvc NetrSessionEnum (default 10; administrators)
  connections [QUALIFIER]    srvsvc NetrConnectionEnum level 1 (default IPC$;
                             \\CLIENT for a client's; administrators)
  files                      srvsvc NetrFileEnum level 3 (administrators)
  wkstainfo [LEVEL]          wkssvc NetrWkstaGetInfo (default 100)
  lsaquery                   lsarpc LsarQueryInformationPolicy: primary and
                             account domain
  lookupsids SID...          lsarpc LsarLookupSids
  lookupnames NAME...        lsarpc LsarLookupNames
  getusername                lsarpc LsarGetUserName: who the server says you are
  users                      samr SamrEnumerateUsersInDomain of the account
                             domain; also enumdomusers
  groups USER                samr SamrGetGroupsForUser and the BUILTIN aliases
                             holding USER (SamrGetAliasMembership)

flags: those of "smbpipe dial" (-U USER[%PASS], -W, --pw-nt-hash, -k, -p PORT,
--dialect, --sign, --encrypt, --ciphers, --timeout, --request-timeout), and
for srvinfo a load mode (package bench, RunSrvsvc):
  --bench DURATION   call NetrServerGetInfo level 101 for DURATION, each call
                     one FSCTL_PIPE_TRANSCEIVE on a bound pipe per client,
                     and print the rate and latencies instead
  -c N               clients (--bench; default 1)
  --format F         text (default) or tsv (--bench; bench's TSV columns)

Exits 0 when every call succeeded; 1 with the reason on stderr otherwise:
the NTSTATUS (STATUS_ACCESS_DENIED), Win32 code (ERROR_ACCESS_DENIED) or
RPC fault (nca_s_op_rng_error) the server returned, or the SMB error of
the session or the pipe open; 2 on bad usage.
`

// rpcOptions is the parsed command line.
type rpcOptions struct {
	dial *dialOptions // transport and credentials, as smbpipe dial's
	host string       // as given, with its port if any
	cmd  string
	args []string
	// bench (srvinfo only): run bench.RunSrvsvc for this long with
	// clients clients and print the result in format.
	bench   time.Duration
	clients int
	format  string
}

// rpcOwnFlags takes the flags of rpc's own (--bench, -c, --format) out of
// the flags before //HOST, leaving smbpipe dial's.
func rpcOwnFlags(o *rpcOptions, flags []string) ([]string, error) {
	var rest []string
	o.clients, o.format = 1, "text"
	for i := 0; i < len(flags); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(flags[i], "-"), "=")
		if !strings.HasPrefix(flags[i], "-") || name != "bench" && name != "c" && name != "format" {
			rest = append(rest, flags[i])
			continue
		}
		if !hasVal {
			if i+1 == len(flags) {
				return nil, fmt.Errorf("flag %s needs a value", flags[i])
			}
			i++
			val = flags[i]
		}
		var err error
		switch name {
		case "bench":
			o.bench, err = time.ParseDuration(val)
			if err == nil && o.bench <= 0 {
				err = errors.New("must be > 0")
			}
		case "c":
			o.clients, err = strconv.Atoi(val)
			if err == nil && (o.clients < 1 || o.clients > 4096) {
				err = errors.New("must be 1 to 4096")
			}
		case "format":
			o.format = val
			if val != "text" && val != "tsv" {
				err = errors.New("want text or tsv")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("-%s %q: %v", name, val, err)
		}
	}
	return rest, nil
}

// rpcCommand is one command: its service's pipe and syntax, the number
// of arguments it takes (min, max; max -1 for any) and what it does on
// the bound client.
type rpcCommand struct {
	pipe     string
	syntax   dcerpc.SyntaxID
	min, max int
	run      func(ctx context.Context, c *dcerpc.Client, server string, args []string, out io.Writer) error
}

var rpcCommands = map[string]rpcCommand{
	"srvinfo":         {"srvsvc", srvsvc.Syntax, 0, 1, rpcSrvinfo},
	"shares":          {"srvsvc", srvsvc.Syntax, 0, 1, rpcShares},
	"netshareenumall": {"srvsvc", srvsvc.Syntax, 0, 1, rpcShares},
	"netsharegetinfo": {"srvsvc", srvsvc.Syntax, 1, 2, rpcShareInfo},
	"sessions":        {"srvsvc", srvsvc.Syntax, 0, 1, rpcSessions},
	"connections":     {"srvsvc", srvsvc.Syntax, 0, 1, rpcConnections},
	"files":           {"srvsvc", srvsvc.Syntax, 0, 0, rpcFiles},
	"wkstainfo":       {"wkssvc", wkssvc.Syntax, 0, 1, rpcWkstaInfo},
	"lsaquery":        {"lsarpc", lsarpc.Syntax, 0, 0, rpcLsaQuery},
	"lookupsids":      {"lsarpc", lsarpc.Syntax, 1, -1, rpcLookupSIDs},
	"lookupnames":     {"lsarpc", lsarpc.Syntax, 1, -1, rpcLookupNames},
	"getusername":     {"lsarpc", lsarpc.Syntax, 0, 0, rpcGetUserName},
	"users":           {"samr", samr.Syntax, 0, 0, rpcUsers},
	"enumdomusers":    {"samr", samr.Syntax, 0, 0, rpcUsers},
	"groups":          {"samr", samr.Syntax, 1, 1, rpcGroups},
}

func init() {
	register(command{"rpc", "call srvsvc, wkssvc, lsarpc and samr like rpcclient (srvinfo, shares, users, ...)", rpcUsage, runRPC})
}

// parseRPCArgs parses the command line: the flags before //HOST are
// smbpipe dial's (parseDialArgs, so the credential flags live in one
// place), then the command and its arguments.
func parseRPCArgs(args []string, getenv func(string) string) (*rpcOptions, error) {
	i := 0
	for i < len(args) && !strings.HasPrefix(args[i], "//") && !strings.HasPrefix(args[i], `\\`) {
		i++
	}
	if i == len(args) {
		return nil, errors.New("want //HOST and a command")
	}
	host := strings.TrimRight(args[i][2:], `/\`)
	if host == "" || strings.ContainsAny(host, `/\`) {
		return nil, fmt.Errorf("bad server %q: want //HOST or //HOST:PORT", args[i])
	}
	if i+1 == len(args) {
		return nil, errors.New("want a command after " + args[i])
	}
	o := &rpcOptions{host: host, cmd: strings.ToLower(args[i+1]), args: args[i+2:]}
	c, ok := rpcCommands[o.cmd]
	if !ok {
		return nil, fmt.Errorf("unknown command %q", args[i+1])
	}
	if len(o.args) < c.min || c.max >= 0 && len(o.args) > c.max {
		return nil, fmt.Errorf("%s: wrong number of arguments", o.cmd)
	}
	flags, err := rpcOwnFlags(o, args[:i])
	if err != nil {
		return nil, err
	}
	if o.bench > 0 && (o.cmd != "srvinfo" || len(o.args) > 0) {
		return nil, errors.New("--bench runs srvinfo (level 101) only")
	}
	d, err := parseDialArgs(append(flags, "//"+host+"/pipe/"+c.pipe), getenv)
	if err != nil {
		return nil, err
	}
	o.dial = d
	return o, nil
}

func runRPC(args []string) int {
	o, err := parseRPCArgs(args, os.Getenv)
	var np *needPasswordError
	if errors.As(err, &np) { // -U USER without a password: ask, as dial does
		if pw, aerr := askPassword(np.user); aerr == nil {
			o, err = parseRPCArgs(args, func(k string) string {
				if k == "PASSWD" {
					return pw
				}
				return os.Getenv(k)
			})
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "smbpipe rpc: %v\n\n%s", err, rpcUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return rpcMain(ctx, o, os.Stdout, os.Stderr)
}

// rpcMain opens the command's pipe, binds its interface, runs the command
// and returns the exit code.
func rpcMain(ctx context.Context, o *rpcOptions, stdout, stderr io.Writer) int {
	c := rpcCommands[o.cmd]
	fail := func(err error) int {
		fmt.Fprintf(stderr, "smbpipe rpc: %s: %s\n", o.cmd, describeRPC(err))
		return 1
	}
	if o.bench > 0 {
		return rpcBench(ctx, o, stdout, fail)
	}
	setup, cancel := context.WithTimeout(ctx, o.dial.timeout)
	defer cancel()
	d := client.Dialer{Config: o.dial.cfg, Port: o.dial.port}
	p, err := d.DialContext(setup, o.dial.path)
	if err != nil {
		return fail(err)
	}
	defer p.Close()
	cl, err := dcerpc.Bind(setup, p, c.syntax, nil)
	if err != nil {
		return fail(err)
	}
	server, _, _, _ := client.ParsePipePath(o.dial.path)
	if err := c.run(ctx, cl, server, o.args, stdout); err != nil {
		return fail(err)
	}
	return 0
}

// rpcBench runs bench.RunSrvsvc against the server and prints the result.
func rpcBench(ctx context.Context, o *rpcOptions, stdout io.Writer, fail func(error) int) int {
	host, port, _, _ := client.ParsePipePath(o.dial.path)
	if port == 0 {
		port = o.dial.port
	}
	if port == 0 {
		port = 445
	}
	r, err := bench.RunSrvsvc(ctx, bench.Options{Addr: net.JoinHostPort(host, strconv.Itoa(port)),
		Client: o.dial.cfg, Concurrency: o.clients, Duration: o.bench})
	if err != nil {
		return fail(err)
	}
	if o.format == "tsv" {
		err = r.WriteTSV(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// describeRPC renders an error for the user: the service's status name
// first.
func describeRPC(err error) string {
	var (
		w32   svc.Win32Error
		st    svc.StatusError
		fault dcerpc.Fault
		bind  *dcerpc.BindError
	)
	switch {
	case errors.As(err, &w32), errors.As(err, &st):
		return err.Error()
	case errors.As(err, &fault):
		return fmt.Sprintf("RPC fault %s (0x%08x)", fault.Name(), uint32(fault))
	case errors.As(err, &bind):
		return "bind refused: " + bind.Error()
	}
	return describe(err)
}

// level parses an optional level argument.
func level(args []string, i int, def uint32) (uint32, error) {
	if len(args) <= i {
		return def, nil
	}
	v, err := strconv.ParseUint(args[i], 0, 32)
	if err != nil {
		return 0, fmt.Errorf("bad level %q", args[i])
	}
	return uint32(v), nil
}

// serverTypes names the bits of a server type as rpcclient's srvinfo does.
func serverTypes(t uint32) string {
	var out []string
	for _, b := range []struct {
		bit  uint32
		name string
	}{{0x1, "Wk"}, {0x2, "Sv"}, {0x1000, "NT"}, {0x8000, "SNT"}, {0x8, "PDC"}, {0x10, "BDC"}} {
		if t&b.bit != 0 {
			out = append(out, b.name)
		}
	}
	return strings.Join(out, " ")
}

func rpcSrvinfo(ctx context.Context, c *dcerpc.Client, server string, args []string, out io.Writer) error {
	l, err := level(args, 0, 101)
	if err != nil {
		return err
	}
	i, err := srvsvc.GetServerInfo(ctx, c, server, l)
	if err != nil {
		return err
	}
	switch l {
	case 100:
		fmt.Fprintf(out, "\tplatform_id     :\t%d\n\tserver name     :\t%s\n", i.PlatformID, i.Name)
	case 101, 102:
		fmt.Fprintf(out, "\t%-15s%-20s%s\n", i.Name, serverTypes(i.Type), i.Comment)
		fmt.Fprintf(out, "\tplatform_id     :\t%d\n\tos version      :\t%d.%d\n\tserver type     :\t0x%x\n",
			i.PlatformID, i.VersionMajor, i.VersionMinor, i.Type)
		if l == 102 {
			fmt.Fprintf(out, "\tusers           :\t%d\n\tdisc, hidden    :\t%d, %d\n\tannounce, delta :\t%d, %d\n\tlicenses        :\t%d\n\tuser path       :\t%s\n",
				i.Users, i.Disc, i.Hidden, i.Announce, i.AnnDelta, i.Licenses, i.UserPath)
		}
	case 502, 503:
		fmt.Fprintf(out, "\tsessopens       :\t%d\n\tsessusers       :\t%d\n\tsessconns       :\t%d\n",
			i.Tunables[0], i.Tunables[9], i.Tunables[10])
		if l == 503 {
			fmt.Fprintf(out, "\tdomain          :\t%s\n", i.Domain)
		}
	}
	return nil
}

func printShare(out io.Writer, s *srvsvc.Share, l uint32) {
	switch l {
	case 0, 1, 2, 501, 502:
		fmt.Fprintf(out, "netname: %s\n", s.Name)
	}
	switch l {
	case 1, 2, 501, 502:
		fmt.Fprintf(out, "\tremark:\t%s\n", s.Remark)
	}
	switch l {
	case 2, 502:
		fmt.Fprintf(out, "\tpath:\t%s\n\tpassword:\t%s\n", s.Path, s.Password)
	}
	if l != 0 && l != 1004 {
		fmt.Fprintf(out, "\ttype:\t0x%x\n", s.Type)
	}
}

func rpcShares(ctx context.Context, c *dcerpc.Client, server string, args []string, out io.Writer) error {
	l, err := level(args, 0, 1)
	if err != nil {
		return err
	}
	shares, err := srvsvc.EnumShares(ctx, c, server, l)
	if err != nil {
		return err
	}
	for i := range shares {
		printShare(out, &shares[i], l)
	}
	return nil
}

func rpcShareInfo(ctx context.Context, c *dcerpc.Client, server string, args []string, out io.Writer) error {
	l, err := level(args, 1, 1)
	if err != nil {
		return err
	}
	s, err := srvsvc.GetShareInfo(ctx, c, server, args[0], l)
	if err != nil {
		return err
	}
	if s != nil {
		printShare(out, s, l)
	}
	return nil
}

func rpcSessions(ctx context.Context, c *dcerpc.Client, server string, args []string, out io.Writer) error {
	l, err := level(args, 0, 10)
	if err != nil {
		return err
	}
	p, err := srvsvc.EnumLive(ctx, c, srvsvc.LiveRequest{Op: srvsvc.OpNetrSessionEnum, ServerName: server, Level: l})
	if err != nil {
		return err
	}
	for _, s := range p.Sessions {
		if l == 0 {
			fmt.Fprintf(out, "client: %s\n", s.ClientName)
			continue
		}
		fmt.Fprintf(out, "client: %s user: %s time: %d idle: %d", s.ClientName, s.User, s.Time, s.Idle)
		if l != 10 {
			fmt.Fprintf(out, " opens: %d flags: 0x%x", s.Opens, s.Flags)
		}
		fmt.Fprintln(out)
	}
	return nil
}

func rpcConnections(ctx context.Context, c *dcerpc.Client, server string, args []string, out io.Writer) error {
	q := "IPC$"
	if len(args) > 0 {
		q = args[0]
	}
	p, err := srvsvc.EnumLive(ctx, c, srvsvc.LiveRequest{Op: srvsvc.OpNetrConnectionEnum, ServerName: server, ClientName: q, Level: 1})
	if err != nil {
		return err
	}
	for _, x := range p.Connections {
		fmt.Fprintf(out, "id: %d type: 0x%x opens: %d users: %d time: %d user: %s netname: %s\n",
			x.ID, x.Type, x.Opens, x.Users, x.Time, x.User, x.NetName)
	}
	return nil
}

func rpcFiles(ctx context.Context, c *dcerpc.Client, server string, _ []string, out io.Writer) error {
	p, err := srvsvc.EnumLive(ctx, c, srvsvc.LiveRequest{Op: srvsvc.OpNetrFileEnum, ServerName: server, Level: 3})
	if err != nil {
		return err
	}
	for _, f := range p.Files {
		fmt.Fprintf(out, "id: %d perms: 0x%x locks: %d path: %s user: %s\n", f.ID, f.Permissions, f.Locks, f.Path, f.User)
	}
	return nil
}

func rpcWkstaInfo(ctx context.Context, c *dcerpc.Client, server string, args []string, out io.Writer) error {
	l, err := level(args, 0, 100)
	if err != nil {
		return err
	}
	var p wkssvc.Reply
	err = svc.Invoke(ctx, c, wkssvc.OpNetrWkstaGetInfo, func(w *ndr.Writer) {
		w.UniquePtr(true)
		w.WString(`\\` + server)
		w.Uint32(l)
	}, p.UnmarshalNDR)
	if err != nil {
		return err
	}
	if p.Result != 0 {
		return svc.Win32Error(p.Result)
	}
	if i := p.Info; i != nil && l != 502 {
		fmt.Fprintf(out, "\tplatform_id     :\t%d\n\tcomputer name   :\t%s\n\tdomain          :\t%s\n\tos version      :\t%d.%d\n",
			i.PlatformID, i.ComputerName, i.LanGroup, i.VersionMajor, i.VersionMinor)
	} else if i != nil {
		fmt.Fprintf(out, "\tchar_wait       :\t%d\n\tkeep_conn       :\t%d\n\tsess_timeout    :\t%d\n", i.Tunables[0], i.Tunables[3], i.Tunables[5])
	}
	return nil
}

// withPolicy opens an LSA policy handle for the lookups, runs f with it
// and closes it.
func withPolicy(ctx context.Context, c *dcerpc.Client, server string, f func(h ndr.ContextHandle) error) error {
	h, err := lsarpc.OpenPolicy2(ctx, c, server, samr.MaximumAllowed)
	if err != nil {
		return fmt.Errorf("LsarOpenPolicy2: %w", err)
	}
	defer lsarpc.Close(ctx, c, h)
	return f(h)
}

func sidText(s *security.SID) string {
	if s == nil {
		return "(NULL SID)"
	}
	return s.String()
}

func rpcLsaQuery(ctx context.Context, c *dcerpc.Client, server string, _ []string, out io.Writer) error {
	return withPolicy(ctx, c, server, func(h ndr.ContextHandle) error {
		for _, class := range []uint16{lsarpc.ClassPrimaryDomain, lsarpc.ClassAccountDomain} {
			p, err := lsarpc.QueryInfo(ctx, c, h, class)
			if err != nil {
				return fmt.Errorf("LsarQueryInformationPolicy class %d: %w", class, err)
			}
			if class == lsarpc.ClassAccountDomain {
				fmt.Fprintf(out, "Account Domain Name: %s\nAccount Domain Sid: %s\n", p.Name, sidText(p.SID))
				continue
			}
			fmt.Fprintf(out, "Domain Name: %s\nDomain Sid: %s\n", p.Name, sidText(p.SID))
		}
		return nil
	})
}

// sidTypeNames are rpcclient's names of SID_NAME_USE values.
var sidTypeNames = map[uint16]string{1: "User", 2: "Domain Group", 3: "Domain", 4: "Local Group",
	5: "Well-known Group", 6: "Deleted Account", 7: "Invalid Account", 8: "Unknown", 9: "Computer"}

// mapped reports whether a lookup's error still carries translations
// (STATUS_SOME_NOT_MAPPED) and returns what to report after printing them.
func mapped(err error) (bool, error) {
	var st svc.StatusError
	if errors.As(err, &st) && uint32(st) == svc.StatusSomeNotMapped {
		return true, nil
	}
	return err == nil, err
}

func rpcLookupSIDs(ctx context.Context, c *dcerpc.Client, server string, args []string, out io.Writer) error {
	sids := make([]security.SID, len(args))
	for i, a := range args {
		s, err := security.ParseSID(a)
		if err != nil {
			return err
		}
		sids[i] = s
	}
	return withPolicy(ctx, c, server, func(h ndr.ContextHandle) error {
		doms, ts, err := lsarpc.LookupSIDs(ctx, c, h, sids)
		ok, err := mapped(err)
		if !ok {
			return fmt.Errorf("LsarLookupSids: %w", err)
		}
		for i, t := range ts {
			name := t.Name
			if d := t.DomainIndex; d >= 0 && int(d) < len(doms.Domains) && doms.Domains[d].Name != "" {
				name = doms.Domains[d].Name + `\` + name
			}
			if t.Use == svc.SidTypeUnknown {
				name = "*unknown*"
			}
			fmt.Fprintf(out, "%s %s (%d)\n", args[i], name, t.Use)
		}
		return nil
	})
}

func rpcLookupNames(ctx context.Context, c *dcerpc.Client, server string, args []string, out io.Writer) error {
	return withPolicy(ctx, c, server, func(h ndr.ContextHandle) error {
		doms, ts, err := lsarpc.LookupNames(ctx, c, h, args)
		ok, err := mapped(err)
		if !ok {
			return fmt.Errorf("LsarLookupNames: %w", err)
		}
		for i, t := range ts {
			sid := "*unknown*"
			if d := t.DomainIndex; d >= 0 && int(d) < len(doms.Domains) && doms.Domains[d].SID != nil {
				s := *doms.Domains[d].SID
				if t.Use != svc.SidTypeDomain {
					s, _ = s.WithRID(t.RID)
				}
				sid = s.String()
			}
			fmt.Fprintf(out, "%s %s (%s: %d)\n", args[i], sid, sidTypeNames[t.Use], t.Use)
		}
		return nil
	})
}

func rpcGetUserName(ctx context.Context, c *dcerpc.Client, server string, _ []string, out io.Writer) error {
	user, domain, err := lsarpc.GetUserName(ctx, c, server)
	if err != nil {
		return fmt.Errorf("LsarGetUserName: %w", err)
	}
	fmt.Fprintf(out, "Account Name: %s, Authority Name: %s\n", user, domain)
	return nil
}

// accountDomain connects to SAMR and opens the account domain (the
// domain that is not BUILTIN) and BUILTIN.
func accountDomain(ctx context.Context, c *dcerpc.Client, server string) (dom, builtin ndr.ContextHandle, sid security.SID, err error) {
	srv, err := samr.Connect5(ctx, c, server, samr.MaximumAllowed)
	if err != nil {
		return dom, builtin, sid, fmt.Errorf("SamrConnect5: %w", err)
	}
	doms, err := samr.EnumDomains(ctx, c, srv)
	if err != nil {
		return dom, builtin, sid, fmt.Errorf("SamrEnumerateDomainsInSamServer: %w", err)
	}
	name := ""
	for _, d := range doms {
		if !strings.EqualFold(d.Name, "Builtin") {
			name = d.Name
			break
		}
	}
	if sid, err = samr.LookupDomain(ctx, c, srv, name); err != nil {
		return dom, builtin, sid, fmt.Errorf("SamrLookupDomainInSamServer %s: %w", name, err)
	}
	if dom, err = samr.OpenDomain(ctx, c, srv, samr.MaximumAllowed, sid); err != nil {
		return dom, builtin, sid, fmt.Errorf("SamrOpenDomain %s: %w", name, err)
	}
	if builtin, err = samr.OpenDomain(ctx, c, srv, samr.MaximumAllowed, svc.BuiltinSID()); err != nil {
		return dom, builtin, sid, fmt.Errorf("SamrOpenDomain BUILTIN: %w", err)
	}
	return dom, builtin, sid, nil
}

func rpcUsers(ctx context.Context, c *dcerpc.Client, server string, _ []string, out io.Writer) error {
	dom, _, _, err := accountDomain(ctx, c, server)
	if err != nil {
		return err
	}
	us, err := samr.EnumUsers(ctx, c, dom)
	if err != nil {
		return fmt.Errorf("SamrEnumerateUsersInDomain: %w", err)
	}
	for _, u := range us {
		fmt.Fprintf(out, "user:[%s] rid:[0x%x]\n", u.Name, u.RID)
	}
	return nil
}

func rpcGroups(ctx context.Context, c *dcerpc.Client, server string, args []string, out io.Writer) error {
	dom, builtin, sid, err := accountDomain(ctx, c, server)
	if err != nil {
		return err
	}
	rids, _, err := samr.LookupNames(ctx, c, dom, args[:1])
	if err != nil {
		return fmt.Errorf("SamrLookupNamesInDomain %s: %w", args[0], err)
	}
	u, err := samr.OpenUser(ctx, c, dom, samr.MaximumAllowed, rids[0])
	if err != nil {
		return fmt.Errorf("SamrOpenUser %d: %w", rids[0], err)
	}
	gs, err := samr.GroupsForUser(ctx, c, u)
	if err != nil {
		return fmt.Errorf("SamrGetGroupsForUser: %w", err)
	}
	for _, g := range gs {
		fmt.Fprintf(out, "group rid:[0x%x] attr:[0x%x]\n", g.RID, g.Attributes)
	}
	usid, _ := sid.WithRID(rids[0])
	as, err := samr.AliasMembership(ctx, c, builtin, []security.SID{usid})
	if err != nil {
		return fmt.Errorf("SamrGetAliasMembership: %w", err)
	}
	for _, a := range as {
		fmt.Fprintf(out, "alias rid:[0x%x] (BUILTIN)\n", a)
	}
	return nil
}
