package samr

import (
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/security"
)

// Times as SAMR writes them (OLD_LARGE_INTEGER, 4-aligned).
const (
	never       uint64 = 0x7FFFFFFFFFFFFFFF
	neverLogoff uint64 = 0x8000000000000000
	maxPwAge    int64  = -42 * 24 * 3600 * 10000000 // Windows' default: 42 days
)

func nttime(w *ndr.Writer, v uint64) {
	w.Uint32(uint32(v))
	w.Uint32(uint32(v >> 32))
}

// Lockout defaults of a stand-alone Windows server: no threshold, 30
// minutes for the duration and the observation window (negative
// intervals, as SAMR writes them).
const lockoutWindow int64 = -30 * 60 * 10000000

// domainInfoLevel reports whether QueryInformationDomain serves a level:
// 1 to 9, 11 (general 2), 12 (lockout) and 13 (modified 2); 10 is not a
// DOMAIN_INFORMATION_CLASS (MS-SAMR 2.2.3.16).
func domainInfoLevel(l uint16) bool { return l >= 1 && l <= 13 && l != 10 }

// writeDomainInfo writes the SAMPR_DOMAIN_INFO_BUFFER union for a level.
func writeDomainInfo(w *ndr.Writer, snap *policy.Snapshot, d *domainHandle, level uint16) {
	w.Uint16(level)
	switch level {
	case 1: // DOMAIN_PASSWORD_INFORMATION, 4-aligned (its ages)
		w.Align(4)
		w.Uint16(0) // MinPasswordLength
		w.Uint16(0) // PasswordHistoryLength
		w.Uint32(0) // PasswordProperties
		age := maxPwAge
		nttime(w, uint64(age))
		nttime(w, 0)
	case 2:
		writeDomainGeneral(w, snap, d)
	case 3:
		nttime(w, neverLogoff)
	case 4:
		w.UnicodeString("")
	case 5:
		w.UnicodeString(domainName(snap, d))
	case 6:
		w.UnicodeString("")
	case 7:
		w.Uint32(3)
	case 8: // OLD_LARGE_INTEGERs, 4-aligned
		nttime(w, 1) // DomainModifiedCount
		nttime(w, 0)
	case 9:
		w.Uint32(1)
	case 11: // SAMPR_DOMAIN_GENERAL_INFORMATION2: general, then lockout
		w.Align(8)
		writeDomainGeneral(w, snap, d)
		writeLockout(w)
	case 12: // SAMPR_DOMAIN_LOCKOUT_INFORMATION
		writeLockout(w)
	case 13: // DOMAIN_MODIFIED_INFORMATION2
		w.Uint64(1) // DomainModifiedCount
		w.Uint64(0) // CreationTime
		w.Uint64(0) // ModifiedCountAtLastPromotion
	}
}

// domainName is the name of the domain d is a handle to.
func domainName(snap *policy.Snapshot, d *domainHandle) string {
	if d.builtin {
		return "BUILTIN"
	}
	return snap.Config().ServerName
}

// writeDomainGeneral writes SAMPR_DOMAIN_GENERAL_INFORMATION (level 2,
// and the first member of level 11).
func writeDomainGeneral(w *ndr.Writer, snap *policy.Snapshot, d *domainHandle) {
	users, groups, aliases := len(svc.Accounts(snap)), len(svc.Groups(snap)), 0
	if d.builtin {
		users, groups, aliases = 0, 0, len(svc.Aliases())
	}
	nttime(w, neverLogoff)
	w.UnicodeString("")                  // OemInformation
	w.UnicodeString(domainName(snap, d)) // DomainName
	w.UnicodeString("")                  // ReplicaSourceNodeName
	nttime(w, 1)                         // DomainModifiedCount
	w.Uint32(1)                          // DomainServerEnabled
	w.Uint32(3)                          // DomainServerRolePrimary: the local SAM
	w.Uint32(1)                          // UasCompatibilityRequired
	w.Uint32(uint32(users))
	w.Uint32(uint32(groups))
	w.Uint32(uint32(aliases))
}

// writeLockout writes the lockout fields (LARGE_INTEGERs, 8-aligned):
// LockoutDuration, LockoutObservationWindow, LockoutThreshold.
func writeLockout(w *ndr.Writer) {
	w.Int64(lockoutWindow)
	w.Int64(lockoutWindow)
	w.Uint16(0)
}

// NTSTATUS SamrQueryInformationDomain(DomainHandle,
// DOMAIN_INFORMATION_CLASS, [out,switch_is(...)] PSAMPR_DOMAIN_INFO_BUFFER*
// Buffer); the same for SamrQueryInformationDomain2.
func (s *service) queryDomain(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return queryInfo(s, c, r, w, domainInfoLevel, func(w *ndr.Writer, snap *policy.Snapshot, d *domainHandle, level uint16) {
		writeDomainInfo(w, snap, d, level)
	})
}

// queryInfo serves the QueryInformation calls on a handle of type T: it
// reads the information class, refuses a level valid does not take with
// STATUS_INVALID_INFO_CLASS, and writes the [out] pointer to the union
// write writes and the status.
func queryInfo[T handle](s *service, c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer, valid func(uint16) bool,
	write func(*ndr.Writer, *policy.Snapshot, T, uint16)) error {
	h := r.ContextHandle()
	level := r.Enum()
	t, v, done, err := onAt[T](s, c, r, h, uint32(level), 0)
	if done {
		return err
	}
	if v.ok && !valid(level) {
		v = v.refuse(svc.StatusInvalidInfo)
	}
	writeResult(w, v, func(w *ndr.Writer) { write(w, v.snap, t, level) })
	return nil
}

// userInfoLevel reports whether SamrQueryInformationUser serves a class:
// every class a query may ask (MS-SAMR 2.2.6.28) but 15 and 22 to 26
// (write-only) and 18 (UserInternal1Information: password hashes, never
// given out remotely).
func userInfoLevel(l uint16) bool {
	return l >= 1 && l <= 21 && l != 15 && l != 18 && l != 19
}

// logonHours writes SAMPR_LOGON_HOURS: every hour of the week allowed.
// The structure holds a pointer, so it is 4-aligned even where it starts
// a union arm (class 4).
func logonHours(w *ndr.Writer) {
	w.Align(4)
	w.Uint16(168) // UnitsPerWeek: hours
	w.DeferUnique(true, func(w *ndr.Writer) {
		w.MaxCount(1260)
		w.Variance(0, 21)
		for range 21 {
			w.Uint8(0xFF)
		}
	})
}

// writeUserInfo writes the SAMPR_USER_INFO_BUFFER union for a class: the
// general, preference, logon, account and single-field classes, 16
// (UserControlInformation) and 21 (UserAllInformation, without secrets).
// smbpipe's accounts have a name, a description (AdminComment) and
// account control bits; the other fields are empty, the times those of an
// account that never logged on and whose password does not expire.
func writeUserInfo(w *ndr.Writer, snap *policy.Snapshot, e svc.Entry, level uint16) {
	w.Uint16(level)
	flags := acctFlags(snap, e)
	empty := func(n int) {
		for range n {
			w.UnicodeString("")
		}
	}
	switch level {
	case 1: // SAMPR_USER_GENERAL_INFORMATION
		w.UnicodeString(e.Name)
		empty(1) // FullName
		w.Uint32(security.RIDDomainUsers)
		w.UnicodeString(e.Comment)
		empty(1) // UserComment
	case 2: // SAMPR_USER_PREFERENCES_INFORMATION
		empty(2) // UserComment, Reserved1
		w.Uint16(0)
		w.Uint16(0)
	case 3: // SAMPR_USER_LOGON_INFORMATION
		w.UnicodeString(e.Name)
		empty(1) // FullName
		w.Uint32(e.RID())
		w.Uint32(security.RIDDomainUsers)
		empty(5)         // HomeDirectory, HomeDirectoryDrive, ScriptPath, ProfilePath, WorkStations
		nttime(w, 0)     // LastLogon
		nttime(w, 0)     // LastLogoff
		nttime(w, 0)     // PasswordLastSet
		nttime(w, 0)     // PasswordCanChange
		nttime(w, never) // PasswordMustChange
		logonHours(w)
		w.Uint16(0) // BadPasswordCount
		w.Uint16(0) // LogonCount
		w.Uint32(flags)
	case 4:
		logonHours(w)
	case 5: // SAMPR_USER_ACCOUNT_INFORMATION
		w.UnicodeString(e.Name)
		empty(1) // FullName
		w.Uint32(e.RID())
		w.Uint32(security.RIDDomainUsers)
		empty(4) // HomeDirectory, HomeDirectoryDrive, ScriptPath, ProfilePath
		w.UnicodeString(e.Comment)
		empty(1)     // WorkStations
		nttime(w, 0) // LastLogon
		nttime(w, 0) // LastLogoff
		logonHours(w)
		w.Uint16(0)      // BadPasswordCount
		w.Uint16(0)      // LogonCount
		nttime(w, 0)     // PasswordLastSet
		nttime(w, never) // AccountExpires
		w.Uint32(flags)
	case 6: // SAMPR_USER_NAME_INFORMATION
		w.UnicodeString(e.Name)
		empty(1)
	case 7:
		w.UnicodeString(e.Name)
	case 8, 11, 12, 14, 20: // FullName, ScriptPath, ProfilePath, WorkStations, Parameters
		empty(1)
	case 9:
		w.Uint32(security.RIDDomainUsers)
	case 10: // HomeDirectory, HomeDirectoryDrive
		empty(2)
	case 13:
		w.UnicodeString(e.Comment)
	case 16:
		w.Uint32(flags)
	case 17:
		nttime(w, never)
	case 21:
		writeUserAll(w, e, flags)
	}
}

// writeUserAll writes SAMPR_USER_ALL_INFORMATION without secrets.
func writeUserAll(w *ndr.Writer, e svc.Entry, flags uint32) {
	nttime(w, 0)     // LastLogon
	nttime(w, 0)     // LastLogoff
	nttime(w, 0)     // PasswordLastSet
	nttime(w, never) // AccountExpires
	nttime(w, 0)     // PasswordCanChange
	nttime(w, never) // PasswordMustChange
	w.UnicodeString(e.Name)
	for range 5 { // FullName, HomeDirectory, HomeDirectoryDrive, ScriptPath, ProfilePath
		w.UnicodeString("")
	}
	w.UnicodeString(e.Comment) // AdminComment
	w.UnicodeString("")        // WorkStations
	w.UnicodeString("")        // UserComment
	for range 3 {              // Parameters, LmOwfPassword, NtOwfPassword: empty
		w.Uint16(0)
		w.Uint16(0)
		w.UniquePtr(false)
	}
	w.UnicodeString("") // PrivateData
	w.Uint32(0)         // SecurityDescriptor.Length
	w.UniquePtr(false)
	w.Uint32(e.RID())
	w.Uint32(security.RIDDomainUsers)
	w.Uint32(flags)
	w.Uint32(0x00FFFFFF) // WhichFields: everything but the secrets
	w.Uint16(168)        // LogonHours.UnitsPerWeek: hours
	w.DeferUnique(true, func(w *ndr.Writer) {
		w.MaxCount(1260)
		w.Variance(0, 21)
		for range 21 {
			w.Uint8(0xFF)
		}
	})
	w.Uint16(0) // BadPasswordCount
	w.Uint16(0) // LogonCount
	w.Uint16(0) // CountryCode
	w.Uint16(0) // CodePage
	w.Uint8(0)  // LmPasswordPresent
	w.Uint8(0)  // NtPasswordPresent: not disclosed
	w.Uint8(0)  // PasswordExpired
	w.Uint8(0)  // PrivateDataSensitive
}

// NTSTATUS SamrQueryInformationUser(UserHandle, USER_INFORMATION_CLASS,
// [out,switch_is(...)] PSAMPR_USER_INFO_BUFFER* Buffer); the same for
// SamrQueryInformationUser2.
func (s *service) queryUser(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	return queryInfo(s, c, r, w, userInfoLevel, func(w *ndr.Writer, snap *policy.Snapshot, u *userHandle, level uint16) {
		writeUserInfo(w, snap, u.entry, level)
	})
}

// NTSTATUS SamrQueryDisplayInformation(DomainHandle,
// DOMAIN_DISPLAY_INFORMATION DisplayInformationClass, Index,
// EntryCount, PreferredMaximumLength, [out] TotalAvailable, [out]
// TotalReturned, [out,switch_is(...)] PSAMPR_DISPLAY_INFO_BUFFER Buffer);
// 2 and 3 are the same. Levels 1 (users), 2 (machines: none), 3
// (groups), 4 and 5 (users, groups in OEM characters).
func (s *service) queryDisplay(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	level := r.Enum()
	start := r.Uint32()
	maxEntries := r.Uint32()
	r.Uint32()
	d, v, done, err := on[*domainHandle](s, c, r, h)
	if done {
		return err
	}
	snap := v.snap
	if v.ok && (level < 1 || level > 5) {
		v = v.refuse(svc.StatusInvalidInfo)
	}
	if !v.ok {
		w.Uint32(0)
		w.Uint32(0)
		w.Uint16(1)
		w.Uint32(0)
		w.UniquePtr(false)
		w.Flush()
		w.Uint32(v.st)
		return nil
	}
	list := listAll(snap, d, level)
	if start < uint32(len(list)) {
		list = list[start:]
	} else {
		list = nil
	}
	if maxEntries < uint32(len(list)) {
		list = list[:maxEntries]
	}
	w.Uint32(uint32(len(list)) * 64) // TotalAvailable, bytes: an estimate as Windows gives
	w.Uint32(uint32(len(list)) * 64)
	w.Uint16(level)
	w.Uint32(uint32(len(list)))
	w.DeferUnique(len(list) > 0, func(w *ndr.Writer) {
		w.MaxCount(len(list))
		for i, e := range list {
			idx := start + uint32(i) + 1
			switch level {
			case 1:
				w.Uint32(idx)
				w.Uint32(e.RID())
				w.Uint32(acctFlags(snap, e))
				w.UnicodeString(e.Name)
				w.UnicodeString(e.Comment)
				w.UnicodeString("") // FullName
			case 3:
				w.Uint32(idx)
				w.Uint32(e.RID())
				w.Uint32(groupAttrs)
				w.UnicodeString(e.Name)
				w.UnicodeString(e.Comment)
			case 4, 5:
				w.Uint32(idx)
				n := len(e.Name)
				w.Uint16(uint16(n))
				w.Uint16(uint16(n))
				w.DeferUnique(true, func(w *ndr.Writer) {
					w.MaxCount(n)
					w.Variance(0, n)
					w.Octets([]byte(e.Name))
				})
			}
		}
	})
	w.Flush()
	if start+uint32(len(list)) < uint32(len(listAll(snap, d, level))) {
		w.Uint32(svc.StatusMoreEntries)
		return nil
	}
	w.Uint32(0)
	return nil
}

func listAll(snap *policy.Snapshot, d *domainHandle, level uint16) []svc.Entry {
	if d.builtin {
		return nil
	}
	switch level {
	case 1, 4:
		return svc.Accounts(snap)
	case 3, 5:
		return svc.Groups(snap)
	}
	return nil
}

// USER_DOMAIN_PASSWORD_INFORMATION of the account domain: no minimum
// length, no properties (a stand-alone server's defaults, as level 1).
func writePasswordInfo(w *ndr.Writer) {
	w.Uint16(0) // MinPasswordLength
	w.Uint32(0) // PasswordProperties
}

// NTSTATUS SamrGetDomainPasswordInformation(handle_t, [in,unique]
// PRPC_UNICODE_STRING Unused, [out] PUSER_DOMAIN_PASSWORD_INFORMATION):
// the password policy a client shows before a password change, without a
// handle (MS-SAMR 3.1.5.13.3): anyone who has the pipe open may ask, so
// the policy decides it as a call that needs no handle.
func (s *service) domainPasswordInfo(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	if r.UniquePtr() {
		var unused string
		r.UnicodeString(&unused)
	}
	r.Flush()
	if r.Err() != nil {
		return nil
	}
	d, _ := s.env.Check(c, policy.RPCRequest{Interface: policy.ServiceSamr, Op: svc.OpName(c)})
	if !d.Allowed {
		w.Uint16(0)
		w.Uint32(0)
		w.Uint32(uint32(d.Status))
		return nil
	}
	writePasswordInfo(w)
	w.Uint32(0)
	return nil
}

// NTSTATUS SamrGetUserDomainPasswordInformation(UserHandle, [out]
// PUSER_DOMAIN_PASSWORD_INFORMATION): the same for the domain of a user
// handle, which needs USER_READ_ACCOUNT.
func (s *service) userPasswordInfo(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	h := r.ContextHandle()
	_, v, done, err := on[*userHandle](s, c, r, h)
	if done {
		return err
	}
	if !v.ok {
		w.Uint16(0)
		w.Uint32(0)
		w.Uint32(v.st)
		return nil
	}
	writePasswordInfo(w)
	w.Uint32(0)
	return nil
}
