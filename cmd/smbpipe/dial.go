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
Exits 0 on success: every write was answered and the read pending at the
end was cancelled by the server (or the server closed the pipe). Exits 1
with the reason (the NTSTATUS name, or a reply that never came or could
not be trusted) on failure, 2 on bad usage.

flags:
  -U USER[%PASS]   user name (DOMAIN\USER, DOMAIN/USER or USER@DOMAIN also);
                   without %PASS the password comes from $PASSWD;
                   no -U, or -U %, means an anonymous session
  -W DOMAIN        domain (default: from -U, else empty)
  -k               log on with Kerberos from the credential cache $KRB5CCNAME
                   names (as smbclient -k; kinit fills it; default
                   /tmp/krb5cc_UID): the ticket for cifs/HOST in it, or one
                   its TGT gets from the KDC of $KRB5_CONFIG; the server's
                   AP-REP is checked (mutual authentication)
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
                   (default 1s; 0 waits until the server closes the pipe)
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
	if len(positional) != 1 {
		return nil, errors.New("want exactly one pipe path")
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
				return nil, fmt.Errorf("no password for %s: use -U %s%%PASS or set $PASSWD", name, name)
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
		if userSet || ntHash {
			return nil, errors.New("-k takes the identity from the credential cache: no -U or --pw-nt-hash")
		}
		cc, err := client.KerberosCCacheFromEnv()
		if err != nil {
			return nil, fmt.Errorf("-k: %w", err)
		}
		o.cfg.Kerberos = &client.Kerberos{CCache: cc, Config: getenv("KRB5_CONFIG")}
	}
	return &o, nil
}

func runDial(args []string) int {
	o, err := parseDialArgs(args, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "smbpipe dial: %v\n\n%s", err, dialUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return dialMain(ctx, o, os.Stdin, os.Stdout, os.Stderr)
}

// dialMain runs one dial session and returns the exit code. It reports
// success only when nothing is left unanswered: every write has its reply,
// and the read pending when it stops ends as the server cancelling it (or
// the server closed the pipe). A reply that never came (the request
// expired, or the cancel of the last read was never answered) is exit 1.
func dialMain(ctx context.Context, o *dialOptions, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "smbpipe dial: %s\n", describe(err))
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
	)
	resetIdle := func() {
		mu.Lock()
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
			resetIdle()
			if _, werr := stdout.Write(buf[:n]); werr != nil {
				return fail(werr)
			}
		}
		if err == nil {
			continue
		}
		mu.Lock()
		werr := writeErr
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
		case readCtx.Err() != nil && errors.Is(err, ntstatus.Cancelled):
			// Idle after stdin EOF, and the server answered the cancel of
			// the pending read: nothing was lost.
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
