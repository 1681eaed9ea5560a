package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/smbpipe/smbpipe/policy"
)

const checkUsage = `usage: smbpipe check --config FILE

Validates a configuration as serve would load it: TOML syntax, unknown keys
(with the closest known key), values, SDDL, accounts and pipes. Prints
every problem on its own line as FILE:LINE: KEY: PROBLEM and exits 1, or
prints "FILE: ok" and exits 0 (for ExecStartPre in the systemd unit).
Exit status: 0 valid, 1 invalid, 2 bad usage.
`

func init() {
	register(command{"check", "validate a config file (exit 0 valid, 1 invalid)", checkUsage, runCheck})
}

func runCheck(args []string) int { return check(args, os.Stdout, os.Stderr) }

// check is runCheck with its output streams injected (for tests).
func check(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check")
	configPath := fs.String("config", "", "config file")
	if c := parseFlags(fs, args, checkUsage, stdout, stderr); c >= 0 {
		return c
	}
	if *configPath == "" {
		return usageError(stderr, "check", "missing --config FILE", checkUsage)
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "check", fmt.Sprintf("unexpected argument %q", fs.Arg(0)), checkUsage)
	}
	cfg, err := policy.Load(*configPath)
	if err == nil {
		_, err = policy.Compile(cfg)
	}
	if err != nil {
		for _, line := range problemLines(err) {
			fmt.Fprintln(stderr, line)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", *configPath)
	return 0
}

// problemLines splits an error (errors.Join of ConfigErrors) into one
// line per problem.
func problemLines(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, problemLines(e)...)
		}
		return out
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return []string{fmt.Sprintf("%s: %v", pe.Path, pe.Err)}
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
