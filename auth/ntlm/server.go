package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// serverState is the state of one server-side exchange.
type serverState struct {
	negotiate []byte // copy of the client's NEGOTIATE_MESSAGE
	challenge []byte // the CHALLENGE_MESSAGE we sent
	serverCh  [8]byte
	flags     uint32 // flags of our CHALLENGE_MESSAGE
	done      bool   // Authenticate was called
	sec       sessionSecurity
}

// serverFlagsFrom are the client-requested flags the server echoes.
const serverFlagsFrom = FlagUnicode | FlagRequestTarget | FlagSign | FlagSeal | FlagAlwaysSign |
	FlagExtendedSessionSecurity | FlagVersion | Flag128 | Flag56 | FlagKeyExch

// fileTimeNow is the current time as a FILETIME.
func fileTimeNow() uint64 {
	const epochDelta = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	return uint64(time.Now().UnixNano()/100) + epochDelta
}

func (s *ServerHandshake) challenge(negotiate []byte) ([]byte, error) {
	if s.st.challenge != nil {
		return nil, fmt.Errorf("%w: second NEGOTIATE_MESSAGE", ErrMalformed)
	}
	if !checkHeader(negotiate, msgNegotiate, 16) {
		return nil, ErrMalformed
	}
	clientFlags := binary.LittleEndian.Uint32(negotiate[12:])
	flags := clientFlags&serverFlagsFrom | FlagNTLM | FlagTargetInfo | FlagTargetTypeServer
	if flags&FlagUnicode == 0 {
		flags |= FlagOEM
	}
	unicode := flags&FlagUnicode != 0

	cfg := &s.cfg
	computer := cfg.NetBIOSComputer
	if computer == "" {
		computer = cfg.TargetName
	}
	if computer == "" {
		computer = "SMBPIPE"
	}
	domain := cfg.NetBIOSDomain
	if domain == "" {
		domain = computer // a workgroup server names itself
	}
	target := cfg.TargetName
	if target == "" {
		target = domain
	}
	now := fileTimeNow
	if cfg.Now != nil {
		now = cfg.Now
	}
	randomBytes(cfg.Rand, s.st.serverCh[:])

	var info []byte
	info = appendAVPair(info, avNbDomainName, encodeUTF16(domain))
	info = appendAVPair(info, avNbComputerName, encodeUTF16(computer))
	if cfg.DNSDomain != "" {
		info = appendAVPair(info, avDNSDomainName, encodeUTF16(cfg.DNSDomain))
	}
	if cfg.DNSComputer != "" {
		info = appendAVPair(info, avDNSComputerName, encodeUTF16(cfg.DNSComputer))
	}
	info = appendAVPair(info, avTimestamp, binary.LittleEndian.AppendUint64(nil, now()))
	info = appendAVPair(info, avEOL, nil)

	msg := make([]byte, challengeHeaderLen, challengeHeaderLen+64+len(info))
	copy(msg, signature)
	binary.LittleEndian.PutUint32(msg[8:], msgChallenge)
	binary.LittleEndian.PutUint32(msg[20:], flags)
	copy(msg[24:32], s.st.serverCh[:])
	if flags&FlagVersion != 0 {
		copy(msg[48:56], version[:])
	}
	msg = putField(msg, 12, appendString(nil, target, unicode))
	msg = putField(msg, 40, info)

	s.st.negotiate = append([]byte(nil), negotiate...)
	s.st.challenge = msg
	s.st.flags = flags
	return append([]byte(nil), msg...), nil
}

// authMessage is a parsed AUTHENTICATE_MESSAGE; slices alias the input.
type authMessage struct {
	lm, nt, encKey            []byte
	domain, user, workstation string
	flags                     uint32
}

func parseAuthenticate(b []byte) (*authMessage, error) {
	if !checkHeader(b, msgAuthenticate, 64) {
		return nil, ErrMalformed
	}
	m := &authMessage{flags: binary.LittleEndian.Uint32(b[60:])}
	unicode := m.flags&FlagUnicode != 0
	var raw [6][]byte
	for i := range raw {
		var ok bool
		if raw[i], ok = field(b, 12+8*i); !ok {
			return nil, ErrMalformed
		}
	}
	m.lm, m.nt, m.encKey = raw[0], raw[1], raw[5]
	var ok1, ok2, ok3 bool
	m.domain, ok1 = decodeString(raw[2], unicode)
	m.user, ok2 = decodeString(raw[3], unicode)
	m.workstation, ok3 = decodeString(raw[4], unicode)
	if !ok1 || !ok2 || !ok3 {
		return nil, ErrMalformed
	}
	return m, nil
}

// isAnonymous applies MS-NLMP 3.2.5.1.2: empty user name and NT response,
// and an LM response that is empty or a single zero byte.
func (m *authMessage) isAnonymous() bool {
	return m.user == "" && len(m.nt) == 0 &&
		(len(m.lm) == 0 || (len(m.lm) == 1 && m.lm[0] == 0))
}

// ntlmv2MinResponse is NTProofStr plus the fixed part of NTLMv2_CLIENT_CHALLENGE.
const ntlmv2MinResponse = 16 + 28

func (s *ServerHandshake) authenticate(b []byte) (*Result, error) {
	if s.st.challenge == nil {
		return nil, fmt.Errorf("%w: AUTHENTICATE_MESSAGE before CHALLENGE_MESSAGE", ErrMalformed)
	}
	if s.st.done {
		return nil, fmt.Errorf("%w: second AUTHENTICATE_MESSAGE", ErrMalformed)
	}
	s.st.done = true
	m, err := parseAuthenticate(b)
	if err != nil {
		return nil, err
	}
	flags := m.flags & s.st.flags
	res := &Result{User: m.user, Domain: m.domain, Workstation: m.workstation, Flags: flags}
	if m.isAnonymous() {
		res.Anonymous = true
		return res, nil
	}
	switch {
	case len(m.nt) == 24:
		return res, fmt.Errorf("%w: NTLMv1 response refused", ErrWrongPassword)
	case len(m.nt) < ntlmv2MinResponse:
		return res, fmt.Errorf("%w: no NTLMv2 response", ErrWrongPassword)
	}
	proof, blob := m.nt[:16], m.nt[16:]
	if blob[0] != 1 || blob[1] != 1 {
		return nil, fmt.Errorf("%w: NTLMv2 client challenge version", ErrMalformed)
	}
	pairs, ok := parseAVPairs(blob[28:])
	if !ok {
		return nil, fmt.Errorf("%w: NTLMv2 AV pairs", ErrMalformed)
	}

	var hash [16]byte
	if s.cfg.Lookup != nil {
		hash, ok = s.cfg.Lookup(m.user, m.domain)
	}
	if !ok {
		return res, ErrNoSuchUser
	}
	// Clients compute NTOWFv2 with the domain they send; some send one
	// and hash with another case or none, as Samba also tolerates.
	candidates := []string{m.domain}
	if up := strings.ToUpper(m.domain); up != m.domain {
		candidates = append(candidates, up)
	}
	if m.domain != "" {
		candidates = append(candidates, "")
	}
	var key [16]byte
	found := false
	for _, d := range candidates {
		key = ntowfv2(hash, m.user, d)
		want := hmacMD5(key[:], s.st.serverCh[:], blob)
		if equal(want[:], proof) {
			found = true
			break
		}
	}
	if !found {
		return res, ErrWrongPassword
	}

	// NTLMv2: KeyExchangeKey = SessionBaseKey (MS-NLMP 3.4.5.1).
	baseKey := hmacMD5(key[:], proof)
	exported := baseKey
	if flags&FlagKeyExch != 0 {
		if len(m.encKey) != 16 {
			return nil, fmt.Errorf("%w: KEY_EXCH without a 16-byte session key", ErrMalformed)
		}
		exported = rc4K(baseKey[:], m.encKey)
	}

	if v, ok := lookupAV(pairs, avFlags); ok && len(v) == 4 && binary.LittleEndian.Uint32(v)&avFlagMICPresent != 0 {
		if len(b) < micOffset+16 {
			return nil, ErrBadMIC
		}
		h := hmac.New(md5.New, exported[:])
		h.Write(s.st.negotiate)
		h.Write(s.st.challenge)
		h.Write(b[:micOffset])
		h.Write(make([]byte, 16))
		h.Write(b[micOffset+16:])
		if !equal(h.Sum(nil), b[micOffset:micOffset+16]) {
			return nil, ErrBadMIC
		}
		res.MICPresent = true
	}
	res.SessionKey = exported
	s.st.sec = newSessionSecurity(exported, flags)
	return res, nil
}

// mechListMIC signs in the server-to-client direction. nil before a
// successful non-anonymous Authenticate.
func (s *ServerHandshake) mechListMIC(mechList []byte) []byte { return s.st.sec.micS2C(mechList) }

func (s *ServerHandshake) verifyMechListMIC(mechList, mic []byte) bool {
	want := s.st.sec.micC2S(mechList)
	return want != nil && equal(want, mic)
}
