package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/security"
)

// The effective-access matrix (smbpipe explain --matrix): every pipe and
// every class of RPC call against anonymous, guest, every account and a
// member of Administrators, each cell decided by the server's own
// functions (CheckSession, Check, CheckRPC) on the same snapshot.

// matrixAdmin is the account the Administrators column decides for: a
// member of BUILTIN\Administrators added to a copy of the config (the
// characters around it cannot start a real account name's lookup by
// accident; '(' is allowed in names).
const matrixAdmin = "(Administrators member)"

// A matrixCell is one principal on one pipe or call class.
type matrixCell struct {
	Principal string `json:"principal"`
	Allowed   bool   `json:"allowed"`
	// Letters are icacls-like: F full, R read, W write, or the specific
	// rights ("RD,WD"); "" when denied or for a call.
	Letters string `json:"letters,omitempty"`
	Mask    string `json:"mask,omitempty"` // granted access, 0x%08X
	Rights  string `json:"rights,omitempty"`
	Status  string `json:"status"`
	Rule    string `json:"rule"`
	Reason  string `json:"reason,omitempty"` // why it is denied
	Explain string `json:"explain"`          // the explain command for this cell
}

type matrixRow struct {
	Kind  string       `json:"kind"` // "pipe" or "rpc"
	Name  string       `json:"name"` // pipe name or class name
	Call  string       `json:"call,omitempty"`
	Cells []matrixCell `json:"cells"`
}

type accessMatrix struct {
	Config     string      `json:"config"`
	Principals []string    `json:"principals"`
	Rows       []matrixRow `json:"rows"`
}

// buildMatrix decides every cell. configArg is what --config was ("" for
// the embedded default), for the explain commands.
func buildMatrix(cfg *policy.Config, source, configArg string) (*accessMatrix, error) {
	c := cfg.Clone()
	c.Accounts = append(c.Accounts, policy.Account{Name: matrixAdmin, Password: "-", Groups: []string{"Administrators"}})
	snap, err := policy.Compile(c)
	if err != nil {
		return nil, err
	}
	m := &accessMatrix{Config: source, Principals: []string{"anonymous", "guest"}}
	for _, a := range cfg.Accounts {
		m.Principals = append(m.Principals, a.Name)
	}
	m.Principals = append(m.Principals, "Administrators")
	who := func(p string) string {
		if p == "Administrators" {
			return matrixAdmin
		}
		return p
	}
	// The explain command of the Administrators column names an account
	// of the config in Administrators, if there is one.
	admin := "ADMIN"
	for _, a := range cfg.Accounts {
		if tok, ok := snap.Token(policy.Identity{Kind: policy.User, User: a.Name}); ok && tok.Contains(security.BuiltinAdministrators()) {
			admin = a.Name
			break
		}
	}
	explainCmd := func(p, what string) string {
		s := "smbpipe explain"
		if configArg != "" {
			s += " --config " + shellQuote(configArg)
		}
		if p == "Administrators" {
			p = admin
		}
		return s + " --user " + shellQuote(p) + " " + what
	}

	for _, p := range snap.Config().Pipes {
		row := matrixRow{Kind: "pipe", Name: p.Name}
		for _, pr := range m.Principals {
			cell := matrixCell{Principal: pr, Explain: explainCmd(pr, "--pipe "+shellQuote(p.Name)+" --access max")}
			id, sd := sessionOf(snap, who(pr))
			if sd.Status != ntstatus.Success {
				cell.Status, cell.Rule, cell.Reason = sd.Status.String(), sd.Rule, sd.Reason
				row.Cells = append(row.Cells, cell)
				continue
			}
			d := snap.Check(policy.Request{Identity: id, PipeName: p.Name, DesiredAccess: security.MaximumAllowed,
				ImpersonationLevel: policy.ImpersonationImpersonation, Pipe: snap.PipeInfo(p.Name)})
			cell.Status, cell.Rule = d.Status.String(), d.Rule
			if d.Status == ntstatus.Success {
				cell.Allowed = true
				cell.Letters, cell.Mask, cell.Rights = icaclsLetters(d.Granted), fmt.Sprintf("0x%08X", d.Granted), policy.WindowsRights(d.Granted)
			} else {
				cell.Reason = d.Why()
			}
			row.Cells = append(row.Cells, cell)
		}
		m.Rows = append(m.Rows, row)
	}

	services := map[string]bool{}
	for _, s := range snap.Config().Services {
		services[strings.ToLower(s)] = true
	}
	for _, cl := range policy.RPCClasses() {
		if !services[cl.Interface] {
			continue
		}
		row := matrixRow{Kind: "rpc", Name: cl.Name, Call: cl.Call()}
		for _, pr := range m.Principals {
			cell := matrixCell{Principal: pr, Explain: explainCmd(pr, "--rpc "+cl.Call())}
			id, sd := sessionOf(snap, who(pr))
			if sd.Status != ntstatus.Success {
				cell.Status, cell.Rule, cell.Reason = sd.Status.String(), sd.Rule, sd.Reason
				row.Cells = append(row.Cells, cell)
				continue
			}
			d := snap.CheckRPC(policy.RPCRequest{Identity: id, Interface: cl.Interface, Op: cl.Op, Level: cl.Level,
				Access: security.MaximumAllowed})
			cell.Status, cell.Rule, cell.Allowed = d.Status.String(), d.Rule, d.Allowed
			if d.Allowed {
				if d.Granted != 0 {
					cell.Mask = fmt.Sprintf("0x%08X", d.Granted)
				}
			} else {
				cell.Reason = d.Why()
			}
			row.Cells = append(row.Cells, cell)
		}
		m.Rows = append(m.Rows, row)
	}
	return m, nil
}

// icaclsLetters writes a pipe's granted access as icacls does: F for full
// control, R for FILE_GENERIC_READ, W for FILE_GENERIC_WRITE, each other
// right by its abbreviation. On a pipe FILE_APPEND_DATA is
// FILE_CREATE_PIPE_INSTANCE, which a client's open never keeps, so F and
// W do not need it.
func icaclsLetters(g uint32) string {
	const createInstance = security.FileAppendData
	if full := security.FileAllAccess &^ createInstance; g&full == full {
		return "F"
	}
	var parts []string
	rest := g
	if r := security.FileGenericRead; g&r == r {
		parts, rest = append(parts, "R"), rest&^r
	}
	if w := security.FileGenericWrite &^ createInstance; g&w == w {
		parts, rest = append(parts, "W"), rest&^w
	}
	for _, r := range [...]struct {
		bit  uint32
		name string
	}{
		{security.FileReadData, "RD"}, {security.FileWriteData, "WD"}, {security.FileAppendData, "AD"},
		{security.FileReadEA, "REA"}, {security.FileWriteEA, "WEA"}, {security.FileExecute, "X"},
		{security.FileDeleteChild, "DC"}, {security.FileReadAttributes, "RA"}, {security.FileWriteAttributes, "WA"},
		{security.Delete, "D"}, {security.ReadControl, "RC"}, {security.WriteDAC, "WDAC"},
		{security.WriteOwner, "WO"}, {security.Synchronize, "S"}, {security.AccessSystemSecurity, "AS"},
	} {
		if rest&r.bit != 0 {
			parts, rest = append(parts, r.name), rest&^r.bit
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%X", rest))
	}
	return strings.Join(parts, ",")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cellText is a cell in the text and md tables: "(R,W) 0x0012019B",
// "allowed" for a call, or "- RULE [n]" with n its note.
func cellText(row matrixRow, c matrixCell, note func(string) int) string {
	if c.Allowed {
		if row.Kind == "pipe" {
			return fmt.Sprintf("(%s) %s", c.Letters, c.Mask)
		}
		return "allowed"
	}
	return fmt.Sprintf("- %s [%d]", c.Rule, note(c.Reason))
}

// writeMatrix prints m in format (text, csv, json or md).
func writeMatrix(w io.Writer, m *accessMatrix, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"kind", "name", "call", "principal", "allowed", "letters", "mask", "rights", "status", "rule", "reason", "explain"})
		for _, r := range m.Rows {
			for _, c := range r.Cells {
				cw.Write([]string{r.Kind, r.Name, r.Call, c.Principal, fmt.Sprint(c.Allowed), c.Letters, c.Mask, c.Rights,
					c.Status, c.Rule, c.Reason, c.Explain})
			}
		}
		cw.Flush()
		return cw.Error()
	case "text", "md":
	default:
		return fmt.Errorf("--format %q: want text, csv, json or md", format)
	}

	var notes []string
	index := map[string]int{}
	note := func(reason string) int {
		if n, ok := index[reason]; ok {
			return n
		}
		notes = append(notes, reason)
		index[reason] = len(notes)
		return len(notes)
	}
	header := append([]string{"pipe / call"}, m.Principals...)
	var lines [][]string
	for _, r := range m.Rows {
		name := `\pipe\` + r.Name
		if r.Kind == "rpc" {
			name = r.Call
		}
		line := []string{name}
		for _, c := range r.Cells {
			line = append(line, cellText(r, c, note))
		}
		lines = append(lines, line)
	}
	if format == "md" {
		fmt.Fprintf(w, "Effective access under %s\n\n", m.Config)
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
		for _, l := range lines {
			for i := range l {
				l[i] = strings.ReplaceAll(strings.ReplaceAll(l[i], `\`, `\\`), "|", `\|`)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(l, " | "))
		}
		fmt.Fprintln(w)
		for i, n := range notes {
			fmt.Fprintf(w, "%d. %s\n", i+1, n)
		}
		return nil
	}
	fmt.Fprintf(w, "config: %s\n", m.Config)
	fmt.Fprintln(w, "pipes: the access a MAXIMUM_ALLOWED open keeps, icacls letters (F full, R read, W write) and mask; calls: allowed or not")
	fmt.Fprintln(w, `Administrators: an account in BUILTIN\Administrators; "- RULE [n]": denied by RULE, note n says why`)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, l := range lines {
		fmt.Fprintln(tw, strings.Join(l, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nwhy denied:")
	}
	for i, n := range notes {
		fmt.Fprintf(w, "  [%d] %s\n", i+1, n)
	}
	return nil
}

// explainMatrix runs explain --matrix.
func explainMatrix(configPath, format string, extra bool, stdout, stderr io.Writer) int {
	if extra {
		fmt.Fprintf(stderr, "smbpipe explain: --matrix takes only --config and --format\n\n%s", explainUsage)
		return 2
	}
	switch format {
	case "text", "csv", "json", "md":
	default:
		return usageError(stderr, "explain", fmt.Sprintf("--format %q: want text, csv, json or md", format), explainUsage)
	}
	cfg, source := policy.Default(), "embedded default"
	if configPath != "" {
		var err error
		if cfg, err = policy.Load(configPath); err != nil {
			fmt.Fprintf(stderr, "smbpipe explain: %v\n", err)
			return 2
		}
		source = configPath
	}
	m, err := buildMatrix(cfg, source, configPath)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe explain: %v\n", err)
		return 2
	}
	if err := writeMatrix(stdout, m, format); err != nil {
		fmt.Fprintf(stderr, "smbpipe explain: %v\n", err)
		return 1
	}
	return 0
}
