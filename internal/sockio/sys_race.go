//go:build linux && race

package sockio

import "syscall"

// With the race detector, Conn still goes through RawConn but calls
// syscall.Read and syscall.Write: they tell the detector that what one
// goroutine wrote to a socket happens before another reads it, which a
// raw system call does not (a test's goroutines often synchronise only
// through a socket).
const rawCalls = true

// fdCalls: ReadFD works.
const fdCalls = true

func sysRead(fd uintptr, p []byte) (int, error)  { return syscall.Read(int(fd), p) }
func sysWrite(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }
