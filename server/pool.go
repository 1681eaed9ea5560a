package server

import "sync"

// bufPool holds response buffers (one per server, not package-wide).
// Buffers grown beyond maxPooled are dropped rather than kept, so one huge
// READ does not pin memory.
type bufPool struct{ p sync.Pool }

const maxPooled = 2 << 20

func (bp *bufPool) get() *[]byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

func (bp *bufPool) put(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	*b = (*b)[:0]
	bp.p.Put(b)
}
