package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// maxPasswordLine bounds what readPassword reads.
const maxPasswordLine = 4096

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// readPassword reads one line from in: on a terminal after writing prompt
// to out, with echo off (restored afterwards, and a newline written since
// the user's was not echoed); otherwise (a pipe, a file) the first line,
// without a prompt. The line ends at \n (\r\n too); at most
// maxPasswordLine bytes.
func readPassword(in *os.File, out io.Writer, prompt string) (string, error) {
	if !isTerminal(in) {
		return readLine(in)
	}
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", err
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	fmt.Fprint(out, prompt)
	line, err := readLine(in)
	fmt.Fprintln(out)
	return line, err
}

// readLine reads up to the first newline without reading past it (a
// byte at a time: what follows belongs to someone else).
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	br := bufio.NewReaderSize(&oneByte{r}, 16)
	for b.Len() <= maxPasswordLine {
		c, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && b.Len() > 0 {
				break
			}
			if errors.Is(err, io.EOF) {
				return "", errors.New("no password given (empty input)")
			}
			return "", err
		}
		if c == '\n' {
			break
		}
		b.WriteByte(c)
	}
	if b.Len() > maxPasswordLine {
		return "", fmt.Errorf("password longer than %d bytes", maxPasswordLine)
	}
	return strings.TrimSuffix(b.String(), "\r"), nil
}

// oneByte reads at most one byte per Read, so that readLine consumes no
// more of a shared stdin than the line.
type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}
