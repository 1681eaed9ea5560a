package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// explainUpdate rewrites the golden files: go test ./cmd/smbpipe -run Explain -update
var explainUpdate = updateFlag()

func updateFlag() *bool {
	if f := flag.Lookup("update"); f != nil {
		v := f.Value.(flag.Getter).Get().(bool)
		return &v
	}
	return flag.Bool("update", false, "rewrite golden files")
}

// checkExplainGolden runs smbpipe explain with args and requires exit
// status code, nothing on stderr, and stdout equal to the golden file
// testdata/explain/NAME.golden (which -update rewrites instead).
func checkExplainGolden(t *testing.T, name string, args []string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	if got := explain(args, &out, &errb); got != code || errb.Len() != 0 {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, code, out.String(), errb.String())
	}
	golden := filepath.Join("testdata", "explain", name+".golden")
	if *explainUpdate {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("output differs from %s:\n--- got\n%s--- want\n%s", golden, out.String(), want)
	}
}

func TestExplainGolden(t *testing.T) {
	const cfg = "testdata/explain/policy.toml"
	tests := []struct {
		name string
		args []string
		code int
	}{
		// Denials, each for a different reason.
		{"deny-null-session-pipes", []string{"--config", cfg, "--user", "anonymous", "--pipe", "secret"}, 1},
		// Several gates deny: the fix names every change needed.
		{"deny-unlisted-and-default-dacl", []string{"--config", cfg, "--user", "anonymous", "--pipe", "private"}, 1},
		{"deny-unlisted-and-missing", []string{"--config", cfg, "--user", "anonymous", "--pipe", "nosuch"}, 1},
		{"deny-unlisted-impersonation-and-dacl", []string{"--config", cfg, "--user", "anonymous", "--pipe", "secret", "--impersonation", "3"}, 1},
		{"deny-unlisted-null-dacl", []string{"--config", cfg, "--user", "anonymous", "--pipe", "open"}, 1},
		{"deny-not-found", []string{"--config", cfg, "--user", "alice", "--pipe", "nosuch"}, 1},
		{"deny-default-dacl-read-only", []string{"--config", cfg, "--user", "anonymous", "--pipe", "readonly"}, 1},
		{"deny-network-ace", []string{"--config", cfg, "--user", "alice", "--pipe", "localonly", "--access", "0x3"}, 1},
		{"deny-alice-only", []string{"--config", cfg, "--user", "bob", "--pipe", "secret"}, 1},
		{"deny-impersonation", []string{"--config", cfg, "--user", "alice", "--pipe", "echo", "--impersonation", "3"}, 1},
		{"deny-logon-failure", []string{"--config", cfg, "--user", "mallory", "--pipe", "echo"}, 1},
		{"deny-guest-disabled", []string{"--config", cfg, "--user", "guest", "--pipe", "echo"}, 1},
		{"deny-null-session-refused", []string{"--config", "testdata/explain/noanon.toml", "--user", "anonymous", "--pipe", "echo"}, 1},
		{"deny-privilege", []string{"--config", cfg, "--user", "alice", "--pipe", "echo", "--access", "read,access_system_security"}, 1},
		{"deny-guest-default-dacl", []string{"--config", "testdata/explain/noanon.toml", "--user", "nobody", "--pipe", "echo"}, 1},
		// encryption = "required": anonymous and guest sessions have no key.
		{"deny-encryption-required-anonymous", []string{"--config", "testdata/explain/encrypt.toml", "--user", "anonymous", "--pipe", "echo"}, 1},
		{"deny-encryption-required-guest", []string{"--config", "testdata/explain/encrypt.toml", "--user", "guest", "--pipe", "echo"}, 1},
		{"deny-encryption-required-unknown-user", []string{"--config", "testdata/explain/encrypt.toml", "--user", "nobody", "--pipe", "echo"}, 1},
		{"deny-encryption-required-anonymous-rpc", []string{"--config", "testdata/explain/encrypt.toml", "--user", "anonymous", "--rpc", "srvsvc.NetrShareEnum", "--level", "1"}, 1},
		{"grant-encryption-required-alice", []string{"--config", "testdata/explain/encrypt.toml", "--user", "alice", "--pipe", "echo"}, 0},
		// Grants.
		{"grant-anonymous-default-config", []string{"--user", "anonymous", "--pipe", "echo"}, 0},
		{"grant-admin-default-dacl", []string{"--config", cfg, "--user", "bob", "--pipe", "readonly"}, 0},
		{"grant-alice-read", []string{"--config", cfg, "--user", "Alice", "--pipe", "READONLY", "--access", "read"}, 0},
		{"grant-alice-max", []string{"--config", cfg, "--user", "alice", "--pipe", "secret", "--access", "max"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkExplainGolden(t, tt.name, tt.args, tt.code) })
	}
}

func TestExplainBadInput(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.toml")
	os.WriteFile(broken, []byte("[[pipe]]\nname = \"e\"\nbackend = \"echo\"\nsddl = \"D:(A;;XX;;;WD)\"\n"), 0o600)
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"no pipe", []string{"--user", "anonymous"}, "usage"},
		{"no user", []string{"--pipe", "echo"}, "usage"},
		{"unknown flag", []string{"--bogus"}, "bogus"},
		{"bad access", []string{"--user", "anonymous", "--pipe", "echo", "--access", "fly"}, `unknown access "fly"`},
		{"bad mask", []string{"--user", "anonymous", "--pipe", "echo", "--access", "0xZZ"}, "invalid mask"},
		{"missing config", []string{"--config", filepath.Join(dir, "none.toml"), "--user", "anonymous", "--pipe", "echo"}, "none.toml"},
		{"broken config", []string{"--config", broken, "--user", "anonymous", "--pipe", "e"}, `broken.toml:4: pipe[0].sddl: ACE 1 (A;;XX;;;WD): unknown right "XX"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := explain(tt.args, &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
			if !strings.Contains(errb.String(), tt.err) {
				t.Fatalf("stderr %q lacks %q", errb.String(), tt.err)
			}
		})
	}
}

// TestExplainDomainUser: --user SERVER\alice or WORKGROUP\alice, as
// Windows and the audit log write the user, is decided as the server
// decides a logon of alice with that domain: as alice, not as a guest
// named "WORKGROUP\alice".
func TestExplainDomainUser(t *testing.T) {
	const cfg = "testdata/explain/policy.toml"
	run := func(user string) (int, string) {
		var out, errb bytes.Buffer
		code := explain([]string{"--config", cfg, "--user", user, "--pipe", "secret"}, &out, &errb)
		_, rest, _ := strings.Cut(out.String(), "\nsession: ")
		return code, rest
	}
	wantCode, want := run("alice")
	if wantCode != 0 {
		t.Fatalf("alice on secret: exit %d", wantCode)
	}
	for _, u := range []string{`GOLDEN\alice`, `WORKGROUP\alice`, `workgroup\ALICE`} {
		if code, got := run(u); code != wantCode || got != want {
			t.Errorf("--user %s: exit %d\n%s\nwant as alice:\n%s", u, code, got, want)
		}
	}
}
