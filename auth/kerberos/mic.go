package kerberos

import (
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/types"
)

// GSS MIC tokens (RFC 4121 4.2.6.1) over SPNEGO's mechanism list (RFC
// 4178 5): a SPNEGO exchange of more than one round (clock skew recovery)
// ends with the acceptor's mechListMIC, which Samba's client requires.
// gokrb5's MICToken computes them; AES session keys only.

// Key usages of RFC 4121 2.
const (
	keyUsageAcceptorSign  = 23
	keyUsageInitiatorSign = 25
)

// MechListMIC returns the acceptor's MIC token over mechList (the client's
// DER MechTypeList) with the GSS session key, or nil when the key is not
// an AES key.
func (r *Result) MechListMIC(mechList []byte) []byte {
	return r.mic(mechList, gssapi.MICTokenFlagSentByAcceptor, r.acceptorSeq, keyUsageAcceptorSign)
}

// VerifyMechListMIC checks the initiator's MIC token over mechList.
func (r *Result) VerifyMechListMIC(mechList, mic []byte) bool {
	return r.verifyMIC(mechList, mic, false, keyUsageInitiatorSign)
}

// mic makes a MIC token over data with r's key: flags (the AcceptorSubkey
// flag added when the key is the acceptor's subkey), the sender's sequence
// number seq.
func (r *Result) mic(data []byte, flags byte, seq uint64, usage uint32) []byte {
	if !isAES(r.SessionKeyEType) {
		return nil
	}
	if r.acceptorSubkey {
		flags |= gssapi.MICTokenFlagAcceptorSubkey
	}
	mt := gssapi.MICToken{Flags: flags, SndSeqNum: seq, Payload: data}
	if err := mt.SetChecksum(r.key(), usage); err != nil {
		return nil
	}
	b, err := mt.Marshal()
	if err != nil {
		return nil
	}
	return b
}

// verifyMIC checks a MIC token over data from the acceptor (fromAcceptor)
// or the initiator.
func (r *Result) verifyMIC(data, mic []byte, fromAcceptor bool, usage uint32) (ok bool) {
	if !isAES(r.SessionKeyEType) {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	var mt gssapi.MICToken
	if err := mt.Unmarshal(mic, fromAcceptor); err != nil {
		return false
	}
	if (mt.Flags&gssapi.MICTokenFlagAcceptorSubkey != 0) != r.acceptorSubkey {
		return false
	}
	mt.Payload = data
	ok, _ = mt.Verify(r.key(), usage)
	return ok
}

func (r *Result) key() types.EncryptionKey {
	return types.EncryptionKey{KeyType: r.SessionKeyEType, KeyValue: r.SessionKey}
}
