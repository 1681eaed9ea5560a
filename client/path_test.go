package client

import (
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/smb2"
)

func TestParsePipePath(t *testing.T) {
	tests := []struct {
		in, host, name string
		port           int
		bad            bool
	}{
		{in: `\\HOST\pipe\echo`, host: "HOST", name: "echo"},
		{in: `//HOST/pipe/echo`, host: "HOST", name: "echo"},
		{in: `//host/PIPE/srvsvc`, host: "host", name: "srvsvc"},
		{in: `\\127.0.0.1:4450\pipe\echo`, host: "127.0.0.1", port: 4450, name: "echo"},
		{in: `//[::1]:445/pipe/echo`, host: "::1", port: 445, name: "echo"},
		{in: `//[::1]/pipe/echo`, host: "::1", name: "echo"},
		{in: `\\h\pipe\sql\query`, host: "h", name: `sql\query`},
		{in: `//h/pipe/sql/query`, host: "h", name: `sql\query`},
		{in: `//h/IPC$/echo`, bad: true},
		{in: `//h/pipe/`, bad: true},
		{in: `//h/pipe`, bad: true},
		{in: `///pipe/echo`, bad: true},
		{in: `h/pipe/echo`, bad: true},
		{in: `//h:0/pipe/echo`, bad: true},
		{in: `//h:99999/pipe/echo`, bad: true},
		{in: `//h:x/pipe/echo`, bad: true},
		{in: `\\h/x\pipe\echo`, bad: true},
		{in: ``, bad: true},
	}
	for _, tt := range tests {
		host, port, name, err := ParsePipePath(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("%q: want error, got %q %d %q", tt.in, host, port, name)
			}
			continue
		}
		if err != nil || host != tt.host || port != tt.port || name != tt.name {
			t.Errorf("%q: got %q %d %q %v, want %q %d %q", tt.in, host, port, name, err, tt.host, tt.port, tt.name)
		}
	}
}

func FuzzParsePipePath(f *testing.F) {
	for _, s := range []string{`\\HOST\pipe\echo`, `//h:445/pipe/a/b`, `//[::1]:1/pipe/x`, `\\\\`, `//a/pipe/`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, name, err := ParsePipePath(s)
		if err != nil {
			return
		}
		if host == "" || name == "" || port < 0 || port > 65535 || strings.ContainsAny(host, `\/`) {
			t.Fatalf("%q: accepted %q %d %q", s, host, port, name)
		}
	})
}

func TestParseDialect(t *testing.T) {
	for _, d := range allDialects {
		for _, s := range []string{DialectString(d)} {
			got, err := ParseDialect(s)
			if err != nil || got != d {
				t.Errorf("%q: %v %v", s, got, err)
			}
		}
	}
	for _, s := range []string{"", "1.0", "SMB1", "3.1.2", "0x02FF"} {
		if _, err := ParseDialect(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	if _, err := (&Config{MinDialect: smb2.Dialect311, MaxDialect: smb2.Dialect300}).withDefaults(); err == nil {
		t.Error("empty dialect range accepted")
	}
}
