//go:build unix && !linux

package sockio

import "syscall"

// rawCalls: elsewhere Conn goes through net.Conn; ReadFD (the server's
// pooled-buffer reads) makes an ordinary read system call.
const rawCalls = false

// fdCalls: ReadFD works.
const fdCalls = true

func sysRead(fd uintptr, p []byte) (int, error)  { return syscall.Read(int(fd), p) }
func sysWrite(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }
