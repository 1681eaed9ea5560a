package kerberos

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// ServiceTicket is a client's ticket for a service and the session key
// that came with it (from a TGS-REP or a credential cache).
type ServiceTicket struct {
	Ticket     messages.Ticket
	SessionKey types.EncryptionKey
	// CName and CRealm are the client principal.
	CName  types.PrincipalName
	CRealm string

	// The Ticket's DER, marshalled at the first NewAPReq (Ticket must not
	// change after that).
	rawOnce sync.Once
	raw     []byte
	rawErr  error
}

// ticketDER returns the ticket's encoding, marshalled once: a client
// making many logons with one ticket does not re-encode it each time.
func (t *ServiceTicket) ticketDER() ([]byte, error) {
	t.rawOnce.Do(func() { t.raw, t.rawErr = t.Ticket.Marshal() })
	return t.raw, t.rawErr
}

// InitOptions tune NewAPReq.
type InitOptions struct {
	// Mutual asks for mutual authentication (AP-REP), as Windows and
	// smbclient do; the session key is then the acceptor's subkey.
	Mutual bool
	// Now is the clock for the authenticator (nil: time.Now); a test sets
	// it to skew the client's clock.
	Now func() time.Time
	// Rand is the source of the subkey and confounders (nil: crypto/rand).
	Rand io.Reader
}

// InitState is a client's exchange in progress: what it needs to check the
// AP-REP and to name the session key.
type InitState struct {
	mutual  bool
	sessKey types.EncryptionKey
	subkey  types.EncryptionKey
	ctime   time.Time
	cusec   int
}

// NewAPReq builds a GSS-framed AP-REQ from t with a fresh authenticator:
// a new subkey of the session key's type, the current time, and the RFC
// 4121 checksum carrying the GSS flags (mutual, integrity, confidentiality).
// Every call gives distinct bytes, so one ticket authenticates many times
// without tripping the server's replay cache.
func NewAPReq(t *ServiceTicket, o InitOptions) ([]byte, *InitState, error) {
	rnd := o.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	e, err := crypto.GetEtype(t.SessionKey.KeyType)
	if err != nil {
		return nil, nil, err
	}
	sub := make([]byte, e.GetKeyByteSize())
	if _, err := io.ReadFull(rnd, sub); err != nil {
		return nil, nil, err
	}
	ct := now().UTC()
	var seq [4]byte
	if _, err := io.ReadFull(rnd, seq[:]); err != nil {
		return nil, nil, err
	}
	// GSS checksum (RFC 4121 4.1.1): Lgth 16, zero channel bindings,
	// flags.
	flags := uint32(0x20 | 0x10 | 0x8 | 0x4) // conf, integ, sequence, replay
	if o.Mutual {
		flags |= gssMutualFlag
	}
	ck := make([]byte, 24)
	binary.LittleEndian.PutUint32(ck, 16)
	binary.LittleEndian.PutUint32(ck[20:], flags)
	auth := types.Authenticator{
		AVNO: 5, CRealm: t.CRealm, CName: t.CName,
		Cksum: types.Checksum{CksumType: 0x8003, Checksum: ck},
		Cusec: ct.Nanosecond() / 1000, CTime: ct.Truncate(time.Second),
		SubKey:    types.EncryptionKey{KeyType: t.SessionKey.KeyType, KeyValue: sub},
		SeqNumber: int64(binary.BigEndian.Uint32(seq[:]) & 0x3fffffff),
	}
	ed, err := encryptEncPart(authenticatorDER(&auth), t.SessionKey, keyusage.AP_REQ_AUTHENTICATOR, rnd)
	if err != nil {
		return nil, nil, err
	}
	tb, err := t.ticketDER()
	if err != nil {
		return nil, nil, err
	}
	options := []byte{0, 0, 0, 0}
	if o.Mutual {
		options[0] = 0x20 // mutual-required
	}
	b := apReqDERBytes(options, tb, ed)
	st := &InitState{mutual: o.Mutual, sessKey: t.SessionKey, subkey: auth.SubKey, ctime: auth.CTime, cusec: auth.Cusec}
	return wrap(nil, tokAPReq, b), st, nil
}

// ErrMutual is a failed mutual authentication: the server's AP-REP is
// missing, does not decrypt with the session key, or does not echo the
// authenticator's time.
var ErrMutual = errors.New("kerberos: mutual authentication failed")

// Finish checks the server's reply token (the AP-REP; nil when mutual
// authentication was not asked) and returns the GSS session key (MS-KILE
// 3.1.1.2): the AP-REP subkey, else the authenticator subkey.
func (s *InitState) Finish(reply []byte) ([]byte, error) {
	if !s.mutual {
		return s.subkey.KeyValue, nil
	}
	if len(reply) == 0 {
		return nil, fmt.Errorf("%w: the server sent no AP-REP", ErrMutual)
	}
	_, tok, msg, err := unwrap(reply)
	if err != nil || tok != tokAPRep {
		return nil, fmt.Errorf("%w: the reply is not an AP-REP", ErrMutual)
	}
	var rep messages.APRep
	if err := unmarshalAPRep(&rep, msg); err != nil {
		return nil, fmt.Errorf("%w: AP-REP does not decode: %v", ErrMutual, err)
	}
	pb, err := decryptEncPart(rep.EncPart, s.sessKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		return nil, fmt.Errorf("%w: AP-REP does not decrypt with the session key", ErrMutual)
	}
	var part messages.EncAPRepPart
	if err := unmarshalEncAPRepPart(&part, pb); err != nil {
		return nil, fmt.Errorf("%w: EncAPRepPart does not decode", ErrMutual)
	}
	if !part.CTime.Equal(s.ctime) || part.Cusec != s.cusec {
		return nil, fmt.Errorf("%w: AP-REP time is not the authenticator's", ErrMutual)
	}
	if len(part.Subkey.KeyValue) > 0 {
		return part.Subkey.KeyValue, nil
	}
	return s.subkey.KeyValue, nil
}

func unmarshalAPRep(r *messages.APRep, b []byte) (err error) {
	defer func() {
		if recover() != nil {
			err = ErrMalformed
		}
	}()
	return r.Unmarshal(b)
}

func unmarshalEncAPRepPart(p *messages.EncAPRepPart, b []byte) (err error) {
	defer func() {
		if recover() != nil {
			err = ErrMalformed
		}
	}()
	return p.Unmarshal(b)
}
