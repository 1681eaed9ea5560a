package kerberos

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// TestAPRepDER: the AP-REP and EncAPRepPart the acceptor encodes are the
// bytes gokrb5 encodes for the same values, and gokrb5 decodes them back.
func TestAPRepDER(t *testing.T) {
	r := mrand.New(mrand.NewPCG(4120, 5))
	for i := range 500 {
		ct := time.Unix(r.Int64N(4_000_000_000), 0).UTC()
		cusec := r.IntN(1_000_000)
		if i%7 == 0 {
			cusec = 0
		}
		et := []int32{ETypeAES128, ETypeAES256, ETypeRC4}[i%3]
		kv := make([]byte, []int{16, 32, 16}[i%3])
		rand.Read(kv)
		sub := types.EncryptionKey{KeyType: et, KeyValue: kv}
		seq := int64(r.Uint32() & 0x3fffffff)
		if i%11 == 0 {
			seq = int64([]uint32{0, 127, 128, 255, 256, 0x3fffffff}[i%6])
		}
		want, err := asn1.Marshal(messages.EncAPRepPart{CTime: ct, Cusec: cusec, Subkey: sub, SequenceNumber: seq})
		if err != nil {
			t.Fatal(err)
		}
		want = asn1tools.AddASNAppTag(want, asnAppTag.EncAPRepPart)
		got := encAPRepPartDER(ct, cusec, sub, seq)
		if !bytes.Equal(got, want) {
			t.Fatalf("EncAPRepPart %v %d %d:\n got %x\nwant %x", ct, cusec, seq, got, want)
		}
		var back messages.EncAPRepPart
		if err := back.Unmarshal(got); err != nil || !back.CTime.Equal(ct) || back.Cusec != cusec || back.SequenceNumber != seq || !bytes.Equal(back.Subkey.KeyValue, kv) {
			t.Fatalf("EncAPRepPart does not decode back: %v %+v", err, back)
		}
		cipher := make([]byte, 40+r.IntN(300))
		rand.Read(cipher)
		ed := types.EncryptedData{EType: et, Cipher: cipher}
		if i%5 == 0 {
			ed.KVNO = r.IntN(300)
		}
		w, err := asn1.Marshal(messages.APRep{PVNO: 5, MsgType: 15, EncPart: ed})
		if err != nil {
			t.Fatal(err)
		}
		w = asn1tools.AddASNAppTag(w, asnAppTag.APREP)
		if g := apRepDER(ed); !bytes.Equal(g, w) {
			t.Fatalf("AP-REP:\n got %x\nwant %x", g, w)
		}
	}
}
