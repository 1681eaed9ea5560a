package pipe

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Named pipe states (FilePipeLocalInformation.NamedPipeState and
// PeekInfo.State).
const (
	StateDisconnected uint32 = 1 // this end is closed
	StateListening    uint32 = 2 // not used: instances are created connected
	StateConnected    uint32 = 3
	StateClosing      uint32 = 4 // the other end is closed; data may remain
)

// CompletionMode is FilePipeInformation.CompletionMode.
type CompletionMode uint8

// Completion modes.
const (
	// QueueOperation: reads wait for data and writes wait for quota (the
	// default).
	QueueOperation CompletionMode = 0
	// CompleteOperation: reads on an empty pipe and writes that cannot be
	// queued return ErrWouldBlock at once.
	CompleteOperation CompletionMode = 1
)

// instance is one pipe instance: two ends and a queue in each direction,
// all guarded by one mutex.
type instance struct {
	mu   sync.Mutex
	pipe *Pipe
	info any
	ends [2]End // client, server
}

// End is one end of a pipe instance. It implements net.Conn; in message
// read mode Read returns at most one message per call (the rest of a long
// message on the next calls), see ReadMsg to learn whether a read was
// partial.
//
// An End is safe for use by one reader (Read, ReadMsg, TryRead,
// WaitReadable, AppendMessage) and one writer (Write, WriteContext, Flush)
// at a time, plus Close, Peek, the getters and setters from any goroutine.
// Transceive counts as both a reader and a writer.
//
// End of data: once the other end is closed and everything it wrote is
// read, reads on the client end return ErrBroken and reads on the server
// end return io.EOF. Writes to a closed peer fail with ErrBroken on both
// ends. Operations on a closed End return ErrClosed (net.ErrClosed).
type End struct {
	inst   *instance
	server bool
	peer   *End
	in     *queue        // what this end reads
	out    *queue        // what this end writes (the peer's in)
	done   chan struct{} // closed by Close
	rdl    deadline
	wdl    deadline
	closed bool // guarded by inst.mu
	// reflecting: this end echoes without a reader (ReflectAll); guarded
	// by inst.mu.
	reflecting bool

	readMode   Mode           // guarded by inst.mu
	completion CompletionMode // guarded by inst.mu
}

func newInstance(p *Pipe, info any) (client, server *End) {
	msg := p.cfg.Mode == MessageMode
	toServer := newQueue(msg, p.cfg.InQuota)
	toClient := newQueue(msg, p.cfg.OutQuota)
	in := &instance{pipe: p, info: info}
	client, server = &in.ends[0], &in.ends[1]
	*client = End{inst: in, peer: server, in: toClient, out: toServer, done: make(chan struct{}), readMode: p.cfg.Mode}
	*server = End{inst: in, server: true, peer: client, in: toServer, out: toClient, done: make(chan struct{}), readMode: p.cfg.Mode}
	return client, server
}

// canRead reports whether the pipe's direction lets this end read.
func (e *End) canRead() bool {
	switch e.inst.pipe.cfg.Direction {
	case Inbound:
		return e.server
	case Outbound:
		return !e.server
	}
	return true
}

// unusable says why this end cannot move data the way can tells it may:
// ErrClosed once closed, ErrDirection when can is false; nil when it can.
// Called with the instance lock held.
func (e *End) unusable(can bool) error {
	if e.closed {
		return ErrClosed
	}
	if !can {
		return ErrDirection
	}
	return nil
}

func (e *End) canWrite() bool {
	switch e.inst.pipe.cfg.Direction {
	case Inbound:
		return !e.server
	case Outbound:
		return e.server
	}
	return true
}

// endErr is what a read returns once the peer is gone and the queue drained.
func (e *End) endErr() error {
	if e.server {
		return io.EOF
	}
	return ErrBroken
}

// Read implements net.Conn. In message read mode it returns at most one
// message; a partial read returns the first len(p) bytes with a nil error
// and the rest on the next Read. A zero-length message reads as 0, nil.
// Read honours the read deadline and the completion mode.
func (e *End) Read(p []byte) (int, error) {
	n, _, err := e.read(context.Background(), p, true)
	return n, err
}

// ReadMsg reads up to len(p) bytes of the next message (byte read mode:
// whatever is queued, across message boundaries). more reports that the
// message continues (BUFFER_OVERFLOW); the rest stays queued for the next
// read. Blocks until data arrives, ctx ends, the read deadline passes
// (os.ErrDeadlineExceeded), or the peer closes (then ErrBroken once the
// queue is drained; io.EOF for the server end). With CompleteOperation it
// returns ErrWouldBlock instead of blocking. ReadMsg does not allocate.
func (e *End) ReadMsg(ctx context.Context, p []byte) (n int, more bool, err error) {
	return e.read(ctx, p, true)
}

// TryRead is ReadMsg that returns ErrWouldBlock instead of blocking.
func (e *End) TryRead(p []byte) (n int, more bool, err error) {
	return e.read(context.Background(), p, false)
}

// AppendMessage reads one whole message (byte read mode: what one read
// returns) and appends it to dst, growing dst as needed.
func (e *End) AppendMessage(ctx context.Context, dst []byte) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, more, err := e.read(ctx, dst[len(dst):cap(dst)], true)
		dst = dst[:len(dst)+n]
		if err != nil || !more {
			return dst, err
		}
	}
}

func (e *End) read(ctx context.Context, p []byte, block bool) (n int, more bool, err error) {
	in := e.inst
	woken := false
	for {
		if block && isClosedRecv(e.rdl.wait()) {
			return 0, false, os.ErrDeadlineExceeded
		}
		in.mu.Lock()
		if err := e.unusable(e.canRead()); err != nil {
			in.mu.Unlock()
			return 0, false, err
		}
		if !e.in.empty() {
			if e.readMode == MessageMode {
				n, more = e.in.readMsg(p)
			} else {
				n = e.in.readBytes(p)
			}
			e.peer.reflectLocked() // room for, or the end of, a reflected message
			left := !e.in.empty()
			in.mu.Unlock()
			if left && woken {
				signal(e.in.readable)
			}
			return n, more, nil
		}
		if e.peer.closed {
			in.mu.Unlock()
			return 0, false, e.endErr()
		}
		nonBlocking := e.completion == CompleteOperation
		in.mu.Unlock()
		if !block || nonBlocking {
			return 0, false, ErrWouldBlock
		}
		readable, err := e.await(ctx, e.in.readable, e.rdl.wait())
		if err != nil {
			return 0, false, err
		}
		woken = woken || readable
	}
}

// WaitReadable blocks until TryRead would not return ErrWouldBlock: data is
// queued or the peer is closed. It returns nil then, ErrClosed when this
// end is closed, ctx.Err() or os.ErrDeadlineExceeded (read deadline).
// It consumes nothing and ignores the completion mode.
func (e *End) WaitReadable(ctx context.Context) error {
	in := e.inst
	for {
		in.mu.Lock()
		closed, ready, peer := e.closed, !e.in.empty(), e.peer.closed
		in.mu.Unlock()
		switch {
		case closed:
			return ErrClosed
		case ready:
			signal(e.in.readable) // pass the token on to a reader
			return nil
		case peer:
			return nil
		}
		if _, err := e.await(ctx, e.in.readable, e.rdl.wait()); err != nil {
			return err
		}
	}
}

// Write implements net.Conn: in a message-type pipe p is one message (a
// zero-length p is a zero-length message); in a byte-type pipe p is queued
// in pieces as the quota allows. Write blocks while the peer's queue is
// full: it holds quota bytes or more (message mode: the message does not
// fit in what is left of the quota).
//
// A message longer than the quota is not copied into the peer's queue:
// Write waits until the peer has read it, and the peer reads it in place,
// from p (as Windows reads such a message from the pending write). The
// peer sees one message: reads of it fill their buffers as for a queued
// message, more reporting that it continues. Nothing is queued behind it
// meanwhile, and the peer's queue never holds more than the quota.
//
// Write honours the write deadline and the completion mode. It does not
// retain p once it returns and, once the queue has grown to its working
// size, does not allocate (a write that waits for the reader may).
//
// A write that fails (deadline, ctx, completion mode, closed ends) returns
// how many bytes were written: in a message-type pipe 0, or, when a long
// message's reader had started it, what it read (the reader then sees
// the message end there, with a last read of no bytes). A message is
// only left for the reader to read in place by a write that can wait:
// with CompleteOperation, or a ctx already done, a message that does not
// fit now is not written at all (0, ErrWouldBlock or ctx.Err()), and the
// caller keeps all of it.
func (e *End) Write(p []byte) (int, error) {
	return e.write(context.Background(), p)
}

// WriteContext is Write bounded by ctx. With a ctx that is already done it
// writes what fits now and never blocks: in a byte-type pipe as much of p
// as the quota allows, in a message-type pipe the whole message or nothing
// (see Write); the error is then ctx.Err() unless all of p was written.
func (e *End) WriteContext(ctx context.Context, p []byte) (int, error) {
	return e.write(ctx, p)
}

func (e *End) write(ctx context.Context, p []byte) (int, error) {
	seq, n, err := e.send(ctx, p)
	if seq == 0 || err != nil {
		return n, err
	}
	return e.waitRead(ctx, seq, p)
}

// send queues p: in a message-type pipe as one message, whole (seq 0) or
// open for the peer to read in place (seq names it; the caller must call
// waitRead before it lets p go); in a byte-type pipe in pieces, waiting
// for room. It returns the bytes written.
func (e *End) send(ctx context.Context, p []byte) (seq uint64, written int, err error) {
	in := e.inst
	for {
		if isClosedRecv(e.wdl.wait()) {
			return 0, written, os.ErrDeadlineExceeded
		}
		in.mu.Lock()
		if err := e.unusable(e.canWrite()); err != nil {
			in.mu.Unlock() // written is 0 for ErrDirection: the direction never changes
			return 0, written, err
		}
		if e.peer.closed {
			in.mu.Unlock()
			return 0, written, ErrBroken
		}
		q := e.out
		nonBlocking := e.completion == CompleteOperation
		switch {
		case !q.message:
			if k := min(q.room(), len(p)-written); k > 0 {
				q.pushBytes(p[written : written+k])
				written += k
				signal(q.readable)
			}
			if written == len(p) {
				in.mu.Unlock()
				return 0, written, nil
			}
		case q.fits(len(p)):
			q.pushMsg(p)
			e.peer.reflectLocked()
			in.mu.Unlock()
			signal(q.readable)
			return 0, len(p), nil
		case len(p) > q.quota && q.canOpen() && !nonBlocking && ctx.Err() == nil:
			seq := q.openPend(p)
			e.peer.reflectLocked()
			in.mu.Unlock()
			signal(q.readable)
			return seq, 0, nil
		}
		if nonBlocking {
			in.mu.Unlock()
			return 0, written, ErrWouldBlock
		}
		if err := ctx.Err(); err != nil {
			in.mu.Unlock()
			return 0, written, err
		}
		space := q.spaceWait()
		in.mu.Unlock()
		if _, err := e.await(ctx, space, e.wdl.wait()); err != nil {
			return 0, written, err
		}
	}
}

// await waits for ready (data to read, room to write), this end or the
// peer closing, the end of ctx or the deadline (a channel closed once it
// passes). It reports whether ready fired, and returns ctx's error or
// os.ErrDeadlineExceeded for the last two. Called without the instance
// lock.
func (e *End) await(ctx context.Context, ready, deadline <-chan struct{}) (bool, error) {
	select {
	case <-ready:
		return true, nil
	case <-e.done:
	case <-e.peer.done:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-deadline:
		return false, os.ErrDeadlineExceeded
	}
	return false, nil
}

// waitRead waits until the peer has read the open message seq, whose
// bytes are p, and returns what write returns.
func (e *End) waitRead(ctx context.Context, seq uint64, p []byte) (int, error) {
	in := e.inst
	q := e.out
	var err error
	for {
		in.mu.Lock()
		switch {
		case q.doneSeq == seq:
			in.mu.Unlock()
			return len(p), nil
		case e.closed: // Close ended the message
			err = ErrClosed
		case e.peer.closed: // and dropped it
			err = ErrBroken
		case e.completion == CompleteOperation:
			err = ErrWouldBlock
		}
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			if q.isOpen && q.openSeq == seq {
				q.abort()
				e.peer.reflectLocked()
			}
			n := 0
			if q.openSeq == seq { // ended by abort, here or in Close
				n = q.openRead
			}
			in.mu.Unlock()
			return n, err
		}
		space := q.spaceWait()
		in.mu.Unlock()
		_, err = e.await(ctx, space, e.wdl.wait())
	}
}

// Flush waits until the peer has read everything this end wrote (FLUSH on
// a pipe). It returns ErrBroken if the peer is closed (what it had not read
// is lost), ErrClosed if this end is closed, ctx.Err() when ctx ends.
func (e *End) Flush(ctx context.Context) error {
	in := e.inst
	for {
		in.mu.Lock()
		closed, drained, peer := e.closed, e.out.empty(), e.peer.closed
		var space <-chan struct{}
		if !closed && !drained && !peer && ctx.Err() == nil {
			space = e.out.spaceWait()
		}
		in.mu.Unlock()
		switch {
		case closed:
			return ErrClosed
		case peer:
			return ErrBroken
		case drained:
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case <-space:
		case <-e.done:
		case <-e.peer.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Transceive writes in as one message and reads one reply message into out
// (more: the reply continues; read the rest with ReadMsg). A request
// longer than the quota is read by the peer in place (see Write) while
// Transceive reads the reply, and Transceive returns once both are done:
// the peer must read the whole request before the caller reads more of
// the reply than out holds. It returns
// ErrBadState unless the pipe is a duplex message-type pipe and this end's
// read mode is MessageMode, ErrBusy if unread data is queued for this end,
// ErrBroken if the peer is closed. It does not allocate in steady state.
func (e *End) Transceive(ctx context.Context, in, out []byte) (n int, more bool, err error) {
	inst := e.inst
	inst.mu.Lock()
	cfg := &inst.pipe.cfg
	switch {
	case e.closed:
		err = ErrClosed
	case cfg.Mode != MessageMode || cfg.Direction != Duplex || e.readMode != MessageMode:
		err = ErrBadState
	case !e.in.empty():
		err = ErrBusy
	case e.peer.closed:
		err = ErrBroken
	}
	inst.mu.Unlock()
	if err != nil {
		return 0, false, err
	}
	seq, _, err := e.send(ctx, in)
	if err != nil {
		return 0, false, err
	}
	// A request longer than the quota is read in place while the reply
	// is read: a peer may answer as it reads (see Reflect).
	n, more, err = e.read(ctx, out, true)
	if seq != 0 {
		if _, werr := e.waitRead(ctx, seq, in); err == nil {
			err = werr
		}
	}
	return n, more, err
}

// Reflect reads the next message and writes it back to the peer as one
// message: what an echo server does with ReadMsg and Write, but the bytes
// are moved from one queue to the other under the instance lock, copied
// at most once and not at all when the message is all that is queued for
// this end and nothing is queued for the peer. It returns the message's
// length.
//
// Reflect blocks like ReadMsg until a message is queued (the peer closed:
// io.EOF on the server end, ErrBroken on the client end), then like Write
// until the message fits the peer's queue; the message stays queued until
// it is moved. A message longer than the peer's quota, or one its writer
// has left to be read in place (see Write), is not moved: the peer reads
// it in place through this end's queue, and Reflect returns once the peer
// has read it all, having held no byte of it. It honours both deadlines,
// ctx and the completion mode (ErrWouldBlock instead of blocking; a long
// message is not reflected then). When it fails while the peer reads a
// long message, the peer's message ends where the peer is and the rest
// stays queued for this end; Reflect returns what the peer read. It
// returns ErrBadState unless the pipe is a duplex message-type pipe and
// this end's read mode is MessageMode, ErrBroken if the peer is closed
// when a message is there. It counts as both a reader and a writer and
// does not allocate once the queues have grown to their working size,
// unless it waits for room or for the peer to read.
func (e *End) Reflect(ctx context.Context) (int, error) {
	in := e.inst
	woken := false
	var seq uint64 // the long message the peer reads in place; 0: none
	for {
		if isClosedRecv(e.rdl.wait()) || isClosedRecv(e.wdl.wait()) {
			return e.abortReflect(seq, os.ErrDeadlineExceeded)
		}
		in.mu.Lock()
		cfg := &in.pipe.cfg
		switch {
		case e.closed:
			in.mu.Unlock()
			return 0, ErrClosed
		case cfg.Mode != MessageMode || cfg.Direction != Duplex || e.readMode != MessageMode:
			in.mu.Unlock()
			return e.abortReflect(seq, ErrBadState)
		}
		nonBlocking := e.completion == CompleteOperation
		waitRead := false
		switch {
		case seq != 0:
			if e.out.doneSeq == seq {
				n := e.out.openRead
				left := !e.in.empty()
				in.mu.Unlock()
				if left && woken {
					signal(e.in.readable)
				}
				return n, nil
			}
			if e.peer.closed || !e.out.isOpen || e.out.openSeq != seq {
				in.mu.Unlock()
				return 0, ErrBroken // the peer's Close dropped it
			}
		case e.in.empty():
			if e.peer.closed {
				in.mu.Unlock()
				return 0, e.endErr()
			}
			waitRead = true
		case e.peer.closed:
			in.mu.Unlock()
			return 0, ErrBroken
		default:
			l, whole := e.firstWhole()
			if whole && e.out.fits(l) {
				n := e.in.moveMsgTo(e.out)
				left := !e.in.empty()
				in.mu.Unlock()
				signal(e.out.readable)
				if left && woken {
					signal(e.in.readable)
				}
				return n, nil
			}
			if !whole && e.out.canOpen() && !e.in.linked() && !nonBlocking && ctx.Err() == nil {
				seq = e.out.openLink(e.in)
				signal(e.out.readable)
			}
		}
		if nonBlocking {
			in.mu.Unlock()
			return e.abortReflect(seq, ErrWouldBlock)
		}
		if err := ctx.Err(); err != nil {
			in.mu.Unlock()
			return e.abortReflect(seq, err)
		}
		var readable, space <-chan struct{}
		if waitRead {
			readable = e.in.readable
		} else {
			space = e.out.spaceWait()
		}
		in.mu.Unlock()
		select {
		case <-readable:
			woken = true
		case <-space:
		case <-e.done:
		case <-e.peer.done:
		case <-ctx.Done():
		case <-e.rdl.wait():
		case <-e.wdl.wait():
		}
	}
}

// abortReflect ends a Reflect that fails with err while the peer reads
// message seq in place, if it does: the peer's message ends where the
// peer is (see queue.abort). It returns what Reflect returns.
func (e *End) abortReflect(seq uint64, err error) (int, error) {
	n := 0
	if seq != 0 {
		e.inst.mu.Lock()
		switch {
		case e.out.doneSeq == seq:
			n, err = e.out.openRead, nil
		case e.out.isOpen && e.out.openSeq == seq:
			n = e.out.abort()
		}
		e.inst.mu.Unlock()
	}
	return n, err
}

// Peek reports what is queued for this end and copies up to len(p) bytes
// of it into p without consuming anything. In a message-type pipe it
// copies from the first message only. It never blocks. On a closed end it
// reports StateDisconnected and nothing queued.
func (e *End) Peek(p []byte) (PeekInfo, int) {
	in := e.inst
	in.mu.Lock()
	defer in.mu.Unlock()
	if e.closed {
		return PeekInfo{State: StateDisconnected}, 0
	}
	info := PeekInfo{State: StateConnected, Available: e.in.available()}
	if e.peer.closed {
		info.State = StateClosing
	}
	if !e.in.message {
		return info, e.in.peekAt(p, 0)
	}
	info.Messages = e.in.lcount
	if e.in.lcount == 0 {
		return info, 0
	}
	info.FirstMessageLen = e.in.firstLen()
	return info, e.in.peekFirst(p)
}

// State is the NamedPipeState of this end: StateConnected,
// StateClosing (the other end is closed) or StateDisconnected (this end is
// closed).
func (e *End) State() uint32 {
	e.inst.mu.Lock()
	defer e.inst.mu.Unlock()
	return e.stateLocked()
}

func (e *End) stateLocked() uint32 {
	switch {
	case e.closed:
		return StateDisconnected
	case e.peer.closed:
		return StateClosing
	}
	return StateConnected
}

// SetReadMode sets this end's read mode (FilePipeInformation.ReadMode).
// MessageMode on a byte-type pipe, or an unknown mode, is ErrBadState.
// The initial read mode of both ends is the pipe's Mode.
func (e *End) SetReadMode(m Mode) error {
	if m > MessageMode || (m == MessageMode && e.inst.pipe.cfg.Mode != MessageMode) {
		return ErrBadState
	}
	return setLocked(e, &e.readMode, m)
}

// ReadMode returns this end's read mode.
func (e *End) ReadMode() Mode {
	return getLocked(e, &e.readMode)
}

// SetCompletionMode sets this end's completion mode
// (FilePipeInformation.CompletionMode); an unknown mode is ErrBadState.
func (e *End) SetCompletionMode(m CompletionMode) error {
	if m > CompleteOperation {
		return ErrBadState
	}
	return setLocked(e, &e.completion, m)
}

// CompletionMode returns this end's completion mode.
func (e *End) CompletionMode() CompletionMode {
	return getLocked(e, &e.completion)
}

// setLocked sets *field, a field of e, to v under the instance's lock;
// once e is closed it leaves it and returns ErrClosed.
func setLocked[T any](e *End, field *T, v T) error {
	e.inst.mu.Lock()
	defer e.inst.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	*field = v
	return nil
}

// getLocked reads *field, a field of e, under the instance's lock.
func getLocked[T any](e *End, field *T) T {
	e.inst.mu.Lock()
	defer e.inst.mu.Unlock()
	return *field
}

// LocalInfo is FilePipeLocalInformation as seen from one end.
type LocalInfo struct {
	Type                Mode
	Configuration       Direction
	MaxInstances        int // 0 = unlimited (the wire uses 0xFFFFFFFF)
	CurrentInstances    int
	InboundQuota        int // client to server
	OutboundQuota       int // server to client
	ReadDataAvailable   int // bytes this end can read (as PeekInfo.Available)
	WriteQuotaAvailable int // bytes this end may write before blocking
	State               uint32
	ServerEnd           bool
}

// LocalInfo reports FilePipeLocalInformation for this end.
func (e *End) LocalInfo() LocalInfo {
	p := e.inst.pipe
	li := LocalInfo{
		Type:             p.cfg.Mode,
		Configuration:    p.cfg.Direction,
		MaxInstances:     p.cfg.MaxInstances,
		CurrentInstances: p.Instances(),
		InboundQuota:     p.cfg.InQuota,
		OutboundQuota:    p.cfg.OutQuota,
		ServerEnd:        e.server,
	}
	e.inst.mu.Lock()
	defer e.inst.mu.Unlock()
	li.State = e.stateLocked()
	if !e.closed {
		li.ReadDataAvailable = e.in.available()
		if e.canWrite() {
			li.WriteQuotaAvailable = e.out.room()
		}
	}
	return li
}

// Info returns the value given to Namespace.Open (the same on both ends).
func (e *End) Info() any { return e.inst.info }

// Pipe returns the pipe this end belongs to.
func (e *End) Pipe() *Pipe { return e.inst.pipe }

// IsServer reports whether this is the server end.
func (e *End) IsServer() bool { return e.server }

// Close closes this end: what was queued for it is dropped, blocked
// operations on it return ErrClosed, and the peer drains what this end
// wrote before it sees the end (ErrBroken or io.EOF). The instance is
// released when both ends are closed. Close is idempotent and returns nil.
func (e *End) Close() error {
	in := e.inst
	in.mu.Lock()
	if e.closed {
		in.mu.Unlock()
		return nil
	}
	e.closed = true
	e.in.reset()
	if e.out.isOpen { // a long message the peer reads in place
		e.out.abort()
	}
	both := e.peer.closed
	follow := e.peer.reflecting && !both
	in.mu.Unlock()
	close(e.done)
	if both {
		in.pipe.release()
	}
	if follow {
		// What the echo handler does when Reflect reports the end.
		e.peer.Close()
	}
	return nil
}

// LocalAddr implements net.Conn; it is the pipe's Addr.
func (e *End) LocalAddr() net.Addr { return Addr(e.inst.pipe.name) }

// RemoteAddr implements net.Conn; it is the pipe's Addr.
func (e *End) RemoteAddr() net.Addr { return Addr(e.inst.pipe.name) }

// SetDeadline implements net.Conn.
func (e *End) SetDeadline(t time.Time) error {
	e.rdl.set(t)
	e.wdl.set(t)
	return nil
}

// SetReadDeadline implements net.Conn; it bounds Read, ReadMsg,
// AppendMessage, WaitReadable and the read half of Transceive.
func (e *End) SetReadDeadline(t time.Time) error {
	e.rdl.set(t)
	return nil
}

// SetWriteDeadline implements net.Conn; it bounds Write, WriteContext and
// the write half of Transceive.
func (e *End) SetWriteDeadline(t time.Time) error {
	e.wdl.set(t)
	return nil
}

func isClosedRecv(c <-chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}
