package testserver

import (
	"slices"
	"testing"
)

// TestAliceEcho: the shared config is what its doc says (alice, the echo
// pipe with EchoSDDL listed in NullSessionPipes, every top-level setting
// the default), and a test can put top-level keys in front of it.
func TestAliceEcho(t *testing.T) {
	cfg := Snapshot(t, AliceEcho, "alice_echo.toml").Config()
	if len(cfg.Accounts) != 1 || cfg.Accounts[0].Name != "alice" || cfg.Accounts[0].Password != "Passw0rd!" {
		t.Errorf("accounts %+v, want alice", cfg.Accounts)
	}
	if len(cfg.Pipes) == 0 || cfg.Pipes[0].Name != "echo" || cfg.Pipes[0].Mode != "message" || cfg.Pipes[0].SDDL != EchoSDDL {
		t.Errorf("pipes %+v, want echo (message mode) with %s first", cfg.Pipes, EchoSDDL)
	}
	if !slices.Equal(cfg.LanmanServer.NullSessionPipes, []string{"echo"}) || cfg.LanmanServer.RestrictNullSessAccess != 1 {
		t.Errorf("LanmanServer %+v", cfg.LanmanServer)
	}
	if cfg.ServerName != "SMBPIPE" || cfg.Domain != "WORKGROUP" || !cfg.AllowAnonymous || cfg.Guest || cfg.Signing != "enabled" {
		t.Errorf("top-level settings %+v, want the defaults", cfg)
	}
	cfg = Snapshot(t, "guest = true\nsigning = \"required\"\n"+AliceEcho+"\n[limits]\nmax_connections = 7\n", "variant.toml").Config()
	if !cfg.Guest || cfg.Signing != "required" || cfg.Limits.MaxConnections != 7 || cfg.Pipes[0].Name != "echo" {
		t.Errorf("with keys in front and a table appended: %+v", cfg)
	}
}

// TestOpenEchoPipes: each name, quoted as TOML needs it (a backslash, a
// non-ASCII letter), is an echo pipe with no access control, in front of
// the RPC pipes every config serves.
func TestOpenEchoPipes(t *testing.T) {
	names := []string{"İnfo", "\u212Aiosk", `sql\query`, "echo"}
	cfg := Snapshot(t, OpenEchoPipes(names...), "open.toml").Config()
	if len(cfg.Pipes) < len(names) {
		t.Fatalf("%d pipes, want at least %d: %+v", len(cfg.Pipes), len(names), cfg.Pipes)
	}
	for i, p := range cfg.Pipes[:len(names)] {
		if p.Name != names[i] || p.Backend != "echo" || p.SDDL != "D:NO_ACCESS_CONTROL" {
			t.Errorf("pipe %d: %+v, want %q, echo, D:NO_ACCESS_CONTROL", i, p, names[i])
		}
	}
}
