package pipe

// ReflectAll makes this end an echo without a goroutine: from now on every
// message the peer writes is moved back to the peer as Reflect moves it,
// inside the peer's own call (the Write or Transceive that queues it, or
// the read that makes room for it), and when the peer closes, this end
// closes too, as an echo handler closes on Reflect's io.EOF or ErrBroken.
// Messages already queued for this end are reflected at once.
//
// A message that fits the peer's quota is moved (its storage swapped, or
// copied once); a longer one, or one its writer left to be read in place,
// is read by the peer in place through this end's queue, as with Reflect.
// A message that does not fit the peer's queue stays queued for this end
// until the peer reads enough.
//
// It saves the goroutine, its stack and the two goroutine switches per
// message that a loop of Reflect costs. After ReflectAll nothing else may
// read or write this end; Close, Peek and the getters stay usable. It
// returns ErrBadState unless the pipe is a duplex message-type pipe and
// this end's read mode is MessageMode (the caller may then echo with reads
// and writes), ErrClosed if this end is closed.
func (e *End) ReflectAll() error {
	in := e.inst
	in.mu.Lock()
	cfg := &in.pipe.cfg
	switch {
	case e.closed:
		in.mu.Unlock()
		return ErrClosed
	case cfg.Mode != MessageMode || cfg.Direction != Duplex || e.readMode != MessageMode:
		in.mu.Unlock()
		return ErrBadState
	}
	e.reflecting = true
	e.reflectLocked()
	gone := e.peer.closed
	in.mu.Unlock()
	if gone {
		e.Close()
	}
	return nil
}

// reflectLocked moves what the peer wrote back to it, as far as the peer's
// queue allows, when this end reflects (ReflectAll). Called with the
// instance lock held, after anything that may let a message move: the
// peer wrote one, read from its queue or gave up a long write.
func (e *End) reflectLocked() {
	if e.reflecting {
		e.reflectMore()
	}
}

// firstWhole returns the length of the first message queued for this end
// and whether it can go back to the peer whole (moved into the peer's
// queue), rather than be read by the peer in place: it is not open and
// fits the peer's quota.
func (e *End) firstWhole() (l int, whole bool) {
	l = e.in.firstLen()
	return l, !e.in.firstOpen() && l <= e.out.quota
}

func (e *End) reflectMore() {
	moved := false
	for !e.closed && !e.peer.closed && !e.in.empty() {
		l, whole := e.firstWhole()
		if !whole {
			// The peer reads it in place (Reflect's openLink); nothing
			// is queued behind it until it is read.
			if e.out.canOpen() && !e.in.linked() {
				e.out.openLink(e.in)
				moved = true
			}
			break
		}
		if !e.out.fits(l) {
			break
		}
		e.in.moveMsgTo(e.out)
		moved = true
	}
	if moved {
		signal(e.out.readable)
	}
}
