package main

import (
	"fmt"
	"os"
)

// STUB: replaced by the real implementation.
func runExplain(args []string) int {
	fmt.Fprintln(os.Stderr, "smbpipe explain: not implemented yet")
	return 2
}
