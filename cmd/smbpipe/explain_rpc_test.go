package main

import (
	"bytes"
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
		t.Run(tt.name, func(t *testing.T) { checkExplainGolden(t, tt.name, tt.args, tt.code) })
	}
	var out, errb bytes.Buffer
	if code := explain([]string{"--user", "alice", "--rpc", "samr.Nope"}, &out, &errb); code != 2 {
		t.Errorf("unknown call: exit %d", code)
	}
	if code := explain([]string{"--user", "alice", "--rpc", "samr.Connect5", "--pipe", "x"}, &out, &errb); code != 2 {
		t.Errorf("--rpc and --pipe: exit %d", code)
	}
}
