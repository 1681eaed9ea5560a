// Package testlog captures log output in tests.
package testlog

import (
	"bytes"
	"sync"
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
