package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/smbpipe/smbpipe/auth/kerberos"
)

// Setup: one logon per op on a connection per worker: LOGOFF of the
// previous session, then SESSION_SETUP with the Client's credentials (NTLM:
// two rounds; Kerberos: one AP-REQ, verified by the server with its keytab
// and replay cache, answered with an AP-REP that the client checks) and
// the keys derived on both sides. With Kerberos the ticket is obtained once
// before the run, so the op is the server's work of a Kerberos logon, not
// the KDC's.
const Setup Workload = "setup"

func setupSetup(ctx context.Context, o *Options) (*worker, error) {
	if k := o.Client.Kerberos; k != nil && k.Ticket == nil {
		return nil, errors.New("bench: setup: the Kerberos ticket was not obtained before the run")
	}
	c, err := dial(ctx, o)
	if err != nil {
		return nil, err
	}
	op := func(ctx context.Context) (int64, error) {
		if err := c.Logoff(ctx); err != nil {
			return 0, err
		}
		return 0, c.SessionSetup(ctx)
	}
	return describeConn(&worker{op: op, close: func() { c.Close() }, persistent: true}, c), nil
}

// kerberosTicket gets the Kerberos ticket of o.Client once, for every
// worker and op (Setup and the other workloads alike).
func kerberosTicket(o *Options) error {
	k := o.Client.Kerberos
	if k == nil || k.Ticket != nil {
		return nil
	}
	spn := k.SPN
	if spn == "" {
		host := o.Client.ServerName
		if host == "" {
			h, _, err := net.SplitHostPort(o.Addr)
			if err != nil {
				return fmt.Errorf("bench: kerberos: %w", err)
			}
			host = h
		}
		spn = "cifs/" + host
	}
	kk := *k
	t, err := kk.ServiceTicket(spn)
	if err != nil {
		return err
	}
	kk.Ticket = t
	o.Client.Kerberos = &kk
	return nil
}

// MintTicket makes a service ticket for spn ("cifs/NAME") as principal
// ("name@REALM") with the service's own key from keytabPath, as a KDC
// would issue it but without a PAC (the server maps the principal to an
// account by kerberos_principal). It lets a benchmark log on with
// Kerberos without a KDC; valid for an hour.
func MintTicket(keytabPath, principal, spn string) (*kerberos.ServiceTicket, error) {
	name, realm, ok := strings.Cut(principal, "@")
	if !ok || name == "" || realm == "" {
		return nil, fmt.Errorf("bench: principal %q: want name@REALM", principal)
	}
	kt, err := keytab.Load(keytabPath)
	if err != nil {
		return nil, fmt.Errorf("bench: keytab %s: %w", keytabPath, err)
	}
	sname := types.NewPrincipalName(2, spn) // KRB_NT_SRV_INST
	var kvno int
	etype := int32(0)
	for _, et := range []int32{kerberos.ETypeAES256, kerberos.ETypeAES128, kerberos.ETypeRC4} {
		if _, v, err := kt.GetEncryptionKey(sname, realm, 0, et); err == nil {
			etype, kvno = et, v
			break
		}
	}
	if etype == 0 {
		return nil, fmt.Errorf("bench: keytab %s has no AES or RC4 key for %s@%s", keytabPath, spn, realm)
	}
	cname := types.NewPrincipalName(1, name) // KRB_NT_PRINCIPAL
	now := time.Now().UTC()
	t, key, err := messages.NewTicket(cname, realm, sname, realm, types.NewKrbFlags(), kt, etype, kvno,
		now, now, now.Add(time.Hour), now.Add(time.Hour))
	if err != nil {
		return nil, fmt.Errorf("bench: minting a ticket for %s: %w", spn, err)
	}
	return &kerberos.ServiceTicket{Ticket: t, SessionKey: key, CName: cname, CRealm: realm}, nil
}
