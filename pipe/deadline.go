package pipe

import (
	"sync"
	"time"
)

// deadline is a net.Conn deadline: a channel closed when the deadline
// passes. Setting a deadline may allocate a timer and a channel; waiting on
// one does not.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{} // closed once the deadline has passed; nil = never set
}

// set arms the deadline; the zero time disarms it. A time in the past
// expires it at once.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired (or is firing); wait for the close
	}
	d.timer = nil
	if d.cancel == nil || isClosed(d.cancel) {
		d.cancel = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	if dur := time.Until(t); dur > 0 {
		c := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(c) })
		return
	}
	close(d.cancel)
}

// wait returns a channel closed when the deadline passes (nil: no
// deadline, a channel that never fires in a select).
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
