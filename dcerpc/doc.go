// Package dcerpc implements connection-oriented DCE/RPC (C706 chapter
// 12, MS-RPCE) as used over named pipes (ncacn_np) and TCP
// (ncacn_ip_tcp): the PDUs, the server's association engine and a client.
// It knows nothing of SMB: an association runs on any MessageConn, such
// as a pipe instance's end.
//
// # Server
//
// A Server holds registered Interfaces (a syntax and an opnum table of
// OpFunc) and the association groups shared by every connection it
// serves. ServeConn serves one association: BIND / ALTER_CONTEXT with
// several presentation contexts (NDR only; NDR64 declined; bind time
// feature negotiation answered as Windows does), requests reassembled
// from fragments (bounded by MaxRequest whatever alloc_hint says),
// responses fragmented at the negotiated size, CO_CANCEL and ORPHANED
// cancelling the call's context, and the faults Windows sends for unknown
// contexts and opnums and for protocol errors (which end the
// association). RPC-level authentication is NTLMSSP (auth type 10) or
// SPNEGO(NTLMSSP) (9) at levels CONNECT, PKT_INTEGRITY and PKT_PRIVACY,
// with per-PDU signing and sealing (MS-NLMP 3.4 over the whole PDU, as
// Windows and Samba sign with NTLMSSP). Calls see the RPC-authenticated
// identity when there is one, else the transport's. Context handles live
// in the association group and die with its last connection. The mgmt
// interface is answered on every association.
//
// Each association has a goroutine reading PDUs and one running calls
// (more with PFC_CONC_MPX, which lets calls of one association overlap).
// A call with primitive parameters makes no allocation in the engine.
//
// # Client
//
// Bind opens an association (optionally authenticated, optionally
// big-endian) and Client.Call makes calls with fragmentation and
// reassembly; AlterContext adds presentation contexts.
//
// Not implemented: security context multiplexing (a second
// authentication on one connection, with another auth_context_id, as
// impacket's alter_ctx does), Kerberos and Netlogon auth types, NDR64,
// the verification trailer check (its bytes, after the stub, are ignored).
package dcerpc
