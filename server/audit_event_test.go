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

// TestAuditEventIDs: the audit records carry the Windows Security event id
// an analyst maps them on: 4624 for an established session, 4625 for a
// refused logon, 5145 for a pipe access check, granted or denied.
func TestAuditEventIDs(t *testing.T) {
	var log testlog.Buffer
	_, addr := testserver.StartWith(t, server.Options{
		Snapshot: testserver.Snapshot(t, testserver.AliceEcho, "test.toml"),
		Logger:   slog.New(slog.NewJSONHandler(&log, nil)),
	})
	host, port, _ := net.SplitHostPort(addr)
	dial := func(cfg client.Config, pipe string) error {
		d := client.Dialer{Config: cfg}
		p, err := d.DialContext(t.Context(), "//"+net.JoinHostPort(host, port)+"/pipe/"+pipe)
		if err == nil {
			p.Close()
		}
		return err
	}
	if err := dial(client.Config{User: "alice", Password: "Passw0rd!"}, "echo"); err != nil {
		t.Fatal(err)
	}
	if err := dial(client.Config{User: "alice", Password: "wrong"}, "echo"); err == nil {
		t.Fatal("a wrong password logged on")
	}
	if err := dial(client.Config{}, "private"); err == nil {
		t.Fatal("an anonymous open of a pipe outside NullSessionPipes succeeded")
	}

	type key struct {
		msg, status string
	}
	got := map[key]float64{}
	for _, rec := range testlog.Records(t, log.String(), "pipe open", "session setup") {
		msg := rec["msg"].(string)
		id, ok := rec["event_id"].(float64)
		if !ok {
			t.Errorf("%s record without event_id: %v", msg, rec)
		}
		st, _ := rec["status"].(string)
		got[key{msg, st}] = id
	}
	for k, want := range map[key]float64{
		{"session setup", "STATUS_SUCCESS"}:       4624,
		{"session setup", "STATUS_LOGON_FAILURE"}: 4625,
		{"pipe open", "STATUS_SUCCESS"}:           5145,
		{"pipe open", "STATUS_ACCESS_DENIED"}:     5145,
	} {
		if got[k] != want {
			t.Errorf("%s %s: event_id %v, want %v (records %v)", k.msg, k.status, got[k], want, got)
		}
	}
}

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
