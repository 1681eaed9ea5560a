package interop

import (
	"encoding/json"
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

	var records []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		records = records[:0]
		for _, line := range strings.Split(s.Log(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "pipe open" {
				records = append(records, rec)
			}
		}
		if len(records) >= len(wants) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(records) != len(wants) {
		t.Fatalf("%d pipe open records, want %d (one per decision)", len(records), len(wants))
	}
	clientRE := regexp.MustCompile(`^127\.0\.0\.1:\d+$`)
	sessions := map[string]float64{}
	for i, w := range wants {
		rec := records[i]
		if ts, ok := rec["time"].(string); !ok {
			t.Errorf("record %d: no time", i)
		} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("record %d: time %q: %v", i, ts, err)
		}
		if c, _ := rec["client"].(string); !clientRE.MatchString(c) {
			t.Errorf("record %d: client %q", i, rec["client"])
		}
		id, ok := rec["session"].(float64)
		if !ok || id == 0 {
			t.Errorf("record %d: session %v", i, rec["session"])
		}
		if prev, seen := sessions[w.conn]; seen && prev != id {
			t.Errorf("record %d: session %v, earlier %v on the same connection", i, id, prev)
		}
		sessions[w.conn] = id
		for key, v := range map[string]string{"kind": w.kind, "user": w.user, "domain": w.domain, "pipe": w.pipe,
			"desired": w.desired, "desired_mapped": w.mapped, "granted": w.granted, "status": w.status,
			"status_code": w.code, "rule": w.rule} {
			if rec[key] != v {
				t.Errorf("record %d (%s as %s): %s = %v, want %q", i, w.pipe, w.conn, key, rec[key], v)
			}
		}
		if imp, _ := rec["impersonation"].(float64); imp != 2 {
			t.Errorf("record %d: impersonation %v", i, rec["impersonation"])
		}
		if r, _ := rec["reason"].(string); !strings.Contains(r, w.reasonPart) {
			t.Errorf("record %d: reason %q lacks %q", i, r, w.reasonPart)
		}
		wantLevel := "INFO"
		if w.status != "STATUS_SUCCESS" {
			wantLevel = "WARN"
		}
		if rec["level"] != wantLevel {
			t.Errorf("record %d: level %v, want %s", i, rec["level"], wantLevel)
		}
	}
}
