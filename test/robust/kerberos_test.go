package robust

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/auth/kerberos"
	"github.com/smbpipe/smbpipe/auth/spnego"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/internal/testkdc"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestMalformedKerberos: a server with [kerberos] gets malformed Kerberos
// tokens in SESSION_SETUP (bare, GSS-framed, in SPNEGO's optimistic token):
// truncations and bit flips of a valid AP-REQ, lengths past the buffer,
// GSS tokens that are not AP-REQs, garbage under the Kerberos OIDs, a token
// padded near the size bound. Each is refused with STATUS_INVALID_PARAMETER or
// STATUS_LOGON_FAILURE (never success, never a panic), while a valid
// Kerberos logon and a well-behaved client on the same server keep
// working. No KDC: the keytab comes from a password and the ticket is
// minted with it.
func TestMalformedKerberos(t *testing.T) {
	kt, ktPath := testkdc.PasswordKeytab(t, "cifs/localhost", testkdc.Realm, "robust service password", 2)
	ts := start(t, testkdc.BobConfig(ktPath))
	good := testclient.Open(t, dial(t, ts.addr, alice), "echo")

	now := time.Now().UTC()
	st := testkdc.Mint(t, kt, "bob", "cifs/localhost", testkdc.Realm, 2, now, now.Add(time.Hour))
	krb := client.Config{Kerberos: &client.Kerberos{Ticket: st}, ServerName: "localhost"}
	testclient.Open(t, dial(t, ts.addr, krb), "echo") // the control: a valid ticket logs on

	apReq, _, err := kerberos.NewAPReq(st, kerberos.InitOptions{Mutual: true})
	if err != nil {
		t.Fatal(err)
	}
	bare := apReq[bytesAfterGSSHeader(apReq):]
	if bare[0] != 0x6e {
		t.Fatalf("the AP-REQ starts %#x", bare[0])
	}
	krb5OID := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	gss := func(tokID []byte, body []byte) []byte {
		in := append(append(append([]byte(nil), krb5OID...), tokID...), body...)
		return append([]byte{0x60, 0x82, byte(len(in) >> 8), byte(len(in))}, in...)
	}
	inSPNEGO := func(mech string, tok []byte) []byte {
		return spnego.EncodeInit(&spnego.Init{MechTypes: []string{mech, spnego.OIDNTLMSSP}, MechToken: tok})
	}
	cases := map[string][]byte{
		"GSS length past the buffer":     {0x60, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06, 0x09},
		"GSS header only":                {0x60, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02},
		"GSS AP-REP token id":            gss([]byte{0x02, 0x00}, bare),
		"GSS KRB-ERROR token id":         gss([]byte{0x03, 0x00}, bare),
		"GSS garbage AP-REQ":             gss([]byte{0x01, 0x00}, []byte{0x6e, 0x03, 0x02, 0x01, 0x05}),
		"bare AP-REQ tag, garbage":       {0x6e, 0x80, 0x00, 0x00},
		"bare AP-REQ, length past":       {0x6e, 0x84, 0x7f, 0xff, 0xff, 0xff},
		"SPNEGO MS-KRB5 garbage token":   inSPNEGO(spnego.OIDMSKRB5, []byte("not a kerberos token at all")),
		"SPNEGO KRB5 truncated AP-REQ":   inSPNEGO(spnego.OIDKRB5, apReq[:len(apReq)/2]),
		"SPNEGO KRB5 bare AP-REQ cut":    inSPNEGO(spnego.OIDKRB5, bare[:40]),
		"AP-REQ padded to 65,000 bytes":  gss([]byte{0x01, 0x00}, append(append([]byte(nil), bare...), make([]byte, 65000-len(bare))...)),
		"AP-REQ with trailing bytes":     append(append([]byte(nil), apReq...), 0, 0, 0, 0),
		"AP-REQ truncated by one byte":   apReq[:len(apReq)-1],
		"bare AP-REQ truncated to 100 B": bare[:100],
	}
	// Bit flips from the ticket's ciphertext on: the fields before it
	// (AP options, ticket version) are not authenticated, and a flip of
	// the mutual-required option leaves a valid AP-REQ.
	from := bytes.Index(apReq, st.Ticket.EncPart.Cipher)
	if from < 0 {
		t.Fatal("the ticket's ciphertext is not in the AP-REQ")
	}
	rng := rand.New(rand.NewPCG(14, 88))
	for i := range 48 {
		m := append([]byte(nil), apReq...)
		for range 1 + i%4 {
			m[from+rng.IntN(len(m)-from)] ^= byte(1 << rng.IntN(8))
		}
		cases[fmt.Sprintf("AP-REQ with flipped bits %02d", i)] = m
	}
	for i := range 16 {
		cases[fmt.Sprintf("AP-REQ cut at %d", i*len(apReq)/16)] = apReq[:i*len(apReq)/16+1]
	}
	n := 0
	for name, tok := range cases {
		c := negotiated(t, ts.addr, client.Config{ServerName: "localhost"})
		stt := raw(t, c, &client.RawRequest{Header: smb2.Header{Command: smb2.CmdSessionSetup},
			Body: (&smb2.SessionSetupRequest{SecurityMode: uint8(smb2.SigningEnabled), SecurityBuffer: tok}).Append(nil)})
		switch stt {
		case ntstatus.InvalidParameter, ntstatus.LogonFailure:
		default:
			t.Errorf("%s: %v, want STATUS_INVALID_PARAMETER or STATUS_LOGON_FAILURE", name, stt)
		}
		c.Close()
		if n++; n%16 == 0 {
			transact(t, good, n)
		}
	}
	transact(t, good, n)
	// The refusals were audited as Kerberos logons, with the reason.
	if l := ts.log.String(); !strings.Contains(l, "auth=kerberos") || !strings.Contains(l, "status=STATUS_INVALID_PARAMETER") {
		t.Errorf("no Kerberos refusal in the audit log")
	}
	// And Kerberos still works after all that.
	testclient.Open(t, dial(t, ts.addr, krb), "echo")
}

// bytesAfterGSSHeader returns the offset of the Kerberos message in a
// GSS-framed token: [APPLICATION 0] length, OID, 2-byte token id.
func bytesAfterGSSHeader(tok []byte) int {
	off := 2
	if tok[1]&0x80 != 0 {
		off += int(tok[1] & 0x7f)
	}
	return off + 2 + int(tok[off+1]) + 2
}
