package server

import "testing"

func TestCreditWindow(t *testing.T) {
	type step struct {
		consume uint64
		charge  uint16
		ok      bool
		request uint16
		granted uint16
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"sequential", []step{{0, 1, true, 10, 10}, {1, 1, true, 1, 1}, {2, 1, true, 0, 1}}},
		{"replay", []step{{0, 1, true, 4, 4}, {0, 1, false, 0, 0}}},
		{"beyond window", []step{{0, 1, true, 2, 2}, {3, 1, false, 0, 0}}},
		// The charge comes back, plus what is asked beyond one.
		{"multi-credit", []step{{0, 1, true, 8, 8}, {1, 4, true, 4, 7}, {5, 4, true, 1, 4}, {9, 1, true, 1, 1}}},
		{"charge past window", []step{{0, 1, true, 2, 2}, {1, 3, false, 0, 0}}},
		{"out of order", []step{{0, 1, true, 3, 3}, {2, 1, true, 1, 1}, {1, 1, true, 1, 1}, {3, 1, true, 1, 1}}},
		{"capped", []step{{0, 1, true, 60000, MaxCredits}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newCreditWindow(MaxCredits)
			for i, s := range tc.steps {
				if got := w.consume(s.consume, s.charge); got != s.ok {
					t.Fatalf("step %d: consume(%d, %d) = %v, want %v", i, s.consume, s.charge, got, s.ok)
				}
				if !s.ok {
					continue
				}
				if g := w.grant(s.charge, s.request, true); g != s.granted {
					t.Fatalf("step %d: grant(%d) = %d, want %d", i, s.request, g, s.granted)
				}
				if w.outstanding() == 0 {
					t.Fatalf("step %d: client left without credits", i)
				}
			}
		})
	}
}

// TestCreditWindowSkippedMid: a client that skips a MessageId keeps
// getting credits (it holds at most max) until the window of MessageIds
// reaches its bound, twice max, and recovers as soon as it uses the
// skipped id; NEGOTIATE and unfinished SESSION_SETUPs (extra false) give
// back the charge only.
func TestCreditWindowSkippedMid(t *testing.T) {
	w := newCreditWindow(MaxCredits)
	if !w.consume(0, 1) {
		t.Fatal("consume 0")
	}
	if g := w.grant(1, 100, false); g != 1 {
		t.Fatalf("grant without extra = %d, want the charge, 1", g)
	}
	if !w.consume(1, 1) {
		t.Fatal("consume 1")
	}
	if g := w.grant(1, 60000, true); g != MaxCredits {
		t.Fatalf("grant = %d, want %d", g, MaxCredits)
	}
	// MessageId 2 is skipped; the client goes on with one credit asked
	// per request, and holds MaxCredits-1 credits throughout.
	id := uint64(3)
	for ; w.high-w.low < ringBits; id++ {
		if !w.consume(id, 1) {
			t.Fatalf("consume %d", id)
		}
		if g := w.grant(1, 1, true); g != 1 && w.high-w.low < ringBits {
			t.Fatalf("after consuming %d with 2 skipped: grant = %d, want 1", id, g)
		}
	}
	if id-3 < MaxCredits-1 {
		t.Fatalf("only %d requests after the skipped id, want at least %d", id-3, MaxCredits-1)
	}
	if w.consume(w.high, 1) {
		t.Fatal("a MessageId beyond the window was accepted")
	}
	if !w.consume(2, 1) {
		t.Fatal("the skipped MessageId 2 was refused")
	}
	if w.grant(1, 60000, true); w.outstanding() != MaxCredits {
		t.Fatalf("after using the skipped id the client holds %d credits, want %d", w.outstanding(), MaxCredits)
	}
}
