package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smbpipe/smbpipe/admin"
)

const statusUsage = `usage: smbpipe status [--admin ADDR] [--admin-token-file F] [--json] [--url]

Shows what a running "smbpipe serve --admin ADDR" serves now, as smbstatus
does: its sessions, open pipe instances, recent access decisions (denials
first) and the policy in force. Run by the user that started serve, it
finds the token by itself (the file serve names in its startup log).

flags:
  --admin ADDR          the admin endpoint (default 127.0.0.1:9465; a bare
                        port is on 127.0.0.1)
  --admin-token-file F  the token file (default: the one serve --admin ADDR
                        writes for that port, else the packaged service's
                        /run/smbpipe/admin-PORT.token)
  --json                print the status as JSON, for scripts
  --url                 print the URL that opens the live view in a
                        browser (it carries the token once; the page keeps
                        it in a cookie)
Exit status: 0 shown, 1 the endpoint failed or refused, 2 bad usage.
`

func init() {
	register(command{"status", "show the sessions, open pipes and recent decisions of a running serve --admin", statusUsage, runStatus})
}

func runStatus(args []string) int { return status(args, os.Stdout, os.Stderr) }

// status is runStatus with its output streams injected (for tests).
func status(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("admin", "127.0.0.1:9465", "")
	tokenFile := fs.String("admin-token-file", "", "")
	asJSON := fs.Bool("json", false, "")
	asURL := fs.Bool("url", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, statusUsage)
			return 0
		}
		return usageError(stderr, "status", err.Error(), statusUsage)
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "status", fmt.Sprintf("unexpected argument %q", fs.Arg(0)), statusUsage)
	}
	a, err := loopbackDefault(*addr)
	if err != nil {
		return usageError(stderr, "status", fmt.Sprintf("--admin %q: want HOST:PORT or :PORT", *addr), statusUsage)
	}
	paths := []string{*tokenFile}
	if *tokenFile == "" {
		if paths, err = admin.TokenFiles(a); err != nil {
			fmt.Fprintf(stderr, "smbpipe status: %v\n", err)
			return 1
		}
	}
	var tok, path string
	var firstErr error
	for _, path = range paths {
		if tok, err = admin.ReadToken(path); err == nil || !errors.Is(err, iofs.ErrNotExist) {
			break
		}
		if firstErr == nil {
			firstErr = err // none there: name the file this user's serve writes
		}
	}
	if err != nil && errors.Is(err, iofs.ErrNotExist) {
		err = firstErr
	}
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe status: %v (is serve running with --admin %s as this user? else pass --admin-token-file)\n", err, a)
		return 1
	}
	if *asURL {
		fmt.Fprintf(stdout, "http://%s/login?token=%s\n", a, tok)
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+a+"/api/status", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe status: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	switch {
	case err == nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden):
		fmt.Fprintf(stderr, "smbpipe status: %s refused the token in %s (%s): serve --admin writes a new token each time it starts; is this the token file of the serve listening there?\n",
			a, path, strings.TrimSpace(string(body)))
		return 1
	case err != nil || resp.StatusCode != http.StatusOK:
		fmt.Fprintf(stderr, "smbpipe status: %s: %s %s\n", a, resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	if *asJSON {
		stdout.Write(body)
		return 0
	}
	var st admin.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintf(stderr, "smbpipe status: %s: %v\n", a, err)
		return 1
	}
	printStatus(stdout, &st)
	return 0
}

// printStatus prints st as smbstatus-like tables.
func printStatus(out io.Writer, st *admin.Status) {
	now := st.Time
	age := func(t time.Time) string { return now.Sub(t).Truncate(time.Second).String() }
	who := func(kind, domain, user string) string {
		switch {
		case kind == "anonymous":
			return "anonymous"
		case domain == "":
			return admin.Printable(user) // as the page shows it
		}
		return admin.Printable(domain + `\` + user)
	}
	pr := admin.Printable
	p := st.Policy
	rev := ""
	if p.Revision != 0 {
		rev = fmt.Sprintf(" at revision %d", p.Revision)
	}
	fmt.Fprintf(out, "Policy: %s%s, applied %s, %d reload failure(s)\n\n", pr(p.File), rev, p.Applied.Local().Format(time.DateTime), p.ReloadFailures)

	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "ID\tClient\tUser\tKind\tDialect\tSigning\tEncryption\tAge\tIdle\tOpens\n")
	for _, s := range st.Sessions {
		enc := "no"
		switch {
		case s.Encryption:
			enc = "required " + s.Cipher
		case s.Cipher != "":
			enc = "offered " + s.Cipher
		}
		sign := "no"
		if s.Signing {
			sign = "required"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", s.ID, pr(s.Client), who(s.Kind, s.Domain, s.User), pr(s.Kind),
			pr(s.Dialect), sign, pr(enc), age(s.Started), age(s.LastActive), s.Opens)
	}
	w.Flush()
	fmt.Fprintf(out, "(%d sessions)\n\n", len(st.Sessions))

	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "ID\tPipe\tSession\tUser\tGranted\tIn\tOut\tOpened\n")
	for _, o := range st.Opens {
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t0x%08x\t%d\t%d\t%s ago\n", o.ID, pr(o.Pipe), o.Session, who(o.Kind, o.Domain, o.User),
			o.Granted, o.BytesIn, o.BytesOut, age(o.Opened))
	}
	w.Flush()
	fmt.Fprintf(out, "(%d open pipes)\n\n", len(st.Opens))

	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "#\tTime\tStatus\tUser\tClient\tPipe\tRule\tReason\n")
	for _, d := range st.Decisions {
		pipe := pr(d.Pipe)
		if pipe == "" {
			pipe = "(logon)"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Seq, d.Time.Local().Format(time.TimeOnly), pr(d.Status),
			who(d.Kind, d.Domain, d.User), pr(d.Client), pipe, pr(d.Rule), pr(d.Reason))
	}
	w.Flush()
	fmt.Fprintf(out, "(%d recent decisions, denials first; explain one at http://ADMIN/api/explain?seq=N)\n", len(st.Decisions))
}
