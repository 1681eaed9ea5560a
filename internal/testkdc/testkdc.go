// Package testkdc runs a real MIT Kerberos KDC (Debian's krb5-kdc and
// krb5-admin-server) for tests: realm SMBPIPE.TEST on a loopback address,
// port 88 (impacket always dials 88; the address 127.0.0.88 keeps it clear
// of a system KDC on 127.0.0.1), with the principals alice, HOST1$,
// cifs/localhost and cifs/smbpipe.smbpipe.test exported to a keytab (AES-256,
// AES-128 and RC4 keys; MIT 1.20 issues no RC4 tickets, so RC4 tickets are
// minted from the keytab by the tests), and a
// krb5.conf for KRB5_CONFIG. Test support only.
//
// Start gives one test its own KDC, stopped by process id at the test's
// cleanup. Shared starts one KDC per test binary for tests that only need
// tickets: the KDC is stopped and its directory removed by a watchdog
// process when the test binary exits.
//
// Several test binaries (go test ./... runs packages in parallel) each get
// their own address: a KDC takes the first of 127.0.0.88 to 127.0.0.103
// whose lock file (in the temporary directory) it can lock and whose port 88
// is free, and holds the lock until it is stopped. Clients find the address
// in the KDC's krb5.conf (KDC.Addr).
package testkdc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testbin"
)

// The realm and its principals.
const (
	Realm         = "SMBPIPE.TEST"
	Alice         = "alice"
	AlicePassword = "Al1ce-Passw0rd"
	Host1         = "HOST1$"
	Host1Password = "H0st1-Passw0rd"
	// ServiceNames are the host names of the service principals in the
	// keytab: cifs/localhost and cifs/smbpipe.smbpipe.test.
	ServiceHost = "smbpipe.smbpipe.test"
	// OtherService is a service principal of the realm that is not in the
	// keytab (a ticket for another service).
	OtherService = "cifs/other.smbpipe.test"
	// Addr is the first address a KDC tries; KDC.Addr is the one it got.
	Addr = "127.0.0.88"
	// addrs is how many addresses from Addr on are tried.
	addrs = 16
)

// ServiceNames are the names the keytab's cifs/ principals are for.
var ServiceNames = []string{"localhost", ServiceHost}

const (
	kdcPath    = "/usr/sbin/krb5kdc"
	kdbPath    = "/usr/sbin/kdb5_util"
	kadminPath = "/usr/sbin/kadmin.local"
)

// KDC is a running KDC.
type KDC struct {
	Dir string
	// Addr is the loopback address the KDC listens on (port 88).
	Addr string
	// Config is the krb5.conf path (for KRB5_CONFIG); Keytab the
	// service keytab (cifs/localhost and cifs/smbpipe.smbpipe.test, all
	// enctypes).
	Config, Keytab string
	// ClientKeytab holds alice's and HOST1$'s keys (a client logging on
	// with a keytab, as a computer account does).
	ClientKeytab string
	pid          int
	env          []string
	lock         *os.File // flock'ed while the KDC runs on Addr
}

// NeedTools skips (or under CI=true fails) when the MIT KDC or client
// tools are missing, or when port 88 on Addr cannot be had.
func NeedTools(t testing.TB) {
	t.Helper()
	for _, p := range []string{kdcPath, kdbPath, kadminPath, "/usr/bin/kinit", "/usr/bin/kvno"} {
		if _, err := os.Stat(p); err != nil {
			testbin.SkipOrFail(t, "%s not installed (Debian krb5-kdc, krb5-admin-server, krb5-user): %v", p, err)
		}
	}
}

var (
	sharedOnce sync.Once
	shared     *KDC
	sharedErr  error
)

// Shared returns the test binary's KDC, starting it on first use.
func Shared(t testing.TB) *KDC {
	t.Helper()
	NeedTools(t)
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "smbpipe-testkdc-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = start(dir)
		if sharedErr != nil {
			os.RemoveAll(dir)
			return
		}
		// The watchdog outlives nothing but this process: when the test
		// binary exits it stops the KDC by its pid and removes the
		// directory. It inherits the address lock, released when it exits,
		// after the KDC.
		w := exec.Command("/bin/sh", "-c", `while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill "$2" 2>/dev/null; sleep 1; kill -9 "$2" 2>/dev/null; rm -rf "$3"`,
			"watchdog", strconv.Itoa(os.Getpid()), strconv.Itoa(shared.pid), dir)
		w.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		w.ExtraFiles = []*os.File{shared.lock}
		if err := w.Start(); err != nil {
			shared.stop()
			os.RemoveAll(dir)
			shared, sharedErr = nil, err
			return
		}
		// Not waited for: it outlives this process by design, and a
		// waiting goroutine would trip goleak in the packages that use
		// the KDC.
	})
	if sharedErr != nil {
		if errors.Is(sharedErr, errPortBusy) {
			testbin.SkipOrFail(t, "testkdc: %v", sharedErr)
		}
		t.Fatalf("testkdc: %v", sharedErr)
	}
	return shared
}

// Start runs a KDC for t alone (on an address of its own), stopped by pid
// at cleanup.
func Start(t testing.TB) *KDC {
	t.Helper()
	NeedTools(t)
	k, err := start(t.TempDir())
	if errors.Is(err, errPortBusy) {
		testbin.SkipOrFail(t, "testkdc: %v", err)
	}
	if err != nil {
		t.Fatalf("testkdc: %v", err)
	}
	t.Cleanup(k.stop)
	return k
}

var errPortBusy = fmt.Errorf("port 88 is taken on every address from %s to 127.0.0.%d (other KDCs?)", Addr, 88+addrs-1)

// claimAddr locks the first free address: its lock file flock'ed (another
// test binary's KDC holds it otherwise) and port 88 on it free (a KDC not
// ours, or one still stopping).
func claimAddr() (string, *os.File, error) {
	base := net.ParseIP(Addr).To4()
	for i := 0; i < addrs; i++ {
		addr := net.IPv4(base[0], base[1], base[2], base[3]+byte(i)).String()
		f, err := os.OpenFile(filepath.Join(os.TempDir(), "smbpipe-testkdc-"+addr+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return "", nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(addr, "88"))
		if err != nil {
			f.Close()
			continue
		}
		l.Close()
		return addr, f, nil
	}
	return "", nil, errPortBusy
}

func start(dir string) (*KDC, error) {
	addr, lock, err := claimAddr()
	if err != nil {
		return nil, err
	}
	k, err := startOn(dir, addr)
	if err != nil {
		lock.Close()
		return nil, err
	}
	k.lock = lock
	return k, nil
}

func startOn(dir, addr string) (*KDC, error) {
	k := &KDC{Dir: dir, Addr: addr, Config: filepath.Join(dir, "krb5.conf"), Keytab: filepath.Join(dir, "smbpipe.keytab"),
		ClientKeytab: filepath.Join(dir, "client.keytab")}
	kdcConf := filepath.Join(dir, "kdc.conf")
	krb5 := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_realm = false
	dns_lookup_kdc = false
	rdns = false
	dns_canonicalize_hostname = false
	allow_weak_crypto = true
	forwardable = true
	udp_preference_limit = 1
	default_ccache_name = FILE:%[2]s/ccache-default
[realms]
	%[1]s = {
		kdc = %[3]s:88
		admin_server = %[3]s:749
	}
[domain_realm]
	.smbpipe.test = %[1]s
	smbpipe.test = %[1]s
	localhost = %[1]s
`, Realm, dir, addr)
	kdc := fmt.Sprintf(`[kdcdefaults]
	kdc_listen = %[3]s:88
	kdc_tcp_listen = %[3]s:88
[realms]
	%[1]s = {
		database_name = %[2]s/principal
		key_stash_file = %[2]s/stash
		acl_file = %[2]s/kadm5.acl
		max_life = 10h
		max_renewable_life = 1d
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal rc4-hmac:normal
	}
[logging]
	kdc = FILE:%[2]s/kdc.log
`, Realm, dir, addr)
	for name, body := range map[string]string{k.Config: krb5, kdcConf: kdc, filepath.Join(dir, "kadm5.acl"): ""} {
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			return nil, err
		}
	}
	k.env = append(os.Environ(), "KRB5_CONFIG="+k.Config, "KRB5_KDC_PROFILE="+kdcConf, "KRB5CCNAME=FILE:"+filepath.Join(dir, "ccache-default"))
	if err := k.run(kdbPath, "-r", Realm, "create", "-s", "-P", "master-Passw0rd"); err != nil {
		return nil, err
	}
	for _, q := range []string{
		"addprinc -pw " + AlicePassword + " " + Alice,
		"addprinc -pw " + Host1Password + " " + Host1,
		"addprinc -randkey cifs/localhost",
		"addprinc -randkey cifs/" + ServiceHost,
		"addprinc -randkey " + OtherService,
		"ktadd -k " + k.Keytab + " cifs/localhost cifs/" + ServiceHost,
		"ktadd -norandkey -k " + k.ClientKeytab + " " + Alice + " " + Host1,
	} {
		if err := k.run(kadminPath, "-r", Realm, "-q", q); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(kdcPath, "-n", "-r", Realm, "-P", filepath.Join(dir, "kdc.pid"))
	cmd.Env = k.env
	// Output to a file, not a buffer: exec would copy a buffer's with a
	// goroutine that lives as long as the KDC.
	outPath := filepath.Join(dir, "kdc.out")
	outFile, err := os.Create(outPath)
	if err != nil {
		return nil, err
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	output := func() string { b, _ := os.ReadFile(outPath); return string(b) }
	k.pid = cmd.Process.Pid
	// No goroutine waits for the KDC (goleak in the packages using it):
	// its exit is polled with wait4(WNOHANG), and stop reaps it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "88"), time.Second)
		if err == nil {
			c.Close()
			return k, nil
		}
		var ws syscall.WaitStatus
		if pid, _ := syscall.Wait4(k.pid, &ws, syscall.WNOHANG, nil); pid == k.pid {
			return nil, fmt.Errorf("krb5kdc exited (%v): %s", ws, output())
		}
		time.Sleep(50 * time.Millisecond)
		if time.Now().After(deadline) {
			k.stop()
			return nil, fmt.Errorf("krb5kdc did not listen on %s:88 within 30 s: %s", addr, output())
		}
	}
}

// Kadmin runs one kadmin.local query on the KDC's database (addprinc,
// ktadd, ktremove, ...), failing t when it fails.
func (k *KDC) Kadmin(t testing.TB, query string) {
	t.Helper()
	if err := k.run(kadminPath, "-r", Realm, "-q", query); err != nil {
		t.Fatal(err)
	}
}

func (k *KDC) run(path string, args ...string) error {
	cmd := exec.Command(path, args...)
	cmd.Env = k.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out)
	}
	return nil
}

func (k *KDC) stop() {
	if k.pid <= 0 {
		return
	}
	syscall.Kill(k.pid, syscall.SIGTERM)
	var ws syscall.WaitStatus
	syscall.Wait4(k.pid, &ws, 0, nil)
	k.pid = 0
	if k.lock != nil {
		k.lock.Close()
		k.lock = nil
	}
}

// Env returns the environment for a Kerberos client tool: KRB5_CONFIG and
// KRB5CCNAME set to ccache.
func (k *KDC) Env(ccache string) []string {
	env := make([]string, 0, len(os.Environ())+2)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KRB5_CONFIG=") && !strings.HasPrefix(e, "KRB5CCNAME=") {
			env = append(env, e)
		}
	}
	return append(env, "KRB5_CONFIG="+k.Config, "KRB5CCNAME="+ccache) // a plain path: impacket does not take "FILE:"
}

// Kinit fills a new credential cache in dir with principal's TGT (and,
// for each spn given, a service ticket via kvno) and returns its path.
func (k *KDC) Kinit(t testing.TB, dir, principal, password string, spns ...string) string {
	t.Helper()
	cc := filepath.Join(dir, "ccache-"+strings.NewReplacer("/", "_", "$", "_").Replace(principal))
	cmd := exec.Command("/usr/bin/kinit", principal)
	cmd.Env = k.Env(cc)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit %s: %v\n%s", principal, err, out)
	}
	for _, spn := range spns {
		cmd := exec.Command("/usr/bin/kvno", spn)
		cmd.Env = k.Env(cc)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kvno %s: %v\n%s", spn, err, out)
		}
	}
	return cc
}
