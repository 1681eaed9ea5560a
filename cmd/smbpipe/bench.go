package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/smbpipe/smbpipe/bench"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/smb2"
)

const benchUsage = `usage: smbpipe bench [flags]
       smbpipe bench --tcp-echo-server ADDR

Load generator: repeats one workload against an SMB2/3 server's named pipe
with smbpipe's own client and prints ops/s and p50/p99/max latency.

workloads (-w):
  connect     connect, negotiate, session, tree connect IPC$, open the pipe,
              close, logoff, disconnect (sequential per worker)
  setup       one logon per op on a connection per worker: LOGOFF, then
              SESSION_SETUP with the credentials (-U: NTLM; -k or
              --krb-keytab: Kerberos, the ticket obtained once before the
              run, so the op is the server's work of a Kerberos logon)
  transact    FSCTL_PIPE_TRANSCEIVE of --size bytes on one open pipe (default)
  writeread   WRITE of --size bytes, then READ of the reply
  stream      1 MiB WRITEs while a reader READs the echoed bytes (MB/s)
  echo        SMB2 ECHO on one connection
  sessions    hold -c sessions, each with an open pipe, each doing one
              transact every --interval; with --server-pid, server RSS per
              session
  tcp         raw TCP ping-pong of --size bytes (the floor); without --addr
              against an echo server started in this process
  tcp-stream  stream over raw TCP
  tcp-connect TCP connect, --round-trips ping-pongs of --size bytes, close
              (the floor of connect: one handshake and seven round trips)

flags:
  -w WORKLOAD        see above (default transact)
  --addr HOST:PORT   server (default 127.0.0.1:4450; tcp*: in-process echo)
  --pipe NAME        pipe name (default echo)
  -c N               concurrent workers, one connection each (sessions:
                     number of sessions) (default 1)
  -d DURATION        run this long (default 5s)
  -n COUNT           run COUNT ops in total instead of a duration
  --size BYTES       message size, 64 B to 64 KiB; suffixes k/KiB (default 64)
  --rpc              DCE/RPC: bind srvsvc once per pipe, then send a 68-byte
                     NetrServerGetInfo request as the message (for Samba's
                     srvsvc; smbpipe's echo pipe gets the same bytes)
  --rpc-echo         DCE/RPC: bind rpcecho once per pipe, then call EchoData
                     with --size bytes (at most 4 KiB; --pipe rpcecho, a
                     pipe with backend "rpcecho")
  -U USER%PASS       authenticated, signed session (DOMAIN\USER also);
                     default anonymous
  -k                 Kerberos from the credential cache $KRB5CCNAME names
                     (ticket for cifs/HOST, obtained once), signed session
  --krb-keytab FILE  Kerberos without a KDC: mint one ticket (no PAC) for
                     cifs/HOST with the service key in FILE (the server's
                     keytab) as --krb-principal (default alice@ the realm
                     of the keytab's first key); --krb-host HOST names the
                     service (default the --addr host)
  --dialect X        pin the dialect: 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1
  --signing ALG      offer only this 3.1.1 signing algorithm: cmac, gmac or
                     hmac (default: gmac, then cmac; the server picks)
  --encrypt CIPHER   encrypted session (needs -U): offer only CIPHER
                     (AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM)
                     and fail unless the session encrypts with it
  --server-pid PID   server process for the sessions workload's RSS figures
  --interval D       sessions: time between one session's transacts
                     (default 1s)
  --spread-sources   sessions: dial each session from its own loopback
                     source address (127.100.x.y) when the server is on
                     127.0.0.0/8, so that ephemeral ports do not run out
  --round-trips N    tcp-connect: ping-pongs per connection (default 7)
  --format F         text (default), json or tsv (one line; --tsv-header
                     prints the header line first)
  --progress D       progress line on stderr every D on runs longer than
                     10s (default 1s; 0 turns it off)
  --tcp-echo-server ADDR  only run the TCP echo server on ADDR until
                     SIGINT/SIGTERM (to pin the floor's server to a CPU)
`

// benchOptions is the parsed command line.
type benchOptions struct {
	run        bench.Options
	format     string
	tsvHeader  bool
	echoServer string
}

func parseBenchArgs(args []string) (*benchOptions, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		o                                benchOptions
		workload, user, dialect, signing string
		encrypt                          string
		size                             = "64"
		progress                         time.Duration
	)
	fs.StringVar(&workload, "w", "transact", "")
	fs.StringVar(&o.run.Addr, "addr", "", "")
	fs.StringVar(&o.run.Pipe, "pipe", "echo", "")
	fs.IntVar(&o.run.Concurrency, "c", 1, "")
	fs.DurationVar(&o.run.Duration, "d", 0, "")
	fs.Int64Var(&o.run.Count, "n", 0, "")
	fs.Func("size", "", func(s string) error { size = s; return nil })
	fs.BoolVar(&o.run.RPC, "rpc", false, "")
	fs.BoolVar(&o.run.RPCEcho, "rpc-echo", false, "")
	fs.StringVar(&user, "U", "", "")
	var useKerberos bool
	var krbKeytab, krbPrincipal, krbHost string
	fs.BoolVar(&useKerberos, "k", false, "")
	fs.StringVar(&krbKeytab, "krb-keytab", "", "")
	fs.StringVar(&krbPrincipal, "krb-principal", "", "")
	fs.StringVar(&krbHost, "krb-host", "", "")
	fs.StringVar(&dialect, "dialect", "", "")
	fs.StringVar(&signing, "signing", "", "")
	fs.StringVar(&encrypt, "encrypt", "", "")
	fs.IntVar(&o.run.ServerPID, "server-pid", 0, "")
	fs.DurationVar(&o.run.Interval, "interval", 0, "")
	fs.BoolVar(&o.run.SpreadSources, "spread-sources", false, "")
	fs.IntVar(&o.run.RoundTrips, "round-trips", 0, "")
	fs.StringVar(&o.format, "format", "text", "")
	fs.BoolVar(&o.tsvHeader, "tsv-header", false, "")
	fs.DurationVar(&progress, "progress", time.Second, "")
	fs.StringVar(&o.echoServer, "tcp-echo-server", "", "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.echoServer != "" {
		return &o, nil
	}
	o.run.Workload = bench.Workload(workload)
	known := false
	for _, w := range bench.AllWorkloads() {
		known = known || w == o.run.Workload
	}
	if !known {
		return nil, fmt.Errorf("-w %q: unknown workload", workload)
	}
	tcp := o.run.Workload == bench.TCP || o.run.Workload == bench.TCPStream || o.run.Workload == bench.TCPConnect
	if o.run.Addr == "" && !tcp {
		o.run.Addr = "127.0.0.1:4450"
	}
	if o.run.Concurrency < 1 {
		return nil, errors.New("-c must be at least 1")
	}
	if o.run.Count < 0 || o.run.Duration < 0 {
		return nil, errors.New("-n and -d must not be negative")
	}
	if o.run.Interval < 0 || o.run.RoundTrips < 0 {
		return nil, errors.New("--interval and --round-trips must not be negative")
	}
	if o.run.Count > 0 && o.run.Duration > 0 {
		return nil, errors.New("give -d or -n, not both")
	}
	n, err := parseSize(size)
	if err != nil {
		return nil, err
	}
	o.run.Size = n
	if dialect != "" {
		d, err := client.ParseDialect(dialect)
		if err != nil {
			return nil, err
		}
		o.run.Client.MinDialect, o.run.Client.MaxDialect = d, d
	}
	switch signing {
	case "":
	case "cmac":
		o.run.Client.SigningAlgorithms = []uint16{smb2.SigningAESCMAC}
	case "gmac":
		o.run.Client.SigningAlgorithms = []uint16{smb2.SigningAESGMAC}
	case "hmac":
		o.run.Client.SigningAlgorithms = []uint16{smb2.SigningHMACSHA256}
	default:
		return nil, fmt.Errorf("--signing %q: want cmac, gmac or hmac", signing)
	}
	if user != "" && user != "%" {
		name, pass, _ := strings.Cut(user, "%")
		if dom, u, ok := strings.Cut(name, `\`); ok {
			o.run.Client.Domain, name = dom, u
		}
		if name == "" {
			return nil, errors.New("-U: empty user name")
		}
		o.run.Client.User, o.run.Client.Password = name, pass
		o.run.Client.RequireSigning = true
	}
	if useKerberos || krbKeytab != "" {
		if o.run.Client.User != "" || useKerberos && krbKeytab != "" {
			return nil, errors.New("-k, --krb-keytab and -U exclude each other")
		}
		host := krbHost
		if host == "" {
			h, _, err := net.SplitHostPort(o.run.Addr)
			if err != nil {
				return nil, fmt.Errorf("--addr %q: %v", o.run.Addr, err)
			}
			host = h
		}
		o.run.Client.ServerName = host
		o.run.Client.RequireSigning = true
		if useKerberos {
			cc, err := client.KerberosCCacheFromEnv()
			if err != nil {
				return nil, fmt.Errorf("-k: %w", err)
			}
			o.run.Client.Kerberos = &client.Kerberos{CCache: cc}
		} else {
			principal := krbPrincipal
			if principal == "" {
				realm, err := keytabRealm(krbKeytab)
				if err != nil {
					return nil, fmt.Errorf("--krb-keytab: %w", err)
				}
				principal = "alice@" + realm
			}
			t, err := bench.MintTicket(krbKeytab, principal, "cifs/"+host)
			if err != nil {
				return nil, fmt.Errorf("--krb-keytab: %w", err)
			}
			o.run.Client.Kerberos = &client.Kerberos{Ticket: t}
		}
	}
	if encrypt != "" {
		id := cipherID(encrypt)
		switch {
		case id == 0:
			return nil, fmt.Errorf("--encrypt %q: want AES-128-GCM, AES-128-CCM, AES-256-GCM or AES-256-CCM", encrypt)
		case o.run.Client.User == "" && o.run.Client.Kerberos == nil:
			return nil, errors.New("--encrypt needs -U, -k or --krb-keytab: anonymous sessions do not encrypt")
		}
		o.run.Client.Encryption, o.run.Client.Ciphers = client.EncryptionRequired, []uint16{id}
	}
	switch o.format {
	case "text", "json", "tsv":
	default:
		return nil, fmt.Errorf("--format %q: want text, json or tsv", o.format)
	}
	if progress < 0 {
		return nil, errors.New("--progress must not be negative")
	}
	if progress > 0 && (o.run.Duration > 10*time.Second || o.run.Workload == bench.Sessions || o.run.Count > 0) {
		o.run.ProgressEvery = progress
		o.run.Progress = os.Stderr
	}
	return &o, nil
}

// keytabRealm is the realm of the first key in a keytab file.
func keytabRealm(path string) (string, error) {
	kt, err := keytab.Load(path)
	if err != nil {
		return "", fmt.Errorf("keytab %s: %w", path, err)
	}
	if len(kt.Entries) == 0 {
		return "", fmt.Errorf("keytab %s holds no key", path)
	}
	return kt.Entries[0].Principal.Realm, nil
}

// parseSize parses a byte count: 64, 4k, 4KiB, 64K.
func parseSize(s string) (int, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(s), "ib"), "b")
	mult := 1
	if strings.HasSuffix(t, "k") {
		t, mult = strings.TrimSuffix(t, "k"), 1<<10
	}
	var n int
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || fmt.Sprint(n) != t {
		return 0, fmt.Errorf("--size %q: want a byte count such as 64, 4k or 64KiB", s)
	}
	n *= mult
	if n < 1 || n > 64<<10 {
		return 0, fmt.Errorf("--size %q: want 1 B to 64 KiB", s)
	}
	return n, nil
}

func runBench(args []string) int {
	o, err := parseBenchArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Print(benchUsage)
		return 0
	}
	if err != nil {
		return usageError(os.Stderr, "bench", err.Error(), benchUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.echoServer != "" {
		return runEchoServer(ctx, o.echoServer)
	}
	return benchMain(ctx, o, os.Stdout, os.Stderr)
}

// benchMain runs the workload and prints its result.
func benchMain(ctx context.Context, o *benchOptions, stdout, stderr io.Writer) int {
	res, err := bench.Run(ctx, o.run)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe bench: %s\n", strings.TrimPrefix(err.Error(), "bench: "))
		return 1
	}
	switch o.format {
	case "json":
		enc := json.NewEncoder(stdout)
		err = enc.Encode(res)
	case "tsv":
		if o.tsvHeader {
			fmt.Fprintln(stdout, bench.TSVHeader)
		}
		err = res.WriteTSV(stdout)
	default:
		err = res.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe bench: %v\n", err)
		return 1
	}
	return 0
}

// runEchoServer serves the TCP floor's echo server until ctx ends.
func runEchoServer(ctx context.Context, addr string) int {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "smbpipe bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "smbpipe bench: TCP echo server on %s\n", l.Addr())
	var s bench.EchoServer
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	select {
	case <-ctx.Done():
		s.Close()
		<-done
		return 0
	case err := <-done:
		s.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "smbpipe bench: %v\n", err)
			return 1
		}
		return 0
	}
}
