package kerberos

import (
	"time"

	"github.com/jcmturner/gokrb5/v8/types"
)

// A small DER encoder for the one message the acceptor sends, the AP-REP
// (RFC 4120 5.5.2): gokrb5's reflection-based marshalling of it was a tenth
// of a Kerberos logon's server time. TestAPRepDER checks the bytes against
// gokrb5's encoding.

// derTLV appends tag, the definite length of content and content.
func derTLV(dst []byte, tag byte, content []byte) []byte {
	dst = append(dst, tag)
	dst = appendLength(dst, len(content))
	return append(dst, content...)
}

// derInt appends an INTEGER (two's complement, minimal).
func derInt(dst []byte, v int64) []byte {
	var b [9]byte
	n := 0
	for {
		b[8-n] = byte(v)
		n++
		if (v >= -128 && v < 128) || n == 9 {
			break
		}
		v >>= 8
	}
	return derTLV(dst, 0x02, b[9-n:])
}

// ctx wraps content in the context tag [n] (constructed, explicit).
func ctx(dst []byte, n byte, content []byte) []byte { return derTLV(dst, 0xa0|n, content) }

// encAPRepPartDER is EncAPRepPart ::= [APPLICATION 27] SEQUENCE { ctime
// [0] KerberosTime, cusec [1] Microseconds, subkey [2] EncryptionKey,
// seq-number [3] UInt32 }.
func encAPRepPartDER(ctime time.Time, cusec int, sub types.EncryptionKey, seq int64) []byte {
	var body, t []byte
	t = derTLV(t[:0], 0x18, []byte(ctime.UTC().Format("20060102150405Z")))
	body = ctx(body, 0, t)
	body = ctx(body, 1, derInt(nil, int64(cusec)))
	key := ctx(nil, 0, derInt(nil, int64(sub.KeyType)))
	key = ctx(key, 1, derTLV(nil, 0x04, sub.KeyValue))
	body = ctx(body, 2, derTLV(nil, 0x30, key))
	if seq != 0 { // optional; gokrb5 and MIT leave a zero out
		body = ctx(body, 3, derInt(nil, seq))
	}
	return derTLV(nil, 0x7b, derTLV(nil, 0x30, body))
}

// apRepDER is AP-REP ::= [APPLICATION 15] SEQUENCE { pvno [0] 5, msg-type
// [1] 15, enc-part [2] EncryptedData }.
func apRepDER(ed types.EncryptedData) []byte {
	var body []byte
	body = ctx(body, 0, derInt(nil, 5))
	body = ctx(body, 1, derInt(nil, 15))
	e := ctx(nil, 0, derInt(nil, int64(ed.EType)))
	if ed.KVNO != 0 {
		e = ctx(e, 1, derInt(nil, int64(ed.KVNO)))
	}
	e = ctx(e, 2, derTLV(nil, 0x04, ed.Cipher))
	body = ctx(body, 2, derTLV(nil, 0x30, e))
	return derTLV(nil, 0x6f, derTLV(nil, 0x30, body))
}
