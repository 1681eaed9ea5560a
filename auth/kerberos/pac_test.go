package kerberos

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// pacBuffer is one PAC_INFO_BUFFER's type and data.
type pacBuffer struct {
	typ  uint32
	data []byte
}

// splitPAC returns the buffers of a PACTYPE.
func splitPAC(t *testing.T, raw []byte) []pacBuffer {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(raw))
	var out []pacBuffer
	for i := range n {
		e := raw[8+16*i:]
		size, off := binary.LittleEndian.Uint32(e[4:]), binary.LittleEndian.Uint64(e[8:])
		out = append(out, pacBuffer{binary.LittleEndian.Uint32(e), raw[off : off+uint64(size)]})
	}
	return out
}

// joinPAC builds a PACTYPE (MS-PAC 2.3): the header, the buffer
// descriptors, and each buffer's data at an 8-byte aligned offset.
func joinPAC(bufs []pacBuffer) []byte {
	off := 8 + 16*len(bufs)
	head := binary.LittleEndian.AppendUint32(nil, uint32(len(bufs)))
	head = binary.LittleEndian.AppendUint32(head, 0)
	var data []byte
	for _, b := range bufs {
		at := off + len(data)
		head = binary.LittleEndian.AppendUint32(head, b.typ)
		head = binary.LittleEndian.AppendUint32(head, uint32(len(b.data)))
		head = binary.LittleEndian.AppendUint64(head, uint64(at))
		data = append(data, b.data...)
		for len(data)%8 != 0 {
			data = append(data, 0)
		}
	}
	return append(head, data...)
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// upnDNSInfo is an UPN_DNS_INFO (MS-PAC 2.10) with upn and dns.
func upnDNSInfo(upn, dns string) []byte {
	u, d := utf16le(upn), utf16le(dns)
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(u)))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(d)))
	b = binary.LittleEndian.AppendUint16(b, uint16(16+len(u)))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0) // padding to 16
	return append(append(b, u...), d...)
}

// TestPACUPNAndUnknownBuffers: UPN_DNS_INFO gives the UPN and DNS domain;
// an unknown buffer type and a second LOGON_INFO are ignored (MS-PAC 2.4);
// the server signature covers them all; a UPN whose offset points past its
// buffer is refused, not a panic.
func TestPACUPNAndUnknownBuffers(t *testing.T) {
	kt := testKeytab(t)
	key := serviceKey(t, kt, ETypeAES256)
	raw, err := os.ReadFile("testdata/ticketer.pac")
	if err != nil {
		t.Fatal(err)
	}
	bufs := splitPAC(t, raw)
	var logon []byte
	for _, b := range bufs {
		if b.typ == pacLogonInfo {
			logon = b.data
		}
	}
	bufs = append(bufs, pacBuffer{pacUPNDNSInfo, upnDNSInfo("alice@smbpipe.test", "SMBPIPE.TEST")},
		pacBuffer{0x7777, []byte("a buffer type nobody knows")}, pacBuffer{pacLogonInfo, logon[:8]})
	pac, p := signPAC(t, joinPAC(bufs), key)
	if p.UPN != "alice@smbpipe.test" || p.DNSDomain != "SMBPIPE.TEST" || p.User.String() != testDom+"-1105" {
		t.Fatalf("PAC %+v", p)
	}
	at := pacAuthTime(p)
	now := at.Add(time.Minute)
	tok, _, err := NewAPReq(mint(t, key, "alice", at, pac), InitOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := testAcceptor(kt, now).Accept(tok)
	if err != nil || res.PAC.UPN != "alice@smbpipe.test" {
		t.Fatalf("accept: %v %+v", err, res)
	}

	bad := upnDNSInfo("alice@smbpipe.test", "SMBPIPE.TEST")
	binary.LittleEndian.PutUint16(bad[2:], 0xfff0)
	bufs[len(bufs)-3] = pacBuffer{pacUPNDNSInfo, bad}
	if _, err := DecodePAC(joinPAC(bufs)); err == nil {
		t.Fatal("a UPN past its buffer decoded")
	}
}

// TestAcceptHostSPN: host/NAME is accepted as cifs/NAME is (a computer
// account's keytab often holds only host/), names compare
// case-insensitively, and a name not configured is another service.
func TestAcceptHostSPN(t *testing.T) {
	kt := keytab.New()
	if err := kt.AddEntry("host/Smbpipe.Example.Com", testRealm, "host password", time.Unix(1700000000, 0), 5, ETypeAES128); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	a := &Acceptor{Keytab: &Keytab{kt: kt}, Realm: testRealm, Names: []string{"smbpipe.example.com"}, Replay: &ReplayCache{}}
	for _, tc := range []struct {
		spn  string
		want error
	}{
		{"host/smbpipe.example.com", nil},
		{"HOST/SMBPIPE.example.com", nil},
		{"host/other.example.com", ErrWrongService},
		{"http/smbpipe.example.com", ErrWrongService},
	} {
		sname := types.NewPrincipalName(2, tc.spn)
		cname := types.NewPrincipalName(1, "HOST1$")
		// Mint under the keytab's key whatever the SPN says, so that only
		// the name decides.
		one := keytab.New()
		one.Entries = append(one.Entries, kt.Entries[0])
		one.Entries[0].Principal.Components = sname.NameString
		tkt, sk, err := messages.NewTicket(cname, testRealm, sname, testRealm, types.NewKrbFlags(), one, ETypeAES128, 5, now, now, now.Add(time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := NewAPReq(&ServiceTicket{Ticket: tkt, SessionKey: sk, CName: cname, CRealm: testRealm}, InitOptions{Mutual: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Accept(tok)
		switch {
		case tc.want == nil && (err != nil || res.Service != tc.spn || res.Client != "HOST1$@"+testRealm):
			t.Errorf("%s: %v %+v", tc.spn, err, res)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: %v, want %v", tc.spn, err, tc.want)
		}
	}
}

// TestAcceptOlderKeys: a ticket that does not decrypt with the key of its
// kvno, or names a kvno the keytab lacks, is tried with the service's
// other keys, newest first (MS-KILE 3.4.5), as after a password change not
// yet seen by every KDC; one under no key of the keytab is refused as
// modified, naming how many keys were tried.
func TestAcceptOlderKeys(t *testing.T) {
	kt := keytab.New()
	at := time.Unix(1700000000, 0)
	for v, pw := range map[uint8]string{3: "old password", 4: "new password"} {
		if err := kt.AddEntry("cifs/localhost", testRealm, pw, at, v, ETypeAES256); err != nil {
			t.Fatal(err)
		}
	}
	key := func(v int) types.EncryptionKey {
		k, _, err := kt.GetEncryptionKey(types.NewPrincipalName(2, "cifs/localhost"), testRealm, v, ETypeAES256)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now().UTC()
	a := testAcceptor(kt, now)
	for _, tc := range []struct {
		name string
		key  types.EncryptionKey
		kvno int
		ok   bool
	}{
		{"under the old key, naming the new kvno", key(3), 4, true},
		{"under the new key, naming a kvno the keytab lacks", key(4), 9, true},
		{"under the new key, naming the old kvno", key(4), 3, true},
		{"under no key of the keytab", types.EncryptionKey{KeyType: ETypeAES256, KeyValue: make([]byte, 32)}, 4, false},
	} {
		st := mint(t, tc.key, "alice", now.Add(-time.Minute), nil)
		st.Ticket.EncPart.KVNO = tc.kvno
		tok, _, err := NewAPReq(st, InitOptions{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Accept(tok)
		var ke *Error
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && (!errors.As(err, &ke) || ke.Code != ErrCodeModified || !errors.Is(err, ErrModified)):
			t.Errorf("%s: %v, want KRB_AP_ERR_MODIFIED", tc.name, err)
		case !tc.ok && !strings.Contains(ke.Reason, "2 tried"):
			t.Errorf("%s: reason %q", tc.name, ke.Reason)
		}
	}
}

// TestAcceptModifiedAuthenticator: an authenticator that does not decrypt
// with the ticket's session key is KRB_AP_ERR_MODIFIED (MS-KILE 3.4.5).
func TestAcceptModifiedAuthenticator(t *testing.T) {
	kt := testKeytab(t)
	now := time.Now().UTC()
	st := mint(t, serviceKey(t, kt, ETypeAES256), "alice", now.Add(-time.Minute), nil)
	wrong := types.EncryptionKey{KeyType: ETypeAES256, KeyValue: make([]byte, 32)} // not the ticket's session key
	tok, _, err := NewAPReq(&ServiceTicket{Ticket: st.Ticket, SessionKey: wrong, CName: st.CName, CRealm: st.CRealm},
		InitOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = testAcceptor(kt, now).Accept(tok)
	var ke *Error
	if !errors.As(err, &ke) || ke.Code != ErrCodeModified || !errors.Is(err, ErrBadAuth) {
		t.Fatalf("got %v", err)
	}
}
