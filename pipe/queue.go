package pipe

// queue is one direction of a pipe instance: a ring of bytes and, for
// message-type pipes, a ring of message lengths. The storage grows on
// demand up to the quota and is then reused, so steady-state traffic does
// not allocate; a queue that drains drops storage larger than its quota
// (see shrink).
//
// A message longer than the quota is never copied into the ring. As in
// Windows' npfs, where such a write stays pending and the reader reads
// from the pending write's buffer, its writer stays in Write and the
// message is open: its length entry (the last one) holds no bytes, and
// the reader reads the message in place from pend, the writer's buffer,
// until it is all read; then the writer returns. An open message may
// instead be linked to the first message of another queue (End.Reflect):
// the reader reads that message in place. Nothing is queued behind an
// open message, so message boundaries stay exact, and a read of an open
// message fills its buffer as for a queued one.
//
// A queue is not safe for concurrent use; the instance mutex guards it.
type queue struct {
	buf  []byte // ring storage; len(buf) is the capacity
	head int    // index of the first queued byte
	n    int    // bytes queued

	message bool     // message-type pipe: lens is kept
	lens    []uint32 // ring of remaining lengths of queued messages (open: 0)
	lhead   int
	lcount  int

	// The open message, when isOpen: the last in lens.
	isOpen   bool
	pend     []byte // the rest of it, in its writer's buffer (link == nil)
	link     *queue // or: the rest of it is link's first message
	openRead int    // bytes of it the reader has consumed
	openSeq  uint64 // counts messages opened; names the open one
	doneSeq  uint64 // the last open message that was read to its end
	claimed  bool   // the first message is the rest of another queue's open message

	quota   int // bytes; a writer waits while full (see fits, room)
	maxMsgs int // bound on queued messages (zero-length ones cost no bytes)

	// readable carries a wakeup token (capacity 1) for the reader: a
	// writer sends one without blocking; a reader that takes one re-checks
	// the state under the instance mutex.
	readable chan struct{}
	// space is closed when the reader consumes something or an open
	// message ends, waking every writer, Flush and Reflect that waits (the
	// server writes from more than one goroutine). It is made by the first
	// waiter, so nothing is allocated while nobody waits.
	space chan struct{}
}

func newQueue(message bool, quota int) *queue {
	return &queue{
		message:  message,
		quota:    quota,
		maxMsgs:  max(quota, 16),
		readable: make(chan struct{}, 1),
	}
}

// signal posts a wakeup token on ch without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// spaceWait returns the channel closed at the next change that may let a
// writer go on.
func (q *queue) spaceWait() <-chan struct{} {
	if q.space == nil {
		q.space = make(chan struct{})
	}
	return q.space
}

// spaceChanged wakes whoever waits on spaceWait.
func (q *queue) spaceChanged() {
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
}

// empty reports whether a read would find nothing: no bytes and, in
// message mode, no message (an open message always has bytes to read).
func (q *queue) empty() bool { return q.n == 0 && q.lcount == 0 }

// fits reports whether a message of size n can be queued whole now: no
// message is open, and it fits in what is left of the quota.
func (q *queue) fits(n int) bool {
	return !q.isOpen && q.lcount < q.maxMsgs && q.n+n <= q.quota
}

// canOpen reports whether a message can be opened now.
func (q *queue) canOpen() bool { return !q.isOpen && q.lcount < q.maxMsgs }

// room is how many bytes a byte-mode write may queue now.
func (q *queue) room() int { return max(q.quota-q.n, 0) }

// available is what the reader may read now: the queued bytes and the
// rest of an open message.
func (q *queue) available() int {
	if q.isOpen {
		return q.n + q.pending()
	}
	return q.n
}

// pending is how much of the open message is left to read.
func (q *queue) pending() int {
	switch {
	case q.link == nil:
		return len(q.pend)
	case q.link.lcount == 0: // its message went (a second reader on it)
		return 0
	}
	return q.link.firstLen()
}

// grow makes room for extra more bytes, keeping the queued bytes in order.
// The storage doubles, but not beyond the quota unless the bytes need it.
func (q *queue) grow(extra int) {
	need := q.n + extra
	if need <= len(q.buf) {
		return
	}
	size := max(len(q.buf)*2, 512)
	for size < need {
		size *= 2
	}
	size = min(size, max(q.quota, need))
	nb := make([]byte, size)
	q.peekAt(nb[:q.n], 0)
	q.buf = nb
	q.head = 0
}

// shrink drops storage a drained queue does not need: byte storage larger
// than the quota (taken over from the other queue by moveMsgTo) and a
// length ring grown for a burst of messages. Storage up to the quota is
// kept, so steady traffic does not allocate.
func (q *queue) shrink() {
	if !q.empty() {
		return
	}
	if len(q.buf) > q.quota {
		q.buf, q.head = nil, 0
	}
	if len(q.lens) > maxKeptLens {
		q.lens, q.lhead = nil, 0
	}
}

// maxKeptLens is the length ring a drained queue keeps (1 KiB).
const maxKeptLens = 256

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

// openPend opens a message whose bytes are p, read in place: the caller
// keeps p unchanged until the message is read (doneSeq reaches the
// returned sequence number) or it calls abort. p must not be empty and
// canOpen must hold.
func (q *queue) openPend(p []byte) uint64 {
	q.open()
	q.pend = p
	return q.openSeq
}

// openLink opens a message whose bytes are src's first message, read in
// place through src; src's first message must not be an open linked one
// itself (see linked) and src must have no other reader meanwhile. canOpen
// must hold.
func (q *queue) openLink(src *queue) uint64 {
	q.open()
	q.link = src
	src.claimed = true
	return q.openSeq
}

func (q *queue) open() {
	q.pushLen(0)
	q.isOpen = true
	q.openRead = 0
	q.openSeq++
}

// linked reports whether the first message is an open message linked to
// another queue (it cannot be linked to in turn).
func (q *queue) linked() bool { return q.lcount == 1 && q.link != nil }

// firstOpen reports whether the first message is the open one.
func (q *queue) firstOpen() bool { return q.isOpen && q.lcount == 1 }

// closeOpen ends the open message's open state (the length entry stays).
func (q *queue) closeOpen() {
	if q.link != nil {
		q.link.claimed = false
		q.link = nil
	}
	q.pend = nil
	q.isOpen = false
	q.spaceChanged() // writers waiting for the message to end
}

// abort ends the open message when its writer gives up, and returns how
// many of its bytes were read. A message nothing was read of is removed,
// as if never written (unless another queue reads it in place: then it
// ends empty); otherwise it ends where the reader is, and the reader's
// next read returns no bytes and the end of the message.
func (q *queue) abort() int {
	read := q.openRead
	if read == 0 && !(q.claimed && q.lcount == 1) {
		q.lcount--
		if q.lcount == 0 {
			q.lhead = 0
		}
	}
	q.closeOpen()
	signal(q.readable) // a reader waiting in place: the message ends
	return read
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

// peekFirst copies up to len(p) bytes of the first message into p
// without consuming; the queue must hold a message.
func (q *queue) peekFirst(p []byte) int {
	switch {
	case !q.firstOpen():
		return q.peekAt(p[:min(len(p), q.firstLen())], 0)
	case q.link == nil:
		return copy(p, q.pend)
	case q.link.lcount == 0:
		return 0
	}
	return q.link.peekFirst(p)
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

// firstLen is the remaining length of the first message, the part read in
// place included.
func (q *queue) firstLen() int {
	if q.firstOpen() {
		return q.pending()
	}
	return int(q.lens[q.lhead])
}

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
	if q.firstOpen() {
		n, more = q.readOpen(p)
		if !more {
			q.popMsg()
			q.shrink()
		}
		return n, more
	}
	l := q.firstLen()
	k := q.peekAt(p[:min(len(p), l)], 0)
	q.discard(k)
	q.consumed()
	if k == l {
		q.popMsg()
		q.shrink()
		return k, false
	}
	q.lens[q.lhead] = uint32(l - k)
	return k, true
}

// readOpen consumes up to len(p) bytes of the open message, in place;
// more reports that it continues. When it ends, its writer (or Reflect)
// may return: doneSeq names it; the caller pops its length entry.
func (q *queue) readOpen(p []byte) (n int, more bool) {
	if q.link != nil {
		if q.link.lcount > 0 {
			n, more = q.link.readMsg(p)
		}
	} else {
		n = copy(p, q.pend)
		q.pend = q.pend[n:]
		more = len(q.pend) > 0
	}
	q.openRead += n
	q.consumed()
	if !more {
		q.doneSeq = q.openSeq
		q.closeOpen()
	}
	return n, more
}

// consumed records that the reader took something: writers may go on.
func (q *queue) consumed() { q.spaceChanged() }

// moveMsgTo moves the first message of q to the tail of dst as one
// message. When it is all q holds and dst is empty, the two rings trade
// storage and no byte is copied; otherwise the bytes are copied once. Both
// queues must be message queues guarded by the same mutex, q's first
// message must not be open and dst.fits its length.
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
	q.consumed()
	q.shrink()
	dst.pushLen(l)
	return l
}

// readBytes consumes up to len(p) bytes across message boundaries,
// dropping zero-length messages it passes, and reads on into an open
// message.
func (q *queue) readBytes(p []byte) int {
	k := q.peekAt(p, 0)
	q.discard(k)
	q.consumed()
	if q.message {
		left := k
		for q.lcount > 0 {
			if q.firstOpen() { // the queued bytes are all read
				n, more := q.readOpen(p[k:])
				k += n
				if !more {
					q.popMsg()
				}
				break
			}
			l := q.firstLen()
			if l > left {
				q.lens[q.lhead] = uint32(l - left)
				break
			}
			left -= l
			q.popMsg()
		}
	}
	q.shrink()
	return k
}

// reset drops everything queued and releases the storage.
func (q *queue) reset() {
	if q.isOpen {
		q.closeOpen()
	}
	q.buf, q.head, q.n = nil, 0, 0
	q.lens, q.lhead, q.lcount = nil, 0, 0
	q.spaceChanged()
}
