package ntlm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// clientState is the state of one client-side exchange.
type clientState struct {
	negotiate []byte
	done      bool
	sec       sessionSecurity
	flags     uint32 // of the AUTHENTICATE_MESSAGE
}

// clientFlags are the flags of our NEGOTIATE_MESSAGE (what smbclient sends).
const clientFlags = FlagUnicode | FlagRequestTarget | FlagSign | FlagNTLM | FlagAlwaysSign |
	FlagExtendedSessionSecurity | FlagVersion | Flag128 | FlagKeyExch

// flags are the flags the client asks for.
func (c *Client) flags() uint32 {
	if c.Seal {
		return clientFlags | FlagSeal
	}
	return clientFlags
}

func (c *Client) negotiate() ([]byte, error) {
	msg := make([]byte, negotiateHeaderLen)
	copy(msg, signature)
	binary.LittleEndian.PutUint32(msg[8:], msgNegotiate)
	binary.LittleEndian.PutUint32(msg[12:], c.flags())
	binary.LittleEndian.PutUint32(msg[20:], negotiateHeaderLen) // empty domain
	binary.LittleEndian.PutUint32(msg[28:], negotiateHeaderLen) // empty workstation
	copy(msg[32:], version[:])
	c.st = clientState{negotiate: msg}
	return append([]byte(nil), msg...), nil
}

// challengeMessage is a parsed CHALLENGE_MESSAGE; slices alias the input.
type challengeMessage struct {
	flags      uint32
	serverCh   []byte
	targetInfo []byte
	pairs      []avPair
}

func parseChallenge(b []byte) (*challengeMessage, error) {
	if !checkHeader(b, msgChallenge, 48) {
		return nil, ErrMalformed
	}
	m := &challengeMessage{flags: binary.LittleEndian.Uint32(b[20:]), serverCh: b[24:32]}
	if _, ok := field(b, 12); !ok {
		return nil, ErrMalformed
	}
	info, ok := field(b, 40)
	if !ok {
		return nil, ErrMalformed
	}
	if len(info) > 0 {
		if m.pairs, ok = parseAVPairs(info); !ok {
			return nil, ErrMalformed
		}
	}
	m.targetInfo = info
	return m, nil
}

func (c *Client) authenticate(challenge []byte) ([]byte, [16]byte, error) {
	var zero [16]byte
	if c.st.negotiate == nil {
		return nil, zero, errors.New("ntlm: Authenticate before Negotiate")
	}
	if c.st.done {
		return nil, zero, errors.New("ntlm: second Authenticate")
	}
	c.st.done = true
	ch, err := parseChallenge(challenge)
	if err != nil {
		return nil, zero, err
	}
	flags := c.flags() & ch.flags
	if ch.flags&FlagUnicode == 0 {
		flags |= FlagOEM & ch.flags
	}
	unicode := flags&FlagUnicode != 0

	anonymous := c.User == "" && c.Password == "" && len(c.NTHash) == 0
	if anonymous {
		// MS-NLMP 3.1.5.1.2: empty names, LM = Z(1), empty NT response, no key.
		flags = flags&^(FlagKeyExch|FlagSign|FlagAlwaysSign) | FlagAnonymous
		msg := newAuthMessage(flags)
		msg = putField(msg, 28, nil)
		msg = putField(msg, 36, nil)
		msg = putField(msg, 44, appendString(nil, c.Workstation, unicode))
		msg = putField(msg, 12, []byte{0})
		msg = putField(msg, 20, nil)
		msg = putField(msg, 52, nil)
		return msg, zero, nil
	}

	var hash [16]byte
	switch {
	case c.Password != "":
		hash = ntHash(c.Password)
	case len(c.NTHash) == 16:
		copy(hash[:], c.NTHash)
	default:
		return nil, zero, errors.New("ntlm: NTHash must be 16 bytes")
	}
	if len(ch.targetInfo) == 0 {
		return nil, zero, fmt.Errorf("%w: CHALLENGE_MESSAGE without target info (NTLMv2 needs it)", ErrMalformed)
	}
	key := ntowfv2(hash, c.User, c.Domain)

	var ts []byte
	tsv, haveTS := lookupAV(ch.pairs, avTimestamp)
	if haveTS && len(tsv) == 8 {
		ts = tsv
	} else {
		haveTS = false
		now := fileTimeNow
		if c.Now != nil {
			now = c.Now
		}
		ts = binary.LittleEndian.AppendUint64(nil, now())
	}
	var clientCh [8]byte
	randomBytes(c.Rand, clientCh[:])

	// Echo the server's AV pairs with MsvAvFlags announcing the MIC.
	var info []byte
	avf := avFlagMICPresent
	for _, p := range ch.pairs {
		if p.id == avFlags {
			if len(p.value) == 4 {
				avf |= binary.LittleEndian.Uint32(p.value)
			}
			continue
		}
		info = appendAVPair(info, p.id, p.value)
	}
	info = appendAVPair(info, avFlags, binary.LittleEndian.AppendUint32(nil, avf))
	info = appendAVPair(info, avEOL, nil)

	// temp = RespType, HiRespType, Z(6), Time, ClientChallenge, Z(4), ServerName, Z(4)
	temp := make([]byte, 0, 28+len(info)+4)
	temp = append(temp, 1, 1, 0, 0, 0, 0, 0, 0)
	temp = append(temp, ts...)
	temp = append(temp, clientCh[:]...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, info...)
	temp = append(temp, 0, 0, 0, 0)
	proof := hmacMD5(key[:], ch.serverCh, temp)
	nt := append(proof[:], temp...)
	lm := make([]byte, 24) // Z(24) when the server sent a timestamp
	if !haveTS {
		l := hmacMD5(key[:], ch.serverCh, clientCh[:])
		copy(lm, l[:])
		copy(lm[16:], clientCh[:])
	}
	baseKey := hmacMD5(key[:], proof[:])
	exported := baseKey
	var encKey []byte
	if flags&FlagKeyExch != 0 {
		randomBytes(c.Rand, exported[:])
		e := rc4K(baseKey[:], exported[:])
		encKey = e[:]
	}

	msg := newAuthMessage(flags)
	msg = putField(msg, 28, appendString(nil, c.Domain, unicode))
	msg = putField(msg, 36, appendString(nil, c.User, unicode))
	msg = putField(msg, 44, appendString(nil, c.Workstation, unicode))
	msg = putField(msg, 12, lm)
	msg = putField(msg, 20, nt)
	msg = putField(msg, 52, encKey)
	mic := hmacMD5(exported[:], c.st.negotiate, challenge, msg)
	copy(msg[micOffset:], mic[:])
	c.st.sec = newSessionSecurity(exported, flags)
	c.st.flags = flags
	return msg, exported, nil
}

// newAuthMessage returns the fixed part of an AUTHENTICATE_MESSAGE with
// VERSION and a zero MIC; the payload follows.
func newAuthMessage(flags uint32) []byte {
	msg := make([]byte, authenticateHeaderLen, 512)
	copy(msg, signature)
	binary.LittleEndian.PutUint32(msg[8:], msgAuthenticate)
	binary.LittleEndian.PutUint32(msg[60:], flags)
	copy(msg[64:72], version[:])
	return msg
}

func (c *Client) mechListMIC(mechList []byte) []byte { return c.st.sec.micC2S(mechList) }

func (c *Client) verifyMechListMIC(mechList, mic []byte) bool {
	want := c.st.sec.micS2C(mechList)
	return want != nil && equal(want, mic)
}
