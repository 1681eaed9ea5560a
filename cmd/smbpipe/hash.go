package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/md4"

	"github.com/smbpipe/smbpipe/internal/utf16le"
)

const hashUsage = `usage: smbpipe hash

Reads a password and prints its NT hash (MD4 of the UTF-16LE password, 32
hex digits), for an [[account]]'s nt_hash so that the config holds no
password:

    [[account]]
    name = "alice"
    nt_hash = "<the hash>"

On a terminal it prompts and reads without echo; otherwise it reads the
first line of stdin (echo -n 'Passw0rd!' | smbpipe hash). The same hash is
what "smbpipe dial --pw-nt-hash" takes.
`

func init() {
	register(command{"hash", "print the NT hash of a password (for nt_hash)", hashUsage, runHash})
}

func runHash(args []string) int { return hashCmd(args, os.Stdin, os.Stdout, os.Stderr) }

func hashCmd(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fs := newFlagSet("hash")
	if c := parseFlags(fs, args, hashUsage, stdout, stderr); c >= 0 {
		return c
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "hash", "the password is read from the terminal or stdin, not the command line", hashUsage)
	}
	pw, err := readPassword(stdin, stderr, "Password: ")
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe hash: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, ntHashHex(pw))
	return 0
}

// ntHashHex is the NT hash of password in lower-case hex.
func ntHashHex(password string) string {
	h := md4.New()
	h.Write(utf16le.Append(nil, password))
	return hex.EncodeToString(h.Sum(nil))
}
