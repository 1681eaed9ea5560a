//go:build !unix

package server

import "syscall"

// rawReads: elsewhere connections read through net.Conn.Read and keep
// their read buffer.
const rawReads = false

func sysRead(fd uintptr, p []byte) (int, error) { return 0, syscall.EINVAL }
