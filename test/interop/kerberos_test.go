package interop

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/smbpipe/smbpipe/auth/kerberos"
	"github.com/smbpipe/smbpipe/auth/spnego"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/internal/testkdc"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// The Kerberos interop tests share one MIT KDC (internal/testkdc: realm
// SMBPIPE.TEST on 127.0.0.88:88) for the whole package and run in parallel.

// kerberosConfig is testConfig with [kerberos] on the KDC's keytab, alice
// mapped by principal (MIT's PAC carries no logon information), a pipe
// only Domain Admins of the PAC domain may open, and extra appended.
func kerberosConfig(k *testkdc.KDC, extra string) string {
	c := strings.Replace(testConfig, "name = \"alice\"\npassword = \"Passw0rd!\"",
		"name = \"alice\"\npassword = \"Passw0rd!\"\nkerberos_principal = \"alice@SMBPIPE.TEST\"", 1)
	return c + fmt.Sprintf(`
[[pipe]]
name = "admins"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;%s-512)"

[kerberos]
keytab = %q
realm = "SMBPIPE.TEST"
service_names = ["localhost", "smbpipe.smbpipe.test"]
%s
`, pacDomainSID, k.Keytab, extra)
}

// pacDomainSID is the domain of the PACs ticketer.py mints.
const pacDomainSID = "S-1-5-21-1111111111-2222222222-3333333333"

// waitLogLine waits up to 10 s for a line of s's log containing every part.
func waitLogLine(t *testing.T, s *server, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, l := range strings.Split(s.Log(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(l, p)
			}
			if ok {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", parts, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// samba is the start of a test of Samba's tool with Kerberos: the tool
// (run with --version to see it works), the shared KDC, a server on its
// keytab (kerberosConfig) and a credential cache with alice's TGT.
func samba(t *testing.T, tool string) (*testkdc.KDC, *server, string) {
	t.Helper()
	need(t, tool, "--version")
	k := testkdc.Shared(t)
	s := startServer(t, kerberosConfig(k, ""))
	return k, s, k.Kinit(t, t.TempDir(), testkdc.Alice, testkdc.AlicePassword)
}

// TestKerberosSmbclient: smbclient --use-kerberos=required, after kinit
// alice, connects to IPC$ on every SMB3 dialect (the name smbpipe.smbpipe.test:
// Samba refuses Kerberos to "localhost"), signed and encrypted; the audit
// record says auth kerberos, the principal and the enctype.
func TestKerberosSmbclient(t *testing.T) {
	t.Parallel()
	k, s, cc := samba(t, smbclientPath)
	for _, proto := range []string{"SMB2_10", "SMB3_00", "SMB3_11"} {
		for _, mode := range []string{"sign", "encrypt"} {
			if proto == "SMB2_10" && mode == "encrypt" {
				continue
			}
			t.Run(proto+"/"+mode, func(t *testing.T) {
				out, err := runEnv(t, 30*time.Second, k.Env(cc), smbclientPath,
					"//"+testkdc.ServiceHost+"/IPC$", "-I", "127.0.0.1", "-p", s.port, "--use-kerberos=required",
					"--client-protection="+mode, "--option=client min protocol="+proto, "--option=client max protocol="+proto,
					"-c", "exit")
				if err != nil {
					t.Fatalf("smbclient: %v\n%s", err, out)
				}
			})
		}
	}
	// The whole AES-256 subkey keys AES-256-GCM on 3.1.1 (MS-SMB2
	// 3.3.5.5.3 FullSessionKey); a truncated key would fail the first
	// encrypted request.
	t.Run("SMB3_11/aes-256-gcm", func(t *testing.T) {
		out, err := runEnv(t, 30*time.Second, k.Env(cc), smbclientPath,
			"//"+testkdc.ServiceHost+"/IPC$", "-I", "127.0.0.1", "-p", s.port, "--use-kerberos=required",
			"--client-protection=encrypt", "--option=client smb3 encryption algorithms=AES-256-GCM",
			"--option=client min protocol=SMB3_11", "-c", "exit")
		if err != nil {
			t.Fatalf("smbclient: %v\n%s", err, out)
		}
		waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "cipher=AES-256-GCM")
	})
	l := waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "status=STATUS_SUCCESS")
	for _, want := range []string{"principal=alice@SMBPIPE.TEST", "enctype=aes256-cts-hmac-sha1-96", "service=cifs/smbpipe.smbpipe.test"} {
		if !strings.Contains(l, want) {
			t.Errorf("audit record lacks %s: %s", want, l)
		}
	}
}

// cifsTicket fills a credential cache in dir with alice's TGT and a
// ticket for spn (kinit, kvno).
func cifsTicket(t *testing.T, k *testkdc.KDC, dir, spn string) string {
	return k.Kinit(t, dir, testkdc.Alice, testkdc.AlicePassword, spn)
}

// kerberosImpacket runs testdata/kerberos_impacket.py with KRB5CCNAME=cc
// and returns its step lines.
func kerberosImpacket(t *testing.T, k *testkdc.KDC, cc string, args ...string) []string {
	t.Helper()
	lines := impacketScriptEnv(t, k.Env(cc), "kerberos_impacket.py", args...)
	if len(lines) == 0 {
		t.Fatal("impacket printed no steps")
	}
	return lines
}

// TestKerberosImpacket: impacket's SMBConnection.kerberosLogin with the
// cifs/localhost ticket kinit and kvno put in a cache opens the echo pipe
// and exchanges data (WRITE/READ, TRANSCEIVE), signed as impacket signs.
func TestKerberosImpacket(t *testing.T) {
	t.Parallel()
	need(t, python, "-c", "import impacket")
	k := testkdc.Shared(t)
	s := startServer(t, kerberosConfig(k, ""))
	cc := cifsTicket(t, k, t.TempDir(), "cifs/localhost")
	for _, d := range []string{"2.1", "3.0"} {
		t.Run(d, func(t *testing.T) {
			lines := kerberosImpacket(t, k, cc, s.port, "localhost", testkdc.Alice, testkdc.Realm, "echo", d)
			if last := lines[len(lines)-1]; last != "OK logoff" {
				t.Fatalf("impacket stopped at %q (%v)", last, lines)
			}
		})
	}
	waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "principal=alice@SMBPIPE.TEST", "status=STATUS_SUCCESS")
}

const ticketerPath = "/usr/share/doc/python3-impacket/examples/ticketer.py"

// ticketer mints a service ticket for cifs/localhost as alice (RID 1105)
// in the domain pacDomainSID with groups, signed and encrypted with key
// ("-keytab PATH" or "-nthash HEX"), and returns the cache it wrote.
func ticketer(t *testing.T, groups string, key ...string) string {
	t.Helper()
	need(t, ticketerPath)
	dir := t.TempDir()
	args := append([]string{ticketerPath, "-spn", "cifs/localhost", "-domain", testkdc.Realm, "-domain-sid", pacDomainSID,
		"-groups", groups, "-user-id", "1105", "-extra-sid", "S-1-18-1"}, key...)
	cmd := exec.Command(python, append(args, testkdc.Alice)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ticketer.py: %v\n%s", err, out)
	}
	return filepath.Join(dir, testkdc.Alice+".ccache")
}

// TestKerberosPAC: tickets whose PAC impacket's ticketer.py minted with the
// keytab's key carry the domain's groups into the token: the pipe granted
// only to S-1-5-21-<domain>-512 opens with group 512 and not without it,
// over impacket and the Go client; AES and RC4 service keys.
func TestKerberosPAC(t *testing.T) {
	t.Parallel()
	need(t, python, "-c", "import impacket")
	k := testkdc.Shared(t)
	s := startServer(t, kerberosConfig(k, ""))
	rc4 := keytabKeyHex(t, k.Keytab, "cifs/localhost", 23)
	for _, tc := range []struct {
		name string
		key  []string
	}{
		{"keytab", []string{"-keytab", k.Keytab}},
		{"rc4", []string{"-nthash", rc4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			admin := ticketer(t, "512,513,1105", tc.key...)
			user := ticketer(t, "513,1105", tc.key...)
			lines := kerberosImpacket(t, k, admin, s.port, "localhost", testkdc.Alice, testkdc.Realm, "admins")
			if last := lines[len(lines)-1]; last != "OK logoff" {
				t.Fatalf("Domain Admins ticket: impacket stopped at %q (%v)", last, lines)
			}
			lines = kerberosImpacket(t, k, user, s.port, "localhost", testkdc.Alice, testkdc.Realm, "admins")
			if last := lines[len(lines)-1]; last != "FAIL open STATUS_ACCESS_DENIED" {
				t.Fatalf("ticket without 512: impacket stopped at %q (%v)", last, lines)
			}
			// The Go client from the same caches.
			if err := goClientOpen(t, s, &client.Kerberos{CCache: admin}, "admins"); err != nil {
				t.Fatalf("Go client, Domain Admins ticket: %v", err)
			}
			if err := goClientOpen(t, s, &client.Kerberos{CCache: user}, "admins"); !isStatus(err, ntstatus.AccessDenied) {
				t.Fatalf("Go client, ticket without 512: %v", err)
			}
		})
	}
	l := waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "user_sid="+pacDomainSID+"-1105")
	if !strings.Contains(l, "status=STATUS_SUCCESS") {
		t.Errorf("PAC logon record: %s", l)
	}
	waitLogLine(t, s, `msg="pipe open"`, "pipe=admins", "status=STATUS_ACCESS_DENIED")
}

// keytabKeyHex returns the hex key of spn with etype from a keytab.
func keytabKeyHex(t *testing.T, path, spn string, etype int32) string {
	t.Helper()
	kt, err := keytab.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := kt.GetEncryptionKey(types.NewPrincipalName(2, spn), testkdc.Realm, 0, etype)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(key.KeyValue)
}

// goClientOpen logs on with krb and opens pipe.
func goClientOpen(t *testing.T, s *server, krb *client.Kerberos, pipe string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, s.addr, &client.Config{Kerberos: krb, ServerName: "localhost"})
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.OpenPipe(ctx, pipe)
	if err != nil {
		return err
	}
	return p.Close()
}

func isStatus(err error, st ntstatus.Status) bool {
	var se *client.Error
	return errors.As(err, &se) && se.Status == st
}

// TestKerberosRefusals: smbpipe serve refuses each bad AP-REQ with the
// status Windows gives (STATUS_LOGON_FAILURE; STATUS_TIME_DIFFERENCE_AT_DC
// when the authenticator is outside the clock skew) and writes a failure
// audit record with the Kerberos error, naming the principal, service and
// enctype as far as the ticket decrypted: a ticket encrypted with a key that is
// not the keytab's, an expired ticket, a ticket for another service, an
// authenticator sent twice, a skewed client clock, and a ticket whose PAC
// server signature is wrong. Tickets without a PAC are minted here with
// the keytab (gokrb5's NewTicket) and map to alice by kerberos_principal.
func TestKerberosRefusals(t *testing.T) {
	t.Parallel()
	k := testkdc.Shared(t)
	s := startServer(t, kerberosConfig(k, ""))
	kt, err := keytab.Load(k.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	spn := types.NewPrincipalName(2, "cifs/localhost")
	_, kvno, err := kt.GetEncryptionKey(spn, testkdc.Realm, 0, kerberos.ETypeAES256)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	good := mintTicket(t, kt, kvno, now.Add(-time.Minute), now.Add(time.Hour))
	if err := goClientOpen(t, s, &client.Kerberos{Ticket: good}, "echo"); err != nil {
		t.Fatalf("a ticket minted with the keytab: %v", err)
	}

	wrong, _ := testkdc.PasswordKeytab(t, "cifs/localhost", testkdc.Realm, "not the service's password", kvno)
	other := k.Kinit(t, t.TempDir(), testkdc.Alice, testkdc.AlicePassword, testkdc.OtherService)
	pacCC := ticketer(t, "512,513,1105", "-keytab", k.Keytab)
	badPAC := ccacheTicket(t, pacCC, "cifs/localhost")
	corruptPACServerSignature(t, kt, badPAC)
	skewed := func() time.Time { return time.Now().Add(-20 * time.Minute) }

	for _, tc := range []struct {
		name   string
		krb    client.Kerberos
		status ntstatus.Status
		code   int
		reason string // in the audit record
		names  []string
	}{
		{"wrong-key", client.Kerberos{Ticket: mintTicket(t, wrong, kvno, now.Add(-time.Minute), now.Add(time.Hour))},
			ntstatus.LogonFailure, kerberos.ErrCodeModified, "does not decrypt with the keytab", []string{"service=cifs/localhost", "enctype=aes256-cts-hmac-sha1-96"}},
		{"expired", client.Kerberos{Ticket: mintTicket(t, kt, kvno, now.Add(-3*time.Hour), now.Add(-time.Hour))},
			ntstatus.LogonFailure, kerberos.ErrCodeExpired, "expired at", []string{"user=alice", "domain=SMBPIPE.TEST", "principal=alice@SMBPIPE.TEST", "service=cifs/localhost", "enctype=aes256-cts-hmac-sha1-96"}},
		{"other-service", client.Kerberos{CCache: other, SPN: testkdc.OtherService},
			ntstatus.LogonFailure, kerberos.ErrCodeNotUs, "not a service of this server", []string{"service=cifs/other.smbpipe.test"}},
		{"skewed-clock", client.Kerberos{Ticket: good, Now: skewed},
			0xC0000133, kerberos.ErrCodeSkew, "from the server's clock", []string{"user=alice", "principal=alice@SMBPIPE.TEST"}},
		{"pac-server-signature", client.Kerberos{Ticket: badPAC},
			ntstatus.LogonFailure, kerberos.ErrCodeModified, "server signature does not verify", []string{"user=alice", "principal=alice@SMBPIPE.TEST"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := goClientOpen(t, s, &tc.krb, "echo")
			if !isStatus(err, tc.status) {
				t.Fatalf("got %v, want %v", err, tc.status)
			}
			waitLogLine(t, s, append([]string{`msg="session setup"`, "auth=kerberos", "status=" + tc.status.String(), fmt.Sprintf("krb_error=%d", tc.code), tc.reason}, tc.names...)...)
		})
	}

	// The same AP-REQ on two connections: the first logs on, the second is
	// a replay.
	t.Run("replayed-authenticator", func(t *testing.T) {
		tok, _, err := kerberos.NewAPReq(good, kerberos.InitOptions{Mutual: true})
		if err != nil {
			t.Fatal(err)
		}
		buf := spnego.EncodeInit(&spnego.Init{MechTypes: []string{spnego.OIDMSKRB5, spnego.OIDKRB5}, MechToken: tok})
		for i, want := range []ntstatus.Status{ntstatus.Success, ntstatus.LogonFailure} {
			if got := rawSessionSetup(t, s.addr, buf); got != want {
				t.Fatalf("AP-REQ sent the %d. time: %v, want %v", i+1, got, want)
			}
		}
		waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "status=STATUS_LOGON_FAILURE",
			fmt.Sprintf("krb_error=%d", kerberos.ErrCodeRepeat), "replay")
	})
}

// mintTicket makes a ticket for cifs/localhost as alice without a PAC,
// encrypted with kt's AES-256 key of kvno, valid from start to end.
func mintTicket(t *testing.T, kt *keytab.Keytab, kvno int, start, end time.Time) *kerberos.ServiceTicket {
	t.Helper()
	return testkdc.Mint(t, kt, testkdc.Alice, "cifs/localhost", testkdc.Realm, kvno, start, end)
}

// ccacheTicket reads the ticket for spn from a credential cache.
func ccacheTicket(t *testing.T, path, spn string) *kerberos.ServiceTicket {
	t.Helper()
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		t.Fatal(err)
	}
	want := types.NewPrincipalName(2, spn)
	for _, c := range cc.Credentials {
		if c.Server.PrincipalName.Equal(want) {
			var tkt messages.Ticket
			if err := tkt.Unmarshal(c.Ticket); err != nil {
				t.Fatal(err)
			}
			return &kerberos.ServiceTicket{Ticket: tkt, SessionKey: c.Key, CName: c.Client.PrincipalName, CRealm: c.Client.Realm}
		}
	}
	t.Fatalf("no ticket for %s in %s", spn, path)
	return nil
}

// corruptPACServerSignature flips a bit of the PAC's server signature
// inside st's ticket and encrypts the ticket again with the keytab's key,
// so the ticket decrypts but the PAC does not verify.
func corruptPACServerSignature(t *testing.T, kt *keytab.Keytab, st *kerberos.ServiceTicket) {
	t.Helper()
	ep := st.Ticket.EncPart
	key, _, err := kt.GetEncryptionKey(st.Ticket.SName, st.Ticket.Realm, ep.KVNO, ep.EType)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := crypto.DecryptEncPart(ep, key, keyusage.KDC_REP_TICKET)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Ticket.Decrypt(key); err != nil {
		t.Fatal(err)
	}
	var pac []byte
	for _, e := range st.Ticket.DecryptedEncPart.AuthorizationData {
		var inner types.AuthorizationData
		if e.ADType == 1 && inner.Unmarshal(e.ADData) == nil {
			for _, x := range inner {
				if x.ADType == 128 {
					pac = x.ADData
				}
			}
		}
	}
	at := bytes.Index(plain, pac)
	if pac == nil || at < 0 || len(pac) < 8 {
		t.Fatal("no PAC in the ticket")
	}
	n := int(binary.LittleEndian.Uint32(pac))
	flipped := false
	for i := 0; i < n && 8+16*i+16 <= len(pac); i++ {
		e := pac[8+16*i:]
		if binary.LittleEndian.Uint32(e) == 6 { // PAC_SERVER_CHECKSUM
			size, off := int(binary.LittleEndian.Uint32(e[4:])), int(binary.LittleEndian.Uint64(e[8:]))
			plain[at+off+size-1] ^= 1
			flipped = true
		}
	}
	if !flipped {
		t.Fatal("the PAC has no server signature")
	}
	if st.Ticket.EncPart, err = crypto.GetEncryptedData(plain, key, keyusage.KDC_REP_TICKET, ep.KVNO); err != nil {
		t.Fatal(err)
	}
}

// rawSessionSetup negotiates on a new connection to addr and sends one
// SESSION_SETUP carrying buf, returning its status.
func rawSessionSetup(t *testing.T, addr string, buf []byte) ntstatus.Status {
	t.Helper()
	c := testclient.Negotiated(t, addr, client.Config{ServerName: "localhost"})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := c.RoundTrip(ctx, &client.RawRequest{Header: smb2.Header{Command: smb2.CmdSessionSetup},
		Body: (&smb2.SessionSetupRequest{SecurityMode: uint8(smb2.SigningEnabled), SecurityBuffer: buf}).Append(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Status
}

// TestKerberosDialRPC: smbpipe dial -k and smbpipe rpc -k log on with the
// ticket in the cache KRB5CCNAME names (kinit and kvno filled it), as
// smbclient -k does: dial echoes through the pipe, rpc getusername names
// alice, and the audit records say Kerberos.
func TestKerberosDialRPC(t *testing.T) {
	t.Parallel()
	k := testkdc.Shared(t)
	s := startServer(t, kerberosConfig(k, ""))
	cc := cifsTicket(t, k, t.TempDir(), "cifs/localhost")
	env := k.Env("FILE:" + cc)

	cmd := exec.Command(smbpipeBin, "dial", "-k", "-p", s.port, "//localhost/pipe/echo")
	cmd.Env = env
	cmd.Stdin = strings.NewReader("hello over dial -k")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dial -k: %v\n%s", err, errOutput(err))
	}
	if string(out) != "hello over dial -k" {
		t.Fatalf("dial -k echoed %q", out)
	}

	out2, err := runEnv(t, 30*time.Second, env, smbpipeBin, "rpc", "-k", "-p", s.port, "//localhost", "getusername")
	if err != nil {
		t.Fatalf("rpc -k: %v\n%s", err, out2)
	}
	if !strings.Contains(strings.ToLower(out2), "alice") {
		t.Fatalf("rpc -k getusername: %s", out2)
	}
	waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "principal=alice@SMBPIPE.TEST", "status=STATUS_SUCCESS")

	// Without a usable cache -k fails, naming the reason.
	cmd = exec.Command(smbpipeBin, "dial", "-k", "-p", s.port, "//localhost/pipe/echo")
	cmd.Env = k.Env(filepath.Join(t.TempDir(), "missing"))
	cmd.Stdin = strings.NewReader("x")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "credential cache") {
		t.Fatalf("dial -k without a cache: %v\n%s", err, out)
	}
}

func errOutput(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// TestKerberosReload: a running smbpipe serve re-reads the keytab when its
// config changes (key rotation without a restart): after the config names a
// keytab with a new key (kvno+1), a ticket under the new key logs on and
// one under the old key is refused. Then ntlm = false refuses NTLM logons
// (audited as ntlm-disabled) while Kerberos goes on working.
func TestKerberosReload(t *testing.T) {
	t.Parallel()
	k := testkdc.Shared(t)
	kt, err := keytab.Load(k.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	_, kvno, err := kt.GetEncryptionKey(types.NewPrincipalName(2, "cifs/localhost"), testkdc.Realm, 0, kerberos.ETypeAES256)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, kerberosConfig(k, ""))
	now := time.Now().UTC()
	old := mintTicket(t, kt, kvno, now.Add(-time.Minute), now.Add(time.Hour))
	if err := goClientOpen(t, s, &client.Kerberos{Ticket: old}, "echo"); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}

	rotated, newPath := testkdc.PasswordKeytab(t, "cifs/localhost", testkdc.Realm, "the rotated service password", kvno+1)
	fresh := mintTicket(t, rotated, kvno+1, now.Add(-time.Minute), now.Add(time.Hour))
	at := writeConfig(t, s, strings.Replace(kerberosConfig(k, ""), fmt.Sprintf("keytab = %q", k.Keytab), fmt.Sprintf("keytab = %q", newPath), 1))
	within(t, at, 10*time.Second, "the rotated key accepted", func() (bool, string) {
		err := goClientOpen(t, s, &client.Kerberos{Ticket: fresh}, "echo")
		return err == nil, fmt.Sprint(err)
	})
	if err := goClientOpen(t, s, &client.Kerberos{Ticket: old}, "echo"); !isStatus(err, ntstatus.LogonFailure) {
		t.Fatalf("a ticket under the old key after the rotation: %v", err)
	}
	// Its kvno is gone, the new key is tried and does not decrypt it.
	waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "status=STATUS_LOGON_FAILURE",
		fmt.Sprintf("krb_error=%d", kerberos.ErrCodeModified), "1 tried")

	// ntlm = false: NTLM refused, Kerberos on.
	at = writeConfig(t, s, strings.Replace(kerberosConfig(k, "ntlm = false"), fmt.Sprintf("keytab = %q", k.Keytab), fmt.Sprintf("keytab = %q", newPath), 1))
	within(t, at, 10*time.Second, "NTLM refused", func() (bool, string) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, s.addr, &client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP"})
		if err == nil {
			c.Close()
		}
		return isStatus(err, ntstatus.LogonFailure), fmt.Sprint(err)
	})
	waitLogLine(t, s, `msg="session setup"`, "auth=ntlm", "rule=ntlm-disabled", "status=STATUS_LOGON_FAILURE")
	if err := goClientOpen(t, s, &client.Kerberos{Ticket: mintTicket(t, rotated, kvno+1, now.Add(-time.Minute), now.Add(time.Hour))}, "echo"); err != nil {
		t.Fatalf("Kerberos with ntlm = false: %v", err)
	}
}

// TestKerberosRPCClient: Samba's rpcclient with --use-kerberos=required,
// after kinit alice, calls srvsvc NetrServerGetInfo and lsarpc
// LsarGetUserName on smbpipe over a Kerberos session, and the server names
// alice.
func TestKerberosRPCClient(t *testing.T) {
	t.Parallel()
	k, s, cc := samba(t, rpcclientPath)
	out, err := runEnv(t, 30*time.Second, k.Env(cc), rpcclientPath, testkdc.ServiceHost, "-I", "127.0.0.1", "-p", s.port,
		"--use-kerberos=required", "-c", "srvinfo; getusername")
	if err != nil {
		t.Fatalf("rpcclient: %v\n%s", err, out)
	}
	if !strings.Contains(strings.ToLower(out), "alice") || !strings.Contains(out, "platform_id") {
		t.Fatalf("rpcclient output:\n%s", out)
	}
	waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "principal=alice@SMBPIPE.TEST", "service=cifs/smbpipe.smbpipe.test", "status=STATUS_SUCCESS")
}

const faketimePath = "/usr/bin/faketime"

// TestKerberosSkewRecovery: Samba's clients (MIT Kerberos) with a clock 20
// minutes behind the server's, run under faketime, log on: the server
// answers the skewed AP-REQ with KRB_AP_ERR_SKEW and its time in the SPNEGO
// reply (MORE_PROCESSING_REQUIRED, MS-KILE 3.4.5, as Windows and Samba do),
// MIT's client corrects its offset and sends a new AP-REQ, and the exchange
// ends with the SPNEGO mechListMICs Samba's client requires, signed and
// encrypted on 3.0 and 3.1.1. Before, the logon failed with
// STATUS_TIME_DIFFERENCE_AT_DC. The audit has the skewed AP-REQ's refusal
// (skew_recovery=true) and then the logon. The Go client does the same
// with CorrectSkew. Each run gets a fresh cache holding the service
// ticket (kinit and kvno on the right time: a skewed client could not ask
// the KDC), since MIT keeps the offset it learned in the cache.
func TestKerberosSkewRecovery(t *testing.T) {
	t.Parallel()
	need(t, faketimePath, "--version")
	k, s, _ := samba(t, smbclientPath)
	for _, proto := range []string{"SMB3_00", "SMB3_11"} {
		for _, mode := range []string{"sign", "encrypt"} {
			t.Run(proto+"/"+mode, func(t *testing.T) {
				cc := cifsTicket(t, k, t.TempDir(), "cifs/"+testkdc.ServiceHost)
				out, err := runEnv(t, 30*time.Second, k.Env(cc), faketimePath, "-f", "-20m", smbclientPath,
					"//"+testkdc.ServiceHost+"/IPC$", "-I", "127.0.0.1", "-p", s.port, "--use-kerberos=required",
					"--client-protection="+mode, "--option=client min protocol="+proto, "--option=client max protocol="+proto,
					"-c", "exit")
				if err != nil {
					t.Fatalf("smbclient 20 minutes behind: %v\n%s", err, out)
				}
			})
		}
	}
	t.Run("rpcclient", func(t *testing.T) {
		need(t, rpcclientPath, "--version")
		cc := cifsTicket(t, k, t.TempDir(), "cifs/"+testkdc.ServiceHost)
		out, err := runEnv(t, 30*time.Second, k.Env(cc), faketimePath, "-f", "-20m", rpcclientPath, testkdc.ServiceHost,
			"-I", "127.0.0.1", "-p", s.port, "--use-kerberos=required", "--client-protection=sign", "-c", "getusername")
		if err != nil || !strings.Contains(strings.ToLower(out), "alice") {
			t.Fatalf("rpcclient 20 minutes behind: %v\n%s", err, out)
		}
	})
	t.Run("go-client", func(t *testing.T) {
		cc := cifsTicket(t, k, t.TempDir(), "cifs/localhost")
		behind := func() time.Time { return time.Now().Add(-20 * time.Minute) }
		if err := goClientOpen(t, s, &client.Kerberos{CCache: cc, Now: behind, CorrectSkew: true}, "echo"); err != nil {
			t.Fatalf("Go client 20 minutes behind, CorrectSkew: %v", err)
		}
	})
	waitLogLine(t, s, `msg="session setup"`, "auth=kerberos", "status=STATUS_TIME_DIFFERENCE_AT_DC",
		fmt.Sprintf("krb_error=%d", kerberos.ErrCodeSkew), "skew_recovery=true", "principal=alice@SMBPIPE.TEST")
}

// TestKerberosKeytabRotation: the service key changes while smbpipe serve
// runs, as an administrator rotates it with MIT's tools, the config
// untouched and no SIGHUP: kadmin ktadd appends the new key (kvno+1) to
// the keytab, and smbclient -k with a ticket under the new kvno (which the
// KDC hands out at once) logs on, and so does one under the old kvno
// still in the file; after kadmin ktremove ... old drops the old key, its
// ticket is refused and the new one's logs on.
func TestKerberosKeytabRotation(t *testing.T) {
	t.Parallel()
	need(t, smbclientPath, "--version")
	k := testkdc.Shared(t)
	host := fmt.Sprintf("rotate%d.smbpipe.test", time.Now().UnixNano())
	spn := "cifs/" + host
	kt := filepath.Join(t.TempDir(), "rotating.keytab")
	k.Kadmin(t, "addprinc -randkey "+spn)
	k.Kadmin(t, "ktadd -k "+kt+" "+spn)
	cfg := strings.Replace(kerberosConfig(k, ""), fmt.Sprintf("keytab = %q", k.Keytab), fmt.Sprintf("keytab = %q", kt), 1)
	cfg = strings.Replace(cfg, `service_names = ["localhost", "smbpipe.smbpipe.test"]`, fmt.Sprintf("service_names = [%q]", host), 1)
	s := startServer(t, cfg)
	smbclient := func(cc string) error {
		out, err := runEnv(t, 30*time.Second, k.Env(cc), smbclientPath, "//"+host+"/IPC$", "-I", "127.0.0.1", "-p", s.port,
			"--use-kerberos=required", "-c", "exit")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	old := cifsTicket(t, k, t.TempDir(), spn)
	if err := smbclient(old); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	k.Kadmin(t, "ktadd -k "+kt+" "+spn) // a new random key, kvno+1, appended
	fresh := cifsTicket(t, k, t.TempDir(), spn)
	if err := smbclient(fresh); err != nil {
		t.Fatalf("a ticket under the key ktadd added while serving: %v", err)
	}
	if err := smbclient(old); err != nil {
		t.Fatalf("a ticket under the old key, still in the keytab: %v", err)
	}
	k.Kadmin(t, "ktremove -k "+kt+" "+spn+" old")
	if err := smbclient(old); err == nil || !strings.Contains(err.Error(), "NT_STATUS_LOGON_FAILURE") {
		t.Fatalf("a ticket under the key ktremove dropped: %v", err)
	}
	if err := smbclient(fresh); err != nil {
		t.Fatalf("the new key after ktremove: %v", err)
	}
	waitLogLine(t, s, `msg="kerberos keytab"`, `reason="the file changed on disk"`)
}

// TestKerberosDenialStatus: a Kerberos logon smbpipe refuses is among the
// administrator's recent decisions as an NTLM one is: smbclient -k as
// HOST1$ (no kerberos_principal maps it, and MIT's PAC has no logon
// information) gets NT_STATUS_LOGON_FAILURE, and `smbpipe status` lists
// the denial with the principal and rule kerberos-principal. Not parallel:
// startAdminWith sets XDG_RUNTIME_DIR.
func TestKerberosDenialStatus(t *testing.T) {
	need(t, smbclientPath, "--version")
	k := testkdc.Shared(t)
	s, adminAddr := startAdminWith(t, kerberosConfig(k, ""))
	cc := k.Kinit(t, t.TempDir(), testkdc.Host1, testkdc.Host1Password, "cifs/"+testkdc.ServiceHost)
	out, err := runEnv(t, 30*time.Second, k.Env(cc), smbclientPath, "//"+testkdc.ServiceHost+"/IPC$", "-I", "127.0.0.1", "-p", s.port,
		"--use-kerberos=required", "-c", "exit")
	if err == nil || !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
		t.Fatalf("smbclient as HOST1$: %v\n%s", err, out)
	}
	st := statusJSON(t, adminAddr)
	found := false
	for _, d := range st.Decisions {
		found = found || d.Message == "session setup" && d.Denied && d.User == testkdc.Host1 && d.Domain == testkdc.Realm &&
			d.Rule == "kerberos-principal" && strings.Contains(d.Reason, testkdc.Host1+"@"+testkdc.Realm)
	}
	if !found {
		t.Fatalf("the Kerberos denial is not among the decisions: %+v", st.Decisions)
	}
	txt, err := exec.Command(smbpipeBin, "status", "--admin", adminAddr).CombinedOutput()
	if err != nil || !strings.Contains(string(txt), "kerberos-principal") {
		t.Errorf("smbpipe status: %v\n%s", err, txt)
	}
}
