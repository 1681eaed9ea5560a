//go:build !unix

package admin

import "os"

// fileOwner: files have no Unix owner here.
func fileOwner(os.FileInfo) (uid int, other bool) { return -1, false }
