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
	seq     uint64 // the authenticator's sequence number

	// After Finish: the GSS session key, whether it is the acceptor's
	// subkey, and the acceptor's sequence number (for the mechListMICs).
	key            types.EncryptionKey
	acceptorSubkey bool
	acceptorSeq    uint64
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
	st := &InitState{mutual: o.Mutual, sessKey: t.SessionKey, subkey: auth.SubKey, ctime: auth.CTime, cusec: auth.Cusec, seq: uint64(auth.SeqNumber)}
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
	s.key, s.acceptorSeq = s.subkey, s.seq
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
	s.acceptorSeq = uint64(part.SequenceNumber)
	if len(part.Subkey.KeyValue) > 0 {
		s.key, s.acceptorSubkey = part.Subkey, true
		return part.Subkey.KeyValue, nil
	}
	return s.subkey.KeyValue, nil
}

// MechListMIC returns the initiator's MIC token over mechList (RFC 4121
// 4.2.6.1) with the session key Finish established; nil for a key that is
// not AES.
func (s *InitState) MechListMIC(mechList []byte) []byte {
	r := Result{SessionKey: s.key.KeyValue, SessionKeyEType: s.key.KeyType, acceptorSubkey: s.acceptorSubkey}
	return r.mic(mechList, 0, s.seq, keyUsageInitiatorSign)
}

// VerifyMechListMIC checks the acceptor's MIC token over mechList.
func (s *InitState) VerifyMechListMIC(mechList, mic []byte) bool {
	r := Result{SessionKey: s.key.KeyValue, SessionKeyEType: s.key.KeyType, acceptorSubkey: s.acceptorSubkey}
	return r.verifyMIC(mechList, mic, true, keyUsageAcceptorSign)
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

// ServerError is a KRB-ERROR a server sent in place of an AP-REP: MS-KILE
// 3.4.5's clock skew recovery sends KRB_AP_ERR_SKEW with the server's
// time. It is not authenticated (RFC 4120 5.9.1): a client may take the
// time to correct its offset for one new AP-REQ, nothing more.
type ServerError struct {
	Code       int32
	ServerTime time.Time
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("kerberos: the server answered KRB-ERROR %d (its time %s)", e.Code, e.ServerTime.Format(time.RFC3339))
}

// ParseServerError decodes tok, a GSS-framed KRB-ERROR token; ok is false
// when tok is anything else.
func ParseServerError(tok []byte) (_ *ServerError, ok bool) {
	_, id, msg, err := unwrap(tok)
	if err != nil || id != tokKRBError {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	var ke messages.KRBError
	if err := ke.Unmarshal(msg); err != nil {
		return nil, false
	}
	return &ServerError{Code: ke.ErrorCode, ServerTime: ke.STime.Add(time.Duration(ke.Susec) * time.Microsecond)}, true
}
