//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// keepOwner gives the file at path the owner and group of fi (the file it
// replaces), so that a root-run edit of /etc/smbpipe/smbpipe.toml
// (root:smbpipe 0640) leaves the service able to read it.
func keepOwner(path string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	now, err := os.Stat(path)
	if err != nil {
		return err
	}
	if cur, ok := now.Sys().(*syscall.Stat_t); ok && cur.Uid == st.Uid && cur.Gid == st.Gid {
		return nil
	}
	if err := os.Chown(path, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("cannot keep the file's owner %d:%d: %w", st.Uid, st.Gid, err)
	}
	return nil
}
