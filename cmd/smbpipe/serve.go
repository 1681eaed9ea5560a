package main

import (
	"fmt"
	"os"
)

// STUB: replaced by the real implementation.
func runServe(args []string) int {
	fmt.Fprintln(os.Stderr, "smbpipe serve: not implemented yet")
	return 2
}
