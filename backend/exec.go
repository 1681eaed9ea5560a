package backend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/smbpipe/smbpipe/pipe"
)

// Exec runs one process per pipe instance: the process's stdin receives
// what the client writes, what it writes to stdout goes to the client (one
// read, one message), and each line of its stderr is logged. The caller's
// identity is in the environment: SMBPIPE_PIPE (the pipe name) and, when
// End.Info implements Environ, the variables it returns (SMBPIPE_USER,
// SMBPIPE_DOMAIN, SMBPIPE_SIDS, SMBPIPE_ANONYMOUS, SMBPIPE_CLIENT_ADDR, ...),
// added to this process's environment.
//
// When the client closes the pipe, stdin is closed and the process is
// killed (once what the client wrote is passed on, or at once when the
// process has not read its stdin for a second); when the process closes
// stdout or exits, the pipe is closed. The process is always reaped before
// ServeEnd returns. Only the process
// itself is killed, not children it started that outlive it.
type Exec struct {
	Path   string   // command; looked up in PATH when it has no slash
	Args   []string // arguments after the command
	Dir    string   // working directory; "" = this process's
	Logger *slog.Logger
	// WaitDelay bounds how long reaping waits for stderr after the
	// process ends (children holding it open); 0 means 2s.
	WaitDelay time.Duration
}

// String returns the spec form, e.g. "exec:cat -u".
func (x *Exec) String() string {
	return "exec:" + strings.Join(append([]string{x.Path}, x.Args...), " ")
}

// ServeEnd runs the process for e and returns once the process is reaped
// and e is closed.
func (x *Exec) ServeEnd(e *pipe.End) {
	defer e.Close()
	log := x.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("pipe", e.Pipe().Name(), "backend", x.String())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, x.Path, x.Args...)
	cmd.Dir = x.Dir
	cmd.Env = append(os.Environ(), "SMBPIPE_PIPE="+e.Pipe().Name())
	if env, ok := e.Info().(Environ); ok {
		cmd.Env = append(cmd.Env, env.Env()...)
	}
	cmd.WaitDelay = x.WaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 2 * time.Second
	}
	stderr := &lineLogger{log: log}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		log.Error("backend: stdin pipe", "err", err)
		return
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		log.Error("backend: stdout pipe", "err", err)
		return
	}
	if err := cmd.Start(); err != nil {
		log.Warn("backend: start failed", "err", err)
		return
	}
	log.Debug("backend: process started", "pid", cmd.Process.Pid)

	// When the client side ends, close stdin, kill the process and close
	// our end of stdout so the copy below returns even if a child of the
	// process still holds stdout open.
	w := &killOnClose{stdin: stdin, kill: cancel, stdout: stdout}
	join(e, stdout, w)
	err = cmd.Wait()
	if len(stderr.line) > 0 { // an unterminated last line
		stderr.flush()
	}
	log.Debug("backend: process reaped", "err", err)
}

// killOnClose is the process's stdin for join: closing it closes stdin,
// kills the process and closes the stdout reader.
type killOnClose struct {
	stdin  io.WriteCloser
	kill   context.CancelFunc
	stdout io.Closer
}

func (k *killOnClose) Write(p []byte) (int, error) { return k.stdin.Write(p) }

// SetWriteDeadline sets the stdin pipe's write deadline (see writeBackend).
func (k *killOnClose) SetWriteDeadline(t time.Time) error {
	if d, ok := k.stdin.(writeDeadliner); ok {
		return d.SetWriteDeadline(t)
	}
	return errors.ErrUnsupported
}

func (k *killOnClose) Close() error {
	err := k.stdin.Close()
	k.kill()
	k.stdout.Close()
	return err
}

// lineLogger logs each line written to it (stderr of a process); lines
// longer than maxLine are logged in pieces.
type lineLogger struct {
	log  *slog.Logger
	line []byte
}

const maxLine = 4 << 10

func (l *lineLogger) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.line = append(l.line, p...)
			if len(l.line) >= maxLine {
				l.flush()
			}
			break
		}
		l.line = append(l.line, p[:i]...)
		l.flush()
		p = p[i+1:]
	}
	return n, nil
}

func (l *lineLogger) flush() {
	l.log.Info("backend: stderr", "line", strings.TrimRight(string(l.line), "\r"))
	l.line = l.line[:0]
}
