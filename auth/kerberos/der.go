package kerberos

import (
	"time"

	"github.com/jcmturner/gokrb5/v8/types"
)

// A small DER encoder for the messages this package sends: the acceptor's
// AP-REP (RFC 4120 5.5.2) and the initiator's AP-REQ and Authenticator
// (5.5.1). gokrb5's reflection-based marshalling of the AP-REP was a tenth
// of a Kerberos logon's server time, and of the AP-REQ and Authenticator
// almost half of the client's. TestAPRepDER and TestAPReqDER check the
// bytes against gokrb5's encoding.

// derTLV appends tag, the definite length of content and content.
func derTLV(dst []byte, tag byte, content []byte) []byte {
	dst = append(dst, tag)
	dst = appendLength(dst, len(content))
	return append(dst, content...)
}

// derInt appends an INTEGER (two's complement, minimal).
func derInt(dst []byte, v int64) []byte {
	var b [9]byte
	n := 0
	for {
		b[8-n] = byte(v)
		n++
		if (v >= -128 && v < 128) || n == 9 {
			break
		}
		v >>= 8
	}
	return derTLV(dst, 0x02, b[9-n:])
}

// ctx wraps content in the context tag [n] (constructed, explicit).
func ctx(dst []byte, n byte, content []byte) []byte { return derTLV(dst, 0xa0|n, content) }

// encAPRepPartDER is EncAPRepPart ::= [APPLICATION 27] SEQUENCE { ctime
// [0] KerberosTime, cusec [1] Microseconds, subkey [2] EncryptionKey,
// seq-number [3] UInt32 }.
func encAPRepPartDER(ctime time.Time, cusec int, sub types.EncryptionKey, seq int64) []byte {
	var body, t []byte
	t = derTLV(t[:0], 0x18, []byte(ctime.UTC().Format("20060102150405Z")))
	body = ctx(body, 0, t)
	body = ctx(body, 1, derInt(nil, int64(cusec)))
	body = ctx(body, 2, encryptionKeyDER(sub))
	if seq != 0 { // optional; gokrb5 and MIT leave a zero out
		body = ctx(body, 3, derInt(nil, seq))
	}
	return derTLV(nil, 0x7b, derTLV(nil, 0x30, body))
}

// apRepDER is AP-REP ::= [APPLICATION 15] SEQUENCE { pvno [0] 5, msg-type
// [1] 15, enc-part [2] EncryptedData }.
func apRepDER(ed types.EncryptedData) []byte {
	var body []byte
	body = ctx(body, 0, derInt(nil, 5))
	body = ctx(body, 1, derInt(nil, 15))
	body = ctx(body, 2, encryptedDataDER(ed))
	return derTLV(nil, 0x6f, derTLV(nil, 0x30, body))
}

// derGeneralString appends a GeneralString (as Kerberos strings are sent).
func derGeneralString(dst []byte, s string) []byte { return derTLV(dst, 0x1b, []byte(s)) }

// principalNameDER is PrincipalName ::= SEQUENCE { name-type [0] Int32,
// name-string [1] SEQUENCE OF KerberosString }.
func principalNameDER(p types.PrincipalName) []byte {
	var names []byte
	for _, n := range p.NameString {
		names = derGeneralString(names, n)
	}
	body := ctx(nil, 0, derInt(nil, int64(p.NameType)))
	body = ctx(body, 1, derTLV(nil, 0x30, names))
	return derTLV(nil, 0x30, body)
}

// encryptionKeyDER is EncryptionKey ::= SEQUENCE { keytype [0], keyvalue [1] }.
func encryptionKeyDER(k types.EncryptionKey) []byte {
	body := ctx(nil, 0, derInt(nil, int64(k.KeyType)))
	body = ctx(body, 1, derTLV(nil, 0x04, k.KeyValue))
	return derTLV(nil, 0x30, body)
}

// encryptedDataDER is EncryptedData ::= SEQUENCE { etype [0], kvno [1]
// OPTIONAL, cipher [2] }.
func encryptedDataDER(ed types.EncryptedData) []byte {
	e := ctx(nil, 0, derInt(nil, int64(ed.EType)))
	if ed.KVNO != 0 {
		e = ctx(e, 1, derInt(nil, int64(ed.KVNO)))
	}
	e = ctx(e, 2, derTLV(nil, 0x04, ed.Cipher))
	return derTLV(nil, 0x30, e)
}

// authenticatorDER is the client's Authenticator (RFC 4120 5.5.1)
// [APPLICATION 2]: vno 5, crealm, cname, the GSS checksum, cusec, ctime,
// the subkey and the sequence number (optional fields left out when zero,
// as gokrb5 encodes them).
func authenticatorDER(a *types.Authenticator) []byte {
	body := ctx(nil, 0, derInt(nil, int64(a.AVNO)))
	body = ctx(body, 1, derGeneralString(nil, a.CRealm))
	body = ctx(body, 2, principalNameDER(a.CName))
	if a.Cksum.CksumType != 0 || len(a.Cksum.Checksum) > 0 {
		ck := ctx(nil, 0, derInt(nil, int64(a.Cksum.CksumType)))
		ck = ctx(ck, 1, derTLV(nil, 0x04, a.Cksum.Checksum))
		body = ctx(body, 3, derTLV(nil, 0x30, ck))
	}
	body = ctx(body, 4, derInt(nil, int64(a.Cusec)))
	body = ctx(body, 5, derTLV(nil, 0x18, []byte(a.CTime.UTC().Format("20060102150405Z"))))
	if a.SubKey.KeyType != 0 || len(a.SubKey.KeyValue) > 0 {
		body = ctx(body, 6, encryptionKeyDER(a.SubKey))
	}
	if a.SeqNumber != 0 {
		body = ctx(body, 7, derInt(nil, a.SeqNumber))
	}
	return derTLV(nil, 0x62, derTLV(nil, 0x30, body))
}

// apReqDERBytes is AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0] 5,
// msg-type [1] 14, ap-options [2] APOptions, ticket [3] Ticket (its DER as
// given), authenticator [4] EncryptedData }.
func apReqDERBytes(options []byte, ticket []byte, auth types.EncryptedData) []byte {
	body := ctx(nil, 0, derInt(nil, 5))
	body = ctx(body, 1, derInt(nil, 14))
	body = ctx(body, 2, derTLV(nil, 0x03, append([]byte{0}, options...)))
	body = ctx(body, 3, ticket)
	body = ctx(body, 4, encryptedDataDER(auth))
	return derTLV(nil, 0x6e, derTLV(nil, 0x30, body))
}

// kerbErrorDataSkewRecovery is KERB-ERROR-DATA ::= SEQUENCE { data-type
// [1] INTEGER, data-value [2] OCTET STRING OPTIONAL } with data-type
// KERB_AP_ERR_TYPE_SKEW_RECOVERY (2) and no value (MS-KILE 2.2.2).
var kerbErrorDataSkewRecovery = derTLV(nil, 0x30, ctx(nil, 1, derInt(nil, 2)))

// krbErrorDER is KRB-ERROR ::= [APPLICATION 30] SEQUENCE { pvno [0] 5,
// msg-type [1] 30, ctime [2] OPTIONAL, cusec [3] OPTIONAL, stime [4],
// susec [5], error-code [6], realm [9], sname [10], e-data [12] OPTIONAL }
// (RFC 4120 5.9.1), with the client's ctime and cusec when known (not
// zero) and e-data when given.
func krbErrorDER(ctime time.Time, cusec int, stime time.Time, code int32, realm string, sname types.PrincipalName, edata []byte) []byte {
	gt := func(t time.Time) []byte { return derTLV(nil, 0x18, []byte(t.UTC().Format("20060102150405Z"))) }
	body := ctx(nil, 0, derInt(nil, 5))
	body = ctx(body, 1, derInt(nil, 30))
	if !ctime.IsZero() {
		body = ctx(body, 2, gt(ctime))
		body = ctx(body, 3, derInt(nil, int64(cusec)))
	}
	body = ctx(body, 4, gt(stime))
	body = ctx(body, 5, derInt(nil, int64(stime.Nanosecond()/1000)))
	body = ctx(body, 6, derInt(nil, int64(code)))
	body = ctx(body, 9, derGeneralString(nil, realm))
	body = ctx(body, 10, principalNameDER(sname))
	if edata != nil {
		body = ctx(body, 12, derTLV(nil, 0x04, edata))
	}
	return derTLV(nil, 0x7e, derTLV(nil, 0x30, body))
}
