// Command smbpipe serves Windows named pipes over SMB2/SMB3 and opens them.
//
//	smbpipe serve   [--config FILE] [--listen ADDR]
//	smbpipe dial    [-U USER[%PASS]] [-p PORT] //HOST/pipe/NAME
//	smbpipe explain --config FILE --user WHO --pipe NAME [--access MASK]
//	smbpipe sid     [--config FILE] [--token] NAME...
//
// Run "smbpipe help" for every command.
package main

import (
	"fmt"
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
		fmt.Fprintf(&b, "  %-9s %s\n", n, commands[n].summary)
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
	case "help", "-h", "--help":
		if len(args) > 0 {
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
	return c.run(args)
}
