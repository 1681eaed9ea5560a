// Command smbpipe serves Windows named pipes over SMB2/SMB3 and opens them.
//
//	smbpipe serve      [--config FILE] [--listen ADDR]
//	smbpipe serve      --policy etcd://HOST:PORT[,...]/KEY [--config LOCAL]
//	smbpipe policy     push|get --etcd HOST:PORT[,...] --key KEY [FILE]
//	smbpipe serve      --admin ADDR ...
//	smbpipe status     [--admin ADDR] [--json] [--url]
//	smbpipe dial       [-U USER[%PASS]] [-p PORT] //HOST/pipe/NAME
//	smbpipe rpc        [-U USER[%PASS]] //HOST COMMAND [ARGS...]
//	smbpipe explain    --config FILE --user WHO --pipe NAME [--access MASK]
//	smbpipe explain    --config FILE --matrix [--format text|csv|json|md]
//	smbpipe sid        [--config FILE] [--token] NAME...
//	smbpipe check      --config FILE
//	smbpipe import-reg FILE.reg... [--merge CONFIG]
//	smbpipe hash
//	smbpipe bench      [flags]
//	smbpipe version
//
// Every command takes -h or --help (its usage on stdout, exit 0); usage
// errors exit 2 with "smbpipe COMMAND: PROBLEM" and the usage on stderr.
//
// Run "smbpipe help" for every command.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// A command is one subcommand of smbpipe. Each lives in its own file
// and adds itself with register from an init function, so that adding
// a command touches no other file.
type command struct {
	name    string
	summary string             // one line for the command list
	usage   string             // full usage, printed by "smbpipe help NAME"
	run     func([]string) int // exit code
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("smbpipe: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func init() {
	register(command{"serve", "run the SMB2/3 named-pipe server (embedded default config without --config)", serveUsage, runServe})
	register(command{"dial", "open a pipe and copy stdin to it and it to stdout", dialUsage, runDial})
	register(command{"explain", "show how the access policy decides a pipe open", explainUsage, runExplain})
	register(command{"sid", "print the SID (and token) of an account, guest, anonymous or group", sidUsage, runSID})
	register(command{"bench", "load generator: connect/transact/stream/echo/sessions, TCP floor", benchUsage, runBench})
}

// usage lists the commands, sorted by name.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: smbpipe <command> [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, commands[n].summary)
	}
	b.WriteString("\nRun \"smbpipe help COMMAND\" for a command's flags.\n")
	return b.String()
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage())
		os.Exit(2)
	}
	os.Exit(runCommand(os.Args[1], os.Args[2:]))
}

func runCommand(name string, args []string) int {
	switch name {
	case "version", "--version", "-version":
		return runVersion(args)
	case "help", "-h", "--help":
		if len(args) > 0 && args[0] != "help" && !wantsHelp(args[:1]) {
			c, ok := commands[args[0]]
			if !ok {
				fmt.Fprintf(os.Stderr, "smbpipe help: unknown command %q\n%s", args[0], usage())
				return 2
			}
			fmt.Print(c.usage)
			return 0
		}
		fmt.Print(usage())
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "smbpipe: unknown command %q\n%s", name, usage())
		return 2
	}
	if wantsHelp(args) {
		fmt.Print(c.usage)
		return 0
	}
	return c.run(args)
}

// wantsHelp reports whether args ask for help (-h, -help or --help before
// a "--"), which every command answers with its usage and exit 0.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// newFlagSet returns a flag set for a command that reports nothing itself:
// parseFlags prints the errors and the usage.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args into fs. It returns -1 when the command should go
// on, 0 after printing usage to stdout for -h, or 2 after printing the
// error and usage to stderr.
func parseFlags(fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) int {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return -1
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	}
	return usageError(stderr, fs.Name(), err.Error(), usage)
}

// usageError prints "smbpipe CMD: PROBLEM", a blank line and the usage to
// stderr, and returns exit status 2: the one format of every usage error.
func usageError(stderr io.Writer, cmd, problem, usage string) int {
	fmt.Fprintf(stderr, "smbpipe %s: %s\n\n%s", cmd, problem, usage)
	return 2
}
