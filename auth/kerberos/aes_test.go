package kerberos

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/common"
	"github.com/jcmturner/gokrb5/v8/types"
)

// TestAESFastPath: the acceptor's own AES key derivation, decryption,
// encryption and checksum agree with gokrb5's for both AES types, several
// key usages and message lengths (below, at and above a block), and a
// flipped bit fails the integrity check.
func TestAESFastPath(t *testing.T) {
	for _, et := range []int32{ETypeAES128, ETypeAES256} {
		e, err := crypto.GetEtype(et)
		if err != nil {
			t.Fatal(err)
		}
		kb := make([]byte, e.GetKeyByteSize())
		rand.Read(kb)
		key := types.EncryptionKey{KeyType: et, KeyValue: kb}
		for _, usage := range []uint32{2, 11, 12, 17, 1023} {
			for kind, want := range map[byte][]byte{0xAA: common.GetUsageKe(usage), 0x55: common.GetUsageKi(usage), 0x99: common.GetUsageKc(usage)} {
				a, err := aesDerive(kb, usage, kind)
				b, err2 := e.DeriveKey(kb, want)
				if err != nil || err2 != nil || !bytes.Equal(a, b) {
					t.Fatalf("%s usage %d kind %#x: derived %x, gokrb5 %x", ETypeName(et), usage, kind, a, b)
				}
			}
			for _, n := range []int{1, 15, 16, 17, 100, 1000} {
				msg := make([]byte, n)
				rand.Read(msg)
				ed, err := crypto.GetEncryptedData(msg, key, usage, 0)
				if err != nil {
					t.Fatal(err)
				}
				got, err := decryptEncPart(ed, key, usage)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("%s usage %d, %d bytes: decrypting gokrb5's: %v", ETypeName(et), usage, n, err)
				}
				ours, err := encryptEncPart(msg, key, usage, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				back, err := crypto.DecryptEncPart(ours, key, usage)
				if err != nil || !bytes.Equal(back, msg) {
					t.Fatalf("%s usage %d, %d bytes: gokrb5 decrypting ours: %v", ETypeName(et), usage, n, err)
				}
				ours.Cipher[len(ours.Cipher)/2] ^= 1
				if _, err := decryptEncPart(ours, key, usage); err == nil {
					t.Fatalf("%s: a flipped bit decrypted", ETypeName(et))
				}
				sum, err := aesChecksum(kb, usage, msg)
				want, err2 := e.GetChecksumHash(kb, msg, usage)
				if err != nil || err2 != nil || !bytes.Equal(sum, want) {
					t.Fatalf("%s checksum %x, gokrb5 %x", ETypeName(et), sum, want)
				}
			}
		}
		if _, err := decryptEncPart(types.EncryptedData{EType: et, Cipher: make([]byte, 27)}, key, 2); err == nil {
			t.Fatal("a ciphertext shorter than a block and a MAC decrypted")
		}
	}
}

func BenchmarkAccept(b *testing.B) {
	kt := testKeytab(b)
	key := serviceKey(b, kt, ETypeAES256)
	pac, p := ticketerPAC(b, key)
	at := pacAuthTime(p)
	tkt := mint(b, key, "alice", at, pac)
	a := testAcceptor(kt, at.Add(time.Minute))
	a.Replay = &ReplayCache{Max: 1 << 30}
	toks := make([][]byte, 0, 1<<16)
	for b.Loop() {
		b.StopTimer()
		if len(toks) == 0 {
			for range cap(toks) {
				tok, _, _ := NewAPReq(tkt, InitOptions{Mutual: true, Now: func() time.Time { return at.Add(time.Minute) }})
				toks = append(toks, tok)
			}
		}
		tok := toks[len(toks)-1]
		toks = toks[:len(toks)-1]
		b.StartTimer()
		if _, err := a.Accept(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecryptAES: any ciphertext, of any length, is refused or decrypts
// without a panic; only one made with the key passes the integrity check.
func FuzzDecryptAES(f *testing.F) {
	key := types.EncryptionKey{KeyType: ETypeAES256, KeyValue: bytes.Repeat([]byte{7}, 32)}
	good, err := encryptEncPart([]byte("an authenticator"), key, 11, rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Cipher)
	f.Add(good.Cipher[:28])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, ct []byte) {
		pt, err := decryptEncPart(types.EncryptedData{EType: ETypeAES256, Cipher: ct}, key, 11)
		if err == nil && !bytes.Equal(ct, good.Cipher) && len(pt) > 0 && string(pt) != "an authenticator" {
			t.Fatalf("a forged ciphertext passed the integrity check: %x", ct)
		}
	})
}
