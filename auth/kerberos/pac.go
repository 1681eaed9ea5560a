package kerberos

import (
	"encoding/binary"
	"unicode/utf16"

	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/security"
)

// PAC buffer types (MS-PAC 2.4).
const (
	pacLogonInfo       = 1
	pacServerChecksum  = 6
	pacPrivsvrChecksum = 7
	pacClientInfo      = 10
	pacUPNDNSInfo      = 12
)

// KERB_VALIDATION_INFO UserFlags (MS-PAC 2.5).
const (
	logonExtraSIDs      = 0x20
	logonResourceGroups = 0x200
)

// Limits of the PAC decoder: a real PAC has a handful of buffers and a
// user in a few hundred groups; MaxTokenSize (48 KiB) bounds it anyway.
const (
	maxPACBuffers = 64
	maxPACGroups  = 4096
)

// PAC is what smbpipe takes from a Privilege Attribute Certificate (MS-PAC)
// once its server signature verified: the identity and groups of
// KERB_VALIDATION_INFO, the client name of PAC_CLIENT_INFO and the UPN of
// UPN_DNS_INFO.
type PAC struct {
	// User is LogonDomainId + UserId; PrimaryGroup LogonDomainId +
	// PrimaryGroupId.
	User, PrimaryGroup security.SID
	// Groups are the domain's GroupIds, then ExtraSids (UserFlags D), then
	// the resource groups (UserFlags H), in that order, without duplicates.
	Groups []security.SID
	// HasLogonInfo: the PAC had a KERB_VALIDATION_INFO; without one the
	// SID fields are zero.
	HasLogonInfo bool
	// UserFlags as sent.
	UserFlags uint32
	// EffectiveName is the account name, LogonDomainName the NetBIOS
	// domain name.
	EffectiveName, LogonDomainName string
	// ClientName and ClientTime are PAC_CLIENT_INFO's name and ClientId
	// (a FILETIME: the ticket's authtime).
	ClientName string
	ClientTime uint64
	// UPN and DNSDomain are UPN_DNS_INFO's ("" when absent).
	UPN, DNSDomain string

	// The signatures, for VerifyServerSignature.
	raw               []byte
	serverType        int32
	serverSig         []byte
	serverOff, kdcOff int // offsets of the signature bytes in raw
	kdcLen            int
}

// DecodePAC parses a PACTYPE (the ad-data of AD-WIN2K-PAC). It requires
// PAC_CLIENT_INFO and the server and KDC signature buffers (MS-PAC 2.4; a
// PAC without them is refused). LOGON_INFO is optional: an MIT KDC without
// a PAC-issuing database backend signs a PAC that has none (HasLogonInfo
// false), which says who the client is but gives no groups. Duplicates of a
// buffer type after the first are ignored, unknown types skipped. Nothing in
// it can panic; every offset and count is checked.
func DecodePAC(b []byte) (*PAC, error) {
	if len(b) < 8 || len(b) > maxToken {
		return nil, pacError("PACTYPE shorter than its header")
	}
	n := binary.LittleEndian.Uint32(b)
	if ver := binary.LittleEndian.Uint32(b[4:]); ver != 0 {
		return nil, pacError("PACTYPE version is not 0")
	}
	if n == 0 || n > maxPACBuffers || uint64(len(b)-8) < uint64(n)*16 {
		return nil, pacError("PACTYPE buffer count does not fit")
	}
	p := &PAC{raw: b, serverOff: -1, kdcOff: -1}
	seen := map[uint32]bool{}
	for i := 0; i < int(n); i++ {
		e := b[8+16*i:]
		typ := binary.LittleEndian.Uint32(e)
		size := uint64(binary.LittleEndian.Uint32(e[4:]))
		off := binary.LittleEndian.Uint64(e[8:])
		if off > uint64(len(b)) || size > uint64(len(b))-off {
			return nil, pacError("PAC_INFO_BUFFER outside the PAC")
		}
		if seen[typ] {
			continue
		}
		seen[typ] = true
		data := b[off : off+size : off+size]
		var err error
		switch typ {
		case pacLogonInfo:
			err = p.decodeLogonInfo(data)
			p.HasLogonInfo = err == nil
		case pacClientInfo:
			err = p.decodeClientInfo(data)
		case pacUPNDNSInfo:
			err = p.decodeUPN(data)
		case pacServerChecksum, pacPrivsvrChecksum:
			if len(data) < 4+12 {
				return nil, pacError("PAC_SIGNATURE_DATA too short")
			}
			st := int32(binary.LittleEndian.Uint32(data))
			sigLen := 12
			if st == -138 { // KERB_CHECKSUM_HMAC_MD5
				sigLen = 16
			}
			if len(data) < 4+sigLen {
				return nil, pacError("PAC_SIGNATURE_DATA too short")
			}
			if typ == pacServerChecksum {
				p.serverType, p.serverSig, p.serverOff = st, data[4:4+sigLen], int(off)+4
			} else {
				p.kdcOff, p.kdcLen = int(off)+4, sigLen
			}
		}
		if err != nil {
			return nil, err
		}
	}
	for _, need := range []struct {
		typ  uint32
		name string
	}{{pacClientInfo, "PAC_CLIENT_INFO"}, {pacServerChecksum, "server signature"}, {pacPrivsvrChecksum, "KDC signature"}} {
		if !seen[need.typ] {
			return nil, pacError("the PAC has no " + need.name)
		}
	}
	return p, nil
}

func pacError(msg string) error {
	return &Error{Code: ErrCodeGeneric, Reason: "PAC: " + msg, err: ErrMalformed}
}

// signedData returns a copy of the PAC with both signatures zeroed: what
// the server signature covers (MS-PAC 2.8.1).
func (p *PAC) signedData() []byte {
	z := append([]byte(nil), p.raw...)
	clear(z[p.serverOff : p.serverOff+len(p.serverSig)])
	clear(z[p.kdcOff : p.kdcOff+p.kdcLen])
	return z
}

// decodeClientInfo reads PAC_CLIENT_INFO (MS-PAC 2.7).
func (p *PAC) decodeClientInfo(b []byte) error {
	if len(b) < 10 {
		return pacError("PAC_CLIENT_INFO too short")
	}
	p.ClientTime = binary.LittleEndian.Uint64(b)
	n := int(binary.LittleEndian.Uint16(b[8:]))
	if n%2 != 0 || n > len(b)-10 {
		return pacError("PAC_CLIENT_INFO name length")
	}
	p.ClientName = decodeUTF16LE(b[10 : 10+n])
	return nil
}

// decodeUPN reads UPN_DNS_INFO (MS-PAC 2.10): UPN and DNS domain.
func (p *PAC) decodeUPN(b []byte) error {
	if len(b) < 12 {
		return pacError("UPN_DNS_INFO too short")
	}
	str := func(at int) (string, bool) {
		n := int(binary.LittleEndian.Uint16(b[at:]))
		off := int(binary.LittleEndian.Uint16(b[at+2:]))
		if n%2 != 0 || off > len(b) || n > len(b)-off {
			return "", false
		}
		return decodeUTF16LE(b[off : off+n]), true
	}
	var ok1, ok2 bool
	p.UPN, ok1 = str(0)
	p.DNSDomain, ok2 = str(4)
	if !ok1 || !ok2 {
		return pacError("UPN_DNS_INFO string outside the buffer")
	}
	return nil
}

func decodeUTF16LE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// decodeLogonInfo reads KERB_VALIDATION_INFO (MS-PAC 2.5), an NDR type
// serialisation version 1 (MS-RPCE 2.2.6): an 8-byte common header, an
// 8-byte private header, then the top-level pointer and the structure.
func (p *PAC) decodeLogonInfo(b []byte) error {
	if len(b) < 16 || b[0] != 1 || b[1] != 0x10 || binary.LittleEndian.Uint16(b[2:]) != 8 {
		return pacError("LOGON_INFO: not a little-endian NDR type serialisation v1")
	}
	objLen := binary.LittleEndian.Uint32(b[8:])
	if uint64(objLen) > uint64(len(b)-16) {
		return pacError("LOGON_INFO: object length past the buffer")
	}
	r := ndr.NewReader(b[16:16+objLen], ndr.LittleEndian)
	if !r.UniquePtr() {
		return pacError("LOGON_INFO: NULL KERB_VALIDATION_INFO")
	}
	var names [8]string // EffectiveName .. HomeDirectoryDrive (6), LogonServer, LogonDomainName
	var domain, resDomain security.SID
	var groups, resGroups []uint32
	var extra []security.SID
	filetimes := func(k int) {
		for range k {
			r.Uint32()
			r.Uint32()
		}
	}
	filetimes(6)
	for i := range 6 {
		r.UnicodeString(&names[i])
	}
	r.Uint16() // LogonCount
	r.Uint16() // BadPasswordCount
	userID := r.Uint32()
	primaryID := r.Uint32()
	groupCount := r.Uint32()
	r.DeferUnique(func(r *ndr.Reader) { groups = readGroupMembership(r, groupCount) })
	p.UserFlags = r.Uint32()
	r.Octets(16) // UserSessionKey
	r.UnicodeString(&names[6])
	r.UnicodeString(&names[7])
	r.DeferUnique(func(r *ndr.Reader) { domain = readSID(r) })
	r.Uint32() // Reserved1[2]
	r.Uint32()
	r.Uint32()   // UserAccountControl
	r.Uint32()   // SubAuthStatus
	filetimes(2) // LastSuccessfulILogon, LastFailedILogon
	r.Uint32()   // FailedILogonCount
	r.Uint32()   // Reserved3
	sidCount := r.Uint32()
	r.DeferUnique(func(r *ndr.Reader) {
		max := r.MaxCount()
		if max != sidCount || sidCount > maxPACGroups {
			r.Fail("ExtraSids: count disagrees with SidCount")
			return
		}
		n := r.Elements(max, 8)
		extra = make([]security.SID, n)
		for i := range n {
			i := i
			r.DeferUnique(func(r *ndr.Reader) { extra[i] = readSID(r) })
			r.Uint32() // Attributes
		}
	})
	r.DeferUnique(func(r *ndr.Reader) { resDomain = readSID(r) })
	resCount := r.Uint32()
	r.DeferUnique(func(r *ndr.Reader) { resGroups = readGroupMembership(r, resCount) })
	r.Flush()
	if err := r.Err(); err != nil {
		return pacError("LOGON_INFO: " + err.Error())
	}
	if domain.IsZero() {
		return pacError("LOGON_INFO: no LogonDomainId")
	}
	var err error
	if p.User, err = domain.WithRID(userID); err != nil {
		return pacError("LOGON_INFO: " + err.Error())
	}
	if p.PrimaryGroup, err = domain.WithRID(primaryID); err != nil {
		return pacError("LOGON_INFO: " + err.Error())
	}
	p.EffectiveName, p.LogonDomainName = names[0], names[7]
	add := func(s security.SID) {
		if s.IsZero() {
			return
		}
		for _, g := range p.Groups {
			if g == s {
				return
			}
		}
		p.Groups = append(p.Groups, s)
	}
	for _, rid := range groups {
		s, err := domain.WithRID(rid)
		if err != nil {
			return pacError("LOGON_INFO: " + err.Error())
		}
		add(s)
	}
	if p.UserFlags&logonExtraSIDs != 0 {
		for _, s := range extra {
			add(s)
		}
	}
	if p.UserFlags&logonResourceGroups != 0 && !resDomain.IsZero() {
		for _, rid := range resGroups {
			s, err := resDomain.WithRID(rid)
			if err != nil {
				return pacError("LOGON_INFO: " + err.Error())
			}
			add(s)
		}
	}
	return nil
}

// readGroupMembership reads the referent of a GROUP_MEMBERSHIP array
// pointer: the conformance (which must equal count) and count {RelativeId,
// Attributes} pairs; it returns the RIDs.
func readGroupMembership(r *ndr.Reader, count uint32) []uint32 {
	max := r.MaxCount()
	if max != count || count > maxPACGroups {
		r.Fail("GROUP_MEMBERSHIP array: count disagrees with its field")
		return nil
	}
	n := r.Elements(max, 8)
	rids := make([]uint32, n)
	for i := range rids {
		rids[i] = r.Uint32()
		r.Uint32() // Attributes
	}
	return rids
}

// readSID reads the referent of an RPC_SID pointer (MS-DTYP 2.4.2.3).
func readSID(r *ndr.Reader) security.SID {
	max := r.MaxCount()
	rev := r.Uint8()
	n := r.Uint8()
	auth := r.Octets(6)
	if len(auth) != 6 {
		return security.SID{}
	}
	if rev != 1 || uint32(n) != max || n > security.MaxSubAuthorities {
		r.Fail("RPC_SID: bad revision or sub-authority count")
		return security.SID{}
	}
	var a uint64
	for _, c := range auth {
		a = a<<8 | uint64(c)
	}
	subs := make([]uint32, n)
	for i := range subs {
		subs[i] = r.Uint32()
	}
	s, err := security.NewSID(a, subs...)
	if err != nil {
		r.Fail("RPC_SID: " + err.Error())
		return security.SID{}
	}
	return s
}
