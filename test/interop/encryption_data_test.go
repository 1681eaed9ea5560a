package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/internal/testsmbd"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/smb2"
)

// encryptedCombos are the dialects and ciphers Samba's clients can force.
var encryptedCombos = []struct{ proto, cipher, dialect string }{
	{"SMB3_00", "AES-128-CCM", "3.0"},
	{"SMB3_02", "AES-128-CCM", "3.0.2"},
	{"SMB3_11", "AES-128-CCM", "3.1.1"},
	{"SMB3_11", "AES-128-GCM", "3.1.1"},
	{"SMB3_11", "AES-256-CCM", "3.1.1"},
	{"SMB3_11", "AES-256-GCM", "3.1.1"},
}

// TestSmbclientEncryptedPipeData: under encryption = "required", where a
// request in clear is refused, Samba's clients exchange data on pipes with
// --client-protection=encrypt on SMB3_00, SMB3_02 and SMB3_11 with each
// cipher forced: smbclient opens the echo pipe and writes a file to it
// (CREATE, WRITE, CLOSE), and rpcclient binds srvsvc and calls
// NetrServerGetInfo (WRITE and READ of DCE/RPC PDUs). Anonymous clients
// are refused at SESSION_SETUP, as documented.
func TestSmbclientEncryptedPipeData(t *testing.T) {
	need(t, smbclientPath, "--version")
	need(t, rpcclientPath, "--version")
	s := startServer(t, "encryption = \"required\"\n"+testConfig)
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte(strings.Repeat("sealed pipe data\n", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range encryptedCombos {
		t.Run(tc.proto+"/"+tc.cipher, func(t *testing.T) {
			opts := []string{"-p", s.port, "-U", "alice%Passw0rd!", "-W", "WORKGROUP", "--client-protection=encrypt",
				"--option=client smb3 encryption algorithms=" + tc.cipher,
				"--option=client min protocol=" + tc.proto, "--option=client max protocol=" + tc.proto}
			out, err := run(t, 30*time.Second, smbclientPath, append([]string{"//127.0.0.1/IPC$", "-c", "open echo; close 1; put " + in + " echo"}, opts...)...)
			if err != nil || !strings.Contains(out, `open file \echo: for read/write fnum 1`) || !strings.Contains(out, `putting file `+in+` as \echo`) {
				t.Fatalf("smbclient: %v\n%s", err, out)
			}
			out, err = run(t, 30*time.Second, rpcclientPath, append([]string{"127.0.0.1", "-c", "srvinfo"}, opts...)...)
			if err != nil || !strings.Contains(out, "SMBPIPE") || !strings.Contains(out, "platform_id") {
				t.Fatalf("rpcclient srvinfo: %v\n%s", err, out)
			}
			want := "dialect=" + tc.dialect + " signing=false encryption=true cipher=" + tc.cipher
			if !logHas(s, want) {
				t.Errorf("no %q in the server log", want)
			}
		})
	}
	out, err := smbclient(t, s, "SMB3_11", "-U%")
	if err == nil || !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Errorf("anonymous smbclient under required: %v\n%s", err, out)
	}
	if !logHas(s, "rule=encryption-required") {
		t.Errorf("no encryption-required refusal in the server log")
	}
	if strings.Contains(s.Log(), "unencrypted request") || strings.Contains(s.Log(), "smb connection dropped") {
		t.Errorf("a clear request or a dropped connection:\n%s", s.Log())
	}
}

// TestImpacketEncrypted: impacket's SMB 3.0 client encrypts a user session
// when the server offers SMB2_GLOBAL_CAP_ENCRYPTION; as alice it opens the
// echo pipe and exchanges messages by WRITE/READ, TRANSCEIVE and a 51200
// byte message, under encryption = "enabled" and "required". Under
// "required" an anonymous impacket is refused at SESSION_SETUP; under
// "off" impacket stays in clear.
func TestImpacketEncrypted(t *testing.T) {
	need(t, python, "-c", "import impacket")
	full := []string{"OK connect dialect=0x0300", "OK login encrypt=True supports=True", "OK tree", "OK open",
		"OK write-read", "OK transact", "OK large", "OK close", "OK logoff"}
	script := func(s *server, user, pass string) []string {
		return impacketScript(t, "impacket_encrypted.py", s.port, user, pass, "echo")
	}
	for _, enc := range []string{"enabled", "required"} {
		t.Run(enc, func(t *testing.T) {
			s := startServer(t, "encryption = \""+enc+"\"\n"+testConfig)
			if got := script(s, "alice", "Passw0rd!"); !slices.Equal(got, full) {
				t.Fatalf("alice: %q, want %q\n%s", got, full, s.Log())
			}
			if !logHas(s, "dialect=3.0 ") || !logHas(s, "cipher=AES-128-CCM") {
				t.Errorf("no 3.0 AES-128-CCM session in the log:\n%s", s.Log())
			}
			if enc == "required" {
				got := script(s, "", "")
				if len(got) < 2 || got[len(got)-1] != "FAIL login STATUS_ACCESS_DENIED" {
					t.Errorf("anonymous under required: %q", got)
				}
			}
		})
	}
	t.Run("off", func(t *testing.T) {
		s := startServer(t, "encryption = \"off\"\n"+testConfig)
		want := slices.Clone(full)
		want[1] = "OK login encrypt=False supports=False"
		if got := script(s, "alice", "Passw0rd!"); !slices.Equal(got, want) {
			t.Fatalf("alice: %q, want %q", got, want)
		}
	})
}

// TestSmbtortureEncryption runs smbtorture's smb2.session.encryption-*
// for each cipher as alice against `smbpipe serve`'s IPC$ (encryption
// "enabled" and "required") and against Samba's smbd IPC$ (server smb
// encrypt = desired). Each test sets up a session that encrypts with its
// forced cipher and then opens the share's root directory, which IPC$ has
// on neither server: both must stop at that open, at the same source line,
// having got there encrypted (smbpipe answers STATUS_OBJECT_NAME_NOT_FOUND;
// smbd relays its RPC host's refusal of a pipe named "",
// NT_STATUS_CONNECTION_REFUSED).
func TestSmbtortureEncryption(t *testing.T) {
	need(t, smbtorturePath, "--version")
	smbd := testsmbd.Start(t, "\tserver smb encrypt = desired\n")
	_, smbdPort, _ := strings.Cut(smbd, ":")
	for _, enc := range []string{"enabled", "required"} {
		s := startServer(t, "encryption = \""+enc+"\"\n"+testConfig)
		for _, cipher := range []string{"aes-128-ccm", "aes-128-gcm", "aes-256-ccm", "aes-256-gcm"} {
			test := "smb2.session.encryption-" + cipher
			t.Run(enc+"/"+cipher, func(t *testing.T) {
				torture := func(port string) string {
					out, _ := run(t, 120*time.Second, smbtorturePath, "//127.0.0.1/IPC$", "-p", port, "-U", "alice%Passw0rd!", test)
					return out
				}
				ref, got := torture(smbdPort), torture(s.port)
				rl, rs, rok := failurePoint(ref)
				gl, gs, gok := failurePoint(got)
				if !rok || !gok {
					t.Fatalf("no failure point:\nsmbd:\n%s\nsmbpipe:\n%s", tail(ref, 20), tail(got, 20))
				}
				// The same line, the open of the root after the
				// encrypted session is up. Its status is each server's
				// answer to an open of "" on IPC$: smbd asks its RPC
				// host for a pipe named "" and relays the refusal.
				if rl != gl || !strings.Contains(ref, "smb2_util_roothandle failed") || !strings.Contains(got, "smb2_util_roothandle failed") ||
					gs != "NT_STATUS_OBJECT_NAME_NOT_FOUND" {
					t.Fatalf("smbd stops at %s with %s, smbpipe at %s with %s:\n%s", rl, rs, gl, gs, tail(got, 20))
				}
				name := strings.ToUpper(cipher)
				if !logHas(s, "cipher="+name) {
					t.Errorf("no session with %s in the server log", name)
				}
				t.Logf("IPC$: smbd and smbpipe both stop at %s, the root directory open (smbd %s, smbpipe %s)", gl, rs, gs)
			})
		}
		if strings.Contains(s.Log(), "smb connection dropped") || strings.Contains(s.Log(), "connection panic") {
			t.Errorf("%s: a connection was dropped:\n%s", enc, tail(s.Log(), 20))
		}
	}
}

// logHas reports whether the server's log has substr, waiting up to 5 s
// for it: the log comes through a pipe, read concurrently.
func logHas(s *server, substr string) bool {
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.Log(), substr); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

var srvsvcSyntax = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("4b324fc8-1670-01d3-1278-5a47bf6ee188"), Major: 3}

// serverGetInfo opens srvsvc on d's server, binds it and calls
// NetrServerGetInfo level 101; it returns the server name and the Conn.
func serverGetInfo(t *testing.T, d *client.Dialer, addr string) (string, *client.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p, err := d.DialContext(ctx, `\\`+addr+`\pipe\srvsvc`)
	if err != nil {
		t.Fatalf("open srvsvc: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := dcerpc.Bind(ctx, p, srvsvcSyntax, nil)
	if err != nil {
		t.Fatalf("bind srvsvc: %v", err)
	}
	w := ndr.NewWriter(nil, ndr.LittleEndian)
	if w.UniquePtr(true) {
		w.WString(`\\` + addr)
	}
	w.Uint32(101)
	stub, _ := w.Bytes()
	var name string
	for i := 0; i < 3; i++ {
		out, err := c.Call(ctx, 21, stub)
		if err != nil {
			t.Fatalf("NetrServerGetInfo: %v", err)
		}
		r := ndr.NewReader(out, ndr.LittleEndian)
		if level := r.Uint32(); level != 101 {
			t.Fatalf("info level %d", level)
		}
		r.DeferUnique(func(r *ndr.Reader) {
			r.Uint32() // platform_id
			r.DeferUnique(func(r *ndr.Reader) { name = r.WString() })
			r.Uint32() // version_major
			r.Uint32() // version_minor
			r.Uint32() // type
			r.DeferUnique(func(r *ndr.Reader) { r.WString() })
		})
		r.Flush()
		if werr := r.Uint32(); r.Err() != nil || werr != 0 {
			t.Fatalf("NetrServerGetInfo reply: %v, WERROR %#x", r.Err(), werr)
		}
	}
	return name, p.Conn()
}

// TestGoClientEncryptedSrvsvc: the Go client with EncryptionRequired, on
// every dialect and cipher it supports, opens srvsvc and calls
// NetrServerGetInfo against Samba's smbd with smb encrypt = required and
// against `smbpipe serve` with encryption = "required"; the session
// encrypts with the cipher forced. With EncryptionOff smbd refuses it.
func TestGoClientEncryptedSrvsvc(t *testing.T) {
	smbd := testsmbd.Start(t, "\tserver smb encrypt = required\n")
	s := startServer(t, "encryption = \"required\"\n"+testConfig)
	for _, peer := range []struct{ name, addr, want string }{{"smbd", smbd, "SMBPEER"}, {"smbpipe", s.addr, "SMBPIPE"}} {
		for _, tc := range []struct {
			d      smb2.Dialect
			cipher uint16
		}{
			{smb2.Dialect311, smb2.CipherAES128GCM}, {smb2.Dialect311, smb2.CipherAES128CCM},
			{smb2.Dialect311, smb2.CipherAES256GCM}, {smb2.Dialect311, smb2.CipherAES256CCM},
			{smb2.Dialect302, smb2.CipherAES128CCM}, {smb2.Dialect300, smb2.CipherAES128CCM},
		} {
			t.Run(fmt.Sprintf("%s/%s/%#x", peer.name, client.DialectString(tc.d), tc.cipher), func(t *testing.T) {
				d := &client.Dialer{Config: client.Config{User: testsmbd.User, Password: testsmbd.Password, Domain: "WORKGROUP",
					MinDialect: tc.d, MaxDialect: tc.d, Encryption: client.EncryptionRequired, Ciphers: []uint16{tc.cipher}}}
				name, c := serverGetInfo(t, d, peer.addr)
				if !strings.EqualFold(name, peer.want) {
					t.Errorf("server name %q, want %q", name, peer.want)
				}
				if !c.Encrypted() || c.Cipher() != tc.cipher || c.Dialect() != tc.d || c.SessionFlags()&smb2.SessionFlagEncrypt == 0 {
					t.Fatalf("encrypted %v cipher %#x dialect %s flags %#x", c.Encrypted(), c.Cipher(), client.DialectString(c.Dialect()), c.SessionFlags())
				}
			})
		}
		t.Run(peer.name+"/clear refused", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			d := &client.Dialer{Config: client.Config{User: testsmbd.User, Password: testsmbd.Password, Encryption: client.EncryptionOff}}
			if p, err := d.DialContext(ctx, `\\`+peer.addr+`\pipe\srvsvc`); err == nil {
				p.Close()
				t.Fatal("a client that does not encrypt opened srvsvc")
			}
		})
	}
}
