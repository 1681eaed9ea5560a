package pipe

// Lend writes p as one message without copying it, when it fits the
// peer's queue now: the peer reads it in place, from p, as it reads a
// message longer than the quota (see Write). It never blocks. Until the
// caller calls Settle with the returned sequence number, p must stay
// unchanged; Settle copies whatever the peer has not read yet into the
// queue, so the message is delivered whole either way.
//
// Lend and Settle are for a caller that writes from a buffer it will soon
// reuse and then waits a little for the reply (the SMB server's
// TRANSCEIVE): a peer that answers at once (an End.ReflectAll echo, or a
// handler that reads within that wait) reads the message straight from p,
// and the copy into the queue is made only when it does not.
//
// Lend returns ErrWouldBlock when the message does not fit now (the caller
// keeps all of it), ErrBadState unless the pipe is a message-type pipe,
// ErrBroken if the peer is closed, ErrClosed or ErrDirection as Write. A
// zero-length message is queued as Write queues it (seq 0). Lend ignores
// deadlines and the completion mode; it does not allocate.
func (e *End) Lend(p []byte) (seq uint64, err error) {
	in := e.inst
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := e.unusable(e.canWrite()); err != nil {
		return 0, err
	}
	q := e.out
	switch {
	case !q.message:
		return 0, ErrBadState
	case e.peer.closed:
		return 0, ErrBroken
	case !q.fits(len(p)):
		return 0, ErrWouldBlock
	case len(p) == 0:
		q.pushMsg(p)
	default:
		seq = q.openPend(p)
	}
	e.peer.reflectLocked()
	signal(q.readable)
	return seq, nil
}

// Settle ends the loan of the message Lend returned seq for: when the peer
// has not read all of it, the rest is copied into the queue, where the
// peer reads on as if it had been queued whole. After Settle the caller
// may reuse the buffer. Settle of seq 0, or of a message already read,
// dropped or settled, does nothing.
func (e *End) Settle(seq uint64) {
	if seq == 0 {
		return
	}
	in := e.inst
	in.mu.Lock()
	defer in.mu.Unlock()
	q := e.out
	if !q.isOpen || q.openSeq != seq { // read, dropped or settled
		return
	}
	rest := q.pend
	q.pushBytes(rest) // within the quota: Lend checked that the message fits
	q.lens[(q.lhead+q.lcount-1)%len(q.lens)] = uint32(len(rest))
	q.closeOpen()
	e.peer.reflectLocked()
}
