package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/admin"
	"github.com/smbpipe/smbpipe/internal/testserver"
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

// TestPrintStatusHostileNames: a client chooses its user name and the pipe
// it asks for; neither may reach the administrator's terminal as an escape
// sequence or break a table's row with a tab or newline.
func TestPrintStatusHostileNames(t *testing.T) {
	now := time.Now()
	evil := "ev\x1b[31mil\tx\ny\u202e\x9b"
	st := admin.Status{
		Time: now,
		Sessions: []server.SessionInfo{{ID: 1, Client: "127.0.0.1:5000", Kind: "user", User: evil, Domain: "D\x07",
			Dialect: "3.1.1", Started: now, LastActive: now}},
		Opens: []server.OpenInfo{{ID: 2, Session: 1, Pipe: evil, Kind: "user", User: evil, Opened: now}},
		Decisions: []server.DecisionInfo{{Seq: 3, Time: now, Status: "STATUS_ACCESS_DENIED", Denied: true, Kind: "anonymous",
			Client: "127.0.0.1:5001", Pipe: evil, Rule: "null-session-pipes", Reason: "not listed: " + evil}},
	}
	var b bytes.Buffer
	printStatus(&b, &st)
	out := b.String()
	for _, bad := range []string{"\x1b", "\t", "\u202e", "\x9b", "\x07", "\ny"} {
		if strings.Contains(out, bad) {
			t.Errorf("status output carries %q from a client's name:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, `ev\x1b[31mil\tx\ny\u202e`) {
		t.Errorf("the name is not shown escaped:\n%s", out)
	}
	// One line per row: header, row, count, for each of the three tables,
	// plus the policy line and blank lines.
	if n := strings.Count(out, "\n"); n != 13 {
		t.Errorf("%d lines, want 13:\n%s", n, out)
	}
}

// TestPrintStatusNoDomain: a user without a domain (a refused logon that
// sent none) is shown as the page shows it, not as `\name`.
func TestPrintStatusNoDomain(t *testing.T) {
	now := time.Now()
	st := admin.Status{Time: now, Decisions: []server.DecisionInfo{{Seq: 1, Time: now, Status: "STATUS_LOGON_FAILURE", Denied: true,
		Kind: "guest", User: "mallory", Client: "127.0.0.1:5001", Rule: "logon-failure", Reason: "not an account"}}}
	var b bytes.Buffer
	printStatus(&b, &st)
	if strings.Contains(b.String(), `\mallory`) || !strings.Contains(b.String(), " mallory ") {
		t.Errorf("user without a domain:\n%s", b.String())
	}
}

// TestStatusWrongToken: a token file that is not the endpoint's (serve
// restarted with a new token, or another instance's file) is exit 1 with a
// message that names the file and says what to check.
func TestStatusWrongToken(t *testing.T) {
	srv, _ := testserver.StartWith(t, server.Options{Snapshot: testserver.Snapshot(t, testserver.AliceEcho, "test.toml")})
	h, err := admin.Handler(admin.Options{Server: srv, Token: "current"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	tokFile := filepath.Join(t.TempDir(), "old.token")
	if err := os.WriteFile(tokFile, []byte("stale\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := status([]string{"--admin", strings.TrimPrefix(hs.URL, "http://"), "--admin-token-file", tokFile}, &out, &errb)
	if code != 1 || out.Len() != 0 || !strings.Contains(errb.String(), "refused the token in "+tokFile) ||
		!strings.Contains(errb.String(), "wrong token") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	// No token file at all names the one this user's serve writes.
	t.Setenv("RUNTIME_DIRECTORY", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	errb.Reset()
	if code := status([]string{"--admin", ":9"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), os.Getenv("XDG_RUNTIME_DIR")) {
		t.Errorf("no token file: exit %d, stderr %q", code, errb.String())
	}
}
