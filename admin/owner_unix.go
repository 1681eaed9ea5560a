//go:build unix

package admin

import (
	"os"
	"syscall"
)

// fileOwner returns the owner of fi and whether it is not this process's
// effective user.
func fileOwner(fi os.FileInfo) (uid int, other bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Uid), int(st.Uid) != os.Geteuid()
}
