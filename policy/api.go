// Package policy holds the server's configuration and access policy: the
// LanmanServer and Lsa parameters, accounts, the pipe table; loading and
// validating the TOML file; immutable snapshots swapped atomically on
// reload; and the one decision that says whether a pipe open is granted
// and why. The server calls it as Check (no explanation, no allocation; the
// audit log asks the Decision Why), `smbpipe explain` as Decide (with the
// trace of each gate and the fixes): the same function either way.
//
// The configuration keys are those of issue 2's contract (listen,
// server_name, domain, allow_anonymous, guest, signing, [LanmanServer]
// RestrictNullSessAccess and NullSessionPipes, [Lsa]
// EveryoneIncludesAnonymous, [[account]] name/password/nt_hash/groups,
// [[pipe]] name/backend/mode/max_instances/sddl) plus two that make SIDs
// stable across restarts:
//
//   - machine_sid = "S-1-5-21-A-B-C": the machine SID. Absent, it is derived
//     from server_name (a hash), so it stays the same while the name does.
//     The Guest account is machine_sid-501.
//   - [[account]] rid = N: the account's SID is machine_sid-N. Absent, the
//     RID is 1000 plus a hash of the name (stable across restarts and
//     reorderings; a collision is reported and asks for an explicit rid).
//
// An SDDL names one of this server's accounts by that SID, e.g.
// (A;;FA;;;S-1-5-21-A-B-C-1001); `smbpipe explain --user NAME` prints the
// account's token. DefaultTOML documents every key and its default.
package policy

import (
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/security"
)

// Kind is the kind of session.
type Kind uint8

// Session kinds.
const (
	Anonymous Kind = iota
	Guest
	User
)

// Identity is who is asking (from the SMB session).
type Identity struct {
	Kind   Kind
	User   string // account name as configured (User), or the name sent (Guest)
	Domain string
	// Token, when set, is the identity's token as built elsewhere (a
	// Kerberos logon: KerberosToken from the PAC, KerberosAccount); nil
	// means the snapshot's token for Kind and User.
	Token *security.Token
}

// PipeInfo is what the server knows of the pipe being opened at the moment
// of the open. Nil means the pipe does not exist.
type PipeInfo struct {
	Name string
	// SDDL is the pipe's security descriptor in SDDL; "" means Windows'
	// default named-pipe DACL.
	SDDL string
	// Direction: 0 inbound, 1 outbound, 2 duplex (pipe.Direction values).
	Direction uint8
	// FreeInstance is false when max_instances is reached.
	FreeInstance bool
}

// Request is one CREATE on IPC$.
type Request struct {
	Identity           Identity
	PipeName           string // as the client sent it (after UTF-16 decoding)
	DesiredAccess      uint32 // as sent (generic bits unmapped)
	ImpersonationLevel uint32
	Pipe               *PipeInfo // nil: no such pipe
}

// Decision is the outcome of Decide or Check. Reason, Steps, Fixes and Fix
// are Decide's explanation; Check leaves them empty (Why writes the
// reason).
type Decision struct {
	Status  ntstatus.Status
	Granted uint32 // access mask kept on the handle when Status is success
	// Rule is a short stable identifier of the deciding rule, e.g.
	// "null-session-pipes", "dacl", "not-found", "instances", "granted".
	Rule string
	// Reason is one sentence an administrator understands.
	Reason string
	// Steps is the trace through each gate, one line each (for explain).
	Steps []string
	// Fixes are the changes that together would grant the request, in gate
	// order: the deciding gate's first, then any later gate that would
	// still deny (nil if granted).
	Fixes []string
	// Fix is Fixes as one line ("" if granted).
	Fix string
	// Desired is the desired access after generic mapping (before the npfs
	// FILE_CREATE_PIPE_INSTANCE strip), as the audit log records it.
	Desired uint32

	facts facts // what decided, for Why
}
