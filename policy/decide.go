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
// When denied, Fixes lists the smallest set of changes that would grant:
// the fix of the deciding gate, then those of the later gates that would
// still deny once it passed (e.g. a pipe missing from NullSessionPipes whose
// DACL is also too narrow needs both changes). Fix joins them.
func (s *Snapshot) Decide(r Request) Decision { return s.decide(r, 0) }

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

// decide is Decide with the gates in bypass assumed passed (for Fixes).
func (s *Snapshot) decide(r Request, bypass gate) Decision {
	d := Decision{Desired: security.FileMapping().Map(r.DesiredAccess)}
	step := func(format string, args ...any) {
		if bypass == 0 {
			d.Steps = append(d.Steps, fmt.Sprintf(format, args...))
		}
	}
	deny := func(g gate, st ntstatus.Status, rule, reason, fix string) Decision {
		d.Status, d.Rule, d.Reason, d.Granted = st, rule, reason, 0
		if fix != "" {
			d.Fixes = []string{fix}
		}
		if fix != "" && g&chainable != 0 && bypass&g == 0 {
			if next := s.decide(r, bypass|g); next.Status != ntstatus.Success {
				d.Fixes = append(d.Fixes, next.Fixes...)
			}
		}
		d.Fix = joinFixes(d.Fixes)
		code, name := st.Win32()
		step("result: %s (0x%08X), Win32 %d %s", st, uint32(st), code, name)
		return d
	}
	name := r.PipeName

	tok, ok := s.Token(r.Identity)
	step("session: %s; token %s", describeIdentity(r.Identity), s.describeToken(tok))
	if !ok {
		return deny(0, ntstatus.AccessDenied, RuleUnknownUser,
			fmt.Sprintf("the session names user %q, which is not an account of this server", r.Identity.User),
			fmt.Sprintf("add an [[account]] named %q", r.Identity.User))
	}

	// Gate 1: NullSessionPipes, before the name is resolved.
	switch {
	case bypass&gateNullSessionPipes != 0:
	case r.Identity.Kind != Anonymous:
		step("gate NullSessionPipes: not applied (not a null session)")
	case s.cfg.LanmanServer.RestrictNullSessAccess != 1:
		step("gate NullSessionPipes: not applied (LanmanServer RestrictNullSessAccess = 0)")
	case s.NullSessionPipe(name):
		step("gate NullSessionPipes: %q (upcased %q) is listed: pass", name, ntname.Upcase(name))
	default:
		step("gate NullSessionPipes: RestrictNullSessAccess = 1 and %q (upcased %q) is not in NullSessionPipes %s (upcased %s): deny (checked before the name is looked up)",
			name, ntname.Upcase(name), quoteList(s.cfg.LanmanServer.NullSessionPipes), quoteList(s.nullPipeKeys()))
		fix := fmt.Sprintf(`add %s to LanmanServer\NullSessionPipes`, name)
		reason := fmt.Sprintf("anonymous (null session) callers may open only the pipes listed in LanmanServer NullSessionPipes, and %q is not listed", name)
		if !isASCII(name) {
			// Say why "İnfo" is not "info": Windows upcases each UTF-16 unit.
			reason += fmt.Sprintf(" (names compare upcased as Windows does: %q)", ntname.Upcase(name))
		}
		return deny(gateNullSessionPipes, ntstatus.AccessDenied, RuleNullSessionPipes, reason, fix)
	}

	// Gate 2: impersonation level.
	if r.ImpersonationLevel >= ImpersonationDelegate && bypass&gateImpersonation == 0 {
		step("gate impersonation level: %d (%s): deny", r.ImpersonationLevel, impersonationName(r.ImpersonationLevel))
		return deny(gateImpersonation, ntstatus.BadImpersonationLevel, RuleImpersonation,
			"the client asked for Delegate impersonation, which a pipe open never allows",
			"the client must request impersonation level Impersonation (2) or lower; no server setting allows Delegate")
	}
	step("gate impersonation level: %d (%s): pass", r.ImpersonationLevel, impersonationName(r.ImpersonationLevel))

	// Gate 3: existence.
	if r.Pipe == nil {
		step("gate existence: no pipe named %q", name)
		return deny(gateExistence, ntstatus.ObjectNameNotFound, RuleNotFound,
			fmt.Sprintf("there is no pipe named %q", name), fmt.Sprintf("add a [[pipe]] named %q (or start the program that serves it)", name))
	}
	step("gate existence: pipe %q exists", r.Pipe.Name)

	// Gate 4: AccessCheck.
	sd, err := s.Descriptor(r.Pipe.SDDL)
	if err != nil {
		step("gate DACL: the pipe's SDDL does not parse (%s): deny", sddlDetail(err))
		return deny(0, ntstatus.AccessDenied, RuleDACL, "the pipe's security descriptor is invalid", "fix the pipe's sddl: "+sddlDetail(err))
	}
	src := "the pipe's sddl"
	if r.Pipe.SDDL == "" {
		src = "Windows' default named-pipe DACL (no sddl)"
	}
	step("gate DACL: %s %s", src, sd.SDDL(s.ctx))
	res := security.AccessCheck(sd, tok, r.DesiredAccess, security.CheckOptions{PipeClientOpen: true})
	for _, t := range res.Trace {
		step("  %s", s.describeStep(t))
	}
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
		reason, fix := s.explainDenial(sd, tok, r.Identity, res)
		return deny(gateDACL, res.Status, RuleDACL, reason, fix)
	}

	// Gate 5: direction.
	switch {
	case bypass&gateDirection != 0:
	case r.Pipe.Direction == DirectionInbound && granted&security.FileReadData != 0:
		step("gate direction: the pipe is inbound (client to server) and READ_DATA was granted: deny")
		return deny(gateDirection, ntstatus.AccessDenied, RuleDirection, "the pipe only carries data from client to server, and the open asks to read",
			"open the pipe for writing only, or make the pipe duplex")
	case r.Pipe.Direction == DirectionOutbound && granted&security.FileWriteData != 0:
		step("gate direction: the pipe is outbound (server to client) and WRITE_DATA was granted: deny")
		return deny(gateDirection, ntstatus.AccessDenied, RuleDirection, "the pipe only carries data from server to client, and the open asks to write",
			"open the pipe for reading only, or make the pipe duplex")
	}
	step("gate direction: %s: pass", directionName(r.Pipe.Direction))

	// Gate 6: instances.
	if !r.Pipe.FreeInstance {
		step("gate instances: every instance is in use: deny")
		fix := "retry when an instance closes"
		if p, ok := s.pipes[ntname.Upcase(r.Pipe.Name)]; ok {
			fix = fmt.Sprintf("raise max_instances of pipe %q (now %d), or retry when an instance closes", p.cfg.Name, p.cfg.MaxInstances)
		}
		return deny(gateInstances, ntstatus.PipeNotAvailable, RuleInstances, "the pipe has no free instance", fix)
	}
	step("gate instances: a free instance: pass")

	if granted&security.FileExecute != 0 {
		granted |= security.FileReadData
	}
	d.Granted = granted
	d.Status, d.Rule, d.Reason = ntstatus.Success, RuleGranted, fmt.Sprintf("granted 0x%08X (%s)", granted, security.RightsNames(granted))
	code, win32 := ntstatus.Success.Win32()
	step("result: %s (0x%08X), Win32 %d %s", ntstatus.Success, uint32(ntstatus.Success), code, win32)
	return d
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

// explainDenial turns a failed AccessCheck into a reason and the smallest
// change that would grant.
func (s *Snapshot) explainDenial(sd *security.SecurityDescriptor, tok *security.Token, id Identity, res security.Result) (reason, fix string) {
	if res.Status == ntstatus.PrivilegeNotHeld {
		return "ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege, which network sessions never hold",
			"do not request ACCESS_SYSTEM_SECURITY"
	}
	if res.Desired == 0 {
		return "the open requests no access at all", "request at least one access right"
	}
	who, principal := s.principal(id, tok)
	if res.DeniedBy > 0 {
		ace := sd.DACL.ACEs[res.DeniedBy-1]
		text := security.FormatACE(ace, s.ctx)
		return fmt.Sprintf("ACE %d %s denies 0x%08X to %s, a SID this session's token holds", res.DeniedBy, text, res.Missing, s.sidName(ace.SID)),
			fmt.Sprintf("remove ACE %d %s from the pipe's sddl, or put an allow ACE for %s before it", res.DeniedBy, text, who)
	}
	want := res.Desired &^ security.MaximumAllowed
	if want == 0 {
		want = security.FileGenericRead
	}
	// What the DACL grants this token today (maximum allowed, order-dependent).
	have := security.AccessCheck(sd, tok, security.MaximumAllowed, security.CheckOptions{}).Granted
	rights := security.FormatRights(want)
	if strings.HasPrefix(rights, "0x") {
		rights = fmt.Sprintf("0x%X", want) // as administrators write it
	}
	fix = fmt.Sprintf("add (A;;%s;;;%s) to the pipe's sddl", rights, security.FormatSIDToken(principal, s.ctx))
	if id.Kind == Anonymous && s.cfg.Lsa.EveryoneIncludesAnonymous == 0 {
		with := &security.Token{User: tok.User, Groups: append(append([]security.SID{}, tok.Groups...), security.Everyone())}
		if r := security.AccessCheck(sd, with, res.Desired, security.CheckOptions{}); r.Status == ntstatus.Success {
			fix += `, or set Lsa\EveryoneIncludesAnonymous = 1 so that the ACE for Everyone applies to anonymous callers`
		}
	}
	if sd.DACL != nil && len(sd.DACL.ACEs) == 0 {
		return "the pipe has an empty DACL, which grants nothing", "the DACL is empty: " + fix
	}
	if have == 0 {
		return fmt.Sprintf("no ACE grants %s any access (missing 0x%08X)", who, res.Missing),
			fmt.Sprintf("the DACL grants %s nothing; %s", who, fix)
	}
	return fmt.Sprintf("the DACL grants %s 0x%08X but the open needs 0x%08X (missing 0x%08X: %s)", who, have, want, res.Missing, security.RightsNames(res.Missing)),
		fmt.Sprintf("the DACL grants %s only %s; %s", who, describeMask(have), fix)
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
		head := fmt.Sprintf("ACE %d %s %s: ", t.Index, security.FormatACE(t.ACE, s.ctx), s.sidName(t.ACE.SID))
		switch {
		case t.Note != "":
			return head + t.Note
		case t.Granted != 0:
			return head + fmt.Sprintf("in token, grants 0x%08X (%s)", t.Granted, security.RightsNames(t.Granted))
		case t.Denied != 0:
			return head + fmt.Sprintf("in token, denies 0x%08X (%s)", t.Denied, security.RightsNames(t.Denied))
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
		parts = append(parts, fmt.Sprintf("%s %s", x, s.sidName(x)))
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
		return SessionDecision{Status: ntstatus.Success, Kind: Anonymous, Rule: RuleSession, Reason: "null session allowed (allow_anonymous = true)"}
	}
	if _, _, ok := s.LookupAccount(user); ok {
		return SessionDecision{Status: ntstatus.Success, Kind: User, Rule: RuleSession, Reason: fmt.Sprintf("%q is an account of this server", user)}
	}
	if s.cfg.Guest {
		return SessionDecision{Status: ntstatus.Success, Kind: Guest, Rule: RuleSession, Reason: fmt.Sprintf("%q is not an account; guest = true makes it a guest session", user)}
	}
	return SessionDecision{Status: ntstatus.LogonFailure, Kind: Guest, Rule: RuleLogonFailure,
		Reason: fmt.Sprintf("%q is not an account and guest = false", user)}
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
