package pipe

// queue is one direction of a pipe instance: a ring of bytes and, for
// message-type pipes, a ring of message lengths. The storage grows on
// demand and is then reused, so steady-state traffic does not allocate.
//
// A queue is not safe for concurrent use; the instance mutex guards it.
type queue struct {
	buf  []byte // ring storage; len(buf) is the capacity
	head int    // index of the first queued byte
	n    int    // bytes queued

	message bool     // message-type pipe: lens is kept
	lens    []uint32 // ring of remaining lengths of queued messages
	lhead   int
	lcount  int

	quota   int // bytes; a writer waits while full (see fits, room)
	maxMsgs int // bound on queued messages (zero-length ones cost no bytes)

	// readable and writable carry wakeup tokens (capacity 1). A state
	// change sends a token without blocking; a waiter that takes one
	// re-checks the state under the instance mutex.
	readable chan struct{}
	writable chan struct{}
}

func newQueue(message bool, quota int) *queue {
	return &queue{
		message:  message,
		quota:    quota,
		maxMsgs:  max(quota, 16),
		readable: make(chan struct{}, 1),
		writable: make(chan struct{}, 1),
	}
}

// signal posts a wakeup token on ch without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// empty reports whether a read would find nothing (no bytes and, in
// message mode, no zero-length messages either).
func (q *queue) empty() bool { return q.n == 0 && q.lcount == 0 }

// fits reports whether a message of size n can be queued now: it fits in
// the quota, or the queue holds no bytes (a message larger than the quota
// is accepted into an empty queue, so a writer never deadlocks).
func (q *queue) fits(n int) bool {
	if q.lcount >= q.maxMsgs {
		return false
	}
	return q.n == 0 || q.n+n <= q.quota
}

// room is how many bytes a byte-mode write may queue now.
func (q *queue) room() int { return max(q.quota-q.n, 0) }

// grow makes room for extra more bytes, keeping the queued bytes in order.
func (q *queue) grow(extra int) {
	need := q.n + extra
	if need <= len(q.buf) {
		return
	}
	size := max(len(q.buf)*2, 512)
	for size < need {
		size *= 2
	}
	nb := make([]byte, size)
	q.peekAt(nb[:q.n], 0)
	q.buf = nb
	q.head = 0
}

// pushBytes appends p to the byte ring (no message bookkeeping).
func (q *queue) pushBytes(p []byte) {
	q.grow(len(p))
	tail := (q.head + q.n) % max(len(q.buf), 1)
	c := copy(q.buf[tail:], p)
	copy(q.buf, p[c:])
	q.n += len(p)
}

// pushMsg queues p as one message.
func (q *queue) pushMsg(p []byte) {
	if len(p) > 0 {
		q.pushBytes(p)
	}
	if q.message {
		q.pushLen(len(p))
	}
}

// pushLen records a message of l bytes whose bytes are already queued.
func (q *queue) pushLen(l int) {
	if q.lcount == len(q.lens) {
		nl := make([]uint32, max(len(q.lens)*2, 16))
		for i := 0; i < q.lcount; i++ {
			nl[i] = q.lens[(q.lhead+i)%len(q.lens)]
		}
		q.lens = nl
		q.lhead = 0
	}
	q.lens[(q.lhead+q.lcount)%len(q.lens)] = uint32(l)
	q.lcount++
}

// peekAt copies queued bytes starting off bytes past the head into p,
// without consuming; it returns the count copied.
func (q *queue) peekAt(p []byte, off int) int {
	k := min(len(p), q.n-off)
	if k <= 0 {
		return 0
	}
	start := (q.head + off) % len(q.buf)
	c := copy(p[:k], q.buf[start:])
	copy(p[c:k], q.buf)
	return k
}

// discard drops k bytes from the head of the byte ring.
func (q *queue) discard(k int) {
	q.n -= k
	if q.n == 0 {
		q.head = 0
		return
	}
	q.head = (q.head + k) % len(q.buf)
}

// firstLen is the remaining length of the first queued message.
func (q *queue) firstLen() int { return int(q.lens[q.lhead]) }

func (q *queue) popMsg() {
	q.lhead = (q.lhead + 1) % len(q.lens)
	q.lcount--
	if q.lcount == 0 {
		q.lhead = 0
	}
}

// readMsg consumes up to len(p) bytes of the first message; more reports
// that the message continues. The queue must not be empty.
func (q *queue) readMsg(p []byte) (n int, more bool) {
	if !q.message {
		return q.readBytes(p), false
	}
	l := q.firstLen()
	k := q.peekAt(p[:min(len(p), l)], 0)
	q.discard(k)
	if k == l {
		q.popMsg()
		return k, false
	}
	q.lens[q.lhead] = uint32(l - k)
	return k, true
}

// moveMsgTo moves the first message of q to the tail of dst as one
// message. When it is all q holds and dst is empty, the two rings trade
// storage and no byte is copied; otherwise the bytes are copied once. Both
// queues must be message queues guarded by the same mutex, q not empty.
func (q *queue) moveMsgTo(dst *queue) int {
	l := q.firstLen()
	if l > 0 && q.n == l && q.lcount == 1 && dst.empty() {
		q.buf, dst.buf = dst.buf, q.buf
		dst.head, dst.n = q.head, l
		q.head, q.n = 0, 0
	} else if l > 0 {
		dst.grow(l)
		start := q.head
		first := q.buf[start:min(start+l, len(q.buf))]
		dst.pushBytes(first)
		dst.pushBytes(q.buf[:l-len(first)])
		q.discard(l)
	}
	q.popMsg()
	dst.pushLen(l)
	return l
}

// readBytes consumes up to len(p) bytes across message boundaries,
// dropping zero-length messages it passes.
func (q *queue) readBytes(p []byte) int {
	k := q.peekAt(p, 0)
	q.discard(k)
	if !q.message {
		return k
	}
	left := k
	for q.lcount > 0 {
		l := q.firstLen()
		if l > left {
			q.lens[q.lhead] = uint32(l - left)
			break
		}
		left -= l
		q.popMsg()
	}
	return k
}

// reset drops everything queued and releases the storage.
func (q *queue) reset() {
	q.buf, q.head, q.n = nil, 0, 0
	q.lens, q.lhead, q.lcount = nil, 0, 0
}
