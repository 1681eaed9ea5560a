package main

import (
	"fmt"
	"os"
)

// STUB: replaced by the real implementation.
func runDial(args []string) int {
	fmt.Fprintln(os.Stderr, "smbpipe dial: not implemented yet")
	return 2
}
