// Package policytest holds the policy decision matrix of issue 3: the cells
// {anonymous, guest, alice, bob in Administrators} × {listed, unlisted,
// nonexistent pipe} × {NULL DACL, default DACL, a DACL denying NETWORK, a
// DACL naming alice only} × RestrictNullSessAccess {0, 1} ×
// EveryoneIncludesAnonymous {0, 1} × a few desired accesses, the TOML
// config of each cell, and Expect, the NTSTATUS each cell must produce,
// written from the rules of SEMANTICS.md and independent of policy.Decide.
// The unit tests of policy and the interop matrix share it.
package policytest

import (
	"fmt"
	"strings"

	"github.com/smbpipe/smbpipe/ntstatus"
)

// Session is who opens the pipe.
type Session int

// Sessions.
const (
	Anonymous Session = iota
	Guest             // an unknown user name with guest = true
	Alice             // account alice, no extra groups
	Bob               // account bob in Administrators
)

func (s Session) String() string { return [...]string{"anonymous", "guest", "alice", "bob"}[s] }

// PipeCase is which pipe is opened.
type PipeCase int

// Pipe cases.
const (
	Listed      PipeCase = iota // exists, in NullSessionPipes
	Unlisted                    // exists, not in NullSessionPipes
	Nonexistent                 // does not exist, not listed
)

func (p PipeCase) String() string { return [...]string{"listed", "unlisted", "nonexistent"}[p] }

// Name is the pipe name the cell opens.
func (p PipeCase) Name() string { return [...]string{"listed", "unlisted", "missing"}[p] }

// DACL is the descriptor both existing pipes carry.
type DACL int

// DACLs.
const (
	NullDACL    DACL = iota // D:NO_ACCESS_CONTROL
	DefaultDACL             // no sddl: Windows' default named-pipe DACL
	DenyNetwork             // a deny ACE for NETWORK first
	AliceOnly               // one ACE, alice's SID
)

func (d DACL) String() string { return [...]string{"null", "default", "deny-network", "alice-only"}[d] }

// Access is the desired access the client sends.
type Access int

// Accesses, as real clients send them (SEMANTICS 2.4).
const (
	WindowsRW Access = iota // 0x0012019F
	Impacket                // 0x00000003
	GenericR                // 0x80000000, GENERIC_READ unmapped
)

func (a Access) String() string { return [...]string{"0x12019F", "0x3", "GENERIC_READ"}[a] }

// Mask is the DesiredAccess on the wire.
func (a Access) Mask() uint32 { return [...]uint32{0x0012019F, 0x00000003, 0x80000000}[a] }

// readOnly: the access asks only for rights inside FILE_GENERIC_READ.
func (a Access) readOnly() bool { return a == GenericR }

// Fixed identities of the matrix config.
const (
	MachineSID = "S-1-5-21-1000-2000-3000"
	AliceSID   = MachineSID + "-1001"
	BobSID     = MachineSID + "-1002"
	Password   = "Passw0rd!"
	GuestName  = "nobody"
)

// Cell is one point of the matrix.
type Cell struct {
	Session                   Session
	Pipe                      PipeCase
	DACL                      DACL
	RestrictNullSessAccess    int
	EveryoneIncludesAnonymous int
	Access                    Access
}

func (c Cell) String() string {
	return fmt.Sprintf("%v/%v/%v/restrict=%d/eia=%d/%v", c.Session, c.Pipe, c.DACL, c.RestrictNullSessAccess, c.EveryoneIncludesAnonymous, c.Access)
}

// Cells returns every cell of the matrix.
func Cells() []Cell {
	var out []Cell
	for s := Anonymous; s <= Bob; s++ {
		for p := Listed; p <= Nonexistent; p++ {
			for d := NullDACL; d <= AliceOnly; d++ {
				for r := 0; r <= 1; r++ {
					for e := 0; e <= 1; e++ {
						for a := WindowsRW; a <= GenericR; a++ {
							out = append(out, Cell{s, p, d, r, e, a})
						}
					}
				}
			}
		}
	}
	return out
}

// SDDL is the sddl of the cell's DACL ("" for the default DACL).
func (d DACL) SDDL() string {
	switch d {
	case NullDACL:
		return "D:NO_ACCESS_CONTROL"
	case DenyNetwork:
		return "D:(D;;FA;;;NU)(A;;FA;;;WD)(A;;FA;;;AN)"
	case AliceOnly:
		return "D:(A;;FA;;;" + AliceSID + ")"
	}
	return ""
}

// ConfigTOML is the config file of a cell: guest = true, accounts alice
// and bob (Administrators) with Password, pipes "listed" and "unlisted"
// with the cell's DACL, NullSessionPipes = ["listed"].
func ConfigTOML(c Cell, listen string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen = %q\nserver_name = \"MATRIX\"\nmachine_sid = %q\nallow_anonymous = true\nguest = true\nsigning = \"enabled\"\n\n", listen, MachineSID)
	fmt.Fprintf(&b, "[LanmanServer]\nRestrictNullSessAccess = %d\nNullSessionPipes = [\"listed\"]\n\n", c.RestrictNullSessAccess)
	fmt.Fprintf(&b, "[Lsa]\nEveryoneIncludesAnonymous = %d\n\n", c.EveryoneIncludesAnonymous)
	fmt.Fprintf(&b, "[[account]]\nname = \"alice\"\npassword = %q\nrid = 1001\n\n", Password)
	fmt.Fprintf(&b, "[[account]]\nname = \"bob\"\npassword = %q\nrid = 1002\ngroups = [\"Administrators\"]\n\n", Password)
	for _, name := range []string{"listed", "unlisted"} {
		fmt.Fprintf(&b, "[[pipe]]\nname = %q\nbackend = \"echo\"\nmode = \"message\"\n", name)
		if s := c.DACL.SDDL(); s != "" {
			fmt.Fprintf(&b, "sddl = %q\n", s)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Expect is the status the cell must produce, from SEMANTICS 1.4, 1.5,
// 1.7 and 2.5:
//   - anonymous, RestrictNullSessAccess = 1, pipe not listed (even if it
//     does not exist): STATUS_ACCESS_DENIED;
//   - pipe does not exist: STATUS_OBJECT_NAME_NOT_FOUND;
//   - NULL DACL: granted;
//   - default DACL: bob (Administrators: full control) granted; everyone
//     else holds Everyone or ANONYMOUS LOGON, which get read only, so only
//     a read-only request is granted;
//   - DACL denying NETWORK: every SMB session holds NETWORK: denied;
//   - DACL naming alice only: alice granted, the rest denied.
//
// EveryoneIncludesAnonymous changes no cell: no DACL of the matrix grants
// Everyone more than ANONYMOUS LOGON.
func Expect(c Cell) ntstatus.Status {
	if c.Session == Anonymous && c.RestrictNullSessAccess == 1 && c.Pipe != Listed {
		return ntstatus.AccessDenied
	}
	if c.Pipe == Nonexistent {
		return ntstatus.ObjectNameNotFound
	}
	granted := false
	switch c.DACL {
	case NullDACL:
		granted = true
	case DefaultDACL:
		granted = c.Session == Bob || c.Access.readOnly()
	case DenyNetwork:
		granted = false
	case AliceOnly:
		granted = c.Session == Alice
	}
	if granted {
		return ntstatus.Success
	}
	return ntstatus.AccessDenied
}
