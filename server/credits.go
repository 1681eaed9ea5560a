package server

// creditWindow is the server's view of the command sequence window
// (MS-SMB2 3.3.1.1, 3.3.1.2, 3.3.5.2.3): the MessageIds the client may use,
// those it has used, and how many credits it holds. It is owned by the
// connection's reader goroutine.
type creditWindow struct {
	low  uint64 // lowest MessageId not yet used
	high uint64 // one past the highest MessageId granted
	// used is a ring of bits, one per MessageId of [low, high) (set:
	// used), a power of two of words long; it grows with the window up
	// to ringBits (see fit), so a connection whose client holds a few
	// credits keeps a few words, not the 2 KiB the largest window needs.
	used []uint64
	// nUsed counts used ids in [low, high).
	nUsed uint64
	max   uint64 // most credits a client may hold
}

const (
	ringBits  = 1 << 14 // the widest window of MessageIds
	ringWords = ringBits / 64
	// minRingWords is the ring a window starts with (128 MessageIds).
	minRingWords = 2
)

// newCreditWindow starts a window holding one credit (MessageId 0) in
// which a client may hold at most max credits (at most MaxCredits).
func newCreditWindow(limit uint64) creditWindow {
	return creditWindow{low: 0, high: 1, max: min(max(limit, 1), MaxCredits), used: make([]uint64, minRingWords)}
}

// MaxCredits is the largest credit window a connection may have, Windows
// Server's default maximum (Smb2CreditsMax, MS-SMB2 <209>).
const MaxCredits = ringBits / 2

func (w *creditWindow) isUsed(id uint64) bool {
	bits := uint64(len(w.used)) * 64
	return w.used[(id%bits)/64]&(1<<(id%64)) != 0
}

func (w *creditWindow) setUsed(id uint64, v bool) {
	bits := uint64(len(w.used)) * 64
	if v {
		w.used[(id%bits)/64] |= 1 << (id % 64)
	} else {
		w.used[(id%bits)/64] &^= 1 << (id % 64)
	}
}

// fit grows the ring, when it is shorter, to hold the window [low, high)
// (at most ringBits), keeping the bits of the ids it held.
func (w *creditWindow) fit() {
	span := w.high - w.low
	bits := uint64(len(w.used)) * 64
	if span <= bits || bits >= ringBits {
		return
	}
	n := max(len(w.used), minRingWords)
	for uint64(n)*64 < span && n < ringWords {
		n *= 2
	}
	old := *w
	w.used = make([]uint64, n)
	for id := w.low; id < w.low+min(span, bits); id++ {
		if old.isUsed(id) {
			w.setUsed(id, true)
		}
	}
}

// consume marks MessageIds id..id+charge-1 used; false if any of them is
// outside the window or already used (the caller then disconnects).
func (w *creditWindow) consume(id uint64, charge uint16) bool {
	n := uint64(max(charge, 1))
	if id < w.low || id >= w.high || n > w.high-id {
		return false
	}
	w.fit()
	for i := id; i < id+n; i++ {
		if w.isUsed(i) {
			return false
		}
	}
	for i := id; i < id+n; i++ {
		w.setUsed(i, true)
	}
	w.nUsed += n
	for w.low < w.high && w.isUsed(w.low) {
		w.setUsed(w.low, false)
		w.low++
		w.nUsed--
	}
	return true
}

// outstanding is the number of credits the client holds.
func (w *creditWindow) outstanding() uint64 { return w.high - w.low - w.nUsed }

// grant extends the window for one response and returns the credits
// granted (MS-SMB2 3.3.1.2, as Windows Server 2016 and later do it): the
// request's charge back, plus up to what it asked for beyond one when
// extra (every command but NEGOTIATE and an unfinished or failed
// SESSION_SETUP), with the credits the client holds kept within max. The
// window of MessageIds, from the lowest unused one to one past the highest
// granted, may grow to twice max: a client that skipped a MessageId keeps
// getting credits until the window is full (then it can go no further)
// and recovers as soon as it uses the skipped id (smbtorture
// smb2.credits.skipped_mid, "Windows 2016 has a maximum mid window size of
// 8192"). A client never ends up with no credit while the window has room.
func (w *creditWindow) grant(charge, req uint16, extra bool) uint16 {
	g := uint64(max(charge, 1))
	if extra && req > 1 {
		g += uint64(req - 1)
	}
	have := w.outstanding()
	room := uint64(0)
	if have < w.max {
		room = w.max - have
	}
	if span := w.high - w.low; span < ringBits {
		room = min(room, ringBits-span)
	} else {
		room = 0
	}
	g = min(g, room)
	if g == 0 && have == 0 && w.high-w.low < ringBits {
		g = 1
	}
	w.high += g
	w.fit()
	return uint16(g)
}
