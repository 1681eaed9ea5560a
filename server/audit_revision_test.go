package server_test

import (
	"log/slog"
	"net"
	"testing"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
)

// TestAuditPolicyRevision: every audit record names the revision of the
// policy that decided (policy_revision), so that an auditor of a fleet
// can say which policy decided an open; a new revision applied while the
// server runs decides, and is named by, the next records.
func TestAuditPolicyRevision(t *testing.T) {
	compile := func(rev int64) *policy.Snapshot {
		t.Helper()
		snap, err := policy.CompileSource([]byte(testserver.AliceEcho), "test", rev, nil)
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}
	var log testlog.Buffer
	srv, addr := testserver.StartWith(t, server.Options{
		Snapshot: compile(7),
		Logger:   slog.New(slog.NewJSONHandler(&log, nil)),
	})
	host, port, _ := net.SplitHostPort(addr)
	open := func() {
		t.Helper()
		d := client.Dialer{Config: client.Config{User: "alice", Password: "Passw0rd!"}}
		p, err := d.DialContext(t.Context(), "//"+net.JoinHostPort(host, port)+"/pipe/echo")
		if err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
	// revisions returns the policy_revision of each audit record logged
	// since the last call, by message.
	seen := 0
	revisions := func() map[string][]float64 {
		t.Helper()
		text := log.String()
		got := map[string][]float64{}
		for _, rec := range testlog.Records(t, text[seen:], "pipe open", "session setup") {
			msg := rec["msg"].(string)
			rev, ok := rec["policy_revision"].(float64)
			if !ok {
				t.Errorf("%s record without policy_revision: %v", msg, rec)
			}
			got[msg] = append(got[msg], rev)
		}
		seen = len(text)
		return got
	}
	check := func(want float64) {
		t.Helper()
		got := revisions()
		for _, msg := range []string{"session setup", "pipe open"} {
			if len(got[msg]) == 0 {
				t.Errorf("no %q record", msg)
			}
			for _, rev := range got[msg] {
				if rev != want {
					t.Errorf("%q record: policy_revision %v, want %v", msg, rev, want)
				}
			}
		}
	}
	open()
	check(7)
	if err := srv.SetPolicy(compile(12)); err != nil {
		t.Fatal(err)
	}
	open()
	check(12)
}
