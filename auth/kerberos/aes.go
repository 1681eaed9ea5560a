package kerberos

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha1"
	"errors"
	"io"
	"sync"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc3961"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc3962"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The AES encryption types (RFC 3962) the acceptor decrypts and encrypts
// itself rather than through gokrb5's DecryptMessage and EncryptMessage:
// those derive Ke and Ki (RFC 3961 5.1) on every call with a bit-by-bit
// n-fold of the usage constant, which was a third of a Kerberos logon's
// server time. Here the n-folded constants are computed once per key usage
// (they do not depend on the key) and a derivation is one or two AES block
// encryptions; the cipher (AES-CTS) is gokrb5's, the integrity check
// HMAC-SHA1-96 as RFC 3962 specifies. RC4-HMAC stays with gokrb5.

const (
	aesBlock   = 16
	aesMACSize = 12 // HMAC-SHA1-96
)

// nfolds caches n-fold(usage constant, 128) by the 5-byte constant
// (usage number and the Ke 0xAA / Ki 0x55 / Kc 0x99 byte).
var nfolds sync.Map // [5]byte -> []byte

func nfoldConstant(usage uint32, kind byte) []byte {
	c := [5]byte{byte(usage >> 24), byte(usage >> 16), byte(usage >> 8), byte(usage), kind}
	if v, ok := nfolds.Load(c); ok {
		return v.([]byte)
	}
	v := rfc3961.Nfold(c[:], aesBlock*8)
	nfolds.Store(c, v)
	return v
}

// aesDerive is DK(key, usage|kind) for AES (RFC 3961 5.1, RFC 3962:
// random-to-key is the identity): AES-encrypt the n-folded constant, and
// again the result, until the key's length is filled.
func aesDerive(key []byte, usage uint32, kind byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 32)
	in := nfoldConstant(usage, kind)
	var blk [aesBlock]byte
	for len(out) < len(key) {
		b.Encrypt(blk[:], in)
		out = append(out, blk[:]...)
		in = blk[:]
	}
	return out[:len(key)], nil
}

var errIntegrity = errors.New("kerberos: integrity check failed")

// isAES reports whether etype is one this file handles.
func isAES(etype int32) bool { return etype == ETypeAES128 || etype == ETypeAES256 }

// decryptEncPart decrypts an EncryptedData with key for usage: the AES
// fast path, or gokrb5 for other encryption types.
func decryptEncPart(ed types.EncryptedData, key types.EncryptionKey, usage uint32) ([]byte, error) {
	if !isAES(key.KeyType) || ed.EType != key.KeyType {
		return crypto.DecryptEncPart(ed, key, usage)
	}
	ct := ed.Cipher
	if len(ct) < aesBlock+aesMACSize {
		return nil, errIntegrity
	}
	e, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, err
	}
	ke, err := aesDerive(key.KeyValue, usage, 0xAA)
	if err != nil {
		return nil, err
	}
	ki, err := aesDerive(key.KeyValue, usage, 0x55)
	if err != nil {
		return nil, err
	}
	pt, err := rfc3962.DecryptData(ke, ct[:len(ct)-aesMACSize], e)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha1.New, ki)
	m.Write(pt)
	if !hmac.Equal(m.Sum(nil)[:aesMACSize], ct[len(ct)-aesMACSize:]) {
		return nil, errIntegrity
	}
	return pt[aesBlock:], nil // without the confounder
}

// encryptEncPart encrypts msg with key for usage (kvno 0), reading the
// confounder from rnd: the AES fast path, or gokrb5 for other types.
func encryptEncPart(msg []byte, key types.EncryptionKey, usage uint32, rnd io.Reader) (types.EncryptedData, error) {
	if !isAES(key.KeyType) {
		return crypto.GetEncryptedData(msg, key, usage, 0)
	}
	e, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return types.EncryptedData{}, err
	}
	ke, err := aesDerive(key.KeyValue, usage, 0xAA)
	if err != nil {
		return types.EncryptedData{}, err
	}
	ki, err := aesDerive(key.KeyValue, usage, 0x55)
	if err != nil {
		return types.EncryptedData{}, err
	}
	pt := make([]byte, aesBlock, aesBlock+len(msg))
	if _, err := io.ReadFull(rnd, pt); err != nil {
		return types.EncryptedData{}, err
	}
	pt = append(pt, msg...)
	_, ct, err := rfc3962.EncryptData(ke, pt, e)
	if err != nil {
		return types.EncryptedData{}, err
	}
	m := hmac.New(sha1.New, ki)
	m.Write(pt)
	ct = append(ct, m.Sum(nil)[:aesMACSize]...)
	return types.EncryptedData{EType: key.KeyType, Cipher: ct}, nil
}

// aesChecksum is the keyed checksum HMAC-SHA1-96-AES (RFC 3962) of data
// with key for usage: HMAC-SHA1 under Kc = DK(key, usage|0x99), truncated.
func aesChecksum(key []byte, usage uint32, data []byte) ([]byte, error) {
	kc, err := aesDerive(key, usage, 0x99)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha1.New, kc)
	m.Write(data)
	return m.Sum(nil)[:aesMACSize], nil
}
