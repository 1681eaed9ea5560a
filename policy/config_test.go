package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/policy"
)

func TestDefault(t *testing.T) {
	c := policy.Default()
	if c.Listen != "127.0.0.1:4450" || !c.AllowAnonymous || c.Guest || c.Signing != "enabled" ||
		c.LanmanServer.RestrictNullSessAccess != 1 || c.Lsa.EveryoneIncludesAnonymous != 0 ||
		strings.Join(c.LanmanServer.NullSessionPipes, ",") != "echo" || len(c.Accounts) != 0 || len(c.Pipes) != 1 {
		t.Fatalf("%+v", c)
	}
	p := c.Pipes[0]
	if p.Name != "echo" || p.Backend != "echo" || p.Mode != "message" || p.MaxInstances != 0 ||
		p.SDDL != "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)(A;;FA;;;BA)" {
		t.Fatalf("%+v", p)
	}
	// Default returns a fresh copy each time.
	c.Pipes[0].Name = "x"
	if policy.Default().Pipes[0].Name != "echo" {
		t.Fatal("Default shares state")
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := policy.Parse([]byte("[[pipe]]\nname = \"p\"\nbackend = \"echo\"\n"), "min.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.LanmanServer.RestrictNullSessAccess != 1 || c.Listen != "127.0.0.1:4450" || !c.AllowAnonymous ||
		c.Pipes[0].Mode != "byte" || c.ServerName != "SMBPIPE" || c.Domain != "WORKGROUP" {
		t.Fatalf("%+v", c)
	}
	c, err = policy.Parse([]byte("[LanmanServer]\nRestrictNullSessAccess = 0\n"), "zero.toml")
	if err != nil || c.LanmanServer.RestrictNullSessAccess != 0 {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestLimits(t *testing.T) {
	c, err := policy.Parse(nil, "empty.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := policy.Limits{}.WithDefaults()
	if c.Limits != want {
		t.Fatalf("absent [limits] = %+v, want %+v", c.Limits, want)
	}
	if d := policy.Default().Limits; d != want {
		t.Fatalf("default.toml [limits] = %+v, want the documented defaults %+v", d, want)
	}
	c, err = policy.Parse([]byte("[limits]\nmax_connections = 7\nidle_timeout = \"2m\"\n"), "l.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.MaxConnections != 7 || c.Limits.IdleTimeout != 2*time.Minute || c.Limits.MaxOpensPerSession != policy.DefaultMaxOpensPerSession {
		t.Fatalf("%+v", c.Limits)
	}
	c, err = policy.Parse([]byte("[limits]\nmax_async_bytes_per_connection = 65536\nmax_async_bytes = 1048576\nmax_processes = 3\n"), "l.toml")
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Limits; l.MaxAsyncBytesPerConnection != 65536 || l.MaxAsyncBytes != 1<<20 || l.MaxProcesses != 3 {
		t.Fatalf("%+v", l)
	}
	if c, err := policy.Parse([]byte("[limits]\nmax_credits = 64\n"), "l.toml"); err != nil || c.Limits.MaxCredits != 64 {
		t.Fatalf("max_credits = 64: %v", err)
	}
	if _, err := policy.Parse([]byte("\n[limits]\nmax_credits = 8193\n"), "l.toml"); err == nil || !strings.Contains(err.Error(), "l.toml:3: limits.max_credits: 8193: at most 8192") {
		t.Fatalf("max_credits = 8193: %v", err)
	}
	if _, err := policy.Parse([]byte("[limits]\nmax_processes = 0\n"), "l.toml"); err == nil || !strings.Contains(err.Error(), "l.toml:2: limits.max_processes: 0: want a positive number") {
		t.Fatalf("max_processes = 0: %v", err)
	}
	// A Config built in Go: zero limits mean the defaults; negative ones
	// are refused.
	if _, err := policy.Compile(&policy.Config{Listen: "127.0.0.1:1", ServerName: "S", Signing: "enabled"}); err != nil {
		t.Fatal(err)
	}
	_, err = policy.Compile(&policy.Config{Listen: "127.0.0.1:1", ServerName: "S", Signing: "enabled", Limits: policy.Limits{IdleTimeout: -1}})
	if err == nil || !strings.Contains(err.Error(), "limits.idle_timeout") {
		t.Fatalf("negative limit: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"sddl names file line key ACE", `
[[pipe]]
name = "echo"
backend = "echo"

[[pipe]]
name = "two"
backend = "echo"
sddl = "D:(A;;FA;;;SY)(A;;XX;;;WD)"
`, []string{`smbpipe.toml:9: pipe[1].sddl: ACE 2 (A;;XX;;;WD): unknown right "XX"`}},
		{"unknown top key", "listen = \"127.0.0.1:1\"\nlisten_addr = \"x\"\n", []string{"smbpipe.toml:2: listen_addr: unknown key"}},
		{"unknown pipe key", "[[pipe]]\nname = \"a\"\nbackend = \"echo\"\nsdl = \"D:\"\n", []string{"smbpipe.toml:4: pipe.sdl: unknown key"}},
		{"syntax", "listen = \"a\nguest = true\n", []string{"smbpipe.toml:1: "}},
		{"type", "guest = \"yes\"\n", []string{"smbpipe.toml:1: guest: "}},
		{"signing", "\n\nsigning = \"sometimes\"\n", []string{`smbpipe.toml:3: signing: "sometimes": want "enabled" or "required"`}},
		{"restrict value", "[LanmanServer]\nRestrictNullSessAccess = 2\n", []string{"smbpipe.toml:2: LanmanServer.RestrictNullSessAccess: 2: want 0 or 1"}},
		{"eia value", "[Lsa]\nEveryoneIncludesAnonymous = -1\n", []string{"smbpipe.toml:2: Lsa.EveryoneIncludesAnonymous"}},
		{"empty null session pipe", "[LanmanServer]\nNullSessionPipes = [\"\\\\\"]\n", []string{"smbpipe.toml:2: LanmanServer.NullSessionPipes[0]: empty pipe name"}},
		{"nt hash", "[[account]]\nname = \"a\"\nnt_hash = \"abc\"\n", []string{"smbpipe.toml:3: account[0].nt_hash: want 32 hex digits"}},
		{"both secrets", "[[account]]\nname = \"a\"\nnt_hash = \"00000000000000000000000000000000\"\npassword = \"x\"\n", []string{"smbpipe.toml:1: account[0]: set password or nt_hash, not both"}},
		{"no secret", "[[account]]\nname = \"a\"\n", []string{"account[0]: account \"a\" has neither"}},
		{"duplicate account", "[[account]]\nname = \"a\"\npassword = \"x\"\n[[account]]\nname = \"A\"\npassword = \"y\"\n", []string{"smbpipe.toml:5: account[1].name: duplicate account \"A\""}},
		{"duplicate rid", "[[account]]\nname = \"a\"\npassword = \"x\"\nrid = 1001\n[[account]]\nname = \"b\"\npassword = \"y\"\nrid = 1001\n", []string{"smbpipe.toml:8: account[1].rid: RID 1001"}},
		{"bad rid", "[[account]]\nname = \"a\"\npassword = \"x\"\nrid = 0\n", []string{"smbpipe.toml:4: account[0].rid"}},
		{"bad group", "[[account]]\nname = \"a\"\npassword = \"x\"\ngroups = [\"Wizards\"]\n", []string{"smbpipe.toml:4: account[0].groups[0]: unknown group \"Wizards\""}},
		{"duplicate pipe", "[[pipe]]\nname = \"e\"\nbackend = \"echo\"\n[[pipe]]\nname = \"E\"\nbackend = \"echo\"\n", []string{"smbpipe.toml:5: pipe[1].name: duplicate pipe"}},
		{"pipe name prefix", "[[pipe]]\nname = \"\\\\pipe\\\\e\"\nbackend = \"echo\"\n", []string{"pipe[0].name: pipe name"}},
		{"backend", "[[pipe]]\nname = \"e\"\nbackend = \"ftp:x\"\n", []string{"smbpipe.toml:3: pipe[0].backend: unknown backend \"ftp:x\""}},
		{"tcp backend", "[[pipe]]\nname = \"e\"\nbackend = \"tcp:host\"\n", []string{"pipe[0].backend: backend \"tcp:host\": want tcp:HOST:PORT"}},
		{"mode", "[[pipe]]\nname = \"e\"\nbackend = \"echo\"\nmode = \"stream\"\n", []string{"smbpipe.toml:4: pipe[0].mode"}},
		{"rpc byte mode", "[[pipe]]\nname = \"e\"\nbackend = \"rpcecho\"\nmode = \"byte\"\n", []string{`smbpipe.toml:4: pipe[0].mode: backend "rpcecho" serves DCE/RPC: the pipe must be "message" mode`}},
		{"max instances", "[[pipe]]\nname = \"e\"\nbackend = \"echo\"\nmax_instances = -1\n", []string{"smbpipe.toml:4: pipe[0].max_instances"}},
		{"ace type", "[[pipe]]\nname = \"e\"\nbackend = \"echo\"\nsddl = \"D:(OA;;FA;;;WD)\"\n", []string{`pipe[0].sddl: ACE 1 (OA;;FA;;;WD): ACE type "OA" is not supported (only A and D)`}},
		{"machine sid", "machine_sid = \"S-1-5-32\"\n", []string{"smbpipe.toml:1: machine_sid"}},
		{"listen", "listen = \"nohost\"\n", []string{"smbpipe.toml:1: listen"}},
		{"limits unknown key", "[limits]\nmax_conns = 3\n", []string{"smbpipe.toml:2: limits.max_conns: unknown key"}},
		{"limits zero", "[limits]\nmax_connections = 0\n", []string{"smbpipe.toml:2: limits.max_connections: 0: want a positive number"}},
		{"limits negative", "\n[limits]\nmax_opens_per_session = -5\n", []string{"smbpipe.toml:3: limits.max_opens_per_session"}},
		{"limits message size", "[limits]\nmax_message_size = 1000\n", []string{"smbpipe.toml:2: limits.max_message_size: 1000: want 131072"}},
		{"limits duration", "[limits]\nidle_timeout = \"soon\"\n", []string{`smbpipe.toml:2: limits.idle_timeout: "soon": want a positive duration`}},
		{"limits zero duration", "[limits]\n\nhandshake_timeout = \"0s\"\n", []string{"smbpipe.toml:3: limits.handshake_timeout"}},
		{"several at once", "signing = \"x\"\n[[pipe]]\nname = \"e\"\nbackend = \"zz\"\n", []string{"smbpipe.toml:1: signing", "smbpipe.toml:4: pipe[0].backend"}},
		// An account named as a principal explain, sid and the matrix
		// name themselves would be decided as that principal.
		{"account named anonymous", "[[account]]\nname = \"anonymous\"\npassword = \"x\"\n", []string{`smbpipe.toml:2: account[0].name: "anonymous" names a built-in principal`}},
		{"account named guest", "[[account]]\nname = \"Guest\"\npassword = \"x\"\n", []string{`smbpipe.toml:2: account[0].name: "Guest" names a built-in principal`}},
		{"account named as a group", "[[account]]\nname = \"Administrators\"\npassword = \"x\"\n", []string{`smbpipe.toml:2: account[0].name: "Administrators" names a built-in principal`}},
		// An unknown key does not hide the other problems: smbpipe check
		// reports them in one run.
		{"unknown keys and values at once", "listn = \"x\"\nsigning = \"x\"\n[Lsa]\nRestrictAnonymous = 5\n[[pipe]]\nname = \"e\"\nbackend = \"zz\"\nsdl = \"D:\"\n",
			[]string{"smbpipe.toml:1: listn: unknown key", "smbpipe.toml:2: signing", "smbpipe.toml:4: Lsa.RestrictAnonymous", "smbpipe.toml:7: pipe[0].backend", "smbpipe.toml:8: pipe.sdl: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Parse([]byte(tt.text), "smbpipe.toml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestCompileWithoutFile(t *testing.T) {
	c := policy.Default()
	c.Pipes[0].SDDL = "D:(A;;QQ;;;WD)"
	_, err := policy.Compile(c)
	if err == nil || err.Error() != `pipe[0].sddl: ACE 1 (A;;QQ;;;WD): unknown right "QQ"` {
		t.Fatalf("%v", err)
	}
	var ce *policy.ConfigError
	if !asConfigError(err, &ce) || ce.Key != "pipe[0].sddl" {
		t.Fatalf("%T", err)
	}
}

func asConfigError(err error, out **policy.ConfigError) bool {
	e, ok := err.(*policy.ConfigError)
	*out = e
	return ok
}

// TestRPCPipeMode: an RPC backend's pipe is message-mode unless the
// config says otherwise (and byte mode is refused).
func TestRPCPipeMode(t *testing.T) {
	c, err := policy.Parse([]byte("[[pipe]]\nname = \"rpcecho\"\nbackend = \"rpcecho\"\n[[pipe]]\nname = \"e\"\nbackend = \"echo\"\n"), "smbpipe.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Pipes[0].Mode != "message" || c.Pipes[1].Mode != "byte" {
		t.Fatalf("modes %q, %q; want message, byte", c.Pipes[0].Mode, c.Pipes[1].Mode)
	}
}

func TestParseBackend(t *testing.T) {
	tests := []struct {
		in   string
		want policy.Backend
		ok   bool
	}{
		{"echo", policy.Backend{Kind: "echo"}, true},
		{"tcp:127.0.0.1:80", policy.Backend{Kind: "tcp", Addr: "127.0.0.1:80"}, true},
		{"tcp:[::1]:80", policy.Backend{Kind: "tcp", Addr: "[::1]:80"}, true},
		{"unix:/run/x.sock", policy.Backend{Kind: "unix", Path: "/run/x.sock"}, true},
		{"exec:cat -u", policy.Backend{Kind: "exec", Argv: []string{"cat", "-u"}}, true},
		{"exec:", policy.Backend{}, false},
		{"tcp:h:0", policy.Backend{}, false},
		{"tcp::80", policy.Backend{}, false},
		{"unix:", policy.Backend{}, false},
		{"echo:x", policy.Backend{}, false},
		{"rpcecho", policy.Backend{Kind: "rpcecho"}, true},
		{"rpcecho:x", policy.Backend{}, false},
		{"", policy.Backend{}, false},
	}
	for _, tt := range tests {
		got, err := policy.ParseBackend(tt.in)
		if (err == nil) != tt.ok || strings.Join(got.Argv, " ") != strings.Join(tt.want.Argv, " ") ||
			got.Kind != tt.want.Kind || got.Addr != tt.want.Addr || got.Path != tt.want.Path {
			t.Errorf("ParseBackend(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(policy.DefaultTOML())
	f.Add([]byte("[limits]\nmax_connections = 1\nmax_message_size = 131072\nhandshake_timeout = \"1ms\"\nidle_timeout = \"-1s\"\n"))
	f.Add([]byte(base))
	f.Add([]byte("[[account]]\nname = \"a\"\nnt_hash = \"zz\"\ngroups = [\"BA\"]\nrid = 99999999999\n"))
	f.Add([]byte("[LanmanServer]\nNullSessionPipes = 3\n[x.y]\nz = [1,{a=2}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := policy.Parse(data, "fuzz.toml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.toml") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		s, err := policy.Compile(cfg)
		if err != nil {
			t.Fatalf("Parse accepted what Compile rejects: %v", err)
		}
		for _, p := range cfg.Pipes {
			s.Decide(policy.Request{Identity: policy.Identity{Kind: policy.Anonymous}, PipeName: p.Name, DesiredAccess: 0x12019F, Pipe: s.PipeInfo(p.Name)})
		}
	})
}
