package policy

import (
	"fmt"
	"strings"

	"github.com/smbpipe/smbpipe/internal/ntname"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/security"
)

// Impersonation levels (MS-SMB2 2.2.13).
const (
	ImpersonationAnonymous      uint32 = 0
	ImpersonationIdentification uint32 = 1
	ImpersonationImpersonation  uint32 = 2
	ImpersonationDelegate       uint32 = 3
)

// Rules (Decision.Rule values).
const (
	RuleNullSessionPipes   = "null-session-pipes"
	RuleImpersonation      = "impersonation-level"
	RuleNotFound           = "not-found"
	RuleDACL               = "dacl"
	RuleDirection          = "direction"
	RuleInstances          = "instances"
	RuleGranted            = "granted"
	RuleUnknownUser        = "unknown-user"
	RuleNullSessionRefused = "null-session-refused"
	RuleLogonFailure       = "logon-failure"
	RuleSession            = "session"
	RuleEncryptionRequired = "encryption-required"
)

// Pipe directions (PipeInfo.Direction, pipe.Direction values).
const (
	DirectionInbound  uint8 = 0
	DirectionOutbound uint8 = 1
	DirectionDuplex   uint8 = 2
)

// Decide decides a pipe open (a CREATE on IPC$), in Windows' order
// (SEMANTICS 1.4 and 2.5):
//
//  1. anonymous session, RestrictNullSessAccess = 1 and the name not in
//     NullSessionPipes: STATUS_ACCESS_DENIED, whether or not the pipe exists;
//  2. ImpersonationLevel Delegate (3) or above: STATUS_BAD_IMPERSONATION_LEVEL;
//  3. no such pipe: STATUS_OBJECT_NAME_NOT_FOUND;
//  4. AccessCheck of the pipe's descriptor with the session's token and the
//     mapped desired access minus FILE_CREATE_PIPE_INSTANCE:
//     STATUS_ACCESS_DENIED (or STATUS_PRIVILEGE_NOT_HELD);
//  5. READ_DATA granted on an inbound pipe or WRITE_DATA on an outbound one:
//     STATUS_ACCESS_DENIED;
//  6. no free instance: STATUS_PIPE_NOT_AVAILABLE.
//
// On success Granted is the AccessCheck result plus FILE_READ_DATA when
// FILE_EXECUTE is granted (MS-SMB2 3.3.5.9). Decide is a pure function of
// the snapshot and r.
//
// Decide explains its decision: Steps traces each gate, Reason says why.
// When denied, Fixes lists the smallest set of changes that would grant:
// the fix of the deciding gate, then those of the later gates that would
// still deny once it passed (e.g. a pipe missing from NullSessionPipes whose
// DACL is also too narrow needs both changes). Fix joins them.
//
// Check is the same decision without the explanation, for the server.
func (s *Snapshot) Decide(r Request) Decision {
	var t trace
	d := s.decide(r, 0, &t)
	d.Steps = t.steps
	d.Reason = d.Why()
	d.Fixes = s.fixes(r, &d, 0)
	d.Fix = joinFixes(d.Fixes)
	return d
}

// Check decides r as Decide does (the same function, gates and order)
// without explaining: Steps, Reason, Fixes and Fix stay empty, and Why
// writes the reason when it is wanted. Check does not allocate; the server
// calls it on every CREATE.
func (s *Snapshot) Check(r Request) Decision { return s.decide(r, 0, nil) }

// Why returns the decision's Reason: the one Decide set, or, for a
// decision of Check, the same sentence written now from what decided.
func (d *Decision) Why() string {
	if d.Reason != "" || d.facts.snap == nil {
		return d.Reason
	}
	return d.facts.snap.reason(&d.facts, d.Granted)
}

// gate names one check of decide, as a bit of the set of gates a
// hypothetical re-run assumes passed.
type gate uint8

const (
	gateNullSessionPipes gate = 1 << iota
	gateImpersonation
	gateExistence
	gateDACL
	gateDirection
	gateInstances
)

// chainable are the gates after which decide looks further for the fixes
// of the next gates. Existence is not: the DACL of a pipe yet to be added
// is whatever its author writes.
const chainable = gateNullSessionPipes | gateImpersonation | gateDACL | gateDirection

// outcome says what decided a decision, so that its reason and fixes can
// be written afterwards, and only when wanted.
type outcome uint8

const (
	undecided outcome = iota // a Decision not made by decide
	byGranted
	byUnknownUser
	byNullSessionPipes
	byImpersonation
	byNotFound
	byBadSDDL
	byDACL
	byInbound
	byOutbound
	byInstances
)

// outcomes holds the rule each outcome reports and its gate (0: a denial
// no re-run can assume passed).
var outcomes = [...]struct {
	rule string
	gate gate
}{
	undecided:          {},
	byGranted:          {RuleGranted, 0},
	byUnknownUser:      {RuleUnknownUser, 0},
	byNullSessionPipes: {RuleNullSessionPipes, gateNullSessionPipes},
	byImpersonation:    {RuleImpersonation, gateImpersonation},
	byNotFound:         {RuleNotFound, gateExistence},
	byBadSDDL:          {RuleDACL, 0},
	byDACL:             {RuleDACL, gateDACL},
	byInbound:          {RuleDirection, gateDirection},
	byOutbound:         {RuleDirection, gateDirection},
	byInstances:        {RuleInstances, gateInstances},
}

// facts are what a decision was made from and by, kept in the Decision.
// The snapshot, token and descriptor are immutable and shared; keeping
// them costs no allocation.
type facts struct {
	by   outcome
	snap *Snapshot
	req  Request
	tok  *security.Token
	sd   *security.SecurityDescriptor
	res  security.Result // of the DACL gate, without its trace
	err  error           // why the pipe's SDDL does not parse (byBadSDDL)
}

// trace records the steps of a decision for people. decide takes a nil
// *trace on the server's path and then formats nothing: every step is
// written inside an `if tr != nil`.
type trace struct{ steps []string }

func (t *trace) printf(format string, args ...any) {
	t.steps = append(t.steps, fmt.Sprintf(format, args...))
}

func (t *trace) result(st ntstatus.Status) {
	code, name := st.Win32()
	t.printf("result: %s (0x%08X), Win32 %d %s", st, uint32(st), code, name)
}

// decide is Decide and Check: the gates in order, with those in bypass
// assumed passed (for Fixes), tracing into tr when it is not nil.
func (s *Snapshot) decide(r Request, bypass gate, tr *trace) Decision {
	d := Decision{Desired: security.FileMapping().Map(r.DesiredAccess)}
	d.facts = facts{snap: s, req: r}
	// end ends the decision; Granted is set before a grant.
	end := func(by outcome, st ntstatus.Status) Decision {
		d.Status, d.Rule, d.facts.by = st, outcomes[by].rule, by
		if tr != nil {
			tr.result(st)
		}
		return d
	}
	name := r.PipeName

	tok, ok := s.Token(r.Identity)
	d.facts.tok = tok
	if tr != nil {
		tr.printf("session: %s; token %s", describeIdentity(r.Identity), s.describeToken(tok))
	}
	if !ok {
		return end(byUnknownUser, ntstatus.AccessDenied)
	}

	// Gate 1: NullSessionPipes, before the name is resolved.
	switch {
	case bypass&gateNullSessionPipes != 0:
	case r.Identity.Kind != Anonymous:
		if tr != nil {
			tr.printf("gate NullSessionPipes: not applied (not a null session)")
		}
	case s.cfg.LanmanServer.RestrictNullSessAccess != 1:
		if tr != nil {
			tr.printf("gate NullSessionPipes: not applied (LanmanServer RestrictNullSessAccess = 0)")
		}
	case s.NullSessionPipe(name):
		if tr != nil {
			tr.printf("gate NullSessionPipes: %q (upcased %q) is listed: pass", name, ntname.Upcase(name))
		}
	default:
		if tr != nil {
			tr.printf("gate NullSessionPipes: RestrictNullSessAccess = 1 and %q (upcased %q) is not in NullSessionPipes %s (upcased %s): deny (checked before the name is looked up)",
				name, ntname.Upcase(name), quoteList(s.cfg.LanmanServer.NullSessionPipes), quoteList(s.nullPipeKeys()))
		}
		return end(byNullSessionPipes, ntstatus.AccessDenied)
	}

	// Gate 2: impersonation level.
	if r.ImpersonationLevel >= ImpersonationDelegate && bypass&gateImpersonation == 0 {
		if tr != nil {
			tr.printf("gate impersonation level: %d (%s): deny", r.ImpersonationLevel, impersonationName(r.ImpersonationLevel))
		}
		return end(byImpersonation, ntstatus.BadImpersonationLevel)
	}
	if tr != nil {
		tr.printf("gate impersonation level: %d (%s): pass", r.ImpersonationLevel, impersonationName(r.ImpersonationLevel))
	}

	// Gate 3: existence.
	if r.Pipe == nil {
		if tr != nil {
			tr.printf("gate existence: no pipe named %q", name)
		}
		return end(byNotFound, ntstatus.ObjectNameNotFound)
	}
	if tr != nil {
		tr.printf("gate existence: pipe %q exists", r.Pipe.Name)
	}

	// Gate 4: AccessCheck.
	sd, err := s.Descriptor(r.Pipe.SDDL)
	if err != nil {
		d.facts.err = err
		if tr != nil {
			tr.printf("gate DACL: the pipe's SDDL does not parse (%s): deny", sddlDetail(err))
		}
		return end(byBadSDDL, ntstatus.AccessDenied)
	}
	d.facts.sd = sd
	opt := security.CheckOptions{PipeClientOpen: true}
	var res security.Result
	if tr == nil {
		res = security.Check(sd, tok, r.DesiredAccess, opt)
	} else {
		src := "the pipe's sddl"
		if r.Pipe.SDDL == "" {
			src = "Windows' default named-pipe DACL (no sddl)"
		}
		tr.printf("gate DACL: %s %s", src, sd.SDDL(s.ctx))
		res = security.AccessCheck(sd, tok, r.DesiredAccess, opt)
		for _, t := range res.Trace {
			tr.printf("  %s", s.describeStep(t))
		}
		res.Trace = nil
	}
	d.facts.res = res
	granted := res.Granted
	switch {
	case res.Status == ntstatus.Success:
	case bypass&gateDACL != 0:
		// Assume the fix grants what was asked.
		granted = res.Desired
		if granted&security.MaximumAllowed != 0 {
			granted = security.FileAllAccess
		}
	default:
		return end(byDACL, res.Status)
	}

	// Gate 5: direction.
	switch {
	case bypass&gateDirection != 0:
	case r.Pipe.Direction == DirectionInbound && granted&security.FileReadData != 0:
		if tr != nil {
			tr.printf("gate direction: the pipe is inbound (client to server) and READ_DATA was granted: deny")
		}
		return end(byInbound, ntstatus.AccessDenied)
	case r.Pipe.Direction == DirectionOutbound && granted&security.FileWriteData != 0:
		if tr != nil {
			tr.printf("gate direction: the pipe is outbound (server to client) and WRITE_DATA was granted: deny")
		}
		return end(byOutbound, ntstatus.AccessDenied)
	}
	if tr != nil {
		tr.printf("gate direction: %s: pass", directionName(r.Pipe.Direction))
	}

	// Gate 6: instances.
	if !r.Pipe.FreeInstance {
		if tr != nil {
			tr.printf("gate instances: every instance is in use: deny")
		}
		return end(byInstances, ntstatus.PipeNotAvailable)
	}
	if tr != nil {
		tr.printf("gate instances: a free instance: pass")
	}

	if granted&security.FileExecute != 0 {
		granted |= security.FileReadData
	}
	d.Granted = granted
	return end(byGranted, ntstatus.Success)
}

// reason writes the Reason of a decision from its facts (granted is its
// Granted).
func (s *Snapshot) reason(f *facts, granted uint32) string {
	name := f.req.PipeName
	switch f.by {
	case byGranted:
		return grantedReason(granted)
	case byUnknownUser:
		return fmt.Sprintf("the session names user %q, which is not an account of this server", f.req.Identity.User)
	case byNullSessionPipes:
		reason := fmt.Sprintf("anonymous (null session) callers may open only the pipes listed in LanmanServer NullSessionPipes, and %q is not listed", name)
		if !isASCII(name) {
			// Say why "İnfo" is not "info": Windows upcases each UTF-16 unit.
			reason += fmt.Sprintf(" (names compare upcased as Windows does: %q)", ntname.Upcase(name))
		}
		return reason
	case byImpersonation:
		return "the client asked for Delegate impersonation, which a pipe open never allows"
	case byNotFound:
		return fmt.Sprintf("there is no pipe named %q", name)
	case byBadSDDL:
		return "the pipe's security descriptor is invalid"
	case byDACL:
		return s.daclReason(f)
	case byInbound:
		return "the pipe only carries data from client to server, and the open asks to read"
	case byOutbound:
		return "the pipe only carries data from server to client, and the open asks to write"
	case byInstances:
		return "the pipe has no free instance"
	}
	return ""
}

// grantedReason is "granted 0x0012019B (READ_DATA|...)", written in one
// buffer: the audit log asks for it on every granted open.
func grantedReason(granted uint32) string {
	var buf [192]byte
	b := append(buf[:0], "granted 0x"...)
	b = appendHex32(b, granted)
	b = append(b, " ("...)
	b = security.AppendRightsNames(b, granted)
	b = append(b, ')')
	return string(b)
}

// appendHex32 appends v as 8 upper-case hex digits (%08X).
func appendHex32(b []byte, v uint32) []byte {
	const digits = "0123456789ABCDEF"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xF])
	}
	return b
}

// fixes lists the changes that together would grant r, d being its
// decision with the gates in bypass assumed passed: the fix of d's
// deciding gate, then, when that gate can be assumed passed, the fixes of
// the decision that assumes so. Nil when d grants.
func (s *Snapshot) fixes(r Request, d *Decision, bypass gate) []string {
	fix := s.fix(&d.facts)
	if fix == "" {
		return nil
	}
	out := []string{fix}
	if g := outcomes[d.facts.by].gate; g&chainable != 0 && bypass&g == 0 {
		if next := s.decide(r, bypass|g, nil); next.Status != ntstatus.Success {
			out = append(out, s.fixes(r, &next, bypass|g)...)
		}
	}
	return out
}

// fix is the change that would get past the gate that decided f ("" when
// granted).
func (s *Snapshot) fix(f *facts) string {
	name := f.req.PipeName
	switch f.by {
	case byUnknownUser:
		return fmt.Sprintf("add an [[account]] named %q", f.req.Identity.User)
	case byNullSessionPipes:
		return fmt.Sprintf(`add %s to LanmanServer\NullSessionPipes`, name)
	case byImpersonation:
		return "the client must request impersonation level Impersonation (2) or lower; no server setting allows Delegate"
	case byNotFound:
		return fmt.Sprintf("add a [[pipe]] named %q (or start the program that serves it)", name)
	case byBadSDDL:
		return "fix the pipe's sddl: " + sddlDetail(f.err)
	case byDACL:
		return s.daclFix(f)
	case byInbound:
		return "open the pipe for writing only, or make the pipe duplex"
	case byOutbound:
		return "open the pipe for reading only, or make the pipe duplex"
	case byInstances:
		if p, ok := s.pipes[ntname.Upcase(f.req.Pipe.Name)]; ok {
			return fmt.Sprintf("raise max_instances of pipe %q (now %d), or retry when an instance closes", p.cfg.Name, p.cfg.MaxInstances)
		}
		return "retry when an instance closes"
	}
	return ""
}

// joinFixes writes the changes of Fixes as one line: one change as is,
// several numbered, all needed.
func joinFixes(fixes []string) string {
	switch len(fixes) {
	case 0:
		return ""
	case 1:
		return fixes[0]
	}
	var b strings.Builder
	b.WriteString("all of: ")
	for i, f := range fixes {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "(%d) %s", i+1, f)
	}
	return b.String()
}

// daclReason says why the AccessCheck of f denied.
func (s *Snapshot) daclReason(f *facts) string {
	res := f.res
	switch {
	case res.Status == ntstatus.PrivilegeNotHeld:
		return "ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege, which network sessions never hold"
	case res.Desired == 0:
		return "the open requests no access at all"
	}
	who, _ := s.principal(f.req.Identity, f.tok)
	if res.DeniedBy > 0 {
		ace := f.sd.DACL.ACEs[res.DeniedBy-1]
		return fmt.Sprintf("ACE %d %s denies 0x%08X to %s, a SID this session's token holds",
			res.DeniedBy, security.FormatACE(ace, s.ctx), res.Missing, s.sidName(ace.SID))
	}
	if f.sd.DACL != nil && len(f.sd.DACL.ACEs) == 0 {
		return "the pipe has an empty DACL, which grants nothing"
	}
	have := daclGrants(f)
	if have == 0 {
		return fmt.Sprintf("no ACE grants %s any access (missing 0x%08X)", who, res.Missing)
	}
	return fmt.Sprintf("the DACL grants %s 0x%08X but the open needs 0x%08X (missing 0x%08X: %s)",
		who, have, daclWant(f), res.Missing, security.RightsNames(res.Missing))
}

// daclFix is the smallest change of the pipe's sddl (or of the Lsa
// setting) that would let the AccessCheck of f grant.
func (s *Snapshot) daclFix(f *facts) string {
	res, id, tok, sd := f.res, f.req.Identity, f.tok, f.sd
	switch {
	case res.Status == ntstatus.PrivilegeNotHeld:
		return "do not request ACCESS_SYSTEM_SECURITY"
	case res.Desired == 0:
		return "request at least one access right"
	}
	who, principal := s.principal(id, tok)
	if res.DeniedBy > 0 {
		return fmt.Sprintf("remove ACE %d %s from the pipe's sddl, or put an allow ACE for %s before it",
			res.DeniedBy, security.FormatACE(sd.DACL.ACEs[res.DeniedBy-1], s.ctx), who)
	}
	want := daclWant(f)
	rights := security.FormatRights(want)
	if strings.HasPrefix(rights, "0x") {
		rights = fmt.Sprintf("0x%X", want) // as administrators write it
	}
	fix := fmt.Sprintf("add (A;;%s;;;%s) to the pipe's sddl", rights, security.FormatSIDToken(principal, s.ctx))
	if id.Kind == Anonymous && s.cfg.Lsa.EveryoneIncludesAnonymous == 0 {
		with := &security.Token{User: tok.User, Groups: append(append([]security.SID{}, tok.Groups...), security.Everyone())}
		if r := security.Check(sd, with, res.Desired, security.CheckOptions{}); r.Status == ntstatus.Success {
			fix += `, or set Lsa\EveryoneIncludesAnonymous = 1 so that the ACE for Everyone applies to anonymous callers`
		}
	}
	if sd.DACL != nil && len(sd.DACL.ACEs) == 0 {
		return "the DACL is empty: " + fix
	}
	if have := daclGrants(f); have != 0 {
		return fmt.Sprintf("the DACL grants %s only %s; %s", who, describeMask(have), fix)
	}
	return fmt.Sprintf("the DACL grants %s nothing; %s", who, fix)
}

// daclWant is the access the open needs: what it asked, or read for a bare
// MAXIMUM_ALLOWED.
func daclWant(f *facts) uint32 {
	if want := f.res.Desired &^ security.MaximumAllowed; want != 0 {
		return want
	}
	return security.FileGenericRead
}

// daclGrants is what the DACL of f grants its token today (maximum
// allowed, order-dependent).
func daclGrants(f *facts) uint32 {
	return security.Check(f.sd, f.tok, security.MaximumAllowed, security.CheckOptions{}).Granted
}

// principal names the identity and the SID an ACE should name to grant it.
func (s *Snapshot) principal(id Identity, tok *security.Token) (string, security.SID) {
	switch id.Kind {
	case Anonymous:
		return "ANONYMOUS LOGON", security.AnonymousLogon()
	case Guest:
		return "Guest", tok.User
	}
	return fmt.Sprintf("%s (%s)", id.User, tok.User), tok.User
}

func describeMask(m uint32) string {
	switch m {
	case security.FileGenericRead:
		return "read (0x120089)"
	case security.FileAllAccess:
		return "full control (0x1F01FF)"
	}
	return fmt.Sprintf("0x%X (%s)", m, security.RightsNames(m))
}

func (s *Snapshot) describeStep(t security.TraceStep) string {
	switch t.Kind {
	case security.StepACE:
		head := fmt.Sprintf("ACE %d %s %s: ", t.Index, security.FormatACE(t.ACE, s.ctx), s.WindowsName(t.ACE.SID))
		switch {
		case t.Note != "":
			return head + t.Note
		case t.Granted != 0:
			return head + fmt.Sprintf("in token, grants 0x%08X (%s)", t.Granted, WindowsRights(t.Granted))
		case t.Denied != 0:
			return head + fmt.Sprintf("in token, denies 0x%08X (%s)", t.Denied, WindowsRights(t.Denied))
		default:
			return head + "in token, adds nothing new"
		}
	}
	return t.Note
}

func (s *Snapshot) sidName(x security.SID) string {
	if n := x.Name(); n != "" {
		return n
	}
	for _, a := range s.accounts {
		if a.sid == x {
			return a.name
		}
	}
	if x.Prefix(s.machine) {
		switch x.RID() {
		case security.RIDAdministrator:
			return "Administrator"
		case security.RIDGuest:
			return "Guest"
		}
		return "account " + x.String()
	}
	return x.String()
}

func describeIdentity(id Identity) string {
	switch id.Kind {
	case Anonymous:
		return "anonymous (null session)"
	case Guest:
		if id.User != "" {
			return fmt.Sprintf("guest (user name %q sent)", id.User)
		}
		return "guest"
	}
	if id.Domain != "" {
		return fmt.Sprintf(`user %s\%s`, id.Domain, id.User)
	}
	return "user " + id.User
}

func (s *Snapshot) describeToken(tok *security.Token) string {
	if tok == nil {
		return "(none)"
	}
	var parts []string
	for _, x := range tok.SIDs() {
		parts = append(parts, fmt.Sprintf("%s %s", x, s.WindowsName(x)))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func impersonationName(l uint32) string {
	switch l {
	case ImpersonationAnonymous:
		return "Anonymous"
	case ImpersonationIdentification:
		return "Identification"
	case ImpersonationImpersonation:
		return "Impersonation"
	case ImpersonationDelegate:
		return "Delegate"
	}
	return "invalid"
}

func directionName(d uint8) string {
	switch d {
	case DirectionInbound:
		return "inbound"
	case DirectionOutbound:
		return "outbound"
	}
	return "duplex"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// nullPipeKeys lists the NullSessionPipes entries as compared: normalised
// and upcased.
func (s *Snapshot) nullPipeKeys() []string {
	keys := make([]string, 0, len(s.cfg.LanmanServer.NullSessionPipes))
	for _, n := range s.cfg.LanmanServer.NullSessionPipes {
		keys = append(keys, normaliseNullSessionPipe(n))
	}
	return keys
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, x := range l {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// SessionDecision is the outcome of CheckSession.
type SessionDecision struct {
	Status ntstatus.Status // Success, AccessDenied or LogonFailure
	Kind   Kind            // the session kind when Status is Success
	Rule   string
	Reason string
}

// CheckSession decides at SESSION_SETUP whether a session may exist:
// a null session (anonymous true) needs allow_anonymous, else
// STATUS_ACCESS_DENIED; a user name that is a configured account is a User
// session (the caller still verifies the password); an unknown name is a
// Guest session when guest = true, else STATUS_LOGON_FAILURE.
func (s *Snapshot) CheckSession(anonymous bool, user string) SessionDecision {
	if anonymous {
		if !s.cfg.AllowAnonymous {
			return SessionDecision{Status: ntstatus.AccessDenied, Kind: Anonymous, Rule: RuleNullSessionRefused,
				Reason: "null sessions are refused (allow_anonymous = false)"}
		}
		return s.EncryptionGate(SessionDecision{Status: ntstatus.Success, Kind: Anonymous, Rule: RuleSession, Reason: "null session allowed (allow_anonymous = true)"})
	}
	if _, _, ok := s.LookupAccount(user); ok {
		return SessionDecision{Status: ntstatus.Success, Kind: User, Rule: RuleSession, Reason: fmt.Sprintf("%q is an account of this server", user)}
	}
	if s.cfg.Guest {
		return s.EncryptionGate(SessionDecision{Status: ntstatus.Success, Kind: Guest, Rule: RuleSession, Reason: fmt.Sprintf("%q is not an account; guest = true makes it a guest session", user)})
	}
	return SessionDecision{Status: ntstatus.LogonFailure, Kind: Guest, Rule: RuleLogonFailure,
		Reason: fmt.Sprintf("%q is not an account and guest = false", user)}
}

// EncryptionGate applies encryption = "required" to a session decision d:
// an anonymous or guest session that d allows is refused with
// STATUS_ACCESS_DENIED (rule encryption-required), because it has no
// session key of its own to encrypt with. MS-SMB2 3.3.5.5.3 derives no
// encryption keys for them, so every later request would fail; Samba
// refuses the SESSION_SETUP itself ("reject guest session as encryption is
// required"), and so does smbpipe (SEMANTICS-2 §1.4). Windows Server 2022
// encrypts an anonymous session with keys from a zero session key only
// when encryption is not required, which smbpipe also does under
// "enabled". Other decisions are returned unchanged.
func (s *Snapshot) EncryptionGate(d SessionDecision) SessionDecision {
	if d.Status != ntstatus.Success || d.Kind == User || s.cfg.Encryption != "required" {
		return d
	}
	what := "null sessions"
	if d.Kind == Guest {
		what = "guest sessions"
	}
	return SessionDecision{Status: ntstatus.AccessDenied, Kind: d.Kind, Rule: RuleEncryptionRequired,
		Reason: d.Reason + `, but encryption = "required" and ` + what + ` have no session key to encrypt with: refused at SESSION_SETUP`}
}

// PipeInfo returns the policy's view of a configured pipe as if it were
// running with a free instance (duplex), or nil if the config has no such
// pipe. `smbpipe explain` uses it; the server builds PipeInfo from its live
// namespace instead.
func (s *Snapshot) PipeInfo(name string) *PipeInfo {
	p, ok := s.pipes[ntname.Upcase(name)]
	if !ok {
		return nil
	}
	return &PipeInfo{Name: p.cfg.Name, SDDL: p.cfg.SDDL, Direction: DirectionDuplex, FreeInstance: true}
}
