package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testbin"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/server"
)

// silentBackend listens on loopback, accepts, reads and never answers:
// the backend of a pipe that answers nothing.
func silentBackend(t *testing.T) string {
	return testbin.ServeTCP(t, func(c net.Conn) { io.Copy(io.Discard, c); c.Close() })
}

func dialOnce(t *testing.T, ctx context.Context, args []string, stdin io.Reader) (int, string, string) {
	t.Helper()
	o, err := parseDialArgs(args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := dialMain(ctx, o, stdin, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestDialNoReply: a write whose reply does not come before --idle is
// exit 1 saying so, not silence and 0; with nothing written, idle is
// success.
func TestDialNoReply(t *testing.T) {
	cfg := "listen = \"127.0.0.1:0\"\n" + testserver.AliceEcho + `
[[pipe]]
name = "sink"
backend = "tcp:` + silentBackend(t) + `"
sddl = "D:(A;;0x12019B;;;AU)"
`
	addr := testserver.Start(t, cfg)
	start := time.Now()
	code, out, errs := dialOnce(t, t.Context(), []string{"-U", "alice%Passw0rd!", "--idle", "300ms", "//" + addr + "/pipe/sink"}, strings.NewReader("hello\n"))
	if code != 1 || out != "" || !strings.Contains(errs, "no reply within --idle 300ms after the last write") {
		t.Errorf("unanswered write: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
	if code, _, errs := dialOnce(t, t.Context(), []string{"-U", "alice%Passw0rd!", "--idle", "300ms", "//" + addr + "/pipe/sink"}, strings.NewReader("")); code != 0 {
		t.Errorf("nothing written: exit %d, %q", code, errs)
	}
	if code, out, errs := dialOnce(t, t.Context(), []string{"-U", "alice%Passw0rd!", "--idle", "300ms", "//" + addr + "/pipe/echo"}, strings.NewReader("hi")); code != 0 || out != "hi" {
		t.Errorf("echo: exit %d, %q, %q", code, out, errs)
	}
}

// TestDialServerCloses: the server going away mid-session is "server
// closed the connection", exit 1.
func TestDialServerCloses(t *testing.T) {
	srv, addr := testserver.StartWith(t, server.Options{Snapshot: testserver.Snapshot(t, testserver.AliceEcho, "t.toml")})
	stdin, w := io.Pipe()
	defer w.Close()
	done := make(chan struct{})
	var code int
	var errs string
	go func() {
		defer close(done)
		code, _, errs = dialOnce(t, t.Context(), []string{"--idle", "0", "//" + addr + "/pipe/echo"}, stdin)
	}()
	// Once a round trip worked, the session is up.
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Opens()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("dial did not open the pipe")
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Close()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("dial still running 20 s after the server closed")
	}
	if code != 1 || !strings.Contains(errs, "smbpipe dial: server closed the connection") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestDialNotSMB: a peer that answers something else than SMB is "not an
// SMB server".
func TestDialNotSMB(t *testing.T) {
	addr := testbin.ServeTCP(t, func(c net.Conn) {
		c.Read(make([]byte, 512))
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		time.Sleep(200 * time.Millisecond)
		c.Close()
	})
	code, _, errs := dialOnce(t, t.Context(), []string{"--timeout", "10s", "//" + addr + "/pipe/echo"}, strings.NewReader("x"))
	if code != 1 || !strings.HasPrefix(errs, "smbpipe dial: not an SMB server") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestDialAccessDeniedHint: a denial names the explain command that shows
// why.
func TestDialAccessDeniedHint(t *testing.T) {
	addr := startDialTestServer(t)
	code, _, errs := dialOnce(t, t.Context(), []string{"//" + addr + "/pipe/private"}, strings.NewReader("x"))
	if code != 1 || !strings.Contains(errs, "STATUS_ACCESS_DENIED") ||
		!strings.Contains(errs, "smbpipe dial: to see why, run on the server: smbpipe explain --config CONFIG --user anonymous --pipe private\n") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	// And the command it names says why.
	var out, eb bytes.Buffer
	if c := explain([]string{"--config", "testdata/explain/policy.toml", "--user", "anonymous", "--pipe", "secret"}, &out, &eb); c != 1 || !strings.Contains(out.String(), "STATUS_ACCESS_DENIED") {
		t.Errorf("explain: exit %d\n%s%s", c, out.String(), eb.String())
	}
}

// TestDialInterruptedQuietly: the context ending (Ctrl-C in runDial) is
// exit 130 with nothing on stderr.
func TestDialInterruptedQuietly(t *testing.T) {
	srv, addr := testserver.StartWith(t, server.Options{Snapshot: testserver.Snapshot(t, testserver.AliceEcho, "t.toml")})
	stdin, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	var code int
	var errs string
	go func() {
		defer close(done)
		code, _, errs = dialOnce(t, ctx, []string{"--idle", "0", "//" + addr + "/pipe/echo"}, stdin)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Opens()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("dial did not open the pipe")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("dial still running 20 s after the interrupt")
	}
	if code != 130 || errs != "" {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestWithPassword: -U alice without a password asks (the terminal, in
// runDial) and uses the answer; without a terminal the error says how to
// give one.
func TestWithPassword(t *testing.T) {
	noenv := func(string) string { return "" }
	asked := ""
	o, err := withPassword([]string{"-U", `DOM\alice`, "//h/pipe/echo"}, noenv, func(u string) (string, error) { asked = u; return "s3cret", nil })
	if err != nil || asked != "alice" || o.cfg.Password != "s3cret" || o.cfg.User != "alice" || o.cfg.Domain != "DOM" {
		t.Errorf("asked %q, %+v, %v", asked, o, err)
	}
	_, err = withPassword([]string{"-U", "alice", "//h/pipe/echo"}, noenv, func(string) (string, error) { return "", io.EOF })
	if err == nil || !strings.Contains(err.Error(), "no password for alice: use -U alice%PASS, set $PASSWD, or run on a terminal") {
		t.Errorf("no terminal: %v", err)
	}
	o, err = withPassword([]string{"-U", "alice%given", "//h/pipe/echo"}, noenv, func(string) (string, error) { t.Error("asked"); return "", nil })
	if err != nil || o.cfg.Password != "given" {
		t.Errorf("%+v, %v", o, err)
	}
}

// TestExplainHintQuoted: the explain command a denial prints is one a
// shell runs as printed, for a pipe or user name with a space or a quote.
func TestExplainHintQuoted(t *testing.T) {
	o, err := parseDialArgs([]string{"-U", `CORP\o'brien%pw`, "//host/pipe/my pipe"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	const want = `smbpipe explain --config CONFIG --user 'o'\''brien' --pipe 'my pipe'`
	if got := explainHint(o); got != want {
		t.Errorf("hint %s\nwant %s", got, want)
	}
}
