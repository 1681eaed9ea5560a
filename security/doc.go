// Package security implements the Windows security model smbpipe needs to
// decide pipe opens the way a Windows server does: SIDs, ACEs, ACLs and
// self-relative security descriptors (binary, both directions), SDDL
// (parse and format), tokens, the file/pipe generic mapping and
// AccessCheck (MS-DTYP 2.5.3.2 in its order-dependent Windows form).
//
// The package is pure: no I/O, no SMB, no configuration. Every value it
// returns is either immutable (SID) or owned by the caller. Decoders check
// every offset and length and never panic.
//
// Three DACL states are kept distinct (SecurityDescriptor.DACLPresent and
// SecurityDescriptor.DACL): absent (DP clear: everything granted), NULL
// (DP set, no ACL: everything granted, SDDL "D:NO_ACCESS_CONTROL") and
// empty (DP set, ACL with no ACEs: only the owner's implicit rights, SDDL
// "D:").
package security
