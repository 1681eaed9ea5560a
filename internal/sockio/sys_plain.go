//go:build unix && (!linux || race)

package sockio

import "syscall"

// fdCalls: sockets are read and written through RawConn.
const fdCalls = true

// The ordinary system calls: elsewhere than on Linux, and on Linux under
// the race detector, which learns that what one goroutine wrote to a
// socket happens before another reads it only from these calls (a test's
// goroutines often synchronise only through a socket).
func sysRead(fd uintptr, p []byte) (int, error)  { return syscall.Read(int(fd), p) }
func sysWrite(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }

// sysWritev writes what it can of a; the caller's loop writes b next.
// syscall has no writev of its own, and the race detector needs
// syscall.Write.
func sysWritev(fd uintptr, a, b []byte) (int, error) { return syscall.Write(int(fd), a) }
