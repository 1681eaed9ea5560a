package smbcrypto

import "crypto/cipher"

// cmac is AES-CMAC (RFC 4493) with incremental input. It does not
// allocate after creation and is not safe for concurrent use.
type cmac struct {
	b      cipher.Block
	k1, k2 [16]byte
	x      [16]byte // running CBC-MAC state
	buf    [16]byte // pending block, held back until more input arrives
	n      int      // bytes in buf
}

// newCMAC prepares the subkeys for block (which must have a 16-byte block size).
func newCMAC(b cipher.Block) *cmac {
	c := &cmac{b: b}
	var l [16]byte
	b.Encrypt(l[:], l[:])
	shiftXor(&c.k1, &l)
	shiftXor(&c.k2, &c.k1)
	return c
}

// shiftXor sets dst = src << 1, xor Rb (0x87) if the top bit was set.
func shiftXor(dst, src *[16]byte) {
	var carry byte
	for i := 15; i >= 0; i-- {
		v := src[i]
		dst[i] = v<<1 | carry
		carry = v >> 7
	}
	dst[15] ^= 0x87 & -carry
}

func (c *cmac) reset() {
	c.x = [16]byte{}
	c.n = 0
}

func xor16(dst *[16]byte, src []byte) {
	_ = src[15]
	for i := range dst {
		dst[i] ^= src[i]
	}
}

func (c *cmac) write(p []byte) {
	for len(p) > 0 {
		if c.n == 16 {
			xor16(&c.x, c.buf[:])
			c.b.Encrypt(c.x[:], c.x[:])
			c.n = 0
		}
		if c.n == 0 {
			// Whole blocks that are certainly not the last one.
			for len(p) > 16 {
				xor16(&c.x, p[:16])
				c.b.Encrypt(c.x[:], c.x[:])
				p = p[16:]
			}
		}
		k := copy(c.buf[c.n:], p)
		c.n += k
		p = p[k:]
	}
}

// sum writes the tag to out; the state must be reset before reuse.
func (c *cmac) sum(out *[16]byte) {
	last := c.buf
	if c.n == 16 {
		xor16(&last, c.k1[:])
	} else {
		last[c.n] = 0x80
		clear(last[c.n+1:])
		xor16(&last, c.k2[:])
	}
	xor16(&c.x, last[:])
	c.b.Encrypt(out[:], c.x[:])
}
