package kerberos_test

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/smbpipe/smbpipe/auth/kerberos"
	"github.com/smbpipe/smbpipe/internal/testkdc"
)

// kdcTicket gets a service ticket for spn as alice from the test KDC with
// the given ticket etypes.
func kdcTicket(t *testing.T, k *testkdc.KDC, spn string, etypes ...int32) *kerberos.ServiceTicket {
	t.Helper()
	cfg, err := config.Load(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	if len(etypes) > 0 {
		cfg.LibDefaults.DefaultTktEnctypeIDs = etypes
		cfg.LibDefaults.DefaultTGSEnctypeIDs = etypes
	}
	cl := krbclient.NewWithPassword(testkdc.Alice, testkdc.Realm, testkdc.AlicePassword, cfg, krbclient.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		t.Fatalf("login: %v", err)
	}
	tkt, key, err := cl.GetServiceTicket(spn)
	if err != nil {
		t.Fatalf("service ticket %s: %v", spn, err)
	}
	return &kerberos.ServiceTicket{Ticket: tkt, SessionKey: key, CName: cl.Credentials.CName(), CRealm: testkdc.Realm}
}

func acceptor(t *testing.T, k *testkdc.KDC) *kerberos.Acceptor {
	t.Helper()
	b, err := os.ReadFile(k.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := kerberos.ParseKeytab(b)
	if err != nil {
		t.Fatal(err)
	}
	return &kerberos.Acceptor{Keytab: kt, Realm: testkdc.Realm, Names: testkdc.ServiceNames, Replay: &kerberos.ReplayCache{}}
}

func TestAcceptKDCTickets(t *testing.T) {
	k := testkdc.Shared(t)
	a := acceptor(t, k)
	for _, et := range []int32{etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96} {
		t.Run(kerberos.ETypeName(et), func(t *testing.T) {
			tkt := kdcTicket(t, k, "cifs/localhost", et)
			for _, mutual := range []bool{true, false} {
				tok, st, err := kerberos.NewAPReq(tkt, kerberos.InitOptions{Mutual: mutual})
				if err != nil {
					t.Fatal(err)
				}
				res, err := a.Accept(tok)
				if err != nil {
					t.Fatalf("accept: %v", err)
				}
				if res.Client != "alice@"+testkdc.Realm || res.SessionKeyEType != et || res.Service != "cifs/localhost" || res.Mutual != mutual {
					t.Fatalf("result %+v", res)
				}
				if mutual == (res.Reply == nil) {
					t.Fatalf("mutual %v but reply %x", mutual, res.Reply)
				}
				key, err := st.Finish(res.Reply)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(key, res.SessionKey) || len(key) == 0 {
					t.Fatalf("session keys differ: client %x server %x", key, res.SessionKey)
				}
				// The same token again is a replay.
				if _, err := a.Accept(tok); !errors.Is(err, kerberos.ErrReplay) {
					t.Fatalf("replay: %v", err)
				}
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		tkt := kdcTicket(t, k, "cifs/"+testkdc.ServiceHost)
		skewed := func() time.Time { return time.Now().Add(-10 * time.Minute) }
		tok, _, _ := kerberos.NewAPReq(tkt, kerberos.InitOptions{Now: skewed})
		if _, err := a.Accept(tok); !errors.Is(err, kerberos.ErrSkew) {
			t.Errorf("skewed clock: %v", err)
		}
		other := kdcTicket(t, k, testkdc.OtherService)
		tok, _, _ = kerberos.NewAPReq(other, kerberos.InitOptions{})
		if _, err := a.Accept(tok); !errors.Is(err, kerberos.ErrWrongService) {
			t.Errorf("other service: %v", err)
		}
		// MIT without a PAC backend signs a PAC without LOGON_INFO.
		tok, _, _ = kerberos.NewAPReq(tkt, kerberos.InitOptions{})
		res, err := a.Accept(tok)
		if err != nil || res.PAC == nil || res.PAC.HasLogonInfo || res.PAC.ClientName != "alice" {
			t.Errorf("MIT ticket: %v, PAC %+v", err, res)
		}
	})
}
