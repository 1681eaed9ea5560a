package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/smbpipe/smbpipe/auth/kerberos"
	"github.com/smbpipe/smbpipe/auth/spnego"
	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
)

// Kerberos makes a Conn log on with Kerberos (MS-KILE through SPNEGO, the
// way Windows' client does: MS-KRB5 first, an AP-REQ asking for mutual
// authentication) instead of NTLM. The ticket comes from exactly one of
// Ticket, CCache, Keytab or Password.
type Kerberos struct {
	// Principal is the client, "name@REALM" (Password and Keytab; a
	// CCache names its own).
	Principal string
	// Password gets a TGT and the service ticket from the realm's KDC.
	Password string
	// Keytab is the path of a keytab holding Principal's keys.
	Keytab string
	// CCache is the path of a credential cache (kinit's, as KRB5CCNAME
	// names it without "FILE:"). A service ticket for the SPN in it is used
	// as is; otherwise its TGT gets one from the KDC.
	CCache string
	// Ticket is a service ticket obtained elsewhere (benchmarks, tests).
	Ticket *kerberos.ServiceTicket

	// Config is the krb5.conf path; "" means $KRB5_CONFIG, else
	// /etc/krb5.conf. Only read when a KDC must be asked.
	Config string
	// SPN is the service principal; "" means cifs/<ServerName>.
	SPN string
	// NoMutual skips mutual authentication. By default the client asks for
	// an AP-REP and fails the logon when the server's is missing or wrong.
	NoMutual bool
	// Now is the clock of the authenticator (nil: time.Now); tests skew it.
	Now func() time.Time
	// CorrectSkew takes up a server's clock skew recovery (MS-KILE 3.4.5)
	// as Windows and Heimdal clients do: when the server answers the
	// AP-REQ with KRB_AP_ERR_SKEW and its time, the client sends one new
	// AP-REQ with its clock moved by the difference. Without it, that
	// answer fails the logon with STATUS_TIME_DIFFERENCE_AT_DC, as with
	// MIT's client.
	CorrectSkew bool
}

// KerberosCCacheFromEnv returns the credential cache KRB5CCNAME names, as
// smbclient -k and kinit find it ("FILE:" stripped); other cache types are
// refused.
func KerberosCCacheFromEnv() (string, error) {
	v := os.Getenv("KRB5CCNAME")
	if v == "" {
		return fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid()), nil
	}
	if p, ok := strings.CutPrefix(v, "FILE:"); ok {
		return p, nil
	}
	if strings.Contains(v, ":") && !strings.HasPrefix(v, "/") {
		return "", fmt.Errorf("client: KRB5CCNAME %q: only FILE: credential caches are supported", v)
	}
	return v, nil
}

// ServiceTicket obtains the ticket k would log on to spn with (from
// Ticket, the cache, or the KDC), so that a caller making many logons
// (a benchmark) can get it once and set Ticket.
func (k *Kerberos) ServiceTicket(spn string) (*kerberos.ServiceTicket, error) {
	return k.serviceTicket(spn)
}

// serviceTicket obtains the ticket for spn.
func (k *Kerberos) serviceTicket(spn string) (*kerberos.ServiceTicket, error) {
	if k.Ticket != nil {
		return k.Ticket, nil
	}
	loadConf := func() (*krbconfig.Config, error) {
		p := k.Config
		if p == "" {
			p = os.Getenv("KRB5_CONFIG")
		}
		if p == "" {
			p = "/etc/krb5.conf"
		}
		c, err := krbconfig.Load(p)
		if err != nil {
			return nil, fmt.Errorf("client: kerberos: krb5.conf %s: %w", p, err)
		}
		return c, nil
	}
	var cl *krbclient.Client
	switch {
	case k.CCache != "":
		cc, err := credentials.LoadCCache(k.CCache)
		if err != nil {
			return nil, fmt.Errorf("client: kerberos: credential cache %s: %w", k.CCache, err)
		}
		// MIT caches hold configuration entries (realm X-CACHECONF:) that
		// are not tickets; gokrb5 chokes on them, so they are dropped.
		creds := cc.Credentials[:0:0]
		for _, c := range cc.Credentials {
			if !strings.HasPrefix(c.Server.Realm, "X-CACHECONF:") {
				creds = append(creds, c)
			}
		}
		cc.Credentials = creds
		want := types.NewPrincipalName(2, spn) // KRB_NT_SRV_INST
		for _, c := range creds {
			if c.Server.PrincipalName.Equal(want) && time.Now().Before(c.EndTime) {
				var t messages.Ticket
				if err := t.Unmarshal(c.Ticket); err != nil {
					return nil, fmt.Errorf("client: kerberos: ticket for %s in %s: %w", spn, k.CCache, err)
				}
				return &kerberos.ServiceTicket{Ticket: t, SessionKey: c.Key, CName: c.Client.PrincipalName, CRealm: c.Client.Realm}, nil
			}
		}
		conf, err := loadConf()
		if err != nil {
			return nil, err
		}
		if cl, err = krbclient.NewFromCCache(cc, conf, krbclient.DisablePAFXFAST(true)); err != nil {
			return nil, fmt.Errorf("client: kerberos: credential cache %s: %w", k.CCache, err)
		}
	case k.Keytab != "" || k.Password != "":
		name, realm, ok := strings.Cut(k.Principal, "@")
		if !ok || name == "" || realm == "" {
			return nil, fmt.Errorf("client: kerberos: principal %q: want name@REALM", k.Principal)
		}
		conf, err := loadConf()
		if err != nil {
			return nil, err
		}
		if k.Keytab != "" {
			kt, err := keytab.Load(k.Keytab)
			if err != nil {
				return nil, fmt.Errorf("client: kerberos: keytab %s: %w", k.Keytab, err)
			}
			cl = krbclient.NewWithKeytab(name, realm, kt, conf, krbclient.DisablePAFXFAST(true))
		} else {
			cl = krbclient.NewWithPassword(name, realm, k.Password, conf, krbclient.DisablePAFXFAST(true))
		}
		if err := cl.Login(); err != nil {
			return nil, fmt.Errorf("client: kerberos: %s: %w", k.Principal, err)
		}
	default:
		return nil, errors.New("client: kerberos: no credentials (Ticket, CCache, Keytab or Password)")
	}
	defer cl.Destroy()
	t, key, err := cl.GetServiceTicket(spn)
	if err != nil {
		return nil, fmt.Errorf("client: kerberos: service ticket for %s: %w", spn, err)
	}
	return &kerberos.ServiceTicket{Ticket: t, SessionKey: key, CName: cl.Credentials.CName(), CRealm: cl.Credentials.Realm()}, nil
}

// kerberosLogon runs a Kerberos SESSION_SETUP: SPNEGO NegTokenInit with
// MS-KRB5, KRB5 and the AP-REQ; the server's AP-REP checked; keys from the
// GSS session key. A KRB_AP_ERR_SKEW answer (MORE_PROCESSING_REQUIRED with
// a KRB-ERROR) is STATUS_TIME_DIFFERENCE_AT_DC, or, with CorrectSkew, one
// more round with a new AP-REQ on the server's time.
func (c *Conn) kerberosLogon(ctx context.Context, creds *Config, old *session) (*session, error) {
	k := creds.Kerberos
	spn := k.SPN
	if spn == "" {
		spn = "cifs/" + c.cfg.ServerName
	}
	tkt, err := k.serviceTicket(spn)
	if err != nil {
		return nil, err
	}
	clock := k.Now
	if clock == nil {
		clock = time.Now
	}
	opts := kerberos.InitOptions{Mutual: !k.NoMutual, Now: clock, Rand: c.cfg.Rand}
	tok, st, err := kerberos.NewAPReq(tkt, opts)
	if err != nil {
		return nil, fmt.Errorf("client: kerberos: AP-REQ: %w", err)
	}
	mechs := []string{spnego.OIDMSKRB5, spnego.OIDKRB5}
	mechTypes := spnego.EncodeMechTypes(mechs)
	buf := spnego.EncodeInit(&spnego.Init{MechTypes: mechs, MechToken: tok, RawMechTypes: mechTypes})

	reauth := old != nil
	pre, secMode, sid := c.setupStart(old)
	for retried := false; ; retried = true {
		// pre takes in each request (sessionRound) and each
		// MORE_PROCESSING_REQUIRED response (below).
		status, rsid, flags, out, msg, err := c.sessionRound(ctx, sid, secMode, buf, pre, reauth)
		if err != nil {
			return nil, err
		}
		if reauth && rsid != sid {
			return nil, protocolErrorf("session id changed during re-authentication")
		}
		if status == ntstatus.MoreProcessingRequired && retried {
			// After the skew recovery: the AP-REP with the server's
			// mechListMIC; ours goes in one more leg (RFC 4178 5).
			_, r, err := spnego.Decode(out)
			if err != nil || r == nil || len(r.MechListMIC) == 0 {
				return nil, protocolErrorf("session setup: no AP-REP and mechListMIC after the clock skew recovery")
			}
			key, err := st.Finish(r.ResponseToken)
			if err != nil {
				return nil, fmt.Errorf("client: session setup: %w", err)
			}
			if !st.VerifyMechListMIC(mechTypes, r.MechListMIC) {
				return nil, fmt.Errorf("client: session setup: server mechListMIC: %w", ErrSignature)
			}
			if pre != nil {
				pre.Update(msg)
			}
			buf = spnego.EncodeResp(&spnego.Resp{NegState: spnego.NoState, MechListMIC: st.MechListMIC(mechTypes)})
			status, rsid2, flags, _, msg, err := c.sessionRound(ctx, rsid, secMode, buf, pre, reauth)
			if err != nil {
				return nil, err
			}
			if status != ntstatus.Success {
				return nil, &Error{Op: "session setup", Status: status}
			}
			if rsid2 != rsid {
				return nil, protocolErrorf("session id changed during session setup")
			}
			var roundPreauth smbcrypto.PreauthHash
			if pre != nil {
				roundPreauth = *pre
			}
			return c.establish(rsid, flags, msg, key, false, old, &roundPreauth)
		}
		if status == ntstatus.MoreProcessingRequired {
			se := kerberosServerError(out)
			if se == nil {
				return nil, protocolErrorf("session setup: MORE_PROCESSING_REQUIRED without a KRB-ERROR after a Kerberos AP-REQ")
			}
			if se.Code != kerberos.ErrCodeSkew {
				return nil, &Error{Op: "session setup", Status: ntstatus.LogonFailure}
			}
			if !k.CorrectSkew || retried {
				return nil, &Error{Op: "session setup", Status: ntstatus.TimeDifferenceAtDC}
			}
			// One new AP-REQ on the server's time (MS-KILE 3.4.5).
			offset := se.ServerTime.Sub(clock())
			opts.Now = func() time.Time { return clock().Add(offset) }
			if tok, st, err = kerberos.NewAPReq(tkt, opts); err != nil {
				return nil, fmt.Errorf("client: kerberos: AP-REQ: %w", err)
			}
			buf = spnego.EncodeResp(&spnego.Resp{NegState: spnego.NoState, ResponseToken: tok})
			sid = rsid
			if pre != nil {
				pre.Update(msg)
			}
			continue
		}
		if status != ntstatus.Success {
			return nil, &Error{Op: "session setup", Status: status}
		}
		if retried && rsid != sid {
			return nil, protocolErrorf("session id changed during session setup")
		}
		var reply []byte
		if len(out) > 0 {
			if kerberos.IsToken(out) {
				reply = out
			} else if _, r, err := spnego.Decode(out); err == nil && r != nil {
				if r.NegState == spnego.Reject {
					return nil, &Error{Op: "session setup", Status: ntstatus.LogonFailure}
				}
				reply = r.ResponseToken
			} else {
				return nil, protocolErrorf("session setup: the Kerberos reply is neither SPNEGO nor an AP-REP")
			}
		}
		key, err := st.Finish(reply)
		if err != nil {
			return nil, fmt.Errorf("client: session setup: %w", err)
		}
		var roundPreauth smbcrypto.PreauthHash // establish reads it on a first 3.1.1 logon only
		if pre != nil {
			roundPreauth = *pre
		}
		return c.establish(rsid, flags, msg, key, false, old, &roundPreauth)
	}
}

// kerberosServerError finds the KRB-ERROR in a SESSION_SETUP response's
// security buffer (SPNEGO-wrapped or bare); nil when there is none.
func kerberosServerError(out []byte) *kerberos.ServerError {
	if se, ok := kerberos.ParseServerError(out); ok {
		return se
	}
	if _, r, err := spnego.Decode(out); err == nil && r != nil {
		if se, ok := kerberos.ParseServerError(r.ResponseToken); ok {
			return se
		}
	}
	return nil
}
