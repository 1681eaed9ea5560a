// Package policy holds the server's configuration and access policy: the
// LanmanServer and Lsa parameters, accounts, the pipe table; loading and
// validating the TOML file; immutable snapshots swapped atomically on
// reload; and Decide, the one function that says whether a pipe open is
// granted and why. The server, `smbpipe explain` and the audit log all call
// Decide.
package policy

import "github.com/smbpipe/smbpipe/ntstatus"

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

// Decision is the outcome of Decide.
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
	// Fix is the smallest change that would grant the request ("" if granted).
	Fix string
}
