// Package backend holds the built-in pipe servers a configuration can name:
//
//	echo             every message is answered with the same bytes
//	tcp:HOST:PORT    one TCP connection per pipe open, bytes copied both ways
//	unix:PATH        the same over a Unix stream socket
//	exec:CMD ARGS    one process per pipe open; its stdin and stdout are the pipe
//
// A Handler serves one server end of a pipe instance; Serve accepts server
// ends from a pipe.Listener and runs a Handler for each in its own
// goroutine.
//
// Framing over stream backends (tcp, unix, exec): what the client writes
// reaches the backend as a byte stream (message boundaries are not
// kept). In the other direction, on a message-type pipe, each read from
// the backend becomes one message: whatever the backend has written when
// the read returns, up to 64 KiB. A backend that wants the client to see
// one reply as one message should write it with one write and keep replies
// under 64 KiB; clients that read in byte mode see a plain stream.
//
// Closing: when the client closes the pipe, the backend connection is
// closed (exec: stdin is closed and the process is killed, then reaped),
// after what the client wrote is passed on, or within a second if the
// backend has stopped reading; when the backend closes its side (exec:
// stdout reaches EOF), the pipe's server end is closed, and the client
// reads what was already queued, then ErrBroken.
package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/smbpipe/smbpipe/pipe"
)

// A Handler serves one server end of a pipe instance. ServeEnd owns e: it
// returns after closing it.
type Handler interface {
	ServeEnd(e *pipe.End)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(e *pipe.End)

// ServeEnd calls f(e).
func (f HandlerFunc) ServeEnd(e *pipe.End) { f(e) }

// Environ is what exec backends look for in End.Info: the caller's identity
// as environment variables (pipe.Caller implements it). The variables are
// SMBPIPE_USER, SMBPIPE_DOMAIN, SMBPIPE_SIDS, SMBPIPE_ANONYMOUS and
// SMBPIPE_CLIENT_ADDR; the exec backend adds SMBPIPE_PIPE itself.
type Environ interface {
	Env() []string
}

var _ Environ = pipe.Caller{}

// Serve accepts server ends from l and runs h.ServeEnd for each in a new
// goroutine. It returns nil once l is closed; handlers already running
// carry on until their ends close.
func Serve(l *pipe.Listener, h Handler) error {
	for {
		e, err := l.AcceptEnd(context.Background())
		if err != nil {
			if errors.Is(err, pipe.ErrClosed) {
				return nil
			}
			return err
		}
		go h.ServeEnd(e)
	}
}

// Echo serves l with the echo handler until l is closed.
func Echo(l *pipe.Listener) error { return Serve(l, EchoHandler()) }

// EchoHandler answers every message with the same bytes, as one message
// (byte read mode: echoes whatever one read returns). On a duplex
// message-type pipe it hands the end to End.ReflectAll and returns: each
// message moves straight back inside the client's own write (one copy at
// most, no buffer and no goroutine of the handler's), a message longer
// than the pipe's quota is read by the client in place, from the client's
// own write, so a client reads the echo of such a message while it writes
// it (a TRANSCEIVE does), and the end closes when the client's does.
// Otherwise it reads and writes with one buffer per end, grown to the
// largest message. It allocates nothing per message.
func EchoHandler() Handler { return HandlerFunc(echo) }

func echo(e *pipe.End) {
	if e.ReflectAll() == nil {
		return // the end echoes and closes by itself
	}
	defer e.Close()
	ctx := context.Background()
	for {
		_, err := e.Reflect(ctx)
		if err == nil {
			continue
		}
		if !errors.Is(err, pipe.ErrBadState) {
			return
		}
		break // not a duplex message pipe read in message mode
	}
	buf := make([]byte, 0, 512) // on the stack until a longer message moves it to the heap
	for {
		msg, err := e.AppendMessage(ctx, buf[:0])
		if err != nil {
			return
		}
		buf = msg
		if _, err := e.Write(msg); err != nil {
			return
		}
	}
}

// ErrBadSpec is wrapped by FromSpec for a spec it cannot parse.
var ErrBadSpec = errors.New("backend: bad spec")

// FromSpec parses a backend spec ("echo", "tcp:HOST:PORT", "unix:PATH",
// "exec:COMMAND ARGS") into a Handler. logger receives connection and
// process events and, for exec, the process's stderr; nil means
// slog.Default(). Exec arguments are split on blanks; single and double
// quotes group words and a backslash escapes the next character (outside
// single quotes); there is no shell.
func FromSpec(spec string, logger *slog.Logger) (Handler, error) {
	if logger == nil {
		logger = slog.Default()
	}
	kind, rest, _ := strings.Cut(spec, ":")
	switch kind {
	case "echo":
		if rest != "" {
			return nil, fmt.Errorf("%w: %q: echo takes no argument", ErrBadSpec, spec)
		}
		return EchoHandler(), nil
	case "tcp":
		if _, _, err := net.SplitHostPort(rest); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadSpec, spec, err)
		}
		return &Stream{Network: "tcp", Address: rest, Logger: logger}, nil
	case "unix":
		if rest == "" {
			return nil, fmt.Errorf("%w: %q: empty socket path", ErrBadSpec, spec)
		}
		return &Stream{Network: "unix", Address: rest, Logger: logger}, nil
	case "exec":
		args, err := SplitArgs(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadSpec, spec, err)
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("%w: %q: no command", ErrBadSpec, spec)
		}
		return &Exec{Path: args[0], Args: args[1:], Logger: logger}, nil
	}
	return nil, fmt.Errorf("%w: %q: want echo, tcp:HOST:PORT, unix:PATH or exec:COMMAND", ErrBadSpec, spec)
}

// SplitArgs splits s into words the way FromSpec reads exec commands:
// blanks separate words, '...' keeps everything literally, "..." and bare
// words honour backslash escapes. An unterminated quote or a trailing
// backslash is an error.
func SplitArgs(s string) ([]string, error) {
	var (
		args  []string
		word  strings.Builder
		in    bool // inside a word
		quote byte
	)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote == '\'':
			if ch == '\'' {
				quote = 0
			} else {
				word.WriteByte(ch)
			}
		case ch == '\\':
			if i+1 == len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			word.WriteByte(s[i])
			in = true
		case quote == '"':
			if ch == '"' {
				quote = 0
			} else {
				word.WriteByte(ch)
			}
		case ch == '\'' || ch == '"':
			quote, in = ch, true
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			if in {
				args = append(args, word.String())
				word.Reset()
				in = false
			}
		default:
			word.WriteByte(ch)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if in {
		args = append(args, word.String())
	}
	return args, nil
}
