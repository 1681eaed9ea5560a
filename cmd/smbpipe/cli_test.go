package main

import (
	"bytes"
	"errors"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// runBinary runs the smbpipe binary with args and no stdin.
func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(smbpipeBinary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

// TestEveryCommandHelps: "smbpipe CMD -h", "--help" and "smbpipe help CMD"
// print the command's full usage on stdout and exit 0.
func TestEveryCommandHelps(t *testing.T) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, args := range [][]string{{n, "-h"}, {n, "--help"}, {"help", n}} {
			code, out, errs := runBinary(t, args...)
			if code != 0 || out != commands[n].usage || errs != "" {
				t.Errorf("smbpipe %s: exit %d, stderr %q, stdout starts %q", strings.Join(args, " "), code, errs, first(out))
			}
		}
		if !strings.HasPrefix(commands[n].usage, "usage: smbpipe "+n) {
			t.Errorf("%s: usage does not start with %q: %q", n, "usage: smbpipe "+n, first(commands[n].usage))
		}
	}
	if code, out, _ := runBinary(t, "--version"); code != 0 || !strings.HasPrefix(out, "smbpipe ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

func first(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestMissingRequired: a command without what it needs names it, in the
// one usage-error format ("smbpipe CMD: PROBLEM", a blank line, the
// usage), exit 2.
func TestMissingRequired(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "smbpipe check: missing --config FILE"},
		{[]string{"explain"}, "smbpipe explain: missing --user WHO and --pipe NAME (or --rpc SERVICE.CALL; or --matrix)"},
		{[]string{"explain", "--pipe", "echo"}, "smbpipe explain: missing --user WHO (anonymous, guest, an account or NAME@REALM)"},
		{[]string{"explain", "--user", "alice"}, "smbpipe explain: missing --pipe NAME (or --rpc SERVICE.CALL)"},
		{[]string{"sid"}, "smbpipe sid: missing NAME"},
		{[]string{"import-reg"}, "smbpipe import-reg: missing FILE.reg"},
		{[]string{"dial"}, "smbpipe dial: missing the pipe: //HOST/pipe/NAME"},
		{[]string{"dial", "-U", "alice%x"}, "smbpipe dial: missing the pipe: //HOST/pipe/NAME"},
		{[]string{"explain", "--bogus"}, "smbpipe explain: flag provided but not defined: -bogus"},
	} {
		code, out, errs := runBinary(t, c.args...)
		name := c.args[0]
		if code != 2 || out != "" || !strings.HasPrefix(errs, c.want) || !strings.Contains(errs, "\n\n"+commands[name].usage) {
			t.Errorf("smbpipe %s: exit %d, stdout %q, stderr %q; want exit 2 and %q then the usage", strings.Join(c.args, " "), code, out, first(errs), c.want)
		}
	}
}

// TestUsageErrorsOneFormat: every command's bad flags and arguments get
// the one usage-error format TestMissingRequired checks, serve, status,
// bench and explain --matrix included.
func TestUsageErrorsOneFormat(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--bogus"}, "smbpipe serve: flag provided but not defined: -bogus"},
		{[]string{"serve", "--admin", "bogus"}, `smbpipe serve: --admin "bogus": want HOST:PORT or :PORT`},
		{[]string{"status", "--bogus"}, "smbpipe status: flag provided but not defined: -bogus"},
		{[]string{"status", "extra"}, `smbpipe status: unexpected argument "extra"`},
		{[]string{"status", "--admin", "bogus"}, `smbpipe status: --admin "bogus": want HOST:PORT or :PORT`},
		{[]string{"bench", "--bogus"}, "smbpipe bench: flag provided but not defined: -bogus"},
		{[]string{"explain", "--matrix", "--format", "xml"}, `smbpipe explain: --format "xml": want text, csv, json or md`},
	} {
		code, out, errs := runBinary(t, c.args...)
		name := c.args[0]
		if code != 2 || out != "" || !strings.HasPrefix(errs, c.want+"\n\n") || !strings.HasSuffix(errs, "\n\n"+commands[name].usage) {
			t.Errorf("smbpipe %s: exit %d, stdout %q, stderr %q; want exit 2, %q, a blank line and the usage", strings.Join(c.args, " "), code, out, errs, c.want)
		}
	}
}

// TestHelpHelp: "smbpipe help help" and "smbpipe help -h" are asking for
// help, not naming an unknown command.
func TestHelpHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "help"}, {"help", "-h"}, {"help", "--help"}, {"help"}} {
		code, out, errs := runBinary(t, args...)
		if code != 0 || out != usage() || errs != "" {
			t.Errorf("smbpipe %s: exit %d, stderr %q, stdout starts %q", strings.Join(args, " "), code, errs, first(out))
		}
	}
}
