package security

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxSubAuthorities is the largest number of sub-authorities a SID holds.
const MaxSubAuthorities = 15

// SID is a security identifier. It is a comparable value (usable as a map
// key and with ==); the zero value is the SID "S-1-0" with no
// sub-authorities, which IsZero reports.
type SID struct {
	auth uint64 // 48 bits
	n    uint8
	sub  [MaxSubAuthorities]uint32
}

// Errors returned by the SID functions.
var (
	ErrInvalidSID = errors.New("security: invalid SID")
)

// NewSID builds a SID from its identifier authority (48 bits) and
// sub-authorities.
func NewSID(authority uint64, subs ...uint32) (SID, error) {
	if authority >= 1<<48 || len(subs) > MaxSubAuthorities {
		return SID{}, ErrInvalidSID
	}
	s := SID{auth: authority, n: uint8(len(subs))}
	copy(s.sub[:], subs)
	return s, nil
}

// sid builds a well-known SID; the arguments are constants known valid.
func sid(authority uint64, subs ...uint32) SID {
	s := SID{auth: authority, n: uint8(len(subs))}
	copy(s.sub[:], subs)
	return s
}

// IsZero reports whether s is the zero SID value.
func (s SID) IsZero() bool { return s == SID{} }

// Authority returns the 48-bit identifier authority.
func (s SID) Authority() uint64 { return s.auth }

// SubAuthorities returns a copy of the sub-authorities.
func (s SID) SubAuthorities() []uint32 { return append([]uint32(nil), s.sub[:s.n]...) }

// RID returns the last sub-authority (0 if there is none).
func (s SID) RID() uint32 {
	if s.n == 0 {
		return 0
	}
	return s.sub[s.n-1]
}

// WithRID returns s with rid appended, e.g. a machine SID plus 1001.
func (s SID) WithRID(rid uint32) (SID, error) {
	if s.n >= MaxSubAuthorities {
		return SID{}, ErrInvalidSID
	}
	s.sub[s.n] = rid
	s.n++
	return s, nil
}

// Prefix reports whether s is p followed by exactly one more
// sub-authority (p is the domain of s).
func (s SID) Prefix(p SID) bool {
	if s.auth != p.auth || s.n != p.n+1 {
		return false
	}
	return slices.Equal(s.sub[:p.n], p.sub[:p.n])
}

// Len is the size of the binary form: 8 + 4 × sub-authorities.
func (s SID) Len() int { return 8 + 4*int(s.n) }

// String formats s as S-1-A-S1-S2…; an authority of 2^32 or more is
// printed in hex.
func (s SID) String() string {
	b := make([]byte, 0, 16+11*int(s.n))
	b = append(b, "S-1-"...)
	if s.auth >= 1<<32 {
		b = append(b, "0x"...)
		b = strconv.AppendUint(b, s.auth, 16)
	} else {
		b = strconv.AppendUint(b, s.auth, 10)
	}
	for _, v := range s.sub[:s.n] {
		b = append(b, '-')
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return string(b)
}

// ParseSID parses the string form S-1-A-S1-…  (case-insensitive "S";
// authority in decimal or 0x-hex; sub-authorities in decimal).
func ParseSID(str string) (SID, error) {
	bad := func() (SID, error) { return SID{}, fmt.Errorf("%w %q", ErrInvalidSID, str) }
	if len(str) < 4 || (str[0] != 'S' && str[0] != 's') || str[1] != '-' {
		return bad()
	}
	parts := strings.Split(str[2:], "-")
	if len(parts) < 2 || len(parts)-2 > MaxSubAuthorities || parts[0] != "1" {
		return bad()
	}
	var auth uint64
	var err error
	if a := parts[1]; len(a) > 2 && (a[:2] == "0x" || a[:2] == "0X") {
		auth, err = strconv.ParseUint(a[2:], 16, 48)
	} else {
		auth, err = parseDecimal(a, 48)
	}
	if err != nil {
		return bad()
	}
	s := SID{auth: auth, n: uint8(len(parts) - 2)}
	for i, p := range parts[2:] {
		v, err := parseDecimal(p, 32)
		if err != nil {
			return bad()
		}
		s.sub[i] = uint32(v)
	}
	return s, nil
}

// parseDecimal accepts only plain decimal digits (no sign, no prefix).
func parseDecimal(s string, bits int) (uint64, error) {
	if s == "" {
		return 0, ErrInvalidSID
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrInvalidSID
		}
	}
	return strconv.ParseUint(s, 10, bits)
}

// AppendBinary appends the MS-DTYP 2.4.2.2 packet form of s to b.
func (s SID) AppendBinary(b []byte) []byte {
	b = append(b, 1, s.n,
		byte(s.auth>>40), byte(s.auth>>32), byte(s.auth>>24),
		byte(s.auth>>16), byte(s.auth>>8), byte(s.auth))
	for _, v := range s.sub[:s.n] {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// DecodeSID decodes a binary SID at the start of b and returns it with the
// number of bytes it used.
func DecodeSID(b []byte) (SID, int, error) {
	if len(b) < 8 {
		return SID{}, 0, fmt.Errorf("%w: %d bytes, need at least 8", ErrInvalidSID, len(b))
	}
	if b[0] != 1 {
		return SID{}, 0, fmt.Errorf("%w: revision %d", ErrInvalidSID, b[0])
	}
	n := int(b[1])
	if n > MaxSubAuthorities {
		return SID{}, 0, fmt.Errorf("%w: %d sub-authorities", ErrInvalidSID, n)
	}
	size := 8 + 4*n
	if len(b) < size {
		return SID{}, 0, fmt.Errorf("%w: truncated (%d of %d bytes)", ErrInvalidSID, len(b), size)
	}
	s := SID{n: uint8(n)}
	for _, c := range b[2:8] {
		s.auth = s.auth<<8 | uint64(c)
	}
	for i := range n {
		s.sub[i] = binary.LittleEndian.Uint32(b[8+4*i:])
	}
	return s, size, nil
}

// Well-known SIDs (MS-DTYP 2.4.2.4). Functions, not variables: the package
// holds no mutable state.

func NullSID() SID               { return sid(0, 0) }       // S-1-0-0
func Everyone() SID              { return sid(1, 0) }       // S-1-1-0 (WD)
func Local() SID                 { return sid(2, 0) }       // S-1-2-0
func CreatorOwner() SID          { return sid(3, 0) }       // S-1-3-0 (CO)
func CreatorGroup() SID          { return sid(3, 1) }       // S-1-3-1 (CG)
func OwnerRights() SID           { return sid(3, 4) }       // S-1-3-4 (OW)
func Network() SID               { return sid(5, 2) }       // S-1-5-2 (NU)
func Interactive() SID           { return sid(5, 4) }       // S-1-5-4 (IU)
func Service() SID               { return sid(5, 6) }       // S-1-5-6 (SU)
func AnonymousLogon() SID        { return sid(5, 7) }       // S-1-5-7 (AN)
func AuthenticatedUsers() SID    { return sid(5, 11) }      // S-1-5-11 (AU)
func Restricted() SID            { return sid(5, 12) }      // S-1-5-12 (RC)
func ThisOrganization() SID      { return sid(5, 15) }      // S-1-5-15
func LocalSystem() SID           { return sid(5, 18) }      // S-1-5-18 (SY)
func LocalService() SID          { return sid(5, 19) }      // S-1-5-19 (LS)
func NetworkService() SID        { return sid(5, 20) }      // S-1-5-20 (NS)
func BuiltinAdministrators() SID { return sid(5, 32, 544) } // S-1-5-32-544 (BA)
func BuiltinUsers() SID          { return sid(5, 32, 545) } // S-1-5-32-545 (BU)
func BuiltinGuests() SID         { return sid(5, 32, 546) } // S-1-5-32-546 (BG)
func PowerUsers() SID            { return sid(5, 32, 547) } // S-1-5-32-547 (PU)
func PreWindows2000() SID        { return sid(5, 32, 554) } // S-1-5-32-554 (RU)
func NTLMAuthentication() SID    { return sid(5, 64, 10) }  // S-1-5-64-10
func LocalAccount() SID          { return sid(5, 113) }     // S-1-5-113
func LocalAccountAndAdmin() SID  { return sid(5, 114) }     // S-1-5-114

// Well-known RIDs relative to a machine or domain SID.
const (
	RIDAdministrator uint32 = 500
	RIDGuest         uint32 = 501
	RIDDomainAdmins  uint32 = 512
	RIDDomainUsers   uint32 = 513
	RIDDomainGuests  uint32 = 514
	RIDDomainComps   uint32 = 515
)

// Name returns the English account name of a well-known SID
// ("ANONYMOUS LOGON", "BUILTIN\Administrators") or "" if s is not one.
func (s SID) Name() string {
	switch s {
	case NullSID():
		return "NULL SID"
	case Everyone():
		return "Everyone"
	case Local():
		return "LOCAL"
	case CreatorOwner():
		return "CREATOR OWNER"
	case CreatorGroup():
		return "CREATOR GROUP"
	case OwnerRights():
		return "OWNER RIGHTS"
	case Network():
		return "NETWORK"
	case Interactive():
		return "INTERACTIVE"
	case Service():
		return "SERVICE"
	case AnonymousLogon():
		return "ANONYMOUS LOGON"
	case AuthenticatedUsers():
		return "Authenticated Users"
	case Restricted():
		return "RESTRICTED"
	case ThisOrganization():
		return "This Organization"
	case LocalSystem():
		return "SYSTEM"
	case LocalService():
		return "LOCAL SERVICE"
	case NetworkService():
		return "NETWORK SERVICE"
	case BuiltinAdministrators():
		return `BUILTIN\Administrators`
	case BuiltinUsers():
		return `BUILTIN\Users`
	case BuiltinGuests():
		return `BUILTIN\Guests`
	case PowerUsers():
		return `BUILTIN\Power Users`
	case PreWindows2000():
		return `BUILTIN\Pre-Windows 2000 Compatible Access`
	case NTLMAuthentication():
		return "NTLM Authentication"
	case LocalAccount():
		return "Local account"
	case LocalAccountAndAdmin():
		return "Local account and member of Administrators group"
	}
	return ""
}
