package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

const dialUsage = `usage: smbpipe dial [flags] //HOST/pipe/NAME   (or \\HOST\pipe\NAME)

Opens the named pipe, copies stdin to it (each read of stdin is one write,
so one message on a message-mode pipe) and copies what the pipe returns to
stdout. After EOF on stdin it keeps reading replies until the server closes
the pipe or nothing arrives for --idle, then closes the pipe and logs off.

Exit status: 0 when nothing was left unanswered: every write had a reply
before --idle ran out, and the read pending at the end was cancelled by the
server (or the server closed the pipe). 1 with the reason on failure: the
NTSTATUS name (STATUS_ACCESS_DENIED also prints the "smbpipe explain"
command that shows why), "no reply within --idle", "server closed the
connection", "not an SMB server", or a reply that could not be trusted.
2 on bad usage. Ctrl-C: 130, without a message (SIGTERM: 143).

A pipe has no half-close: EOF on stdin is not passed on, so a backend
behind the pipe (tcp:, unix:, exec:) never sees end of input and must
answer each message as it comes (an exec: command should line-buffer its
output, e.g. "stdbuf -oL" or a flush per line, rather than wait for EOF).

flags:
  -U USER[%PASS]   user name (DOMAIN\USER, DOMAIN/USER or USER@DOMAIN also);
                   without %PASS the password comes from $PASSWD, else
                   it is asked on the terminal (no echo);
                   no -U, or -U %, means an anonymous session
  -W DOMAIN        domain (default: from -U, else empty)
  -k               log on with Kerberos from the credential cache $KRB5CCNAME
                   names (as smbclient -k; kinit fills it; default
                   /tmp/krb5cc_UID): the ticket for cifs/HOST in it, or one
                   its TGT gets from the KDC of $KRB5_CONFIG; the server's
                   AP-REP is checked (mutual authentication); a server's
                   KRB_AP_ERR_SKEW is recovered from once, as smbclient
                   does (one more AP-REQ on the server's time)
  --pw-nt-hash     PASS is the NT hash in hex, not a password
  -p PORT          TCP port (default 445; a port in the path wins)
  --dialect X      pin the dialect: 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1
  --sign           require signing
  --encrypt        require SMB3 encryption: every request after the logon is
                   sealed and every reply must arrive sealed; fails (exit 1)
                   when the server, the dialect or the session cannot
                   encrypt (an anonymous or guest session cannot)
  --ciphers LIST   the ciphers offered, in order, comma-separated
                   (AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM;
                   default all four in this order)
  --idle DURATION  after stdin EOF, stop when no reply comes for this long
                   (default 1s); a write still without its reply then is
                   exit 1. 0 waits until the server closes the pipe (for
                   a pipe that answers nothing)
  --timeout DUR    bound on connecting, logging on and opening (default 30s)
  --request-timeout DUR
                   fail when a request has neither its reply nor an interim
                   response within DUR, as Windows does (default 60s); a
                   pending read then waits on, with ECHO probing the server
`

// dialOptions is the parsed command line.
type dialOptions struct {
	path    string
	cfg     client.Config
	port    int
	idle    time.Duration
	timeout time.Duration
}

// parseDialArgs parses the dial command line; flags may follow the path.
// getenv supplies $PASSWD.
func parseDialArgs(args []string, getenv func(string) string) (*dialOptions, error) {
	fs := flag.NewFlagSet("dial", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		user, domain, dialect string
		ntHash, sign, encrypt bool
		useKerberos           bool
		ciphers               string
		o                     = dialOptions{}
	)
	userSet := false
	fs.Func("U", "USER[%PASS]", func(s string) error { user, userSet = s, true; return nil })
	fs.StringVar(&domain, "W", "", "domain")
	fs.BoolVar(&ntHash, "pw-nt-hash", false, "password is an NT hash")
	fs.BoolVar(&useKerberos, "k", false, "Kerberos from $KRB5CCNAME")
	fs.IntVar(&o.port, "p", 0, "port")
	fs.StringVar(&dialect, "dialect", "", "dialect")
	fs.BoolVar(&sign, "sign", false, "require signing")
	fs.BoolVar(&encrypt, "encrypt", false, "require encryption")
	fs.StringVar(&ciphers, "ciphers", "", "ciphers offered")
	fs.DurationVar(&o.idle, "idle", time.Second, "idle time after stdin EOF")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "setup timeout")
	fs.DurationVar(&o.cfg.RequestTimeout, "request-timeout", client.DefaultRequestTimeout, "request expiration")

	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	switch {
	case len(positional) == 0:
		return nil, errors.New("missing the pipe: //HOST/pipe/NAME")
	case len(positional) > 1:
		return nil, fmt.Errorf("one pipe path, not %d (%q, %q...)", len(positional), positional[0], positional[1])
	}
	o.path = positional[0]
	if _, _, _, err := client.ParsePipePath(o.path); err != nil {
		return nil, err
	}
	if o.port < 0 || o.port > 65535 {
		return nil, fmt.Errorf("bad port %d", o.port)
	}
	if o.idle < 0 || o.timeout <= 0 || o.cfg.RequestTimeout <= 0 {
		return nil, errors.New("--idle must be >= 0, --timeout and --request-timeout > 0")
	}
	if dialect != "" {
		d, err := client.ParseDialect(dialect)
		if err != nil {
			return nil, err
		}
		o.cfg.MinDialect, o.cfg.MaxDialect = d, d
	}
	o.cfg.RequireSigning = sign
	if encrypt {
		o.cfg.Encryption = client.EncryptionRequired
		if o.cfg.MaxDialect != 0 && o.cfg.MaxDialect < smb2.Dialect300 {
			return nil, fmt.Errorf("--encrypt: dialect %s has no encryption (SMB 3.0 or later)", client.DialectString(o.cfg.MaxDialect))
		}
	}
	if ciphers != "" {
		for _, name := range strings.Split(ciphers, ",") {
			id := cipherID(strings.TrimSpace(name))
			if id == 0 {
				return nil, fmt.Errorf("--ciphers: unknown cipher %q (AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM)", name)
			}
			o.cfg.Ciphers = append(o.cfg.Ciphers, id)
		}
	}

	if useKerberos && (userSet || ntHash) {
		return nil, errors.New("-k takes the identity from the credential cache: no -U or --pw-nt-hash")
	}
	if userSet {
		name, pass, hasPass := strings.Cut(user, "%")
		if dom, u, ok := strings.Cut(name, `\`); ok {
			o.cfg.Domain, name = dom, u
		} else if dom, u, ok := strings.Cut(name, "/"); ok {
			o.cfg.Domain, name = dom, u
		} else if u, dom, ok := strings.Cut(name, "@"); ok {
			o.cfg.Domain, name = dom, u
		}
		o.cfg.User = name
		if name != "" && !hasPass {
			pass = getenv("PASSWD")
			if pass == "" {
				return nil, &needPasswordError{user: name}
			}
		}
		if name == "" && pass != "" {
			return nil, errors.New("a password without a user name")
		}
		if ntHash && name != "" {
			h, err := hex.DecodeString(pass)
			if err != nil || len(h) != 16 {
				return nil, errors.New("--pw-nt-hash: PASS must be 32 hex digits")
			}
			o.cfg.NTHash = h
		} else {
			o.cfg.Password = pass
		}
	}
	if domain != "" {
		o.cfg.Domain = domain
	}
	if useKerberos {
		cc, err := client.KerberosCCacheFromEnv()
		if err != nil {
			return nil, fmt.Errorf("-k: %w", err)
		}
		// CorrectSkew: a server's KRB_AP_ERR_SKEW is recovered from, as
		// smbclient -k (MIT) and Windows do.
		o.cfg.Kerberos = &client.Kerberos{CCache: cc, Config: getenv("KRB5_CONFIG"), CorrectSkew: true}
	}
	return &o, nil
}

// needPasswordError is parseDialArgs' answer to -U USER without a
// password and without $PASSWD: runDial then asks on the terminal.
type needPasswordError struct{ user string }

func (e *needPasswordError) Error() string {
	return fmt.Sprintf("no password for %s: use -U %s%%PASS, set $PASSWD, or run on a terminal to be asked", e.user, e.user)
}

// withPassword parses args again with pw as $PASSWD when they lack a
// password and the terminal gave one (askPassword).
func withPassword(args []string, getenv func(string) string, ask func(user string) (string, error)) (*dialOptions, error) {
	o, err := parseDialArgs(args, getenv)
	var np *needPasswordError
	if !errors.As(err, &np) {
		return o, err
	}
	pw, aerr := ask(np.user)
	if aerr != nil {
		return nil, fmt.Errorf("%w (%v)", err, aerr)
	}
	return parseDialArgs(args, func(k string) string {
		if k == "PASSWD" {
			return pw
		}
		return getenv(k)
	})
}

// askPassword asks for user's password on the controlling terminal
// (/dev/tty, not stdin: stdin is what dial sends), without echo.
func askPassword(user string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errors.New("no terminal to ask on")
	}
	defer tty.Close()
	return readPassword(tty, tty, fmt.Sprintf("Password for %s: ", user))
}

func runDial(args []string) int {
	o, err := withPassword(args, os.Getenv, askPassword)
	if err != nil {
		return usageError(os.Stderr, "dial", err.Error(), dialUsage)
	}
	// SIGINT (Ctrl-C) and SIGTERM end the session quietly with the
	// shell's 128+signal: 130 and 143.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var got atomic.Int32
	go func() {
		select {
		case sig := <-sigs:
			got.Store(int32(sig.(syscall.Signal)))
			cancel()
		case <-ctx.Done():
		}
	}()
	code := dialMain(ctx, o, os.Stdin, os.Stdout, os.Stderr)
	if n := got.Load(); n != 0 {
		return 128 + int(n)
	}
	return code
}

// exitInterrupted is dialMain's exit status when its context ends (runDial
// turns it into 128+signal).
const exitInterrupted = 130

// dialMain runs one dial session and returns the exit code. It reports
// success only when nothing is left unanswered: every write has its reply,
// and the read pending when it stops ends as the server cancelling it (or
// the server closed the pipe). A reply that never came (the request
// expired, or the cancel of the last read was never answered) is exit 1.
func dialMain(ctx context.Context, o *dialOptions, stdin io.Reader, stdout, stderr io.Writer) int {
	setup := true
	fail := func(err error) int {
		if ctx.Err() != nil {
			return exitInterrupted // Ctrl-C: no message
		}
		fmt.Fprintf(stderr, "smbpipe dial: %s\n", describeDial(err, setup))
		if errors.Is(err, ntstatus.AccessDenied) {
			fmt.Fprintf(stderr, "smbpipe dial: to see why, run on the server: %s\n", explainHint(o))
		}
		return 1
	}
	d := client.Dialer{Config: o.cfg, Port: o.port}
	setupCtx, cancelSetup := context.WithTimeout(ctx, o.timeout)
	p, err := d.DialContext(setupCtx, o.path)
	cancelSetup()
	if err != nil {
		if errors.Is(err, client.ErrEncryption) {
			err = fmt.Errorf("--encrypt: the session cannot encrypt, so nothing was written to the pipe: %w", err)
		}
		return fail(err)
	}
	setup = false
	defer p.Close()

	readCtx, stopRead := context.WithCancel(ctx)
	defer stopRead()
	var (
		mu       sync.Mutex
		idle     *time.Timer // armed after stdin EOF
		writeErr error
		// wmu is held while a write is outstanding; stopping (under wmu)
		// tells the writer to start no more.
		wmu      sync.Mutex
		stopping bool
		// sent counts the writes begun, answered the value sent had when
		// data last arrived (under mu): sent > answered at --idle is a
		// write without its reply.
		sent, answered int
	)
	gotData := func() {
		mu.Lock()
		answered = sent
		if idle != nil {
			idle.Reset(o.idle)
		}
		mu.Unlock()
	}
	// lastWrite waits for a write still outstanding and returns the first
	// write error.
	lastWrite := func() error {
		wmu.Lock()
		stopping = true
		wmu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		return writeErr
	}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				wmu.Lock()
				if stopping {
					wmu.Unlock()
					return
				}
				mu.Lock()
				sent++ // before the write: its reply may come before WriteMsg returns
				mu.Unlock()
				_, werr := p.WriteMsg(ctx, buf[:n])
				wmu.Unlock()
				if werr != nil {
					mu.Lock()
					writeErr = werr
					mu.Unlock()
					stopRead()
					return
				}
			}
			if err != nil { // EOF or a read error: stop sending, drain replies
				if o.idle > 0 {
					mu.Lock()
					idle = time.AfterFunc(o.idle, stopRead)
					mu.Unlock()
				}
				return
			}
		}
	}()

	buf := make([]byte, 64<<10)
	for {
		n, _, err := p.ReadMsg(readCtx, buf)
		if n > 0 {
			gotData()
			if _, werr := stdout.Write(buf[:n]); werr != nil {
				return fail(werr)
			}
		}
		if err == nil {
			continue
		}
		mu.Lock()
		werr, unanswered := writeErr, sent > answered
		mu.Unlock()
		switch {
		case werr != nil:
			return fail(werr)
		case ctx.Err() != nil:
			return fail(err) // interrupted
		case errors.Is(err, ntstatus.PipeBroken), errors.Is(err, ntstatus.PipeDisconnected):
			// The server closed its end; a write still outstanding decides.
			if werr := lastWrite(); werr != nil {
				return fail(werr)
			}
			return 0
		case readCtx.Err() != nil && errors.Is(err, ntstatus.Cancelled) && unanswered:
			return fail(fmt.Errorf("no reply within --idle %v after the last write (for a pipe that answers nothing, --idle 0 waits until the server closes it)", o.idle))
		case readCtx.Err() != nil && errors.Is(err, ntstatus.Cancelled):
			// Idle after stdin EOF, every write answered, and the server
			// answered the cancel of the pending read: nothing was lost.
			return 0
		case readCtx.Err() != nil:
			return fail(fmt.Errorf("stopped after --idle %v, but the pending read did not end as cancelled: %w", o.idle, err))
		}
		return fail(err)
	}
}

// cipherID is the id of a cipher name (case-insensitive), 0 if unknown.
func cipherID(name string) uint16 {
	for _, id := range client.DefaultCiphers {
		if strings.EqualFold(smbcrypto.CipherName(id), name) {
			return id
		}
	}
	return 0
}

// describeDial is describe with what dial's user needs to know first: a
// peer that does not speak SMB, a server that closed the connection.
func describeDial(err error, setup bool) string {
	var ce *client.Error
	switch {
	case errors.As(err, &ce):
	case setup && errors.Is(err, client.ErrProtocol) && strings.HasPrefix(err.Error(), "client: negotiate:"):
		return "not an SMB server: its answer to NEGOTIATE is not SMB2/SMB3 (" + err.Error() + ")"
	case connClosed(err) && setup:
		return "server closed the connection during the connection setup; not an SMB2/SMB3 server, or it refused this client (" + err.Error() + ")"
	case connClosed(err):
		return "server closed the connection (" + err.Error() + ")"
	}
	return describe(err)
}

// connClosed reports whether err is the server closing the TCP connection.
func connClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// explainHint is the explain command line that shows why the server
// denied this open.
func explainHint(o *dialOptions) string {
	_, _, name, _ := client.ParsePipePath(o.path)
	user := o.cfg.User
	switch {
	case o.cfg.Kerberos != nil:
		user = "NAME@REALM"
	case user == "":
		user = "anonymous"
	}
	return fmt.Sprintf("smbpipe explain --config CONFIG --user %s --pipe %s", shellQuote(user), shellQuote(name))
}

// describe renders an error for the user, leading with the NTSTATUS name.
func describe(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		what := ce.Op
		if ce.Name != "" {
			what += " " + ce.Name
		}
		code, win := ce.Status.Win32()
		return fmt.Sprintf("%s: %s (0x%08X, %s %d)", what, ce.Status, uint32(ce.Status), win, code)
	}
	var st ntstatus.Status
	if errors.As(err, &st) {
		return st.String()
	}
	return err.Error()
}
