package security

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// AceType is an ACE_HEADER AceType. Only ACCESS_ALLOWED and ACCESS_DENIED
// are supported: object, callback, audit and label ACEs are rejected by the
// decoders (MS-DTYP 2.4.4.1; SEMANTICS 3.2 "reject on SD import").
type AceType uint8

// Supported ACE types.
const (
	AccessAllowed AceType = 0x00
	AccessDenied  AceType = 0x01
)

func (t AceType) String() string {
	switch t {
	case AccessAllowed:
		return "allow"
	case AccessDenied:
		return "deny"
	}
	return fmt.Sprintf("type 0x%02x", uint8(t))
}

// AceFlags are ACE_HEADER AceFlags.
type AceFlags uint8

// ACE flags.
const (
	ObjectInherit      AceFlags = 0x01 // OI
	ContainerInherit   AceFlags = 0x02 // CI
	NoPropagateInherit AceFlags = 0x04 // NP
	InheritOnly        AceFlags = 0x08 // IO: skipped by AccessCheck
	Inherited          AceFlags = 0x10 // ID
	SuccessfulAccess   AceFlags = 0x40 // SA
	FailedAccess       AceFlags = 0x80 // FA
)

// validAceFlags are the flags that have an SDDL name; others are rejected
// so that binary and SDDL forms stay interchangeable.
const validAceFlags = ObjectInherit | ContainerInherit | NoPropagateInherit | InheritOnly | Inherited | SuccessfulAccess | FailedAccess

// ACE is an ACCESS_ALLOWED_ACE or ACCESS_DENIED_ACE.
type ACE struct {
	Type  AceType
	Flags AceFlags
	Mask  uint32
	SID   SID
}

// ACL is an access control list. Revision 0 is written as ACL_REVISION (2).
type ACL struct {
	Revision uint8
	ACEs     []ACE
}

// SD control bits (MS-DTYP 2.4.6).
const (
	SEOwnerDefaulted     uint16 = 0x0001
	SEGroupDefaulted     uint16 = 0x0002
	SEDACLPresent        uint16 = 0x0004
	SEDACLDefaulted      uint16 = 0x0008
	SESACLPresent        uint16 = 0x0010
	SESACLDefaulted      uint16 = 0x0020
	SEDACLTrusted        uint16 = 0x0040
	SEServerSecurity     uint16 = 0x0080
	SEDACLAutoInheritReq uint16 = 0x0100
	SESACLAutoInheritReq uint16 = 0x0200
	SEDACLAutoInherited  uint16 = 0x0400
	SESACLAutoInherited  uint16 = 0x0800
	SEDACLProtected      uint16 = 0x1000
	SESACLProtected      uint16 = 0x2000
	SERMControlValid     uint16 = 0x4000
	SESelfRelative       uint16 = 0x8000
	derivedControl              = SEDACLPresent | SESACLPresent | SESelfRelative
	aclRevision          uint8  = 2
	aclRevisionDS        uint8  = 4
	sdHeaderLen                 = 20
	aclHeaderLen                = 8
	aceFixedLen                 = 8 // header + mask
	maxACLSize                  = 0xFFFF
)

// SecurityDescriptor is a security descriptor without a SACL (SACLs are not
// supported: a binary descriptor carrying one is rejected).
//
// The DACL has three states: DACLPresent false (absent); DACLPresent true
// and DACL nil (NULL DACL); DACLPresent true and DACL non-nil, possibly with
// no ACEs (empty DACL). Owner and Group nil mean absent.
type SecurityDescriptor struct {
	// Control holds the control bits other than SE_DACL_PRESENT,
	// SE_SACL_PRESENT and SE_SELF_RELATIVE, which are derived on encoding
	// and cleared on decoding. SDDL's P, AI and AR DACL flags live here.
	Control     uint16
	Owner       *SID
	Group       *SID
	DACLPresent bool
	DACL        *ACL
}

// Errors returned by the binary decoder.
var (
	ErrInvalidDescriptor = errors.New("security: invalid security descriptor")
	ErrUnsupported       = errors.New("security: unsupported")
)

func descErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidDescriptor}, args...)...)
}

// Clone returns a deep copy of sd.
func (sd *SecurityDescriptor) Clone() *SecurityDescriptor {
	c := *sd
	if sd.Owner != nil {
		o := *sd.Owner
		c.Owner = &o
	}
	if sd.Group != nil {
		g := *sd.Group
		c.Group = &g
	}
	if sd.DACL != nil {
		c.DACL = &ACL{Revision: sd.DACL.Revision, ACEs: append([]ACE{}, sd.DACL.ACEs...)}
	}
	return &c
}

// MapGeneric returns a copy of sd whose ACE masks have their generic bits
// mapped with m, as Windows does when a descriptor is stored.
func (sd *SecurityDescriptor) MapGeneric(m GenericMapping) *SecurityDescriptor {
	c := sd.Clone()
	if c.DACL != nil {
		for i := range c.DACL.ACEs {
			c.DACL.ACEs[i].Mask = m.Map(c.DACL.ACEs[i].Mask)
		}
	}
	return c
}

// Equal reports whether two descriptors are the same (ACL revision 0 and 2
// compare equal).
func (sd *SecurityDescriptor) Equal(o *SecurityDescriptor) bool {
	if sd == nil || o == nil {
		return sd == o
	}
	if sd.Control&^derivedControl != o.Control&^derivedControl || sd.DACLPresent != o.DACLPresent {
		return false
	}
	if !sidPtrEqual(sd.Owner, o.Owner) || !sidPtrEqual(sd.Group, o.Group) {
		return false
	}
	if (sd.DACL == nil) != (o.DACL == nil) {
		return false
	}
	if sd.DACL == nil {
		return true
	}
	if sd.DACL.revision() != o.DACL.revision() || len(sd.DACL.ACEs) != len(o.DACL.ACEs) {
		return false
	}
	for i := range sd.DACL.ACEs {
		if sd.DACL.ACEs[i] != o.DACL.ACEs[i] {
			return false
		}
	}
	return true
}

func sidPtrEqual(a, b *SID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (a *ACL) revision() uint8 {
	if a.Revision == 0 {
		return aclRevision
	}
	return a.Revision
}

// Size is the binary size of the ACL.
func (a *ACL) Size() int {
	n := aclHeaderLen
	for _, e := range a.ACEs {
		n += aceFixedLen + e.SID.Len()
	}
	return n
}

// AppendBinary appends the self-relative binary form of sd to b. Layout:
// header, owner, group, DACL. It fails only if the DACL exceeds 64 KiB or
// holds an unsupported ACE type.
func (sd *SecurityDescriptor) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	control := sd.Control&^derivedControl | SESelfRelative
	if sd.DACLPresent {
		control |= SEDACLPresent
	}
	b = append(b, 1, 0)
	b = binary.LittleEndian.AppendUint16(b, control)
	b = append(b, make([]byte, 16)...) // offsets, patched below
	off := sdHeaderLen
	if sd.Owner != nil {
		binary.LittleEndian.PutUint32(b[start+4:], uint32(off))
		b = sd.Owner.AppendBinary(b)
		off += sd.Owner.Len()
	}
	if sd.Group != nil {
		binary.LittleEndian.PutUint32(b[start+8:], uint32(off))
		b = sd.Group.AppendBinary(b)
		off += sd.Group.Len()
	}
	if sd.DACLPresent && sd.DACL != nil {
		binary.LittleEndian.PutUint32(b[start+16:], uint32(off))
		var err error
		if b, err = sd.DACL.AppendBinary(b); err != nil {
			return b[:start], err
		}
	}
	return b, nil
}

// AppendBinary appends the binary ACL to b.
func (a *ACL) AppendBinary(b []byte) ([]byte, error) {
	size := a.Size()
	if size > maxACLSize || len(a.ACEs) > 0xFFFF {
		return b, fmt.Errorf("%w: ACL of %d bytes exceeds 65535", ErrUnsupported, size)
	}
	b = append(b, a.revision(), 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(size))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(a.ACEs)))
	b = append(b, 0, 0)
	for i, e := range a.ACEs {
		if e.Type != AccessAllowed && e.Type != AccessDenied {
			return b, fmt.Errorf("%w: ACE %d: %v", ErrUnsupported, i+1, e.Type)
		}
		b = append(b, byte(e.Type), byte(e.Flags))
		b = binary.LittleEndian.AppendUint16(b, uint16(aceFixedLen+e.SID.Len()))
		b = binary.LittleEndian.AppendUint32(b, e.Mask)
		b = e.SID.AppendBinary(b)
	}
	return b, nil
}

// DecodeSecurityDescriptor decodes a self-relative security descriptor.
// Components may appear in any order; every offset and length is checked.
// A SACL, or an ACE other than ACCESS_ALLOWED/ACCESS_DENIED, is rejected
// with an error wrapping ErrUnsupported.
func DecodeSecurityDescriptor(b []byte) (*SecurityDescriptor, error) {
	if len(b) < sdHeaderLen {
		return nil, descErr("%d bytes, need at least %d", len(b), sdHeaderLen)
	}
	if b[0] != 1 {
		return nil, descErr("revision %d", b[0])
	}
	control := binary.LittleEndian.Uint16(b[2:])
	if control&SESelfRelative == 0 {
		return nil, descErr("not self-relative (control 0x%04x)", control)
	}
	offOwner := binary.LittleEndian.Uint32(b[4:])
	offGroup := binary.LittleEndian.Uint32(b[8:])
	offSACL := binary.LittleEndian.Uint32(b[12:])
	offDACL := binary.LittleEndian.Uint32(b[16:])
	if control&SESACLPresent != 0 || offSACL != 0 {
		return nil, fmt.Errorf("%w: security descriptor with a SACL", ErrUnsupported)
	}
	sd := &SecurityDescriptor{Control: control &^ derivedControl, DACLPresent: control&SEDACLPresent != 0}
	sidAt := func(what string, off uint32) (*SID, error) {
		if off == 0 {
			return nil, nil
		}
		if off < sdHeaderLen || uint64(off) >= uint64(len(b)) {
			return nil, descErr("%s offset %d outside %d bytes", what, off, len(b))
		}
		s, _, err := DecodeSID(b[off:])
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidDescriptor, what, err)
		}
		return &s, nil
	}
	var err error
	if sd.Owner, err = sidAt("owner", offOwner); err != nil {
		return nil, err
	}
	if sd.Group, err = sidAt("group", offGroup); err != nil {
		return nil, err
	}
	if offDACL != 0 {
		if !sd.DACLPresent {
			// Windows ignores an offset without DP; we keep the data model
			// simple and treat it as malformed.
			return nil, descErr("DACL offset %d without SE_DACL_PRESENT", offDACL)
		}
		if offDACL < sdHeaderLen || uint64(offDACL) >= uint64(len(b)) {
			return nil, descErr("DACL offset %d outside %d bytes", offDACL, len(b))
		}
		if sd.DACL, err = DecodeACL(b[offDACL:]); err != nil {
			return nil, err
		}
	}
	return sd, nil
}

// DecodeACL decodes a binary ACL at the start of b (trailing bytes beyond
// AclSize are ignored).
func DecodeACL(b []byte) (*ACL, error) {
	if len(b) < aclHeaderLen {
		return nil, descErr("ACL: %d bytes, need %d", len(b), aclHeaderLen)
	}
	rev := b[0]
	if rev != aclRevision && rev != aclRevisionDS {
		return nil, descErr("ACL revision %d", rev)
	}
	size := int(binary.LittleEndian.Uint16(b[2:]))
	count := int(binary.LittleEndian.Uint16(b[4:]))
	if size < aclHeaderLen || size > len(b) {
		return nil, descErr("ACL size %d (have %d bytes)", size, len(b))
	}
	body := b[aclHeaderLen:size]
	if count > len(body)/(aceFixedLen+8) {
		return nil, descErr("ACL claims %d ACEs in %d bytes", count, len(body))
	}
	acl := &ACL{Revision: rev, ACEs: make([]ACE, 0, count)}
	for i := range count {
		if len(body) < 4 {
			return nil, descErr("ACE %d: truncated header", i+1)
		}
		typ, flags := AceType(body[0]), AceFlags(body[1])
		aceSize := int(binary.LittleEndian.Uint16(body[2:]))
		if aceSize < aceFixedLen+8 || aceSize > len(body) || aceSize%4 != 0 {
			return nil, descErr("ACE %d: size %d (have %d bytes)", i+1, aceSize, len(body))
		}
		if typ != AccessAllowed && typ != AccessDenied {
			return nil, fmt.Errorf("%w: ACE %d: %v (only allow and deny ACEs)", ErrUnsupported, i+1, typ)
		}
		if flags&^validAceFlags != 0 {
			return nil, descErr("ACE %d: unknown flags 0x%02x", i+1, uint8(flags&^validAceFlags))
		}
		s, n, err := DecodeSID(body[aceFixedLen:aceSize])
		if err != nil {
			return nil, fmt.Errorf("%w: ACE %d: %w", ErrInvalidDescriptor, i+1, err)
		}
		_ = n // AceSize may exceed the SID: extra bytes are ignored (MS-DTYP 2.4.4.1)
		acl.ACEs = append(acl.ACEs, ACE{Type: typ, Flags: flags, Mask: binary.LittleEndian.Uint32(body[4:]), SID: s})
		body = body[aceSize:]
	}
	return acl, nil
}
