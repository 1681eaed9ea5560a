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

// domainInfoLevel reports whether QueryInformationDomain serves a level.
func domainInfoLevel(l uint16) bool { return l >= 1 && l <= 9 }

// writeDomainInfo writes the SAMPR_DOMAIN_INFO_BUFFER union for a level.
func writeDomainInfo(w *ndr.Writer, snap *policy.Snapshot, d *domainHandle, level uint16) {
	name := snap.Config().ServerName
	users, groups, aliases := len(svc.Accounts(snap)), len(svc.Groups(snap)), 0
	if d.builtin {
		name, users, groups, aliases = "BUILTIN", 0, 0, len(svc.Aliases())
	}
	w.Uint16(level)
	switch level {
	case 1:
		w.Uint16(0) // MinPasswordLength
		w.Uint16(0) // PasswordHistoryLength
		w.Uint32(0) // PasswordProperties
		age := maxPwAge
		nttime(w, uint64(age))
		nttime(w, 0)
	case 2:
		nttime(w, neverLogoff)
		w.UnicodeString("")   // OemInformation
		w.UnicodeString(name) // DomainName
		w.UnicodeString("")   // ReplicaSourceNodeName
		nttime(w, 1)          // DomainModifiedCount
		w.Uint32(1)           // DomainServerEnabled
		w.Uint32(3)           // DomainServerRolePrimary: the local SAM
		w.Uint32(1)           // UasCompatibilityRequired
		w.Uint32(uint32(users))
		w.Uint32(uint32(groups))
		w.Uint32(uint32(aliases))
	case 3:
		nttime(w, neverLogoff)
	case 4:
		w.UnicodeString("")
	case 5:
		w.UnicodeString(name)
	case 6:
		w.UnicodeString("")
	case 7:
		w.Uint32(3)
	case 8:
		w.Uint64(1) // DomainModifiedCount
		nttime(w, 0)
	case 9:
		w.Uint32(1)
	}
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

// writeUserInfo writes the SAMPR_USER_INFO_BUFFER union for level 16
// (UserControlInformation) or 21 (UserAllInformation, without secrets).
func writeUserInfo(w *ndr.Writer, snap *policy.Snapshot, e svc.Entry, level uint16) {
	w.Uint16(level)
	flags := acctFlags(snap, e)
	if level == 16 {
		w.Uint32(flags)
		return
	}
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
	valid := func(l uint16) bool { return l == 16 || l == 21 }
	return queryInfo(s, c, r, w, valid, func(w *ndr.Writer, snap *policy.Snapshot, u *userHandle, level uint16) {
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
