package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/admin"
	"github.com/smbpipe/smbpipe/server"
)

// TestPrintStatus: the tables name each session, open and decision, and
// the policy line carries the store's revision only when there is one.
func TestPrintStatus(t *testing.T) {
	now := time.Now()
	st := admin.Status{
		Time: now,
		Sessions: []server.SessionInfo{{ID: 7, Client: "127.0.0.1:5000", Kind: "user", User: "alice", Domain: "WORKGROUP",
			Dialect: "3.1.1", Signing: true, Cipher: "AES-128-GCM", Started: now.Add(-90 * time.Second), LastActive: now.Add(-3 * time.Second), Opens: 1}},
		Opens: []server.OpenInfo{{ID: 8, Session: 7, Pipe: "echo", Kind: "user", User: "alice", Domain: "WORKGROUP",
			Granted: 0x12019f, BytesIn: 4, BytesOut: 5, Opened: now.Add(-time.Minute)}},
		Decisions: []server.DecisionInfo{{Seq: 3, Time: now, Status: "STATUS_ACCESS_DENIED", Denied: true, Kind: "anonymous",
			Client: "127.0.0.1:5001", Pipe: "private", Rule: "null-session-pipes", Reason: "not listed"}},
		Policy: admin.PolicyInfo{File: "/etc/smbpipe/smbpipe.toml", Applied: now, ReloadFailures: 1},
	}
	var b bytes.Buffer
	printStatus(&b, &st)
	out := b.String()
	for _, want := range []string{"Policy: /etc/smbpipe/smbpipe.toml, applied ", "1 reload failure(s)",
		`WORKGROUP\alice`, "3.1.1", "offered AES-128-GCM", "1m30s", "(1 sessions)",
		"0x0012019f", "(1 open pipes)", "STATUS_ACCESS_DENIED", "null-session-pipes", "not listed", "(1 recent decisions"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "revision") {
		t.Errorf("a file's policy shows a revision:\n%s", out)
	}

	st.Policy = admin.PolicyInfo{File: "etcd /smbpipe/policy", Revision: 42, Applied: now}
	b.Reset()
	printStatus(&b, &st)
	if first, _, _ := strings.Cut(b.String(), "\n"); !strings.HasPrefix(first, "Policy: etcd /smbpipe/policy at revision 42, applied ") {
		t.Errorf("policy line %q", first)
	}
}
