package kerberos

import (
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultReplayEntries is the default bound of a ReplayCache: at 5,000
// authentications a second for ten minutes (twice the clock skew) it holds
// 3,000,000; an entry costs about 48 bytes, so the default bounds the cache
// near 50 MiB.
const DefaultReplayEntries = 1 << 20

// A ReplayCache remembers the authenticators accepted within the clock-skew
// window (MS-KILE 3.1.1.1: a replay cache is mandatory; RFC 4120 3.2.3). An
// authenticator is identified by a hash of its ciphertext, as MIT's rcache
// does: nobody can re-encrypt it without the session key. Entries live for
// twice the skew after they are stored, which covers every time an
// authenticator still passes the skew check. When the cache holds Max live
// entries, further authenticators are refused (ErrReplayCacheFull) rather than
// an entry dropped early, which would let a replay through.
//
// A ReplayCache is safe for concurrent use; one is shared by every
// connection of a server and survives configuration reloads.
type ReplayCache struct {
	// Max bounds the entries; 0 means DefaultReplayEntries.
	Max int

	mu    sync.Mutex
	seen  map[[16]byte]struct{}
	order []replayEntry // insertion order = expiry order
	head  int
}

type replayEntry struct {
	key     [16]byte
	expires int64 // unix nanoseconds
}

// check records the authenticator ciphertext c at now, or reports that it
// was seen (replay) or that the cache is full.
func (rc *ReplayCache) check(c []byte, now time.Time, window time.Duration) error {
	sum := sha256.Sum256(c)
	var key [16]byte
	copy(key[:], sum[:16])
	t := now.UnixNano()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.seen == nil {
		rc.seen = make(map[[16]byte]struct{})
	}
	for rc.head < len(rc.order) && rc.order[rc.head].expires <= t {
		delete(rc.seen, rc.order[rc.head].key)
		rc.order[rc.head] = replayEntry{}
		rc.head++
	}
	if rc.head > 1024 && rc.head*2 >= len(rc.order) {
		rc.order = append(rc.order[:0], rc.order[rc.head:]...)
		rc.head = 0
	}
	if _, ok := rc.seen[key]; ok {
		return ErrReplay
	}
	max := rc.Max
	if max <= 0 {
		max = DefaultReplayEntries
	}
	if len(rc.seen) >= max {
		return ErrReplayCacheFull
	}
	rc.seen[key] = struct{}{}
	rc.order = append(rc.order, replayEntry{key: key, expires: now.Add(window).UnixNano()})
	return nil
}

// Len returns the number of live entries.
func (rc *ReplayCache) Len() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}
