package security

import (
	"fmt"

	"github.com/smbpipe/smbpipe/ntstatus"
)

// Access rights (MS-DTYP 2.4.3, MS-FSCC 2.3 / MS-SMB2 2.2.13.1.1).
const (
	FileReadData           uint32 = 0x00000001
	FileWriteData          uint32 = 0x00000002
	FileAppendData         uint32 = 0x00000004
	FileCreatePipeInstance uint32 = 0x00000004 // same bit as FileAppendData
	FileReadEA             uint32 = 0x00000008
	FileWriteEA            uint32 = 0x00000010
	FileExecute            uint32 = 0x00000020
	FileDeleteChild        uint32 = 0x00000040
	FileReadAttributes     uint32 = 0x00000080
	FileWriteAttributes    uint32 = 0x00000100
	Delete                 uint32 = 0x00010000
	ReadControl            uint32 = 0x00020000
	WriteDAC               uint32 = 0x00040000
	WriteOwner             uint32 = 0x00080000
	Synchronize            uint32 = 0x00100000
	AccessSystemSecurity   uint32 = 0x01000000
	MaximumAllowed         uint32 = 0x02000000
	GenericAll             uint32 = 0x10000000
	GenericExecute         uint32 = 0x20000000
	GenericWrite           uint32 = 0x40000000
	GenericRead            uint32 = 0x80000000

	FileAllAccess     uint32 = 0x001F01FF // FA
	FileGenericRead   uint32 = 0x00120089 // FR
	FileGenericWrite  uint32 = 0x00120116 // FW
	FileGenericExec   uint32 = 0x001200A0 // FX
	genericBits              = GenericAll | GenericExecute | GenericWrite | GenericRead
	ownerImplicitBits        = ReadControl | WriteDAC
)

// GenericMapping maps GENERIC_* bits to specific rights.
type GenericMapping struct{ Read, Write, Execute, All uint32 }

// FileMapping is the file and named-pipe generic mapping
// (IoGetFileObjectGenericMapping).
func FileMapping() GenericMapping {
	return GenericMapping{Read: FileGenericRead, Write: FileGenericWrite, Execute: FileGenericExec, All: FileAllAccess}
}

// Map replaces the generic bits of mask by the rights they stand for.
func (m GenericMapping) Map(mask uint32) uint32 {
	out := mask &^ genericBits
	if mask&GenericRead != 0 {
		out |= m.Read
	}
	if mask&GenericWrite != 0 {
		out |= m.Write
	}
	if mask&GenericExecute != 0 {
		out |= m.Execute
	}
	if mask&GenericAll != 0 {
		out |= m.All
	}
	return out
}

// Token is the security context of a session: a user SID and group SIDs,
// all enabled, none deny-only, no privileges (what a network logon gets).
// A Token is not modified after construction and is safe to share.
type Token struct {
	User   SID
	Groups []SID
}

// Contains reports whether s is the token's user or one of its groups.
func (t *Token) Contains(s SID) bool {
	if t == nil {
		return false
	}
	if t.User == s {
		return true
	}
	for _, g := range t.Groups {
		if g == s {
			return true
		}
	}
	return false
}

// SIDs returns the user SID followed by the groups.
func (t *Token) SIDs() []SID {
	if t == nil {
		return nil
	}
	return append([]SID{t.User}, t.Groups...)
}

// CheckOptions parameterise AccessCheck.
type CheckOptions struct {
	// Mapping maps generic bits of the desired access. The zero value
	// means FileMapping.
	Mapping GenericMapping
	// PipeClientOpen removes FILE_CREATE_PIPE_INSTANCE (0x4) from the
	// desired access after mapping, as npfs does for a client open.
	PipeClientOpen bool
}

// StepKind classifies a TraceStep.
type StepKind uint8

// Trace step kinds.
const (
	StepMap       StepKind = iota // generic mapping / npfs strip of the desired access
	StepPrivilege                 // a privilege check
	StepNoDACL                    // absent or NULL DACL: everything granted
	StepOwner                     // owner implicit rights (or OWNER RIGHTS ACEs)
	StepACE                       // one ACE
	StepResult                    // final verdict
)

// TraceStep records one step of AccessCheck. For StepACE, ACE is the ACE,
// Index its 1-based position, Matched whether the token holds its SID and
// Granted/Denied the bits this ACE granted or denied (0 when it did not
// decide anything). Note is a human-readable sentence.
type TraceStep struct {
	Kind    StepKind
	Index   int
	ACE     ACE
	Matched bool
	Granted uint32
	Denied  uint32
	Note    string
}

// Result is the outcome of AccessCheck.
type Result struct {
	Status ntstatus.Status
	// Desired is the desired access after generic mapping and, for a pipe
	// client open, the FILE_CREATE_PIPE_INSTANCE strip (MAXIMUM_ALLOWED
	// kept if requested).
	Desired uint32
	// Granted is the access granted (0 when denied).
	Granted uint32
	// Missing are the desired bits no ACE granted (when denied by
	// omission); DeniedBy is the 1-based index of the deny ACE that
	// decided, 0 if none.
	Missing  uint32
	DeniedBy int
	// Trace is every step of the check, for people: AccessCheck fills it,
	// Check leaves it nil.
	Trace []TraceStep
}

// AccessCheck decides whether tok may open an object protected by sd with
// the desired access, following SEMANTICS 3.5: generic mapping; privileges
// (a network token holds none, so ACCESS_SYSTEM_SECURITY yields
// STATUS_PRIVILEGE_NOT_HELD); absent or NULL DACL grants all; owner implicit
// READ_CONTROL|WRITE_DAC unless OWNER RIGHTS ACEs are present; ACEs walked in
// order (inherit-only skipped), a deny ACE deciding only for bits still
// wanted; MAXIMUM_ALLOWED in its order-dependent form. It returns a trace of
// every ACE considered in Result.Trace, for people (`smbpipe explain`);
// Check is the same decision without the trace.
func AccessCheck(sd *SecurityDescriptor, tok *Token, desired uint32, opt CheckOptions) Result {
	return check(sd, tok, desired, opt, true)
}

// Check is AccessCheck without the trace: the same decision, with
// Result.Trace nil. It does not allocate; the server calls it on every
// open.
func Check(sd *SecurityDescriptor, tok *Token, desired uint32, opt CheckOptions) Result {
	return check(sd, tok, desired, opt, false)
}

// check is AccessCheck, recording the trace only when traced: every note
// is formatted inside an `if traced`, and nothing outside one allocates.
func check(sd *SecurityDescriptor, tok *Token, desired uint32, opt CheckOptions, traced bool) Result {
	m := opt.Mapping
	if m == (GenericMapping{}) {
		m = FileMapping()
	}
	var r Result
	step := func(s TraceStep) {
		if traced {
			r.Trace = append(r.Trace, s)
		}
	}
	// deny ends the check; the caller has traced the result step.
	deny := func(st ntstatus.Status) Result {
		r.Status, r.Granted = st, 0
		return r
	}

	mapped := m.Map(desired)
	if traced {
		note := fmt.Sprintf("desired access 0x%08X", desired)
		if mapped != desired {
			note += fmt.Sprintf(" maps to 0x%08X (generic mapping)", mapped)
		}
		if opt.PipeClientOpen && mapped&FileCreatePipeInstance != 0 {
			note += fmt.Sprintf("; FILE_CREATE_PIPE_INSTANCE (0x4) removed for a pipe client open: 0x%08X", mapped&^FileCreatePipeInstance)
		}
		step(TraceStep{Kind: StepMap, Note: note})
	}
	if opt.PipeClientOpen {
		mapped &^= FileCreatePipeInstance
	}
	r.Desired = mapped
	if mapped == 0 {
		step(TraceStep{Kind: StepResult, Note: "no access requested: denied"})
		return deny(ntstatus.AccessDenied)
	}
	remaining := mapped &^ MaximumAllowed
	var granted uint32
	if remaining&AccessSystemSecurity != 0 {
		r.Missing = AccessSystemSecurity
		step(TraceStep{Kind: StepPrivilege, Note: "ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege, which a network token does not hold"})
		step(TraceStep{Kind: StepResult, Note: "privilege not held"})
		return deny(ntstatus.PrivilegeNotHeld)
	}

	if sd == nil || !sd.DACLPresent || sd.DACL == nil {
		granted = remaining
		if mapped&MaximumAllowed != 0 {
			granted |= m.All
		}
		if traced {
			what := "NULL DACL"
			if sd == nil || !sd.DACLPresent {
				what = "no DACL"
			}
			step(TraceStep{Kind: StepNoDACL, Granted: granted, Note: what + ": every access is granted to everyone"})
			step(TraceStep{Kind: StepResult, Granted: granted, Note: fmt.Sprintf("granted 0x%08X", granted)})
		}
		r.Status, r.Granted = ntstatus.Success, granted
		return r
	}
	acl := sd.DACL
	ownerRights := OwnerRights()

	ownerBits, ownerRightsACEs := ownerImplicitBits, false
	var orAllow, orDeny uint32
	for i := range acl.ACEs {
		e := &acl.ACEs[i]
		if e.SID == ownerRights && e.Flags&InheritOnly == 0 {
			ownerRightsACEs = true
			if e.Type == AccessAllowed {
				orAllow |= e.Mask
			} else {
				orDeny |= e.Mask
			}
		}
	}
	if ownerRightsACEs {
		ownerBits = orAllow &^ orDeny
	}
	isOwner := sd.Owner != nil && tok.Contains(*sd.Owner)
	if isOwner && traced {
		src := "implicit READ_CONTROL|WRITE_DAC"
		if ownerRightsACEs {
			src = "OWNER RIGHTS ACEs"
		}
		ob := ownerBits & remaining
		if mapped&MaximumAllowed != 0 {
			ob = ownerBits
		}
		step(TraceStep{Kind: StepOwner, Granted: ob,
			Note: fmt.Sprintf("token holds the owner %s: %s grant 0x%08X", *sd.Owner, src, ownerBits)})
	}

	// skipped says why an ACE takes no part in the walk ("" if it does).
	skipped := func(e *ACE) string {
		if e.Flags&InheritOnly != 0 {
			return "inherit-only: skipped"
		}
		if e.SID == ownerRights {
			return "OWNER RIGHTS: applies through the owner step"
		}
		return ""
	}
	// aceStep is the trace step of ACE i (1-based), its ACE filled in only
	// when traced.
	aceStep := func(i int, e *ACE) TraceStep {
		s := TraceStep{Kind: StepACE, Index: i}
		if traced {
			s.ACE = *e
		}
		return s
	}

	if mapped&MaximumAllowed != 0 {
		var g, d uint32
		if isOwner {
			g |= ownerBits
		}
		for i := range acl.ACEs {
			e := &acl.ACEs[i]
			s := aceStep(i+1, e)
			if s.Note = skipped(e); s.Note != "" {
				step(s)
				continue
			}
			s.Matched = tok.Contains(e.SID)
			switch {
			case !s.Matched:
				s.Note = "SID not in token"
			case e.Type == AccessAllowed:
				s.Granted = e.Mask &^ d &^ g
				g |= e.Mask &^ d
			default:
				s.Denied = e.Mask &^ g &^ d
				d |= e.Mask &^ g
			}
			step(s)
		}
		granted |= g
		r.Missing = remaining &^ granted
		if r.Missing != 0 || granted == 0 {
			if granted == 0 {
				r.Missing = remaining | MaximumAllowed
			}
			if traced {
				step(TraceStep{Kind: StepResult, Note: fmt.Sprintf("MAXIMUM_ALLOWED: granted 0x%08X, missing 0x%08X", granted, r.Missing)})
			}
			return deny(ntstatus.AccessDenied)
		}
		if traced {
			step(TraceStep{Kind: StepResult, Granted: granted, Note: fmt.Sprintf("granted 0x%08X (maximum allowed)", granted)})
		}
		r.Status, r.Granted = ntstatus.Success, granted
		return r
	}

	if isOwner {
		granted |= remaining & ownerBits
		remaining &^= ownerBits
	}
	for i := range acl.ACEs {
		e := &acl.ACEs[i]
		s := aceStep(i+1, e)
		if s.Note = skipped(e); s.Note != "" {
			step(s)
			continue
		}
		if remaining == 0 {
			if !traced {
				break // the rest decides nothing; only the trace lists it
			}
			s.Note = "not reached: every requested bit already granted"
			step(s)
			continue
		}
		s.Matched = tok.Contains(e.SID)
		switch {
		case !s.Matched:
			s.Note = "SID not in token"
		case e.Type == AccessAllowed:
			s.Granted = remaining & e.Mask
			granted |= s.Granted
			remaining &^= e.Mask
		case remaining&e.Mask != 0:
			s.Denied = remaining & e.Mask
			step(s)
			r.DeniedBy, r.Missing = i+1, s.Denied
			if traced {
				step(TraceStep{Kind: StepResult, Note: fmt.Sprintf("ACE %d denies 0x%08X still requested", i+1, s.Denied)})
			}
			return deny(ntstatus.AccessDenied)
		default:
			s.Note = "deny ACE for bits already granted or not requested: no effect"
		}
		step(s)
	}
	if remaining != 0 {
		r.Missing = remaining
		if traced {
			step(TraceStep{Kind: StepResult, Note: fmt.Sprintf("no ACE grants 0x%08X", remaining)})
		}
		return deny(ntstatus.AccessDenied)
	}
	if traced {
		step(TraceStep{Kind: StepResult, Granted: mapped, Note: fmt.Sprintf("granted 0x%08X", mapped)})
	}
	r.Status, r.Granted = ntstatus.Success, mapped
	return r
}

// rightNames name the access bits for people, in RightsNames' order.
var rightNames = [...]struct {
	bit  uint32
	name string
}{
	{FileReadData, "READ_DATA"}, {FileWriteData, "WRITE_DATA"}, {FileAppendData, "APPEND_DATA"},
	{FileReadEA, "READ_EA"}, {FileWriteEA, "WRITE_EA"}, {FileExecute, "EXECUTE"},
	{FileDeleteChild, "DELETE_CHILD"}, {FileReadAttributes, "READ_ATTRIBUTES"},
	{FileWriteAttributes, "WRITE_ATTRIBUTES"}, {Delete, "DELETE"}, {ReadControl, "READ_CONTROL"},
	{WriteDAC, "WRITE_DAC"}, {WriteOwner, "WRITE_OWNER"}, {Synchronize, "SYNCHRONIZE"},
	{AccessSystemSecurity, "ACCESS_SYSTEM_SECURITY"}, {MaximumAllowed, "MAXIMUM_ALLOWED"},
	{GenericAll, "GENERIC_ALL"}, {GenericExecute, "GENERIC_EXECUTE"},
	{GenericWrite, "GENERIC_WRITE"}, {GenericRead, "GENERIC_READ"},
}

// RightsNames describes a mask with the names of its bits for people, e.g.
// "READ_DATA|WRITE_DATA|SYNCHRONIZE".
func RightsNames(mask uint32) string { return string(AppendRightsNames(nil, mask)) }

// AppendRightsNames appends RightsNames(mask) to b.
func AppendRightsNames(b []byte, mask uint32) []byte {
	start, rest := len(b), mask
	for _, n := range rightNames {
		if mask&n.bit != 0 {
			if len(b) > start {
				b = append(b, '|')
			}
			b = append(b, n.name...)
			rest &^= n.bit
		}
	}
	if rest != 0 {
		if len(b) > start {
			b = append(b, '|')
		}
		var hex [8]byte // %X
		i := len(hex)
		for {
			i--
			hex[i] = "0123456789ABCDEF"[rest&0xF]
			if rest >>= 4; rest == 0 {
				break
			}
		}
		b = append(append(b, "0x"...), hex[i:]...)
	}
	if len(b) == start {
		b = append(b, "none"...)
	}
	return b
}
