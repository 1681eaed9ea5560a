//go:build unix

package server

import "syscall"

// rawReads: sockets are read through syscall.RawConn (see rawReader).
const rawReads = true

func sysRead(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }
