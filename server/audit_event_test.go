package server_test

import (
	"log/slog"
	"net"
	"testing"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/internal/testserver"
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
