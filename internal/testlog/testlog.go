// Package testlog captures log output in tests.
package testlog

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Buffer is a log sink safe for concurrent writes (a server's or a
// watcher's goroutines) and reads (the test). Its zero value is ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Records returns the records of text, JSON log lines as slog's JSON
// handler writes them, whose "msg" is one of msgs (every record when msgs
// is empty). A line that is not a JSON object fails the test.
func Records(t testing.TB, text string, msgs ...string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(text) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg, _ := rec["msg"].(string); len(msgs) == 0 || slices.Contains(msgs, msg) {
			recs = append(recs, rec)
		}
	}
	return recs
}
