package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
	"github.com/smbpipe/smbpipe/smb2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// config is the alice/echo test config (testserver.AliceEcho) with
// allow_anonymous, guest and signing set.
func config(anon, guest bool, signing string) string {
	return fmt.Sprintf("allow_anonymous = %v\nguest = %v\nsigning = %q\n", anon, guest, signing) + testserver.AliceEcho
}

// snapshot compiles config with the tables in extra appended.
func snapshot(t *testing.T, anon, guest bool, signing string, extra string) *policy.Snapshot {
	t.Helper()
	return testserver.Snapshot(t, config(anon, guest, signing)+extra, "test.toml")
}

// serve runs srv on a loopback listener until the test ends.
func serve(t *testing.T, srv *server.Server) string {
	t.Helper()
	return testserver.Serve(t, srv)
}

// withGoPipe runs a server with opts and the Go pipe name (message mode,
// duplex, secured by sddl) until the test ends; it returns the server,
// the pipe's listener and the server's address.
func withGoPipe(t *testing.T, opts server.Options, name, sddl string) (*server.Server, *pipe.Listener, string) {
	t.Helper()
	srv, addr := testserver.StartWith(t, opts)
	l, err := srv.Listen(name, pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex}, sddl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return srv, l, addr
}

// openGoPipe opens name on c and accepts the server end from l; both are
// closed when the test ends.
func openGoPipe(t *testing.T, c *client.Conn, l *pipe.Listener, name string) (*client.Pipe, *pipe.End) {
	t.Helper()
	p, err := c.OpenPipe(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	se, err := l.AcceptEnd(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { se.Close() })
	return p, se
}

func newServer(t *testing.T, snap *policy.Snapshot) (*server.Server, string) {
	t.Helper()
	return testserver.StartWith(t, server.Options{Snapshot: snap})
}

func dial(t *testing.T, addr string, cfg client.Config) (*client.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, &cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

var (
	anon  = client.Config{}
	alice = client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP"}
	bob   = client.Config{User: "bob", Password: "whatever", Domain: "WORKGROUP"}
)

// TestSessionPolicy: what each policy does to each kind of logon.
func TestSessionPolicy(t *testing.T) {
	tests := []struct {
		name        string
		anon, guest bool
		who         client.Config
		want        ntstatus.Status
		flags       uint16
	}{
		{"anonymous allowed", true, false, anon, 0, smb2.SessionFlagIsNull},
		{"anonymous refused", false, false, anon, ntstatus.AccessDenied, 0},
		{"user", false, false, alice, 0, 0},
		{"wrong password", true, true, client.Config{User: "alice", Password: "x"}, ntstatus.LogonFailure, 0},
		{"unknown user", true, false, bob, ntstatus.LogonFailure, 0},
		{"unknown user as guest", true, true, bob, 0, smb2.SessionFlagIsGuest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := newServer(t, snapshot(t, tc.anon, tc.guest, "enabled", ""))
			for _, d := range []smb2.Dialect{smb2.Dialect202, smb2.Dialect311} {
				cfg := tc.who
				cfg.MinDialect, cfg.MaxDialect = d, d
				c, err := dial(t, addr, cfg)
				if tc.want != 0 {
					if !errors.Is(err, tc.want) {
						t.Fatalf("%#x: got %v, want %v", d, err, tc.want)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%#x: %v", d, err)
				}
				if c.SessionFlags() != tc.flags {
					t.Errorf("%#x: session flags %#x, want %#x", d, c.SessionFlags(), tc.flags)
				}
			}
		})
	}
}

// TestSigningRequired: a server requiring signing signs user sessions and
// refuses their unsigned requests; anonymous sessions stay unsigned.
func TestSigningRequired(t *testing.T) {
	_, addr := newServer(t, snapshot(t, true, false, "required", ""))
	for _, d := range []smb2.Dialect{smb2.Dialect202, smb2.Dialect210, smb2.Dialect300, smb2.Dialect302, smb2.Dialect311} {
		cfg := alice
		cfg.MinDialect, cfg.MaxDialect = d, d
		c, err := dial(t, addr, cfg)
		if err != nil {
			t.Fatalf("%#x: %v", d, err)
		}
		if !c.Signed() {
			t.Errorf("%#x: session not signed", d)
		}
		resp, err := c.RoundTrip(t.Context(), &client.RawRequest{
			Header: smb2.Header{Command: smb2.CmdEcho, SessionID: c.SessionID()},
			Body:   (&smb2.EchoRequest{}).Append(nil),
			NoSign: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Status != ntstatus.AccessDenied {
			t.Errorf("%#x: unsigned request: %v, want STATUS_ACCESS_DENIED", d, resp.Header.Status)
		}
		if err := c.Echo(t.Context()); err != nil {
			t.Errorf("%#x: signed echo: %v", d, err)
		}
	}
	c, err := dial(t, addr, anon)
	if err != nil {
		t.Fatal(err)
	}
	if c.Signed() {
		t.Error("anonymous session signed")
	}
}

// TestTreeConnect: only IPC$ (any case) is served.
func TestTreeConnect(t *testing.T) {
	_, addr := newServer(t, snapshot(t, true, false, "enabled", ""))
	c, err := dial(t, addr, alice)
	if err != nil {
		t.Fatal(err)
	}
	for share, want := range map[string]ntstatus.Status{
		`\\SMBPIPE\IPC$`:   ntstatus.Success,
		`\\127.0.0.1\ipc$`: ntstatus.Success,
		`\\SMBPIPE\C$`:     ntstatus.BadNetworkName,
		`\\SMBPIPE\share`:  ntstatus.BadNetworkName,
	} {
		resp, err := c.RoundTrip(t.Context(), &client.RawRequest{
			Header: smb2.Header{Command: smb2.CmdTreeConnect, SessionID: c.SessionID()},
			Body:   (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, share)}).Append(nil),
			Sign:   true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Status != want {
			t.Errorf("%s: %v, want %v", share, resp.Header.Status, want)
		}
		if want == ntstatus.Success {
			var tc smb2.TreeConnectResponse
			if err := tc.Decode(resp.Msg); err != nil {
				t.Fatal(err)
			}
			if tc.ShareType != smb2.ShareTypePipe || tc.ShareFlags != smb2.ShareFlagNoCaching || tc.MaximalAccess != 0x1F01FF {
				t.Errorf("%s: %+v", share, tc)
			}
		}
	}
}

// TestGoPipe: a pipe created by Go code in the namespace is opened over
// SMB; its server end learns who the caller is; names keep their exact
// form (a leading backslash is not stripped).
func TestGoPipe(t *testing.T) {
	ns := new(pipe.Namespace)
	srv, l, addr := withGoPipe(t, server.Options{Snapshot: snapshot(t, true, false, "enabled", ""), Namespace: ns},
		"svc", "D:(A;;0x12019B;;;AU)")
	if srv.Namespace() != ns {
		t.Fatal("Namespace is not the one given")
	}
	c, err := dial(t, addr, alice)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]ntstatus.Status{`\svc`: ntstatus.ObjectNameNotFound, `pipe\svc`: ntstatus.ObjectNameNotFound} {
		if _, err := c.OpenPipe(t.Context(), name); !errors.Is(err, want) {
			t.Errorf("open %q: %v, want %v", name, err, want)
		}
	}
	p, se := openGoPipe(t, c, l, "SVC")
	caller, ok := se.Caller()
	if !ok || caller.User != "alice" || caller.Anonymous || len(caller.SIDs) == 0 || caller.SessionID != c.SessionID() {
		t.Errorf("caller %+v", caller)
	}
	// A READ pends until the server end writes.
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 64)
		n, _, err := p.ReadMsg(t.Context(), b)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b[:n])
	}()
	time.Sleep(20 * time.Millisecond)
	se.Write([]byte("late reply"))
	if s := <-got; s != "late reply" {
		t.Errorf("pending read got %q", s)
	}

	// Anonymous callers are stopped by NullSessionPipes before the DACL.
	ac, err := dial(t, addr, anon)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.OpenPipe(t.Context(), "svc"); !errors.Is(err, ntstatus.AccessDenied) {
		t.Errorf("anonymous open: %v", err)
	}
}

// TestSetPolicy: reload adds and removes config pipes and applies SDDL
// changes to the next open.
func TestSetPolicy(t *testing.T) {
	srv, addr := newServer(t, snapshot(t, true, false, "enabled", ""))
	c, err := dial(t, addr, alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.OpenPipe(t.Context(), "more"); !errors.Is(err, ntstatus.ObjectNameNotFound) {
		t.Fatalf("before reload: %v", err)
	}
	more := "\n[[pipe]]\nname = \"more\"\nbackend = \"echo\"\nmode = \"message\"\nsddl = \"D:(A;;0x12019B;;;AU)\"\n"
	if err := srv.SetPolicy(snapshot(t, true, false, "enabled", more)); err != nil {
		t.Fatal(err)
	}
	p, err := c.OpenPipe(t.Context(), "more")
	if err != nil {
		t.Fatalf("after reload: %v", err)
	}
	if n, _, err := p.Transact(t.Context(), []byte("x"), make([]byte, 8)); err != nil || n != 1 {
		t.Fatalf("transact: %d %v", n, err)
	}
	p.Close()
	denied := strings.Replace(more, "AU", "BA", 1)
	if err := srv.SetPolicy(snapshot(t, true, false, "enabled", denied)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.OpenPipe(t.Context(), "more"); !errors.Is(err, ntstatus.AccessDenied) {
		t.Fatalf("after SDDL change: %v", err)
	}
	if err := srv.SetPolicy(snapshot(t, true, false, "enabled", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.OpenPipe(t.Context(), "more"); !errors.Is(err, ntstatus.ObjectNameNotFound) {
		t.Fatalf("after removal: %v", err)
	}
}

// TestShutdown: Shutdown stops accepting, ends the connections and
// returns; Serve returns ErrServerClosed.
func TestShutdown(t *testing.T) {
	srv, err := server.New(server.Options{Snapshot: snapshot(t, true, false, "enabled", ""),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	c, err := dial(t, l.Addr().String(), alice)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.OpenPipe(t.Context(), "echo")
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, _, err := p.ReadMsg(t.Context(), make([]byte, 10))
		readErr <- err
	}()
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if err := <-readErr; err == nil {
		t.Fatal("pending read survived shutdown")
	}
	if _, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting")
	}
}
