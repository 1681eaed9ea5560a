package kerberos

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// TestRefusalNamesTheTicket: a refused AP-REQ's *Error carries what the
// audit record needs: the service and the ticket's enctype once the AP-REQ
// decodes, the client principal once the ticket decrypts.
func TestRefusalNamesTheTicket(t *testing.T) {
	kt := testKeytab(t)
	key := serviceKey(t, kt, ETypeAES256)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	refusal := func(tkt *ServiceTicket, clock time.Time) *Error {
		t.Helper()
		tok, _, err := NewAPReq(tkt, InitOptions{Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = testAcceptor(kt, now).Accept(tok)
		var ke *Error
		if !errors.As(err, &ke) {
			t.Fatalf("accepted or not an *Error: %v", err)
		}
		return ke
	}
	expired := refusal(mint(t, key, "alice", now.Add(-48*time.Hour), nil), now)
	if !errors.Is(expired, ErrExpired) || expired.Client != "alice@"+testRealm || expired.Service != "cifs/localhost" || expired.EType != ETypeAES256 {
		t.Errorf("expired ticket: %+v", expired)
	}
	skewed := refusal(mint(t, serviceKey(t, kt, ETypeRC4), "alice", now.Add(-time.Hour), nil), now.Add(-time.Hour))
	if !errors.Is(skewed, ErrSkew) || skewed.Client != "alice@"+testRealm || skewed.EType != ETypeRC4 {
		t.Errorf("skewed authenticator: %+v", skewed)
	}
	// A ticket that does not decrypt names the service it claims, never a
	// client.
	other := types.EncryptionKey{KeyType: ETypeAES256, KeyValue: make([]byte, 32)}
	wrong := refusal(mint(t, other, "alice", now.Add(-time.Minute), nil), now)
	if !errors.Is(wrong, ErrModified) || wrong.Client != "" || wrong.Service != "cifs/localhost" || wrong.EType != ETypeAES256 {
		t.Errorf("wrong key: %+v", wrong)
	}
}

// TestAcceptInvalidFlag: a ticket with the INVALID flag (RFC 4120 2.3: a
// postdated ticket the KDC has not validated) is refused with
// KRB_AP_ERR_TKT_NYV even when its start time has come.
func TestAcceptInvalidFlag(t *testing.T) {
	kt := testKeytab(t)
	key := serviceKey(t, kt, ETypeAES256)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tkt := mintWith(t, key, "alice", now.Add(-time.Minute), nil, func(p *messages.EncTicketPart) {
		types.SetFlag(&p.Flags, flagInvalid)
		types.SetFlag(&p.Flags, 6) // postdated
	})
	tok, _, err := NewAPReq(tkt, InitOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	_, err = testAcceptor(kt, now).Accept(tok)
	var ke *Error
	if !errors.Is(err, ErrNotYetValid) || !errors.As(err, &ke) || ke.Code != ErrCodeNotYetValid {
		t.Fatalf("ticket with the INVALID flag: %v", err)
	}
	// The same ticket without the flag is accepted.
	tok, _, _ = NewAPReq(mint(t, key, "alice", now.Add(-time.Minute), nil), InitOptions{Now: clock})
	if _, err := testAcceptor(kt, now).Accept(tok); err != nil {
		t.Fatalf("valid ticket: %v", err)
	}
}

// TestSkewKRBError: a refusal for clock skew carries the GSS-framed
// KRB-ERROR of MS-KILE 3.4.5 (KRB_AP_ERR_SKEW, the server's time, the
// service, KERB-ERROR-DATA KERB_AP_ERR_TYPE_SKEW_RECOVERY), which gokrb5
// decodes and ParseServerError reads; no other refusal has one.
func TestSkewKRBError(t *testing.T) {
	kt := testKeytab(t)
	key := serviceKey(t, kt, ETypeAES256)
	now := time.Date(2026, 12, 2, 12, 0, 0, 123456000, time.UTC)
	behind := now.Add(-20 * time.Minute)
	tok, _, err := NewAPReq(mint(t, key, "alice", now.Add(-time.Hour), nil), InitOptions{Mutual: true, Now: func() time.Time { return behind }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = testAcceptor(kt, now).Accept(tok)
	var ke *Error
	if !errors.As(err, &ke) || !errors.Is(err, ErrSkew) || ke.Reply == nil {
		t.Fatalf("skewed AP-REQ: %v", err)
	}
	se, ok := ParseServerError(ke.Reply)
	if !ok || se.Code != ErrCodeSkew || !se.ServerTime.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("ParseServerError: %v %+v", ok, se)
	}
	_, id, msg, err := unwrap(ke.Reply)
	if err != nil || id != tokKRBError {
		t.Fatalf("GSS framing: %v %#x", err, id)
	}
	var kerr messages.KRBError
	if err := kerr.Unmarshal(msg); err != nil {
		t.Fatal(err)
	}
	if kerr.ErrorCode != ErrCodeSkew || kerr.Realm != testRealm || kerr.SName.PrincipalNameString() != "cifs/localhost" ||
		!kerr.CTime.Equal(behind.Truncate(time.Second)) || !bytes.Equal(kerr.EData, []byte{0x30, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x02}) {
		t.Fatalf("KRB-ERROR %+v", kerr)
	}
	// Expired: no KRB-ERROR to send.
	tok, _, _ = NewAPReq(mint(t, key, "alice", now.Add(-48*time.Hour), nil), InitOptions{Now: func() time.Time { return now }})
	if _, err := testAcceptor(kt, now).Accept(tok); !errors.As(err, &ke) || ke.Reply != nil {
		t.Fatalf("expired: %v", err)
	}
	if _, ok := ParseServerError(tok); ok {
		t.Fatal("an AP-REQ parsed as a KRB-ERROR")
	}
}

// TestMechListMIC: the acceptor's and the initiator's RFC 4121 MIC tokens
// over the SPNEGO mechanism list verify on the other side, with and
// without an acceptor subkey, and a MIC over another list, with the other
// side's key usage, or altered, does not.
func TestMechListMIC(t *testing.T) {
	kt := testKeytab(t)
	key := serviceKey(t, kt, ETypeAES256)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	list := []byte{0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}
	for _, mutual := range []bool{true, false} {
		tok, st, err := NewAPReq(mint(t, key, "alice", now.Add(-time.Minute), nil), InitOptions{Mutual: mutual, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		res, err := testAcceptor(kt, now).Accept(tok)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Finish(res.Reply); err != nil {
			t.Fatal(err)
		}
		am, im := res.MechListMIC(list), st.MechListMIC(list)
		if am == nil || im == nil {
			t.Fatalf("mutual %v: no MIC", mutual)
		}
		if !st.VerifyMechListMIC(list, am) || !res.VerifyMechListMIC(list, im) {
			t.Fatalf("mutual %v: the MICs do not verify", mutual)
		}
		bad := append([]byte(nil), im...)
		bad[len(bad)-1] ^= 1
		if res.VerifyMechListMIC(list, bad) || res.VerifyMechListMIC(list[:5], im) || res.VerifyMechListMIC(list, am) || st.VerifyMechListMIC(list, im) {
			t.Fatalf("mutual %v: a wrong MIC verifies", mutual)
		}
	}
}
