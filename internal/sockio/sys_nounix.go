//go:build !unix

package sockio

import "syscall"

// fdCalls: no file descriptors; Conn is the net.Conn.
const fdCalls = false

func sysRead(fd uintptr, p []byte) (int, error)  { return 0, syscall.EINVAL }
func sysWrite(fd uintptr, p []byte) (int, error) { return 0, syscall.EINVAL }
func sysWritev(fd uintptr, a, b []byte) (int, error) {
	return 0, syscall.EINVAL
}
