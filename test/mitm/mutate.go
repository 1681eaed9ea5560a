package mitm

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// Mutation describes the change Mutate made to a frame.
type Mutation struct {
	Op string // what was done, for logs
	// Stall is set when the change may leave a request waiting after an
	// interim response, which the protocol lets last as long as the
	// caller's context allows: the final reply of an async request was
	// lost or spoiled, or a final reply was turned into an interim one.
	// Any other change must end every request within the request timeout.
	Stall bool
}

// operators are the changes Mutate draws from, with equal weight.
var operators = []struct {
	name string
	fn   func(r *rand.Rand, f *Frame, b []byte) []byte // returns the wire bytes, nil to drop
}{
	{"drop", func(*rand.Rand, *Frame, []byte) []byte { return nil }},
	{"flip a bit", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		i := r.IntN(len(b) * 8)
		b[i/8] ^= 1 << (i % 8)
		return Wire(b)
	}},
	{"random byte", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		b[r.IntN(len(b))] = byte(r.Uint32())
		return Wire(b)
	}},
	{"random header byte", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		b[r.IntN(min(len(b), smb2.HeaderSize))] = byte(r.Uint32())
		return Wire(b)
	}},
	{"random body byte", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		if len(b) > smb2.HeaderSize {
			b[smb2.HeaderSize+r.IntN(len(b)-smb2.HeaderSize)] = byte(r.Uint32())
		}
		return Wire(b)
	}},
	{"Command", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		Put16(b, OffCommand, pick(r, 1, uint16(r.IntN(19)), 8, 9, 11))
		return Wire(b)
	}},
	{"SessionId", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		Put64(b, OffSessionID, le64(b, OffSessionID)^(1+r.Uint64()%255))
		return Wire(b)
	}},
	{"MessageId", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		m := le64(b, OffMessageID)
		Put64(b, OffMessageID, pick(r, m+1, m-1, r.Uint64(), ^uint64(0), 0))
		return Wire(b)
	}},
	{"unsign", func(_ *rand.Rand, _ *Frame, b []byte) []byte { Unsign(b); return Wire(b) }},
	{"unsign, Command SESSION_SETUP", func(_ *rand.Rand, _ *Frame, b []byte) []byte {
		Unsign(b)
		Put16(b, OffCommand, uint16(smb2.CmdSessionSetup))
		return Wire(b)
	}},
	{"unsign, SessionId", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		Unsign(b)
		Put64(b, OffSessionID, le64(b, OffSessionID)^(1+r.Uint64()%255))
		return Wire(b)
	}},
	{"unsign, replace data", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		Unsign(b)
		forge(r, b)
		return Wire(b)
	}},
	{"replace data", func(r *rand.Rand, _ *Frame, b []byte) []byte { forge(r, b); return Wire(b) }},
	{"clear SERVER_TO_REDIR", func(_ *rand.Rand, _ *Frame, b []byte) []byte {
		Put32(b, OffFlags, le32(b, OffFlags)&^smb2.FlagServerToRedir)
		return Wire(b)
	}},
	{"toggle ASYNC_COMMAND", func(_ *rand.Rand, _ *Frame, b []byte) []byte {
		Put32(b, OffFlags, le32(b, OffFlags)^smb2.FlagAsyncCommand)
		return Wire(b)
	}},
	{"Status", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		Put32(b, OffStatus, uint32(pick(r, ntstatus.Pending, ntstatus.BufferOverflow, ntstatus.Success,
			ntstatus.UserSessionDeleted, ntstatus.MoreProcessingRequired, ntstatus.Status(r.Uint32()))))
		return Wire(b)
	}},
	{"TreeId", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		if le32(b, OffFlags)&smb2.FlagAsyncCommand == 0 {
			Put32(b, OffTreeID, le32(b, OffTreeID)^(1+r.Uint32()%255))
		}
		return Wire(b)
	}},
	{"Credit", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		Put16(b, OffCredit, pick(r, 0, 0xFFFF, uint16(r.Uint32())))
		return Wire(b)
	}},
	{"NextCommand", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		Put32(b, OffNextCommand, pick(r, uint32(r.IntN(len(b)+64))&^7, r.Uint32(), 64, 8))
		return Wire(b)
	}},
	{"StructureSize", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		if len(b) >= smb2.HeaderSize+2 && r.IntN(2) == 0 {
			binary.LittleEndian.PutUint16(b[smb2.HeaderSize:], uint16(r.IntN(100)))
		} else {
			Put16(b, OffStructureSize, uint16(r.IntN(128)))
		}
		return Wire(b)
	}},
	{"truncate", func(r *rand.Rand, _ *Frame, b []byte) []byte { return Wire(b[:r.IntN(len(b))]) }},
	{"extend", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		x := make([]byte, 1+r.IntN(200))
		for i := range x {
			x[i] = byte(r.Uint32())
		}
		return Wire(append(b, x...))
	}},
	{"replay an earlier frame", func(r *rand.Rand, f *Frame, b []byte) []byte {
		if len(f.Sent) == 0 {
			return Wire(b)
		}
		old := append([]byte(nil), f.Sent[r.IntN(len(f.Sent))]...)
		if r.IntN(2) == 0 && len(old) >= smb2.HeaderSize && len(b) >= smb2.HeaderSize {
			Put64(old, OffMessageID, le64(b, OffMessageID))
		}
		return Wire(old)
	}},
	{"duplicate", func(_ *rand.Rand, _ *Frame, b []byte) []byte { w := Wire(b); return append(w, w...) }},
	{"transport length lies", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		w := Wire(b)
		n := pick(r, uint32(len(b)+1+r.IntN(100)), uint32(max(len(b)-1-r.IntN(100), 0)), 1<<24-1, uint32(r.IntN(64)))
		binary.BigEndian.PutUint32(w, n&0xFFFFFF)
		return w
	}},
	{"turn into an interim response", func(r *rand.Rand, _ *Frame, b []byte) []byte {
		if len(b) < smb2.HeaderSize {
			return Wire(b)
		}
		Put32(b, OffStatus, uint32(ntstatus.Pending))
		Put32(b, OffFlags, le32(b, OffFlags)|smb2.FlagAsyncCommand)
		Put64(b, OffAsyncID, 1+r.Uint64()%1000)
		Put32(b, OffNextCommand, 0)
		b = append(b[:smb2.HeaderSize], 9, 0, 0, 0, 0, 0, 0, 0, 0)
		return Wire(b)
	}},
}

// Mutate applies one random operator to a copy of f's payload and returns
// the bytes to send in its place (nil: dropped) and what was done.
func Mutate(r *rand.Rand, f *Frame) ([]byte, Mutation) {
	op := operators[r.IntN(len(operators))]
	b := append([]byte(nil), f.Data...)
	if len(b) == 0 {
		b = append(b, 0)
	}
	out := op.fn(r, f, b)
	m := Mutation{Op: op.name}
	if h, ok := f.Header(); ok {
		m.Op = fmt.Sprintf("%s on %v %v (frame %d)", op.name, h.Command, ntstatus.Status(h.Status), f.Index)
		wasInterim := h.Status == ntstatus.Pending
		m.Stall = h.IsAsync() && !wasInterim || !wasInterim && looksInterim(out)
	}
	return out, m
}

// looksInterim reports whether wire starts with a frame whose first
// message is an async STATUS_PENDING with an ERROR body.
func looksInterim(wire []byte) bool {
	if len(wire) < 4+smb2.HeaderSize+2 {
		return false
	}
	var h smb2.Header
	b := wire[4:]
	return h.Decode(b) == nil && h.Status == ntstatus.Pending && h.IsAsync() &&
		binary.LittleEndian.Uint16(b[smb2.HeaderSize:]) == 9
}

// forge overwrites the data of a READ or IOCTL response (as found by their
// decoders) with random bytes, or a random stretch of the body.
func forge(r *rand.Rand, b []byte) {
	var data []byte
	switch smb2.PeekCommand(b) {
	case smb2.CmdRead:
		var m smb2.ReadResponse
		if m.Decode(b) == nil {
			data = m.Data
		}
	case smb2.CmdIoctl:
		var m smb2.IoctlResponse
		if m.Decode(b) == nil {
			data = m.Output
		}
	}
	if len(data) == 0 && len(b) > smb2.HeaderSize {
		data = b[smb2.HeaderSize+r.IntN(len(b)-smb2.HeaderSize):]
	}
	for i := range data {
		data[i] = byte(r.Uint32())
	}
}

func pick[T any](r *rand.Rand, vs ...T) T { return vs[r.IntN(len(vs))] }

func le32(b []byte, off int) uint32 {
	if len(b) < smb2.HeaderSize {
		return 0
	}
	return binary.LittleEndian.Uint32(b[off:])
}

func le64(b []byte, off int) uint64 {
	if len(b) < smb2.HeaderSize {
		return 0
	}
	return binary.LittleEndian.Uint64(b[off:])
}
