package kerberos

import (
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
