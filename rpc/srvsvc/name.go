package srvsvc

import (
	"strings"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// OpNetprNameValidate is NetprNameValidate's opnum.
const OpNetprNameValidate = 33

// nameLimits are the longest name, in characters, NetprNameValidate
// accepts for each NAMETYPE_* (MS-SRVS 3.1.4.29; lmcons.h's UNLEN, PWLEN,
// GNLEN, CNLEN, EVLEN, DNLEN, SNLEN, NNLEN, SHPWLEN), and whether the
// type is a name (checked for the characters names may not hold) rather
// than a password.
var nameLimits = [...]struct {
	max  int
	name bool
}{
	1:  {20, true},   // NAMETYPE_USER (LM20_UNLEN)
	2:  {256, false}, // NAMETYPE_PASSWORD
	3:  {256, true},  // NAMETYPE_GROUP
	4:  {15, true},   // NAMETYPE_COMPUTER
	5:  {16, true},   // NAMETYPE_EVENT
	6:  {15, true},   // NAMETYPE_DOMAIN
	7:  {80, true},   // NAMETYPE_SERVICE
	8:  {260, true},  // NAMETYPE_NET
	9:  {80, true},   // NAMETYPE_SHARE
	10: {15, true},   // NAMETYPE_MESSAGE
	11: {15, true},   // NAMETYPE_MESSAGEDEST
	12: {8, false},   // NAMETYPE_SHAREPASSWORD
	13: {15, true},   // NAMETYPE_WORKGROUP
}

// nameFlagLM2x is NetprNameValidate's one flag (LM 2.x compatible
// names); any other bit is ERROR_INVALID_PARAMETER.
const nameFlagLM2x = 0x80000000

// validName reports whether name is a valid name of type t (1 to 13).
// Names may not be empty, hold control characters or
// "\/[]:|<>+=;,?*"", nor be only dots and spaces; NAMETYPE_NET takes a
// path, so its backslashes are allowed.
func validName(t uint32, name string) bool {
	l := nameLimits[t]
	if n := len([]rune(name)); n == 0 && l.name || n > l.max {
		return false
	}
	if !l.name {
		return true
	}
	bad := "\\/[]:|<>+=;,?*\""
	if t == 8 {
		bad = "/[]|<>+=;,?*\""
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7F || strings.ContainsRune(bad, r) {
			return false
		}
	}
	return strings.Trim(name, ". ") != ""
}

// NET_API_STATUS NetprNameValidate([in,string,unique] ServerName,
// [in,string] WCHAR* Name, DWORD NameType, DWORD Flags): 0 for a valid
// name, ERROR_INVALID_NAME for an invalid one, ERROR_INVALID_PARAMETER for
// an unknown type or flag. Anyone who has the pipe open may ask.
func (s *service) nameValidate(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	svc.ServerName(r)
	name := r.WString()
	typ := r.Uint32()
	flags := r.Uint32()
	if r.Err() != nil {
		return nil
	}
	switch ok, _ := s.check(c, "NetprNameValidate", 0); {
	case !ok:
		w.Uint32(svc.ErrAccessDenied)
	case typ == 0 || typ >= uint32(len(nameLimits)) || flags&^nameFlagLM2x != 0:
		w.Uint32(svc.ErrInvalidParameter)
	case !validName(typ, name):
		w.Uint32(svc.ErrInvalidName)
	default:
		w.Uint32(svc.ErrSuccess)
	}
	return nil
}
