package ndr

import "slices"

// deferrals is the queue of deferred referents shared by Writer and Reader.
//
// NDR marshals the referent of an embedded pointer after the top-level
// construct that contains the pointer; a referent that itself embeds
// pointers is again such a construct, so its own referents follow it
// immediately, before the next sibling (the order MIDL and pidl produce).
// The queue is kept as one stack so that this depth-first order needs no
// recursion: the referents a referent defers are pushed on top, in
// reverse, and run next. A long chain of referents therefore costs no Go
// stack, and its depth is counted against MaxDepth.
type deferrals[T any] struct {
	stack   []deferred[T] // pending referents, the next one last
	depth   int           // depth of the referent being run, 0 outside Flush
	total   int           // referents deferred so far
	running bool
}

type deferred[T any] struct {
	f     func(T)
	depth int
}

// push queues f; it returns a reason when a bound is exceeded.
func (d *deferrals[T]) push(f func(T), limit int) string {
	if d.depth >= MaxDepth {
		return "referents nested deeper than MaxDepth"
	}
	if d.total >= limit {
		return "too many deferred referents"
	}
	d.total++
	d.stack = append(d.stack, deferred[T]{f: f, depth: d.depth + 1})
	return ""
}

// run marshals every pending referent depth-first, in the order deferred,
// until ok reports a failure. A run already in progress (Flush called from
// a deferred function) owns the queue, so a nested run does nothing.
func (d *deferrals[T]) run(t T, ok func(T) bool) {
	if d.running || len(d.stack) == 0 {
		return
	}
	d.running = true
	slices.Reverse(d.stack)
	for len(d.stack) > 0 && ok(t) {
		n := len(d.stack) - 1
		next := d.stack[n]
		d.stack[n] = deferred[T]{} // let the closure go
		d.stack = d.stack[:n]
		d.depth = next.depth
		next.f(t)
		if len(d.stack) < n { // Reset from a deferred function
			break
		}
		slices.Reverse(d.stack[n:])
	}
	clear(d.stack)
	d.stack = d.stack[:0]
	d.depth = 0
	d.running = false
}

// pending reports whether referents wait for a Flush.
func (d *deferrals[T]) pending() bool { return len(d.stack) > 0 }
