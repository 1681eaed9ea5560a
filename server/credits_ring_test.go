package server

import (
	"math/rand/v2"
	"testing"
)

// TestCreditWindowRing checks the growing ring of used MessageIds against
// a plain set: random out-of-order use of granted ids, with grants up to
// the largest window, must accept and refuse exactly the same ids.
func TestCreditWindowRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 6 {
		w := newCreditWindow(MaxCredits)
		if len(w.used) != minRingWords {
			t.Fatalf("a new window has a ring of %d words, want %d", len(w.used), minRingWords)
		}
		var used []bool      // by MessageId
		var pending []uint64 // granted, not used yet
		pending = append(pending, 0)
		next := uint64(1)
		const steps = 6000
		for step := range steps {
			if len(pending) == 0 {
				t.Fatalf("round %d step %d: no credit left", round, step)
			}
			i := rng.IntN(len(pending))
			if round%2 == 0 {
				i = 0 // in order
			}
			id := pending[i]
			pending = append(pending[:i], pending[i+1:]...)
			if !w.consume(id, 1) {
				t.Fatalf("round %d step %d: granted id %d refused", round, step, id)
			}
			for uint64(len(used)) <= id {
				used = append(used, false)
			}
			used[id] = true
			// A replay and an id never granted are refused.
			if w.consume(id, 1) {
				t.Fatalf("round %d step %d: id %d accepted twice", round, step, id)
			}
			if w.consume(w.high, 1) {
				t.Fatalf("round %d step %d: id %d beyond the window accepted", round, step, w.high)
			}
			g := w.grant(1, uint16(1+rng.IntN(64)), true)
			for range g {
				pending = append(pending, next)
				next++
			}
			if w.high != next {
				t.Fatalf("window high %d, granted up to %d", w.high, next)
			}
			if bits := uint64(len(w.used)) * 64; w.high-w.low > bits || bits > ringBits {
				t.Fatalf("ring of %d bits for a window of %d", bits, w.high-w.low)
			}
			if step%61 != 0 && step != steps-1 {
				continue // the whole window, now and then: it may hold 16,384 ids
			}
			for id := w.low; id < w.high; id++ {
				if w.isUsed(id) != (id < uint64(len(used)) && used[id]) {
					t.Fatalf("round %d step %d: id %d used %v in the ring, %v in fact", round, step, id, w.isUsed(id), !w.isUsed(id))
				}
			}
		}
		if round%2 == 1 && len(w.used) == minRingWords {
			t.Errorf("round %d: out-of-order use never grew the ring (window %d)", round, w.high-w.low)
		}
	}
}

// TestCreditWindowSmall: a client that holds a few credits keeps a ring
// of a few words (the whole window used to cost 2 KiB per connection).
func TestCreditWindowSmall(t *testing.T) {
	w := newCreditWindow(MaxCredits)
	for id := uint64(0); id < 10000; id++ {
		if !w.consume(id, 1) {
			t.Fatalf("consume %d", id)
		}
		// The client asks for what brings it back to 32 credits.
		w.grant(1, uint16(max(32-min(w.outstanding(), 32), 1)), true)
		if w.outstanding() > 32 {
			t.Fatalf("client holds %d credits, asked for 32", w.outstanding())
		}
	}
	if len(w.used) > minRingWords {
		t.Errorf("ring of %d words for a client holding %d credits", len(w.used), w.outstanding())
	}
}
