// Command smbpipe serves Windows named pipes over SMB2/SMB3 and opens them.
//
//	smbpipe serve   [--config FILE] [--listen ADDR]
//	smbpipe dial    [-U USER[%PASS]] [-p PORT] //HOST/pipe/NAME
//	smbpipe explain --config FILE --user WHO --pipe NAME [--access MASK]
//	smbpipe sid     [--config FILE] [--token] NAME...
package main

import (
	"fmt"
	"os"
)

const usage = `usage: smbpipe <command> [flags]

commands:
  serve     run the SMB2/3 named-pipe server (embedded default config without --config)
  dial      open a pipe and copy stdin to it and it to stdout
  explain   show how the access policy decides a pipe open
  sid       print the SID (and token) of an account, guest, anonymous or group
  bench     load generator: connect/transact/stream/echo/sessions, TCP floor
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var code int
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		code = runServe(args)
	case "dial":
		code = runDial(args)
	case "explain":
		code = runExplain(args)
	case "sid":
		code = runSID(args)
	case "bench":
		code = runBench(args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "smbpipe: unknown command %q\n%s", cmd, usage)
		code = 2
	}
	os.Exit(code)
}
