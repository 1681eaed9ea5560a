package client_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/internal/testsmbd"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
	"github.com/smbpipe/smbpipe/smb2"
)

// startEnc runs a server with AliceEcho plus extra top-level keys and
// returns its address and log.
func startEnc(t *testing.T, extra string) (string, *testlog.Buffer) {
	t.Helper()
	log := &testlog.Buffer{}
	_, addr := testserver.StartWith(t, server.Options{
		Snapshot: testserver.Snapshot(t, extra+testserver.AliceEcho, "test.toml"),
		Logger:   slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return addr, log
}

func alice(mode client.EncryptionMode, maxD smb2.Dialect, ciphers ...uint16) client.Config {
	return client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP",
		Encryption: mode, Ciphers: ciphers, MinDialect: maxD, MaxDialect: maxD}
}

// echo opens the echo pipe and exchanges a message.
func echo(t *testing.T, c *client.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := c.OpenPipe(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in := bytes.Repeat([]byte("sealed "), 700)
	out := make([]byte, len(in))
	if n, _, err := p.Transact(ctx, in, out); err != nil || !bytes.Equal(out[:n], in) {
		t.Fatalf("transact: %d bytes, %v", n, err)
	}
	// An async READ (nothing queued yet) completes encrypted too.
	done := make(chan error, 1)
	go func() {
		b := make([]byte, 64)
		n, _, err := p.ReadMsg(ctx, b)
		if err == nil && string(b[:n]) != "late" {
			err = errors.New("read " + string(b[:n]))
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := p.WriteMsg(ctx, []byte("late")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal("async read:", err)
	}
}

// TestEncryptionCiphers runs the client against the server with every
// cipher on each 3.x dialect, encrypting by choice ("enabled") and because
// the server requires it.
func TestEncryptionCiphers(t *testing.T) {
	for _, enc := range []string{"enabled", "required"} {
		addr, log := startEnc(t, "encryption = \""+enc+"\"\n")
		for _, tc := range []struct {
			d      smb2.Dialect
			cipher uint16
		}{
			{smb2.Dialect300, smb2.CipherAES128CCM},
			{smb2.Dialect302, smb2.CipherAES128CCM},
			{smb2.Dialect311, smb2.CipherAES128CCM},
			{smb2.Dialect311, smb2.CipherAES128GCM},
			{smb2.Dialect311, smb2.CipherAES256CCM},
			{smb2.Dialect311, smb2.CipherAES256GCM},
		} {
			mode := client.EncryptionRequired
			if enc == "required" {
				mode = client.EncryptionAuto // the server's flag turns it on
			}
			cfg := alice(mode, tc.d, tc.cipher)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c, err := client.Dial(ctx, addr, &cfg)
			cancel()
			if err != nil {
				t.Fatalf("%s %v %#x: %v\n%s", enc, tc.d, tc.cipher, err, log)
			}
			if !c.Encrypted() || c.Cipher() != tc.cipher {
				t.Errorf("%s %v: encrypted %v cipher %#x, want %#x", enc, tc.d, c.Encrypted(), c.Cipher(), tc.cipher)
			}
			if got := c.SessionFlags()&smb2.SessionFlagEncrypt != 0; got != (enc == "required") {
				t.Errorf("%s %v: ENCRYPT_DATA flag %v", enc, tc.d, got)
			}
			echo(t, c)
			c.Close()
		}
		if !strings.Contains(log.String(), "cipher=AES-256-GCM") {
			t.Errorf("%s: no session setup record with the cipher:\n%s", enc, log)
		}
	}
}

// TestEncryptionRequiredRefusals: with encryption = "required" a client
// that cannot encrypt is refused at SESSION_SETUP, never served in clear,
// and so are anonymous and guest sessions.
func TestEncryptionRequiredRefusals(t *testing.T) {
	addr, log := startEnc(t, "encryption = \"required\"\nguest = true\n")
	for _, tc := range []struct {
		name string
		cfg  client.Config
		want error
	}{
		{"2.1", alice(client.EncryptionAuto, smb2.Dialect210), ntstatus.AccessDenied},
		{"3.1.1 not offering", alice(client.EncryptionOff, smb2.Dialect311), ntstatus.AccessDenied},
		{"3.0 not offering", alice(client.EncryptionOff, smb2.Dialect300), ntstatus.AccessDenied},
		{"anonymous", client.Config{}, ntstatus.AccessDenied},
		{"guest", client.Config{User: "nobody", Password: "x"}, ntstatus.AccessDenied},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := client.Dial(ctx, addr, &tc.cfg)
		cancel()
		if err == nil {
			c.Close()
			t.Errorf("%s: session established", tc.name)
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, want := range []string{"rule=encryption-required", "null sessions have no session key", "guest sessions have no session key", "dialect 2.1 has no encryption"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// A client asked to encrypt where it cannot says so.
	cfg := client.Config{Encryption: client.EncryptionRequired}
	addr2, _ := startEnc(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := client.Dial(ctx, addr2, &cfg); !errors.Is(err, client.ErrEncryption) {
		t.Errorf("anonymous with EncryptionRequired: %v", err)
		if c != nil {
			c.Close()
		}
	}
}

// TestEncryptionRequiredUnencryptedRequest: a request in clear on a session
// that must encrypt gets STATUS_ACCESS_DENIED (in an encrypted response);
// the connection stays.
func TestEncryptionRequiredUnencryptedRequest(t *testing.T) {
	addr, _ := startEnc(t, "encryption = \"required\"\n")
	cfg := alice(client.EncryptionAuto, smb2.Dialect311)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A raw request is sent as built: in clear.
	h := smb2.Header{Command: smb2.CmdEcho, SessionID: c.SessionID(), Credit: 1}
	resp, err := c.RoundTrip(ctx, &client.RawRequest{Header: h, Body: (&smb2.EchoRequest{}).Append(nil), NoEncrypt: true})
	if err == nil && resp.Header.Status != ntstatus.AccessDenied {
		t.Errorf("clear ECHO: %v", resp.Header.Status)
	}
	if err != nil && !errors.Is(err, ntstatus.AccessDenied) {
		t.Errorf("clear ECHO: %v", err)
	}
	echo(t, c)
}

// TestEncryptionReauthenticate: a session that encrypts re-authenticates
// with sealed SESSION_SETUPs, against smbpipe and Samba's smbd with
// encryption required, on 3.0.2 and 3.1.1; both refuse the exchange in
// clear (STATUS_ACCESS_DENIED), which the client used to send. The session
// keeps its keys and goes on encrypting.
func TestEncryptionReauthenticate(t *testing.T) {
	ours, _ := startEnc(t, "encryption = \"required\"\n")
	reauthEncrypted(t, ours, "echo")
	t.Run("smbd", func(t *testing.T) {
		reauthEncrypted(t, testsmbd.Start(t, "\tserver smb encrypt = required\n"), "srvsvc")
	})
}

// reauthEncrypted re-authenticates alice's encrypting session on 3.0.2 and
// 3.1.1 with the pipe opened before, then opens it again.
func reauthEncrypted(t *testing.T, addr, pipe string) {
	for _, d := range []smb2.Dialect{smb2.Dialect302, smb2.Dialect311} {
		t.Run(client.DialectString(d), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cfg := alice(client.EncryptionRequired, d)
			c, err := client.Dial(ctx, addr, &cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p, err := c.OpenPipe(ctx, pipe)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Reauthenticate(ctx, nil); err != nil {
				t.Fatalf("re-authentication of an encrypting session: %v", err)
			}
			if !c.Encrypted() {
				t.Fatal("the session no longer encrypts")
			}
			if err := c.Echo(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.OpenPipe(ctx, pipe); err != nil {
				t.Fatalf("open after the re-authentication: %v", err)
			}
		})
	}
}

// TestEncryptionHotReload pins what a reload of `encryption` does to
// sessions already set up: nothing. EncryptData is decided per session at
// its SESSION_SETUP (MS-SMB2 3.3.5.5.3, Session.EncryptData, then checked
// per request in 3.3.5.2.9), so enabled -> required leaves an open clear
// session in clear and refuses only new sessions that cannot encrypt, and
// required -> off leaves a session that must encrypt refusing clear
// requests, while new connections are no longer offered a cipher.
func TestEncryptionHotReload(t *testing.T) {
	snap := func(enc string) *policy.Snapshot {
		return testserver.Snapshot(t, "encryption = \""+enc+"\"\n"+testserver.AliceEcho, "test.toml")
	}
	srv, addr := testserver.StartWith(t, server.Options{Snapshot: snap("enabled")})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(mode client.EncryptionMode) (*client.Conn, error) {
		cfg := alice(mode, smb2.Dialect311)
		return client.Dial(ctx, addr, &cfg)
	}
	clearEcho := func(c *client.Conn) ntstatus.Status {
		h := smb2.Header{Command: smb2.CmdEcho, SessionID: c.SessionID(), Credit: 1}
		resp, err := c.RoundTrip(ctx, &client.RawRequest{Header: h, Body: (&smb2.EchoRequest{}).Append(nil), NoEncrypt: true})
		if err != nil {
			var st ntstatus.Status
			if errors.As(err, &st) {
				return st
			}
			t.Fatalf("clear ECHO: %v", err)
		}
		return resp.Header.Status
	}

	plain, err := dial(client.EncryptionOff)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := srv.SetPolicy(snap("required")); err != nil {
		t.Fatal(err)
	}
	if plain.Encrypted() {
		t.Fatal("the session of encryption = enabled encrypts")
	}
	echo(t, plain) // in clear, after the reload to required
	if c, err := dial(client.EncryptionOff); err == nil || !errors.Is(err, ntstatus.AccessDenied) {
		t.Fatalf("a new session that does not encrypt under required: %v, want STATUS_ACCESS_DENIED", err)
	} else if c != nil {
		c.Close()
	}
	sealed, err := dial(client.EncryptionAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer sealed.Close()
	if !sealed.Encrypted() {
		t.Fatal("a new session under required does not encrypt")
	}

	if err := srv.SetPolicy(snap("off")); err != nil {
		t.Fatal(err)
	}
	echo(t, sealed)
	if st := clearEcho(sealed); st != ntstatus.AccessDenied {
		t.Fatalf("clear ECHO on the session that must encrypt, after the reload to off: %v, want STATUS_ACCESS_DENIED", st)
	}
	c, err := dial(client.EncryptionAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Cipher() != 0 || c.Encrypted() {
		t.Fatalf("a new connection under off: cipher %#x, encrypted %v", c.Cipher(), c.Encrypted())
	}
	echo(t, plain)
}

// TestEncryptionRequiredNoCommonCipher: a client whose ciphers are all
// outside encryption_ciphers is refused under required with
// STATUS_ACCESS_DENIED, and the audit record says why (no cipher in
// common, and which ones each side has), with the fields of every other
// "session setup" record (status_code, event_id 4625).
func TestEncryptionRequiredNoCommonCipher(t *testing.T) {
	addr, log := startEnc(t, "encryption = \"required\"\nencryption_ciphers = [\"AES-256-GCM\"]\n")
	for _, d := range []smb2.Dialect{smb2.Dialect302, smb2.Dialect311} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cfg := alice(client.EncryptionAuto, d, smb2.CipherAES128CCM)
		c, err := client.Dial(ctx, addr, &cfg)
		cancel()
		if err == nil {
			c.Close()
			t.Fatalf("%v: a client with only AES-128-CCM logged on under required with encryption_ciphers AES-256-GCM", d)
		}
		if !errors.Is(err, ntstatus.AccessDenied) {
			t.Fatalf("%v: %v, want STATUS_ACCESS_DENIED", d, err)
		}
		want := "dialect=" + client.DialectString(d) + " status=STATUS_ACCESS_DENIED status_code=0xc0000022 rule=encryption-required " +
			`reason="encryption = \"required\" and no cipher in common: the client offered AES-128-CCM, encryption_ciphers allows AES-256-GCM: refused rather than served in clear" event_id=4625`
		if !strings.Contains(log.String(), want) {
			t.Fatalf("%v: no %s in the log:\n%s", d, want, log)
		}
	}
}
