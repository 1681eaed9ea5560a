package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/smb2"
)

func TestParseDialArgs(t *testing.T) {
	env := func(k string) string {
		if k == "PASSWD" {
			return "fromenv"
		}
		return ""
	}
	noenv := func(string) string { return "" }
	hash := "a4f49c406510bdcab6824ee7c30fd852"
	tests := []struct {
		name    string
		args    []string
		getenv  func(string) string
		wantErr bool
		check   func(t *testing.T, o *dialOptions)
	}{
		{name: "anonymous", args: []string{"//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.User != "" || o.cfg.Password != "" || o.port != 0 || o.idle != time.Second {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "anonymous -U%", args: []string{"-U", "%", `\\h\pipe\echo`}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.User != "" || o.cfg.Password != "" {
				t.Errorf("got user %q pass %q", o.cfg.User, o.cfg.Password)
			}
		}},
		{name: "user and password", args: []string{"-U", "alice%Passw0rd!", "-p", "4450", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.User != "alice" || o.cfg.Password != "Passw0rd!" || o.port != 4450 {
				t.Errorf("got %+v", o.cfg)
			}
		}},
		{name: "password with percent", args: []string{"-U", "alice%a%b", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Password != "a%b" {
				t.Errorf("password %q", o.cfg.Password)
			}
		}},
		{name: "domain backslash", args: []string{`-U`, `WORKGROUP\alice%x`, "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Domain != "WORKGROUP" || o.cfg.User != "alice" {
				t.Errorf("got %+v", o.cfg)
			}
		}},
		{name: "domain slash", args: []string{`-U`, `WG/alice%x`, "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Domain != "WG" || o.cfg.User != "alice" {
				t.Errorf("got %+v", o.cfg)
			}
		}},
		{name: "user at domain", args: []string{`-U`, `alice@WG%x`, "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Domain != "WG" || o.cfg.User != "alice" {
				t.Errorf("got %+v", o.cfg)
			}
		}},
		{name: "-W overrides", args: []string{"-U", `D\alice%x`, "-W", "OTHER", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Domain != "OTHER" {
				t.Errorf("domain %q", o.cfg.Domain)
			}
		}},
		{name: "password from PASSWD", args: []string{"-U", "alice", "//h/pipe/echo"}, getenv: env, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.Password != "fromenv" {
				t.Errorf("password %q", o.cfg.Password)
			}
		}},
		{name: "no password", args: []string{"-U", "alice", "//h/pipe/echo"}, wantErr: true},
		{name: "password without user", args: []string{"-U", "%x", "//h/pipe/echo"}, wantErr: true},
		{name: "nt hash", args: []string{"--pw-nt-hash", "-U", "alice%" + hash, "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if len(o.cfg.NTHash) != 16 || o.cfg.Password != "" {
				t.Errorf("got %+v", o.cfg)
			}
		}},
		{name: "bad nt hash", args: []string{"--pw-nt-hash", "-U", "alice%zz", "//h/pipe/echo"}, wantErr: true},
		{name: "dialect", args: []string{"--dialect", "3.0.2", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.MinDialect != smb2.Dialect302 || o.cfg.MaxDialect != smb2.Dialect302 {
				t.Errorf("got %v..%v", o.cfg.MinDialect, o.cfg.MaxDialect)
			}
		}},
		{name: "samba dialect name", args: []string{"--dialect=SMB2_02", "//h/pipe/echo"}, check: func(t *testing.T, o *dialOptions) {
			if o.cfg.MaxDialect != smb2.Dialect202 {
				t.Errorf("got %v", o.cfg.MaxDialect)
			}
		}},
		{name: "bad dialect", args: []string{"--dialect", "1.0", "//h/pipe/echo"}, wantErr: true},
		{name: "flags after path", args: []string{"//h/pipe/echo", "-p", "99", "--sign", "--idle", "0"}, check: func(t *testing.T, o *dialOptions) {
			if o.port != 99 || !o.cfg.RequireSigning || o.idle != 0 {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "no path", args: []string{"-p", "1"}, wantErr: true},
		{name: "two paths", args: []string{"//h/pipe/a", "//h/pipe/b"}, wantErr: true},
		{name: "not a pipe path", args: []string{"//h/IPC$/echo"}, wantErr: true},
		{name: "bad port", args: []string{"-p", "70000", "//h/pipe/echo"}, wantErr: true},
		{name: "unknown flag", args: []string{"-x", "//h/pipe/echo"}, wantErr: true},
		{name: "negative idle", args: []string{"--idle", "-1s", "//h/pipe/echo"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := tt.getenv
			if getenv == nil {
				getenv = noenv
			}
			o, err := parseDialArgs(tt.args, getenv)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", o)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestDialMainConnectFailure(t *testing.T) {
	// Port 1 on loopback: nothing listens; the command fails with exit 1.
	o, err := parseDialArgs([]string{"--timeout", "2s", "//127.0.0.1:1/pipe/echo"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := dialMain(t.Context(), o, bytes.NewReader(nil), &bytes.Buffer{}, &stderr); code != 1 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

const dialTestConfig = `
listen = "127.0.0.1:0"
allow_anonymous = true
signing = "enabled"

[LanmanServer]
RestrictNullSessAccess = 1
NullSessionPipes = ["echo"]

[[account]]
name = "alice"
password = "Passw0rd!"

[[pipe]]
name = "echo"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)"

[[pipe]]
name = "private"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)"
`

// startDialTestServer runs our server in-process on a loopback port.
func startDialTestServer(t *testing.T) string {
	t.Helper()
	return testserver.Start(t, dialTestConfig)
}

func TestDialMain(t *testing.T) {
	addr := startDialTestServer(t)
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "anonymous echo", args: []string{"--idle", "200ms", "//" + addr + "/pipe/echo"}, stdin: "hello\n", wantStdout: "hello\n"},
		{name: "alice signed 2.0.2", args: []string{"-U", "alice%Passw0rd!", "--sign", "--dialect", "2.0.2", "--idle", "200ms", `\\` + addr + `\pipe\echo`}, stdin: "x", wantStdout: "x"},
		{name: "alice private", args: []string{"-U", `WORKGROUP\alice%Passw0rd!`, "--idle", "200ms", "//" + addr + "/pipe/private"}, stdin: "secret", wantStdout: "secret"},
		{name: "anonymous denied", args: []string{"//" + addr + "/pipe/private"}, stdin: "x", wantCode: 1, wantStderr: "STATUS_ACCESS_DENIED"},
		{name: "missing pipe", args: []string{"-U", "alice%Passw0rd!", "//" + addr + "/pipe/nosuch"}, wantCode: 1, wantStderr: "STATUS_OBJECT_NAME_NOT_FOUND"},
		{name: "wrong password", args: []string{"-U", "alice%bad", "//" + addr + "/pipe/echo"}, wantCode: 1, wantStderr: "STATUS_LOGON_FAILURE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseDialArgs(tt.args, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := dialMain(t.Context(), o, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode || stdout.String() != tt.wantStdout || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Fatalf("exit %d stdout %q stderr %q; want %d %q %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}
