package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// ErrNoVmRSS is returned by ParseVmRSS when the status text has no
// well-formed VmRSS line.
var ErrNoVmRSS = errors.New("bench: no VmRSS line in process status")

// ParseVmRSS returns the resident set size in bytes from the text of a
// Linux /proc/PID/status file (the line "VmRSS:   1234 kB"). It never
// panics, whatever the input.
func ParseVmRSS(status []byte) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || !bytes.EqualFold(f[1], []byte("kB")) {
			return 0, ErrNoVmRSS
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 || kb > 1<<43 {
			return 0, ErrNoVmRSS
		}
		return kb << 10, nil
	}
	return 0, ErrNoVmRSS
}

// ProcessRSS reads the resident set size of process pid, in bytes.
func ProcessRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: server RSS: %w", err)
	}
	n, err := ParseVmRSS(b)
	if err != nil {
		return 0, fmt.Errorf("bench: server RSS of pid %d: %w", pid, err)
	}
	return n, nil
}
