package dcerpc

import (
	"errors"
	"slices"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/auth/spnego"
)

// srvAuth is the RPC-level security context of one association (the
// server side of a three-leg NTLMSSP or SPNEGO(NTLMSSP) exchange).
type srvAuth struct {
	typ       AuthType
	level     AuthLevel
	ctxID     uint32
	hs        *ntlm.ServerHandshake
	mechTypes []byte // SPNEGO: the client's MechTypeList, for the mechListMIC
	started   bool   // NEGOTIATE seen
	done      bool   // AUTHENTICATE accepted
	failed    bool
	sec       *ntlm.Security // levels integrity and privacy
	caller    Caller
	user      string // for the audit of a failed logon
}

var (
	errAuthType  = errors.New("dcerpc: unsupported auth type")
	errAuthLevel = errors.New("dcerpc: unsupported auth level")
	errAuthToken = errors.New("dcerpc: unexpected auth token")
	errNoNTLM    = errors.New("dcerpc: RPC-level authentication not configured")
)

// effectiveLevel maps CALL and PKT to PKT_INTEGRITY, as connection-oriented
// RPC does.
func effectiveLevel(l AuthLevel) AuthLevel {
	if l == LevelCall || l == LevelPkt {
		return LevelIntegrity
	}
	return l
}

// fragChunk returns how many stub bytes one fragment of at most xmit bytes
// carries: what is left after the header, the body fields before the stub
// (bodySize) and, when signed, the sec_trailer and the signature, rounded
// down to the stub alignment.
func fragChunk(xmit, bodySize int, signed bool) int {
	overhead := headerSize + bodySize
	if signed {
		overhead += secTrailerSize + ntlm.SignatureSize
	}
	return (xmit - overhead) &^ (stubAlign - 1)
}

// fragFlags returns the PFC flags of a fragment: FIRST_FRAG on the first,
// LAST_FRAG on the last.
func fragFlags(first, last bool) uint8 {
	var flags uint8
	if first {
		flags |= FlagFirstFrag
	}
	if last {
		flags |= FlagLastFrag
	}
	return flags
}

var zeroSig [ntlm.SignatureSize]byte

// protect ends the fragment b (a REQUEST or RESPONSE whose stub starts at
// stubStart): it appends the auth padding, the sec_trailer of v and room
// for the signature, sets frag_length and auth_length, then signs the
// fragment, or at privacy level seals the stub in place and signs.
func protect(b []byte, stubStart int, v AuthVerifier, sec *ntlm.Security) []byte {
	v.Value = zeroSig[:]
	b = AppendAuth(b, 0, stubStart, stubAlign, v)
	Finish(b, ntlm.SignatureSize)
	sig := len(b) - ntlm.SignatureSize
	if effectiveLevel(v.Level) == LevelPrivacy {
		sec.Seal(b[sig:sig], b[stubStart:sig-secTrailerSize], b[:sig])
	} else {
		sec.Sign(b[sig:sig], b[:sig])
	}
	return b
}

// unprotect checks the signature sig of msg (the fragment up to its auth
// value), after unsealing stub in place at privacy level.
func unprotect(sec *ntlm.Security, level AuthLevel, stub, msg, sig []byte) error {
	if effectiveLevel(level) == LevelPrivacy {
		return sec.Unseal(stub, msg, sig)
	}
	return sec.Verify(msg, sig)
}

// newSrvAuth starts a security context from the auth verifier of a BIND
// or ALTER_CONTEXT.
func newSrvAuth(v *AuthVerifier) (*srvAuth, error) {
	if v.Type != AuthNTLM && v.Type != AuthSPNEGO {
		return nil, errAuthType
	}
	if v.Level < LevelConnect || v.Level > LevelPrivacy {
		return nil, errAuthLevel
	}
	return &srvAuth{typ: v.Type, level: v.Level, ctxID: v.ContextID}, nil
}

// signs reports whether PDUs carry a signature (integrity and privacy).
func (a *srvAuth) signs() bool { return effectiveLevel(a.level) >= LevelIntegrity }

// step consumes one token and returns the token to answer with (nil when
// none). It returns an error when the exchange fails; the context is then
// failed.
func (a *srvAuth) step(s *Server, token []byte) ([]byte, error) {
	out, err := a.step1(s, token)
	if err != nil {
		a.failed = true
	}
	return out, err
}

func (a *srvAuth) step1(s *Server, token []byte) ([]byte, error) {
	if a.done || a.failed {
		return nil, errAuthToken
	}
	if a.typ == AuthNTLM {
		return a.ntlmStep(s, token, nil)
	}
	init, resp, err := spnego.Decode(token)
	if err != nil {
		return nil, err
	}
	if init != nil {
		if a.started || a.mechTypes != nil || !slices.Contains(init.MechTypes, spnego.OIDNTLMSSP) {
			return nil, errAuthToken
		}
		a.mechTypes = slices.Clone(init.RawMechTypes)
		if init.MechTypes[0] != spnego.OIDNTLMSSP || len(init.MechToken) == 0 {
			// An optimistic token for another mechanism is ignored:
			// ask for NTLMSSP.
			return spnego.EncodeResp(&spnego.Resp{NegState: spnego.AcceptIncomplete, SupportedMech: spnego.OIDNTLMSSP}), nil
		}
		chal, err := a.ntlmStep(s, init.MechToken, nil)
		if err != nil {
			return nil, err
		}
		return spnego.EncodeResp(&spnego.Resp{NegState: spnego.AcceptIncomplete, SupportedMech: spnego.OIDNTLMSSP, ResponseToken: chal}), nil
	}
	if a.mechTypes == nil {
		return nil, errAuthToken
	}
	if !a.started {
		chal, err := a.ntlmStep(s, resp.ResponseToken, nil)
		if err != nil {
			return nil, err
		}
		return spnego.EncodeResp(&spnego.Resp{NegState: spnego.AcceptIncomplete, ResponseToken: chal}), nil
	}
	mic := resp.MechListMIC
	if _, err := a.ntlmStep(s, resp.ResponseToken, mic); err != nil {
		return nil, err
	}
	out := spnego.Resp{NegState: spnego.AcceptCompleted}
	if mic != nil && a.sec != nil {
		// The MICs used sequence number 0 of each direction; the RC4
		// handles start afresh for the first PDU ([MS-SPNG] 3.1.5.1).
		out.MechListMIC = a.sec.Sign(nil, a.mechTypes)
		a.sec.ResetRC4()
	}
	return spnego.EncodeResp(&out), nil
}

// ntlmStep runs the NTLMSSP leg token is: NEGOTIATE (returns the
// CHALLENGE) or AUTHENTICATE (returns nil). mic is the client's SPNEGO
// mechListMIC, verified with the new session security.
func (a *srvAuth) ntlmStep(s *Server, token, mic []byte) ([]byte, error) {
	if len(token) < 12 || !spnego.IsNTLMSSP(token) {
		return nil, errAuthToken
	}
	switch token[8] {
	case 1: // NEGOTIATE
		if a.started {
			return nil, errAuthToken
		}
		if s.NTLM == nil {
			return nil, errNoNTLM
		}
		a.started = true
		a.hs = ntlm.NewServerHandshake(s.NTLM())
		return a.hs.Challenge(token)
	case 3: // AUTHENTICATE
		if !a.started {
			return nil, errAuthToken
		}
		res, err := a.hs.Authenticate(token)
		if res != nil {
			a.user = res.User
		}
		if err != nil {
			return nil, err
		}
		if a.signs() {
			if res.Anonymous {
				return nil, errors.New("dcerpc: an anonymous logon cannot sign")
			}
			if effectiveLevel(a.level) == LevelPrivacy && res.Flags&ntlm.FlagSeal == 0 {
				return nil, errors.New("dcerpc: privacy without NTLMSSP_NEGOTIATE_SEAL")
			}
		}
		if a.signs() || mic != nil {
			sec, err := ntlm.NewSecurity(res.SessionKey, res.Flags, true)
			if err != nil {
				return nil, err
			}
			if mic != nil {
				if err := sec.Verify(a.mechTypes, mic); err != nil {
					return nil, errors.New("dcerpc: bad SPNEGO mechListMIC")
				}
			}
			a.sec = sec
		}
		if s.Identity != nil {
			if a.caller, err = s.Identity(res); err != nil {
				return nil, err
			}
		} else {
			a.caller = Caller{User: res.User, Domain: res.Domain, Anonymous: res.Anonymous}
		}
		a.done = true
		a.hs = nil
		return nil, nil
	}
	return nil, errAuthToken
}
