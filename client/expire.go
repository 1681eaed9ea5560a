package client

import (
	"context"
	"time"

	"github.com/smbpipe/smbpipe/smb2"
)

// Request expiration (MS-SMB2 3.2.2.1, 3.2.6.1), as Windows' client does
// it: a request that has neither its reply nor an interim STATUS_PENDING
// response within Config.RequestTimeout fails, and the connection is
// closed so that nothing else waits on it. An interim response ends the
// timer: the request then waits as long as its context allows (a pipe read
// may wait for hours). So that a server that dies meanwhile is still found,
// a connection that has requests waiting and has been silent for half the
// limit sends ECHO, which must be answered within the other half.
//
// One goroutine per Conn counts time in ticks of RequestTimeout/expiryTicks;
// a request records the tick it was sent in, so the hot path reads no
// clock. A request expires between RequestTimeout and RequestTimeout plus
// one tick after it was sent.

// expiryTicks is the number of ticks in RequestTimeout.
const expiryTicks = 8

// expireLoop ticks until the reader ends.
func (c *Conn) expireLoop() {
	defer c.bg.Done()
	t := time.NewTicker(c.cfg.RequestTimeout / expiryTicks)
	defer t.Stop()
	for {
		select {
		case <-c.readerDone:
			return
		case <-t.C:
			c.onTick()
		}
	}
}

// onTick advances the clock, fails the connection when a request has
// expired, and starts a keepalive ECHO when one is due.
func (c *Conn) onTick() {
	c.mu.Lock()
	c.tick++
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	var late *call
	timed, waiting := 0, 0
	for _, cl := range c.pending {
		switch {
		case cl.timed && c.tick-cl.born > expiryTicks:
			if late == nil || c.tick-cl.born > c.tick-late.born { // the oldest
				late = cl
			}
		case cl.timed:
			timed++
		case !cl.abandoned:
			waiting++
		}
	}
	if late != nil {
		c.failLocked(&RequestTimeoutError{Command: late.x.cmd, MessageID: late.mid, Timeout: c.cfg.RequestTimeout})
		c.mu.Unlock()
		c.nc.Close()
		return
	}
	// A keepalive when requests wait after their interim responses, none
	// is being timed (its reply would show the server alive) and nothing
	// has arrived for half the limit.
	ping := waiting > 0 && timed == 0 && !c.pinging && c.credits > 0 &&
		c.tick-c.lastRecv >= expiryTicks/2
	if ping {
		c.pinging = true
		c.bg.Add(1) // the count is held by expireLoop: no race with Wait
	}
	c.mu.Unlock()
	if ping {
		go c.keepalive()
	}
}

// keepalive sends one ECHO, without a session, and waits for its reply; it
// expires after half the limit (see send).
func (c *Conn) keepalive() {
	defer c.bg.Done()
	defer func() {
		c.mu.Lock()
		c.pinging = false
		c.mu.Unlock()
	}()
	// The context only bounds a wait for credits; the request itself is
	// bounded by its expiration.
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.RequestTimeout)
	defer cancel()
	bp := newRequest()
	*bp = (&smb2.EchoRequest{}).Append(*bp)
	cl, err := c.send(ctx, &request{hdr: smb2.Header{Command: smb2.CmdEcho}, buf: bp, keepalive: true})
	if err != nil {
		return
	}
	<-cl.done
	c.release(cl)
}
