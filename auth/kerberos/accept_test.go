package kerberos

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/smbpipe/smbpipe/security"
)

// These tests need no KDC: the service keytab is derived from a fixed
// password, tickets are minted here, and the PAC of testdata/ticketer.pac
// is one impacket's ticketer.py minted (user RID 1105 in
// S-1-5-21-1111111111-2222222222-3333333333, groups 512, 513, 1105,
// ExtraSid S-1-18-1), re-signed with the test key.

const (
	testRealm = "SMBPIPE.TEST"
	testKVNO  = 3
	testDom   = "S-1-5-21-1111111111-2222222222-3333333333"
)

func testKeytab(t testing.TB) *keytab.Keytab {
	t.Helper()
	kt := keytab.New()
	for _, et := range []int32{ETypeAES256, ETypeAES128, ETypeRC4} {
		if err := kt.AddEntry("cifs/localhost", testRealm, "service password", time.Unix(1700000000, 0), testKVNO, et); err != nil {
			t.Fatal(err)
		}
	}
	return kt
}

func serviceKey(t testing.TB, kt *keytab.Keytab, et int32) types.EncryptionKey {
	t.Helper()
	k, _, err := kt.GetEncryptionKey(types.NewPrincipalName(2, "cifs/localhost"), testRealm, testKVNO, et)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ticketerPAC returns the stored PAC re-signed with key (server signature;
// the KDC signature is left as it is, as a member server cannot check it).
func ticketerPAC(t testing.TB, key types.EncryptionKey) ([]byte, *PAC) {
	t.Helper()
	raw, err := os.ReadFile("testdata/ticketer.pac")
	if err != nil {
		t.Fatal(err)
	}
	return signPAC(t, raw, key)
}

// signPAC returns raw with its server signature made with key.
func signPAC(t testing.TB, raw []byte, key types.EncryptionKey) ([]byte, *PAC) {
	t.Helper()
	p, err := DecodePAC(raw)
	if err != nil {
		t.Fatal(err)
	}
	ct := map[int32]int32{ETypeAES128: 15, ETypeAES256: 16, ETypeRC4: -138}[key.KeyType]
	if p.serverType != ct {
		t.Fatalf("stored PAC's server signature type %d, want %d", p.serverType, ct)
	}
	e, err := crypto.GetChksumEtype(ct)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := e.GetChecksumHash(key.KeyValue, p.signedData(), keyusage.KERB_NON_KERB_CKSUM_SALT)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), raw...)
	copy(out[p.serverOff:p.serverOff+len(p.serverSig)], sum)
	p2, err := DecodePAC(out)
	if err != nil {
		t.Fatal(err)
	}
	return out, p2
}

// mint makes a ticket for cifs/localhost as cname, encrypted with key,
// valid from authTime for a day, carrying pac (nil: none).
func mint(t testing.TB, key types.EncryptionKey, cname string, authTime time.Time, pac []byte) *ServiceTicket {
	t.Helper()
	return mintWith(t, key, cname, authTime, pac, nil)
}

// mintWith is mint with edit applied to the EncTicketPart before it is
// encrypted (nil: none).
func mintWith(t testing.TB, key types.EncryptionKey, cname string, authTime time.Time, pac []byte, edit func(*messages.EncTicketPart)) *ServiceTicket {
	t.Helper()
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		t.Fatal(err)
	}
	sk := make([]byte, et.GetKeyByteSize())
	rand.Read(sk)
	sess := types.EncryptionKey{KeyType: key.KeyType, KeyValue: sk}
	cn := types.NewPrincipalName(1, cname)
	part := messages.EncTicketPart{
		Flags: types.NewKrbFlags(), Key: sess, CRealm: testRealm, CName: cn,
		Transited: messages.TransitedEncoding{TRType: 1, Contents: []byte{}},
		AuthTime:  authTime, StartTime: authTime, EndTime: authTime.Add(24 * time.Hour), RenewTill: authTime.Add(24 * time.Hour),
	}
	if pac != nil {
		inner, err := asn1.Marshal(types.AuthorizationData{{ADType: 128, ADData: pac}})
		if err != nil {
			t.Fatal(err)
		}
		part.AuthorizationData = types.AuthorizationData{{ADType: 1, ADData: inner}}
	}
	if edit != nil {
		edit(&part)
	}
	b, err := asn1.Marshal(part)
	if err != nil {
		t.Fatal(err)
	}
	b = asn1tools.AddASNAppTag(b, asnAppTag.EncTicketPart)
	ed, err := crypto.GetEncryptedData(b, key, keyusage.KDC_REP_TICKET, testKVNO)
	if err != nil {
		t.Fatal(err)
	}
	tkt := messages.Ticket{TktVNO: 5, Realm: testRealm, SName: types.NewPrincipalName(2, "cifs/localhost"), EncPart: ed}
	return &ServiceTicket{Ticket: tkt, SessionKey: sess, CName: cn, CRealm: testRealm}
}

// pacAuthTime is the authtime PAC_CLIENT_INFO of p names.
func pacAuthTime(p *PAC) time.Time {
	return time.Unix(int64(p.ClientTime/10_000_000)-11644473600, 0).UTC()
}

func testAcceptor(kt *keytab.Keytab, now time.Time) *Acceptor {
	return &Acceptor{Keytab: &Keytab{kt: kt}, Realm: testRealm, Names: []string{"localhost"}, Replay: &ReplayCache{},
		Now: func() time.Time { return now }}
}

// TestAcceptPAC: the groups of a ticketer.py PAC reach the result: the user
// SID, Domain Admins, Domain Users, the asserted-identity SID; a PAC whose
// server signature is wrong, signed with a checksum of another key type, or
// naming another client is refused.
func TestAcceptPAC(t *testing.T) {
	kt := testKeytab(t)
	key := serviceKey(t, kt, ETypeAES256)
	pac, p := ticketerPAC(t, key)
	at := pacAuthTime(p)
	now := at.Add(time.Minute)
	tok, st, err := NewAPReq(mint(t, key, "alice", at, pac), InitOptions{Mutual: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := testAcceptor(kt, now).Accept(tok)
	if err != nil {
		t.Fatal(err)
	}
	if res.PAC == nil || !res.PAC.HasLogonInfo || res.PAC.User.String() != testDom+"-1105" || res.Client != "alice@"+testRealm {
		t.Fatalf("result %+v PAC %+v", res, res.PAC)
	}
	for _, want := range []string{testDom + "-512", testDom + "-513", "S-1-18-1"} {
		x, _ := security.ParseSID(want)
		found := false
		for _, g := range res.PAC.Groups {
			found = found || g == x
		}
		if !found {
			t.Errorf("PAC groups %v lack %s", res.PAC.Groups, want)
		}
	}
	if k, err := st.Finish(res.Reply); err != nil || !bytes.Equal(k, res.SessionKey) {
		t.Fatalf("mutual: %v", err)
	}

	refuse := func(name string, tkt *ServiceTicket, want error) {
		t.Helper()
		tok, _, err := NewAPReq(tkt, InitOptions{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := testAcceptor(kt, now).Accept(tok); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	bad := append([]byte(nil), pac...)
	bad[p.serverOff] ^= 1
	refuse("server signature", mint(t, key, "alice", at, bad), ErrPAC)
	// The same PAC in a ticket under the RC4 key: the AES checksum type
	// does not belong to the key.
	refuse("checksum type", mint(t, serviceKey(t, kt, ETypeRC4), "alice", at, pac), ErrPAC)
	refuse("client name", mint(t, key, "bob", at, pac), ErrPAC)
	refuse("auth time", mint(t, key, "alice", at.Add(-time.Hour), pac), ErrPAC)
	// A ticket without a PAC is accepted (the server maps its principal).
	tok, _, _ = NewAPReq(mint(t, key, "alice", at, nil), InitOptions{Now: func() time.Time { return now }})
	if res, err := testAcceptor(kt, now).Accept(tok); err != nil || res.PAC != nil {
		t.Fatalf("no PAC: %v %+v", err, res)
	}
}

// TestGSSFraming: wrap and unwrap are inverse for any message, and the
// two Kerberos OIDs and a bare AP-REQ are told apart.
func TestGSSFraming(t *testing.T) {
	for _, n := range []int{0, 1, 0x7f, 0x80, 0xff, 0x100, 0xfff0, 0x10000} {
		msg := append(appendLength([]byte{0x6e}, n), bytes.Repeat([]byte{0x30}, n)...)
		mech, tok, got, err := unwrap(wrap(nil, tokAPReq, msg))
		if _, _, _, err := unwrap(wrap(nil, tokAPReq, append(msg, 0))); err == nil {
			t.Errorf("%d bytes: a byte after the AP-REQ accepted", n)
		}
		if len(msg)+17 > maxToken {
			if err == nil {
				t.Errorf("%d bytes: a token over maxToken unwrapped", n)
			}
			continue
		}
		if err != nil || mech != MechKRB5 || tok != tokAPReq || !bytes.Equal(got, msg) {
			t.Errorf("%d bytes: %v %v %#x", n, err, mech, tok)
		}
	}
	if !IsToken([]byte{0x6e, 0}) || IsToken([]byte("NTLMSSP\x00")) || IsToken(nil) {
		t.Error("IsToken")
	}
}

// fuzzSeeds are AP-REQs the fuzz targets start from: with a PAC (GSS
// framed and bare), without, and an AP-REP.
func fuzzSeeds(f *testing.F) (*keytab.Keytab, time.Time, [][]byte) {
	kt := testKeytab(f)
	key := serviceKey(f, kt, ETypeAES256)
	pac, p := ticketerPAC(f, key)
	at := pacAuthTime(p)
	now := at.Add(time.Minute)
	clock := func() time.Time { return now }
	var seeds [][]byte
	withPAC, _, err := NewAPReq(mint(f, key, "alice", at, pac), InitOptions{Mutual: true, Now: clock})
	if err != nil {
		f.Fatal(err)
	}
	noPAC, _, _ := NewAPReq(mint(f, serviceKey(f, kt, ETypeRC4), "alice", at, nil), InitOptions{Now: clock})
	_, _, bare, _ := unwrap(withPAC)
	seeds = append(seeds, withPAC, noPAC, bare)
	res, err := testAcceptor(kt, now).Accept(withPAC)
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, res.Reply, pac)
	return kt, now, seeds
}

// FuzzAccept: no token panics the acceptor or passes without a session
// key; every refusal is an *Error with a reason.
func FuzzAccept(f *testing.F) {
	kt, now, seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := testAcceptor(kt, now).Accept(b)
		if err != nil {
			var ke *Error
			if !errors.As(err, &ke) || ke.Reason == "" {
				t.Fatalf("refusal %v is not an *Error with a reason", err)
			}
			return
		}
		if len(res.SessionKey) == 0 || res.Client == "" {
			t.Fatalf("accepted without a session key or client: %+v", res)
		}
	})
}

// FuzzDecodePAC: the PAC decoder never panics, bounds what it returns, and
// what it accepts can be checked for a signature without panicking.
func FuzzDecodePAC(f *testing.F) {
	kt := testKeytab(f)
	key := serviceKey(f, kt, ETypeAES256)
	pac, _ := ticketerPAC(f, key)
	f.Add(pac)
	f.Add(pac[:len(pac)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePAC(b)
		if err != nil {
			return
		}
		if len(p.Groups) > 3*maxPACGroups+1 {
			t.Fatalf("%d groups", len(p.Groups))
		}
		_ = p.verifyServerSignature(key)
		_ = p.checkClient([]string{"alice"}, time.Unix(0, 0))
	})
}

// FuzzFinish: a client checking a server's AP-REP never panics, and takes
// a key only from a reply that decrypts with the session key.
func FuzzFinish(f *testing.F) {
	kt, now, seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	key := serviceKey(f, kt, ETypeAES256)
	tkt := mint(f, key, "alice", now.Add(-time.Minute), nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, st, err := NewAPReq(tkt, InitOptions{Mutual: true, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if k, err := st.Finish(b); err == nil && len(k) == 0 {
			t.Fatal("an AP-REP accepted without a key")
		}
	})
}
