package interop

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAuditLogJSON: with --log-format json, every pipe-open decision,
// granted or denied, is exactly one JSON record with the time, the client
// address, the session id, the user and domain (or anonymous), the pipe,
// the desired access as sent and mapped, the granted access, the NTSTATUS
// (name and code) and the rule and reason that decided.
func TestAuditLogJSON(t *testing.T) {
	need(t, python, "-c", "import impacket")
	s := startServerArgs(t, testConfig, "--log-format", "json")
	o := startOpener(t, s)
	o.login(t, "anon", "-", "-")
	o.login(t, "alice", "alice", "Passw0rd!")
	type want struct {
		conn, pipe                     string
		mask                           uint32
		kind, user, domain             string
		desired, mapped, granted       string
		status, code, rule, reasonPart string
	}
	wants := []want{
		{"anon", "echo", 0x3, "anonymous", "", "", "0x00000003", "0x00000003", "0x00000003",
			"STATUS_SUCCESS", "0x00000000", "granted", "granted 0x00000003"},
		{"anon", "private", 0x80000000, "anonymous", "", "", "0x80000000", "0x00120089", "0x00000000",
			"STATUS_ACCESS_DENIED", "0xc0000022", "null-session-pipes", "NullSessionPipes"},
		{"alice", "echo", 0x12019F, "user", "alice", "WORKGROUP", "0x0012019f", "0x0012019f", "0x0012019b",
			"STATUS_SUCCESS", "0x00000000", "granted", "granted 0x0012019B"},
		{"alice", "nosuch", 0x3, "user", "alice", "WORKGROUP", "0x00000003", "0x00000003", "0x00000000",
			"STATUS_OBJECT_NAME_NOT_FOUND", "0xc0000034", "not-found", `no pipe named "nosuch"`},
	}
	for _, w := range wants {
		if got := o.open(t, w.conn, w.pipe, w.mask); got != w.status {
			t.Fatalf("open %s as %s: %s, want %s", w.pipe, w.conn, got, w.status)
		}
	}

	records := logRecords(s, "pipe open", len(wants))
	if len(records) != len(wants) {
		t.Fatalf("%d pipe open records, want %d (one per decision)", len(records), len(wants))
	}
	sessions := map[string]float64{}
	for i, w := range wants {
		rec := records[i]
		id := checkRecord(t, fmt.Sprintf("record %d (%s as %s)", i, w.pipe, w.conn), rec, map[string]string{
			"kind": w.kind, "user": w.user, "domain": w.domain, "pipe": w.pipe,
			"desired": w.desired, "desired_mapped": w.mapped, "granted": w.granted, "status": w.status,
			"status_code": w.code, "rule": w.rule}, w.reasonPart)
		if prev, seen := sessions[w.conn]; seen && prev != id {
			t.Errorf("record %d: session %v, earlier %v on the same connection", i, id, prev)
		}
		sessions[w.conn] = id
		if imp, _ := rec["impersonation"].(float64); imp != 2 {
			t.Errorf("record %d: impersonation %v", i, rec["impersonation"])
		}
	}

	// SESSION_SETUP decisions: the two logons above, a wrong password, an
	// unknown user without guest and, after a reload sets allow_anonymous
	// = false, a refused null session: one "session setup" record each.
	for _, c := range []struct{ id, user, pass, want string }{
		{"bad", "alice", "wrong", "bad login STATUS_LOGON_FAILURE"},
		{"nobody", "nobody", "x", "nobody login STATUS_LOGON_FAILURE"},
	} {
		if got := o.do(t, "login %s %s %s", c.id, c.user, c.pass); got != c.want {
			t.Fatalf("login %s: %q, want %q", c.id, got, c.want)
		}
	}
	writeConfig(t, s, strings.Replace(testConfig, "allow_anonymous = true", "allow_anonymous = false", 1))
	waitLog(t, s, `"msg":"policy reloaded"`)
	if got := o.do(t, "login refused - -"); got != "refused login STATUS_ACCESS_DENIED" {
		t.Fatalf("null session after allow_anonymous = false: %q", got)
	}
	sessWants := []struct{ kind, user, domain, status, code, rule, reasonPart string }{
		{"anonymous", "", "", "STATUS_SUCCESS", "0x00000000", "session", "allow_anonymous = true"},
		{"user", "alice", "WORKGROUP", "STATUS_SUCCESS", "0x00000000", "session", `"alice" is an account`},
		{"user", "alice", "WORKGROUP", "STATUS_LOGON_FAILURE", "0xc000006d", "logon-failure", "wrong password"},
		{"guest", "nobody", "WORKGROUP", "STATUS_LOGON_FAILURE", "0xc000006d", "logon-failure", "guest = false"},
		{"anonymous", "", "", "STATUS_ACCESS_DENIED", "0xc0000022", "null-session-refused", "allow_anonymous = false"},
	}
	sess := logRecords(s, "session setup", len(sessWants))
	if len(sess) != len(sessWants) {
		t.Fatalf("%d session setup records, want %d (one per SESSION_SETUP decision)", len(sess), len(sessWants))
	}
	for i, w := range sessWants {
		checkRecord(t, fmt.Sprintf("session record %d", i), sess[i], map[string]string{
			"kind": w.kind, "user": w.user, "domain": w.domain,
			"status": w.status, "status_code": w.code, "rule": w.rule}, w.reasonPart)
	}
	// The session ids of the established sessions are those of their pipe opens.
	if sess[0]["session"] != sessions["anon"] || sess[1]["session"] != sessions["alice"] {
		t.Errorf("session ids %v %v, pipe opens on %v %v", sess[0]["session"], sess[1]["session"], sessions["anon"], sessions["alice"])
	}
}

// auditClientRE matches an audit record's client address.
var auditClientRE = regexp.MustCompile(`^127\.0\.0\.1:\d+$`)

// checkRecord checks what every audit record carries: an RFC 3339 time,
// the client's loopback address, a session id (returned), the fields in
// want, a reason containing reasonPart, and the level: INFO for
// STATUS_SUCCESS, WARN for any other status. what names the record in
// errors.
func checkRecord(t *testing.T, what string, rec map[string]any, want map[string]string, reasonPart string) float64 {
	t.Helper()
	if ts, ok := rec["time"].(string); !ok {
		t.Errorf("%s: no time", what)
	} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("%s: time %q: %v", what, ts, err)
	}
	if c, _ := rec["client"].(string); !auditClientRE.MatchString(c) {
		t.Errorf("%s: client %q", what, rec["client"])
	}
	id, ok := rec["session"].(float64)
	if !ok || id == 0 {
		t.Errorf("%s: session %v", what, rec["session"])
	}
	for key, v := range want {
		if rec[key] != v {
			t.Errorf("%s: %s = %v, want %q", what, key, rec[key], v)
		}
	}
	if r, _ := rec["reason"].(string); !strings.Contains(r, reasonPart) {
		t.Errorf("%s: reason %q lacks %q", what, r, reasonPart)
	}
	wantLevel := "INFO"
	if want["status"] != "STATUS_SUCCESS" {
		wantLevel = "WARN"
	}
	if rec["level"] != wantLevel {
		t.Errorf("%s: level %v, want %s", what, rec["level"], wantLevel)
	}
	return id
}

// waitLog waits up to 5 s for the server's log to contain substr.
// logRecords returns the JSON records of the server's log whose msg is
// msg, waiting up to 5 s for at least want of them: the client may see a
// reply before the child's log output has reached the test.
func logRecords(s *server, msg string, want int) []map[string]any {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var recs []map[string]any
		for _, line := range strings.Split(s.Log(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				recs = append(recs, rec)
			}
		}
		if len(recs) >= want || time.Now().After(deadline) {
			return recs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitLog(t *testing.T, s *server, substr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.Log(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the server log", substr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
