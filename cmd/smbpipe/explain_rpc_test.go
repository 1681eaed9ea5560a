package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestExplainRPCGolden: smbpipe explain --rpc, one golden file per case.
func TestExplainRPCGolden(t *testing.T) {
	const cfg, anon = "testdata/explain/policy.toml", "testdata/explain/rpc-anon.toml"
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"rpc-deny-anonymous-samr-pipe", []string{"--config", cfg, "--user", "anonymous", "--rpc", "samr.EnumerateUsersInDomain"}, 1},
		{"rpc-deny-anonymous-share-enum", []string{"--config", anon, "--user", "anonymous", "--rpc", "srvsvc.NetrShareEnum", "--level", "1"}, 1},
		{"rpc-deny-anonymous-lsa-block", []string{"--config", anon, "--user", "anonymous", "--rpc", "lsarpc.LookupSids"}, 1},
		{"rpc-deny-anonymous-sam", []string{"--config", anon, "--user", "anonymous", "--rpc", "samr.Connect5"}, 1},
		{"rpc-deny-user-share-enum-2", []string{"--config", cfg, "--user", "alice", "--rpc", "srvsvc.NetrShareEnum", "--level", "2"}, 1},
		{"rpc-deny-user-remote-sam", []string{"--config", cfg, "--user", "alice", "--rpc", "samr.EnumerateUsersInDomain"}, 1},
		{"rpc-grant-user-share-enum-1", []string{"--config", cfg, "--user", "alice", "--rpc", "srvsvc.NetrShareEnum", "--level", "1"}, 0},
		{"rpc-grant-user-lookup", []string{"--config", cfg, "--user", "alice", "--rpc", "lsarpc.LsarLookupSids"}, 0},
		{"rpc-grant-admin-samr", []string{"--config", cfg, "--user", "bob", "--rpc", "samr.EnumerateUsersInDomain"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := explain(tt.args, &out, &errb)
			if code != tt.code || errb.Len() != 0 {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out.String(), errb.String())
			}
			golden := filepath.Join("testdata", "explain", tt.name+".golden")
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
		})
	}
	var out, errb bytes.Buffer
	if code := explain([]string{"--user", "alice", "--rpc", "samr.Nope"}, &out, &errb); code != 2 {
		t.Errorf("unknown call: exit %d", code)
	}
	if code := explain([]string{"--user", "alice", "--rpc", "samr.Connect5", "--pipe", "x"}, &out, &errb); code != 2 {
		t.Errorf("--rpc and --pipe: exit %d", code)
	}
}
