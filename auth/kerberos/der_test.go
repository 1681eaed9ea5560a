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

// TestAPReqDER: the Authenticator and AP-REQ NewAPReq encodes are the bytes
// gokrb5 encodes for the same values.
func TestAPReqDER(t *testing.T) {
	kt := testKeytab(t)
	key := serviceKey(t, kt, ETypeAES256)
	r := mrand.New(mrand.NewPCG(4120, 14))
	for i := range 300 {
		st := mint(t, key, []string{"alice", "HOST1$", "a.very.long.user.name.with.dots"}[i%3], time.Unix(1700000000+r.Int64N(1e8), 0).UTC(), nil)
		if i%4 == 0 {
			st.CName = types.PrincipalName{NameType: 2, NameString: []string{"host", "client.example.com"}}
		}
		ct := time.Unix(1700000000+r.Int64N(1e8), 0).UTC()
		sub := make([]byte, 32)
		rand.Read(sub)
		ck := make([]byte, 24)
		rand.Read(ck)
		auth := types.Authenticator{AVNO: 5, CRealm: testRealm, CName: st.CName,
			Cksum: types.Checksum{CksumType: 0x8003, Checksum: ck}, Cusec: r.IntN(1_000_000), CTime: ct,
			SubKey: types.EncryptionKey{KeyType: ETypeAES256, KeyValue: sub}, SeqNumber: int64(r.Uint32() & 0x3fffffff)}
		if i%9 == 0 {
			auth.SeqNumber, auth.Cusec = 0, 0
		}
		want, err := auth.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if got := authenticatorDER(&auth); !bytes.Equal(got, want) {
			t.Fatalf("Authenticator:\n got %x\nwant %x", got, want)
		}
		ed, err := encryptEncPart(want, st.SessionKey, 11, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		req := messages.APReq{PVNO: 5, MsgType: 14, APOptions: types.NewKrbFlags(), Ticket: st.Ticket, EncryptedAuthenticator: ed}
		if i%2 == 0 {
			req.APOptions = asn1.BitString{Bytes: []byte{0x20, 0, 0, 0}, BitLength: 32}
		}
		wantReq, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		tb, err := st.ticketDER()
		if err != nil {
			t.Fatal(err)
		}
		if got := apReqDERBytes(req.APOptions.Bytes, tb, ed); !bytes.Equal(got, wantReq) {
			t.Fatalf("AP-REQ:\n got %x\nwant %x", got, wantReq)
		}
	}
}
