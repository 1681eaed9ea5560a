package kerberos

import (
	"encoding/binary"
	"errors"
	"os"
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
