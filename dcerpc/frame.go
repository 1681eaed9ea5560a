package dcerpc

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// MessageConn is what a DCE/RPC association runs on: a pipe end
// (pipe.End, client.Pipe) or, through StreamConn, a byte stream such as a
// TCP connection (ncacn_ip_tcp uses the same PDUs).
//
// ReadMsg reads into b what the transport has: with a message-mode pipe
// one message or the start of one (more reports that the message goes on);
// PDUs are delimited by their frag_length, never by message boundaries,
// so a PDU may span messages and a message may hold several PDUs. Write
// sends one PDU (one message on a message-mode pipe).
type MessageConn interface {
	ReadMsg(ctx context.Context, b []byte) (n int, more bool, err error)
	Write(b []byte) (int, error)
}

// StreamConn adapts a byte stream (a TCP connection) to MessageConn.
// ReadMsg honours ctx by setting a past read deadline when ctx ends.
func StreamConn(c net.Conn) MessageConn { return streamConn{c} }

type streamConn struct{ net.Conn }

func (s streamConn) ReadMsg(ctx context.Context, b []byte) (int, bool, error) {
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { s.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	n, err := s.Read(b)
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return n, false, err
}

// frameReader reads PDUs from a MessageConn by frag_length. The PDU it
// returns is valid until the next call.
type frameReader struct {
	conn  MessageConn
	buf   []byte // buf[r:w] is unread input
	r, w  int
	limit int // largest frag_length accepted
}

// errFragTooLong is returned for a frag_length over the reader's limit.
var errFragTooLong = errors.New("dcerpc: fragment longer than the limit")

func newFrameReader(c MessageConn, limit int) *frameReader {
	return &frameReader{conn: c, buf: make([]byte, maxFragLength+1), limit: limit}
}

// next returns the next whole PDU. At a clean end of input (nothing
// buffered) it returns io.EOF; in the middle of a PDU io.ErrUnexpectedEOF.
func (f *frameReader) next(ctx context.Context) ([]byte, error) {
	if err := f.fill(ctx, headerSize); err != nil {
		return nil, err
	}
	// Refuse what is not a version 5.0 PDU before waiting for more.
	if h := f.buf[f.r:]; h[0] != 5 || h[1] != 0 {
		return nil, malformed("version")
	}
	n := fragLength(f.buf[f.r:])
	if n < headerSize {
		return nil, malformed("frag_length")
	}
	if n > f.limit {
		return nil, errFragTooLong
	}
	if err := f.fill(ctx, n); err != nil {
		return nil, err
	}
	pdu := f.buf[f.r : f.r+n : f.r+n]
	f.r += n
	return pdu, nil
}

// fill reads until n bytes are buffered.
func (f *frameReader) fill(ctx context.Context, n int) error {
	for f.w-f.r < n {
		if f.r > 0 && len(f.buf)-f.r < n {
			f.w = copy(f.buf, f.buf[f.r:f.w])
			f.r = 0
		}
		m, _, err := f.conn.ReadMsg(ctx, f.buf[f.w:])
		f.w += m
		if err != nil {
			if f.w-f.r >= n {
				return nil
			}
			if errors.Is(err, io.EOF) && f.w > f.r {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}
