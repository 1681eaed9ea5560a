package server

import (
	"testing"
)

// TestHotPathAllocsListed: READ and WRITE on an open the admin view lists
// (its byte counters and its session's activity time updated) stay at
// zero allocations, and the counters count.
func TestHotPathAllocsListed(t *testing.T) {
	srv, l := newTestServer(t)
	c, _ := newTestConn(t, srv, "hot")
	defer c.teardown()
	s, o := c.sessions[1], c.opens[1]
	c.sessionUp(s)
	c.openUp(s, o)
	if o.live == nil || len(srv.Opens()) != 1 || len(srv.Sessions()) != 1 {
		t.Fatalf("open not listed: %+v %+v", srv.Opens(), srv.Sessions())
	}
	se, err := l.AcceptEnd(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer se.Close()
	payload := []byte("0123456789abcdef0123456789abcdef")
	writeRead := writeReadStep(t, c, se, payload)
	steps := 0
	step := func() {
		steps++
		writeRead()
	}
	for range 10 {
		step()
	}
	if !raceEnabled {
		if n := testing.AllocsPerRun(200, step); n > 0 {
			t.Errorf("%.1f allocations per WRITE+READ, want 0", n)
		}
	}
	got := srv.Opens()[0]
	if want := uint64(steps * len(payload)); got.BytesIn != want || got.BytesOut != want {
		t.Errorf("bytes in %d out %d, want %d each", got.BytesIn, got.BytesOut, want)
	}
	c.closeOpen(o)
	if len(srv.Opens()) != 0 || srv.Sessions()[0].Opens != 0 {
		t.Errorf("after close: %+v %+v", srv.Opens(), srv.Sessions())
	}
	c.dropSession(s)
	if len(srv.Sessions()) != 0 {
		t.Errorf("after drop: %+v", srv.Sessions())
	}
}
