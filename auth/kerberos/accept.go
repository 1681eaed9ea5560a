// Package kerberos verifies Kerberos AP-REQs for an SMB server (MS-KILE,
// RFC 4120, RFC 4121) and builds them for a client: GSS-API framing,
// ticket and authenticator checks against a keytab, a bounded replay cache,
// mutual authentication (AP-REP with a fresh acceptor subkey), the session
// key MS-KILE 3.1.1.2 names, and the PAC (MS-PAC) with its server signature
// verified.
//
// gokrb5 (github.com/jcmturner/gokrb5/v8) decodes the ASN.1 of tickets and
// authenticators, encodes the client's authenticator, does RC4-HMAC and the
// AES-CTS cipher, and reads keytab and ccache files. This package does the
// rest itself, where gokrb5 is wrong for a server, missing or slow: its
// replay cache is a package-level singleton without a bound, its AP-REQ
// verification has no acceptor subkey and builds no AP-REP (der.go encodes
// one), its PAC decoder slices offsets from the PAC unchecked and sizes
// arrays from counts in the data (a panic or a large allocation on a bad
// PAC), it does not check PAC_CLIENT_INFO against the ticket, and it derives
// the AES keys of every message with a bit-by-bit n-fold (aes.go derives
// them from n-folded constants computed once). The PAC and
// KERB_VALIDATION_INFO are decoded here with the ndr package's bounded
// reader.
package kerberos

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Encryption types accepted (RFC 3962, RFC 4757).
const (
	ETypeAES128 = 17 // aes128-cts-hmac-sha1-96
	ETypeAES256 = 18 // aes256-cts-hmac-sha1-96
	ETypeRC4    = 23 // rc4-hmac
)

// ETypeName names an encryption type for logs.
func ETypeName(e int32) string {
	switch e {
	case ETypeAES128:
		return "aes128-cts-hmac-sha1-96"
	case ETypeAES256:
		return "aes256-cts-hmac-sha1-96"
	case ETypeRC4:
		return "rc4-hmac"
	}
	return fmt.Sprintf("etype-%d", e)
}

// DefaultMaxSkew is Kerberos' default clock skew (MS-KILE 3.3.1).
const DefaultMaxSkew = 5 * time.Minute

// Kerberos error codes this package reports (RFC 4120 7.5.9).
const (
	ErrCodeGeneric     = 60 // KRB_ERR_GENERIC
	ErrCodeExpired     = 32 // KRB_AP_ERR_TKT_EXPIRED
	ErrCodeNotYetValid = 33 // KRB_AP_ERR_TKT_NYV
	ErrCodeRepeat      = 34 // KRB_AP_ERR_REPEAT
	ErrCodeNotUs       = 35 // KRB_AP_ERR_NOT_US
	ErrCodeBadMatch    = 36 // KRB_AP_ERR_BADMATCH
	ErrCodeSkew        = 37 // KRB_AP_ERR_SKEW
	ErrCodeMsgType     = 40 // KRB_AP_ERR_MSG_TYPE
	ErrCodeModified    = 41 // KRB_AP_ERR_MODIFIED
	ErrCodeNoKey       = 45 // KRB_AP_ERR_NOKEY
	ErrCodeBadIntegrit = 31 // KRB_AP_ERR_BAD_INTEGRITY
	ErrCodeInappCksum  = 50 // KRB_AP_ERR_INAPP_CKSUM
	ErrCodeETypeNoSupp = 14 // KDC_ERR_ETYPE_NOSUPP
)

// Sentinel errors (wrapped by *Error).
var (
	ErrMalformed       = errors.New("kerberos: malformed token")
	ErrWrongService    = errors.New("kerberos: ticket for another service")
	ErrNoKey           = errors.New("kerberos: no key in the keytab")
	ErrModified        = errors.New("kerberos: ticket does not decrypt with the service key")
	ErrBadAuth         = errors.New("kerberos: authenticator does not decrypt or match the ticket")
	ErrSkew            = errors.New("kerberos: clock skew too great")
	ErrExpired         = errors.New("kerberos: ticket expired")
	ErrNotYetValid     = errors.New("kerberos: ticket not yet valid")
	ErrReplay          = errors.New("kerberos: replayed authenticator")
	ErrReplayCacheFull = errors.New("kerberos: replay cache full")
	ErrPAC             = errors.New("kerberos: PAC refused")
	ErrEType           = errors.New("kerberos: encryption type not supported")
)

// Error is a refused AP-REQ: the Kerberos error code a KRB-ERROR would
// carry, a reason for the audit log, and the sentinel it wraps.
type Error struct {
	Code   int32
	Reason string
	// Client ("name@REALM"), Service ("cifs/NAME") and EType (the
	// ticket's encryption type) name what was refused, for the audit
	// record: Service and EType once the AP-REQ decodes, Client once the
	// ticket decrypts; empty (0) before.
	Client, Service string
	EType           int32
	// Reply is the GSS-framed KRB-ERROR to send back for a clock skew
	// (MS-KILE 3.4.5 clock skew recovery: KRB_AP_ERR_SKEW with the
	// server's time, so that the client can correct its offset and send a
	// new AP-REQ); nil for every other refusal.
	Reply []byte
	err   error
}

func (e *Error) Error() string { return "kerberos: " + e.Reason }
func (e *Error) Unwrap() error { return e.err }

func fail(code int32, sentinel error, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...), err: sentinel}
}

// Keytab is a parsed keytab file (MIT format, as kadmin ktadd, ktpass and
// samba-tool exportkeytab write it).
type Keytab struct{ kt *keytab.Keytab }

// ParseKeytab parses the bytes of a keytab file.
func ParseKeytab(b []byte) (kt *Keytab, err error) {
	defer func() {
		if recover() != nil {
			kt, err = nil, errors.New("kerberos: keytab: malformed")
		}
	}()
	k := keytab.New()
	if err := k.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("kerberos: keytab: %w", err)
	}
	return &Keytab{kt: k}, nil
}

// Principals lists the keytab's principals (name@REALM), once each.
func (k *Keytab) Principals() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range k.kt.Entries {
		s := strings.Join(e.Principal.Components, "/") + "@" + e.Principal.Realm
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// maxKeyTries bounds the keys one ticket is tried with.
const maxKeyTries = 8

// keys returns the keys of service/host@realm with etype to try a ticket
// of kvno with (MS-KILE 3.4.5: when the ticket does not decrypt, the server
// retries with its older keys): the key of that kvno first (kvno 0: the
// newest), then the others, newest first, at most maxKeyTries. The service
// and host compare case-insensitively, as Windows compares SPNs.
func (k *Keytab) keys(service, host, realm string, etype int32, kvno int) []types.EncryptionKey {
	type cand struct {
		key   types.EncryptionKey
		v     uint32
		exact bool
	}
	var cs []cand
	for _, e := range k.kt.Entries {
		c := e.Principal.Components
		if len(c) != 2 || e.Key.KeyType != etype || !strings.EqualFold(e.Principal.Realm, realm) ||
			!strings.EqualFold(c[0], service) || !strings.EqualFold(c[1], host) {
			continue
		}
		v := e.KVNO
		if v == 0 {
			v = uint32(e.KVNO8)
		}
		exact := kvno != 0 && (v == uint32(kvno) || uint32(e.KVNO8) == uint32(kvno&0xff))
		cs = append(cs, cand{e.Key, v, exact})
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		switch {
		case a.exact != b.exact:
			if a.exact {
				return -1
			}
			return 1
		case a.v != b.v:
			if a.v > b.v {
				return -1
			}
			return 1
		}
		return 0
	})
	out := make([]types.EncryptionKey, 0, min(len(cs), maxKeyTries))
	for _, c := range cs[:min(len(cs), maxKeyTries)] {
		out = append(out, c.key)
	}
	return out
}

// Acceptor verifies AP-REQs for the services cifs/NAME and host/NAME of
// its names. Its fields are read-only after the first Accept, which is
// safe for concurrent use (the replay cache has its own lock).
type Acceptor struct {
	Keytab *Keytab
	// Realm is the service's realm; "" accepts the realm of any key in
	// the keytab.
	Realm string
	// Names are the host names of the service principals accepted:
	// cifs/NAME and host/NAME for each, case-insensitively.
	Names []string
	// Replay is the replay cache; it must not be nil.
	Replay *ReplayCache
	// MaxSkew is the clock skew tolerated (0: DefaultMaxSkew).
	MaxSkew time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Rand is the source of acceptor subkeys (nil: crypto/rand).
	Rand io.Reader
}

// Result is an accepted AP-REQ.
type Result struct {
	// Client is the client principal "name@REALM"; CName its name
	// components joined with "/", CRealm its realm.
	Client, CName, CRealm string
	// Service is the service principal the ticket was for, "cifs/NAME".
	Service string
	// EType is the ticket's encryption type (the service key's).
	EType int32
	// SessionKeyEType is the encryption type of the session key.
	SessionKeyEType int32
	// SessionKey is the GSS session key (MS-KILE 3.1.1.2): the AP-REP
	// subkey under mutual authentication, else the authenticator's
	// subkey, else the ticket's session key.
	SessionKey []byte
	// Mutual: the client asked for mutual authentication; Reply holds the
	// GSS-framed AP-REP to send back (nil otherwise).
	Mutual bool
	Reply  []byte
	// Mech is the OID that framed the client's token.
	Mech Mechanism
	// PAC is the verified PAC, nil when the ticket has none.
	PAC *PAC
	// EndTime is the ticket's end time.
	EndTime time.Time

	// For the SPNEGO mechListMIC (MechListMIC): whether SessionKey is an
	// acceptor subkey, and the acceptor's initial sequence number.
	acceptorSubkey bool
	acceptorSeq    uint64
}

// flagInvalid is the INVALID bit of TicketFlags (RFC 4120 5.3).
const flagInvalid = 7

// GSS checksum (RFC 4121 4.1.1) flag for mutual authentication.
const gssMutualFlag = 0x2

// Accept verifies token, an AP-REQ framed by GSS-API (either Kerberos OID)
// or bare. A refusal is an *Error. token is not retained.
func (a *Acceptor) Accept(token []byte) (*Result, error) {
	var who Error // what is known of the AP-REQ so far, for a refusal
	res, err := a.accept(token, &who)
	if err != nil {
		var ke *Error
		if errors.As(err, &ke) {
			ke.Client, ke.Service, ke.EType = who.Client, who.Service, who.EType
		}
		return nil, err
	}
	return res, nil
}

func (a *Acceptor) accept(token []byte, who *Error) (*Result, error) {
	mech, tok, msg, err := unwrap(token)
	if err != nil {
		return nil, fail(ErrCodeGeneric, ErrMalformed, "token is neither a GSS-API Kerberos token nor an AP-REQ")
	}
	if tok != tokAPReq {
		return nil, fail(ErrCodeMsgType, ErrMalformed, "GSS token id %#04x is not an AP-REQ", tok)
	}
	var req messages.APReq
	if err := unmarshalAPReq(&req, msg); err != nil {
		return nil, fail(ErrCodeGeneric, ErrMalformed, "AP-REQ does not decode: %v", err)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	t := now().UTC()
	skew := a.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}

	// The service: cifs/NAME or host/NAME of a configured name, our realm.
	sn := req.Ticket.SName.NameString
	sname := strings.Join(sn, "/")
	who.Service, who.EType = sname, req.Ticket.EncPart.EType
	if len(sn) != 2 || !(strings.EqualFold(sn[0], "cifs") || strings.EqualFold(sn[0], "host")) || !a.hasName(sn[1]) ||
		(a.Realm != "" && !strings.EqualFold(req.Ticket.Realm, a.Realm)) {
		return nil, fail(ErrCodeNotUs, ErrWrongService, "ticket is for %s@%s, not a service of this server (cifs/NAME or host/NAME for %s in %s)",
			sname, req.Ticket.Realm, strings.Join(a.Names, ", "), a.realmName())
	}
	et := req.Ticket.EncPart.EType
	if et != ETypeAES256 && et != ETypeAES128 && et != ETypeRC4 {
		return nil, fail(ErrCodeETypeNoSupp, ErrEType, "ticket encrypted with %s; accepted: aes256, aes128, rc4-hmac", ETypeName(et))
	}
	keys := a.Keytab.keys(sn[0], sn[1], req.Ticket.Realm, et, req.Ticket.EncPart.KVNO)
	if len(keys) == 0 {
		return nil, fail(ErrCodeNoKey, ErrNoKey, "the keytab has no %s key for %s@%s",
			ETypeName(et), sname, req.Ticket.Realm)
	}
	var key types.EncryptionKey
	decrypted := false
	for _, k := range keys {
		if decryptTicket(&req.Ticket, k) == nil {
			key, decrypted = k, true
			break
		}
	}
	if !decrypted {
		return nil, fail(ErrCodeModified, ErrModified, "ticket for %s (kvno %d) does not decrypt with the keytab's %s keys (%d tried): wrong key or password changed",
			sname, req.Ticket.EncPart.KVNO, ETypeName(et), len(keys))
	}
	tp := &req.Ticket.DecryptedEncPart
	client := strings.Join(tp.CName.NameString, "/") + "@" + tp.CRealm
	who.Client = client
	sessKey := tp.Key
	if sessKey.KeyType != ETypeAES256 && sessKey.KeyType != ETypeAES128 && sessKey.KeyType != ETypeRC4 {
		return nil, fail(ErrCodeETypeNoSupp, ErrEType, "ticket session key is %s", ETypeName(sessKey.KeyType))
	}
	ab, err := decryptEncPart(req.EncryptedAuthenticator, sessKey, keyusage.AP_REQ_AUTHENTICATOR)
	if err != nil {
		// MS-KILE 3.4.5: a modified authenticator is KRB_AP_ERR_MODIFIED.
		return nil, fail(ErrCodeModified, ErrBadAuth, "authenticator does not decrypt with the ticket's session key")
	}
	auth := &req.Authenticator
	if err := unmarshalAuthenticator(auth, ab); err != nil {
		return nil, fail(ErrCodeModified, ErrBadAuth, "authenticator does not decode")
	}
	if !auth.CName.Equal(tp.CName) || auth.CRealm != tp.CRealm {
		return nil, fail(ErrCodeBadMatch, ErrBadAuth, "authenticator names %s@%s, the ticket %s",
			strings.Join(auth.CName.NameString, "/"), auth.CRealm, client)
	}
	ctime := auth.CTime.Add(time.Duration(auth.Cusec) * time.Microsecond)
	if d := t.Sub(ctime); d > skew || d < -skew {
		e := fail(ErrCodeSkew, ErrSkew, "authenticator of %s is %v from the server's clock (at most %v)", client, d.Round(time.Second), skew)
		// The KRB-ERROR is not authenticated (RFC 4120 5.9.1): it only
		// tells the client the server's time; its next AP-REQ is
		// verified like any other. Offered when that exchange can end
		// with the mechListMIC a two-round SPNEGO needs (an AES session
		// key: RFC 4121 MIC tokens; rc4-hmac's are not implemented).
		if gk := auth.SubKey.KeyType; isAES(gk) || (gk == 0 && isAES(sessKey.KeyType)) {
			e.Reply = wrap(nil, tokKRBError, krbErrorDER(auth.CTime, auth.Cusec, t, ErrCodeSkew, req.Ticket.Realm, req.Ticket.SName, kerbErrorDataSkewRecovery))
		}
		return nil, e
	}
	start := tp.StartTime
	if start.IsZero() {
		start = tp.AuthTime
	}
	if start.Sub(t) > skew {
		return nil, fail(ErrCodeNotYetValid, ErrNotYetValid, "ticket of %s starts at %s", client, start.Format(time.RFC3339))
	}
	// RFC 4120 2.3, 3.2.3: a ticket with the INVALID flag (a postdated
	// ticket the KDC has not validated) is refused as not yet valid,
	// whatever its start time.
	if isFlagSet(tp.Flags, flagInvalid) {
		return nil, fail(ErrCodeNotYetValid, ErrNotYetValid, "ticket of %s has the INVALID flag (postdated, not validated by the KDC)", client)
	}
	if t.Sub(tp.EndTime) > skew {
		return nil, fail(ErrCodeExpired, ErrExpired, "ticket of %s expired at %s", client, tp.EndTime.Format(time.RFC3339))
	}
	// Last of the checks that need no state: then the replay cache.
	if err := a.Replay.check(req.EncryptedAuthenticator.Cipher, t, 2*skew); err != nil {
		if errors.Is(err, ErrReplay) {
			return nil, fail(ErrCodeRepeat, ErrReplay, "authenticator of %s (ctime %s) was already used: a replay", client, ctime.Format(time.RFC3339Nano))
		}
		return nil, fail(ErrCodeGeneric, err, "replay cache full (%d live authenticators): refused rather than unchecked", a.Replay.Len())
	}

	res := &Result{
		Client: client, CName: strings.Join(tp.CName.NameString, "/"), CRealm: tp.CRealm,
		Service: sname, EType: et, Mech: mech, EndTime: tp.EndTime,
	}
	// PAC: verified with the service key.
	if p, err := findPAC(tp.AuthorizationData); err != nil {
		return nil, fail(ErrCodeGeneric, ErrPAC, "PAC of %s: %v", client, err)
	} else if p != nil {
		pac, err := DecodePAC(p)
		if err != nil {
			return nil, fail(ErrCodeGeneric, ErrPAC, "PAC of %s does not decode: %v", client, err)
		}
		if err := pac.verifyServerSignature(key); err != nil {
			return nil, fail(ErrCodeModified, ErrPAC, "PAC of %s: %v", client, err)
		}
		if err := pac.checkClient(tp.CName.NameString, tp.AuthTime); err != nil {
			return nil, fail(ErrCodeModified, ErrPAC, "PAC of %s: %v", client, err)
		}
		res.PAC = pac
	}

	// Mutual authentication and the session key (MS-KILE 3.1.1.2).
	res.Mutual = isFlagSet(req.APOptions, 2) // mutual-required
	if auth.Cksum.CksumType == 0x8003 && len(auth.Cksum.Checksum) >= 24 &&
		binary.LittleEndian.Uint32(auth.Cksum.Checksum[20:])&gssMutualFlag != 0 {
		res.Mutual = true
	}
	res.SessionKey, res.SessionKeyEType = sessKey.KeyValue, sessKey.KeyType
	if len(auth.SubKey.KeyValue) > 0 {
		res.SessionKey, res.SessionKeyEType = auth.SubKey.KeyValue, auth.SubKey.KeyType
	}
	if res.Mutual {
		sub, err := a.newSubkey(res.SessionKeyEType)
		if err != nil {
			return nil, fail(ErrCodeGeneric, err, "acceptor subkey: %v", err)
		}
		rep, seq, err := apRep(auth, sessKey, sub, a.rand())
		if err != nil {
			return nil, fail(ErrCodeGeneric, err, "AP-REP: %v", err)
		}
		res.Reply = wrap(nil, tokAPRep, rep)
		res.SessionKey, res.SessionKeyEType = sub.KeyValue, sub.KeyType
		res.acceptorSubkey, res.acceptorSeq = true, seq
	} else {
		res.acceptorSeq = uint64(auth.SeqNumber) // RFC 4121 4.2.6: no AP-REP, the initiator's
	}
	return res, nil
}

func (a *Acceptor) hasName(n string) bool {
	for _, x := range a.Names {
		if strings.EqualFold(x, n) {
			return true
		}
	}
	return false
}

func (a *Acceptor) realmName() string {
	if a.Realm == "" {
		return "any realm"
	}
	return a.Realm
}

func (a *Acceptor) rand() io.Reader {
	if a.Rand != nil {
		return a.Rand
	}
	return rand.Reader
}

// newSubkey makes a fresh acceptor subkey of etype (RFC 4121 2: the
// acceptor's subkey; for AES, random-to-key is the identity).
func (a *Acceptor) newSubkey(etype int32) (types.EncryptionKey, error) {
	e, err := crypto.GetEtype(etype)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	k := make([]byte, e.GetKeyByteSize())
	if _, err := io.ReadFull(a.rand(), k); err != nil {
		return types.EncryptionKey{}, err
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: k}, nil
}

// apRep builds an AP-REP for auth: EncAPRepPart {ctime, cusec, subkey,
// seq-number} encrypted with the ticket session key (key usage 12).
func apRep(auth *types.Authenticator, sessKey, sub types.EncryptionKey, rnd io.Reader) ([]byte, uint64, error) {
	var sb [4]byte
	if _, err := io.ReadFull(rnd, sb[:]); err != nil {
		return nil, 0, err
	}
	seq := binary.BigEndian.Uint32(sb[:]) & 0x3fffffff
	pb := encAPRepPartDER(auth.CTime, auth.Cusec, sub, int64(seq))
	ed, err := encryptEncPart(pb, sessKey, keyusage.AP_REP_ENCPART, rnd)
	if err != nil {
		return nil, 0, err
	}
	return apRepDER(ed), uint64(seq), nil
}

// isFlagSet reads bit n of a KerberosFlags BIT STRING without gokrb5's
// helper, which indexes past short strings.
func isFlagSet(b asn1.BitString, n int) bool {
	i := n / 8
	if i >= len(b.Bytes) || n >= b.BitLength {
		return false
	}
	return b.Bytes[i]&(0x80>>(n%8)) != 0
}

// findPAC returns the ad-data of the AD-WIN2K-PAC (128) inside an
// AD-IF-RELEVANT (1) element, nil when there is none.
func findPAC(ad types.AuthorizationData) (pac []byte, err error) {
	defer func() {
		if recover() != nil {
			pac, err = nil, ErrMalformed
		}
	}()
	for _, e := range ad {
		if e.ADType != 1 {
			continue
		}
		var inner types.AuthorizationData
		if err := inner.Unmarshal(e.ADData); err != nil {
			return nil, fmt.Errorf("AD-IF-RELEVANT does not decode: %v", err)
		}
		for _, x := range inner {
			if x.ADType == 128 {
				return x.ADData, nil
			}
		}
	}
	return nil, nil
}

// unmarshalAPReq and unmarshalAuthenticator run gokrb5's ASN.1 decoders,
// turning a panic inside them (the reflection-based decoder has had some on
// hostile input) into an error.
func unmarshalAPReq(req *messages.APReq, b []byte) (err error) {
	defer func() {
		if recover() != nil {
			err = ErrMalformed
		}
	}()
	if err := req.Unmarshal(b); err != nil {
		return err
	}
	if len(req.Ticket.SName.NameString) == 0 {
		return errors.New("ticket without a service name")
	}
	return nil
}

// decryptTicket decrypts t's EncTicketPart with the service key into
// t.DecryptedEncPart (gokrb5's Ticket.Decrypt with the AES fast path).
func decryptTicket(t *messages.Ticket, key types.EncryptionKey) (err error) {
	b, err := decryptEncPart(t.EncPart, key, keyusage.KDC_REP_TICKET)
	if err != nil {
		return err
	}
	defer func() {
		if recover() != nil {
			err = ErrMalformed
		}
	}()
	var p messages.EncTicketPart
	if err := p.Unmarshal(b); err != nil {
		return err
	}
	t.DecryptedEncPart = p
	return nil
}

func unmarshalAuthenticator(a *types.Authenticator, b []byte) (err error) {
	defer func() {
		if recover() != nil {
			err = ErrMalformed
		}
	}()
	return a.Unmarshal(b)
}

// verifyServerSignature checks the PAC's server signature with the
// service key (MS-PAC 2.8.1; key usage 17): HMAC-SHA1-96-AES for an AES
// key, HMAC-MD5 for RC4; a checksum type that does not belong to the key's
// encryption type is refused.
func (p *PAC) verifyServerSignature(key types.EncryptionKey) error {
	want := map[int32]int32{ETypeAES128: 15, ETypeAES256: 16, ETypeRC4: -138}[key.KeyType]
	if p.serverType != want {
		return fmt.Errorf("server signature type %d does not match the %s service key", p.serverType, ETypeName(key.KeyType))
	}
	if isAES(key.KeyType) {
		sum, err := aesChecksum(key.KeyValue, keyusage.KERB_NON_KERB_CKSUM_SALT, p.signedData())
		if err != nil || !hmac.Equal(sum, p.serverSig) {
			return errors.New("server signature does not verify with the service key")
		}
		return nil
	}
	e, err := crypto.GetChksumEtype(p.serverType)
	if err != nil {
		return fmt.Errorf("server signature type %d: %v", p.serverType, err)
	}
	if !e.VerifyChecksum(key.KeyValue, p.signedData(), p.serverSig, keyusage.KERB_NON_KERB_CKSUM_SALT) {
		return errors.New("server signature does not verify with the service key")
	}
	return nil
}

// checkClient compares PAC_CLIENT_INFO with the ticket (MS-PAC 2.7): the
// name (case-insensitively, without the realm) and the authtime.
func (p *PAC) checkClient(cname []string, authTime time.Time) error {
	name := strings.Join(cname, "/")
	if !strings.EqualFold(p.ClientName, name) {
		return fmt.Errorf("PAC_CLIENT_INFO names %q, the ticket %q", p.ClientName, name)
	}
	ft := uint64(authTime.Unix()+11644473600) * 10_000_000
	if p.ClientTime/10_000_000 != ft/10_000_000 {
		return errors.New("PAC_CLIENT_INFO time is not the ticket's authtime")
	}
	return nil
}

// keyDigest is a short fingerprint of a key for tests and logs (never the
// key itself).
func keyDigest(k []byte) string {
	s := sha256.Sum256(k)
	return fmt.Sprintf("%x", s[:4])
}
