package dcerpc

import "github.com/smbpipe/smbpipe/ndr"

// The mgmt interface (C706 appendix Q, Samba's mgmt.idl) is answered on
// every association, whatever the interfaces registered, as Windows does.
var mgmtInterface = Interface{
	Name:         "mgmt",
	Syntax:       SyntaxID{UUID: MustParseUUID("afa8bd80-7d8a-11c9-bef4-08002b102989"), Major: 1},
	AllowConnect: true,
	Ops: []Op{
		{"inq_if_ids", mgmtInqIfIDs},
		{"inq_stats", mgmtInqStats},
		{"is_server_listening", mgmtIsServerListening},
		{"stop_server_listening", mgmtStopServerListening},
		{"inq_princ_name", mgmtInqPrincName},
	},
}

// MgmtSyntax is the mgmt interface's syntax.
var MgmtSyntax = mgmtInterface.Syntax

// WERROR values of the mgmt interface.
const (
	werrOK                   = 0
	werrAccessDenied         = 5
	werrNotSupported         = 50
	werrInsufficientBuffer   = 122
	werrUnknownAuthnService  = 1747
	mgmtStatsArrayMaxSize    = 4
	mgmtMaxInterfacesInReply = 1024
)

// WERROR mgmt_inq_if_ids([out] rpc_if_id_vector_t **if_id_vector): the
// registered interfaces, mgmt excluded.
func mgmtInqIfIDs(c *Call, _ *ndr.Reader, w *ndr.Writer) error {
	ids := c.conn.srv.Interfaces()
	if len(ids) > mgmtMaxInterfacesInReply {
		ids = ids[:mgmtMaxInterfacesInReply]
	}
	w.UniquePtr(true)
	// rpc_if_id_vector_t: conformant structure {count; ndr_syntax_id_p if_id[count]}
	w.MaxCount(len(ids))
	w.Uint32(uint32(len(ids)))
	for _, id := range ids {
		w.DeferUnique(true, func(w *ndr.Writer) {
			w.UUID(id.UUID)
			w.Uint32(uint32(id.Major) | uint32(id.Minor)<<16)
		})
	}
	w.Flush()
	w.Uint32(werrOK)
	return nil
}

// WERROR mgmt_inq_stats([in] uint32 max_count, [in] uint32 unknown,
// [out,ref] rpc_statistics *statistics): four zero counters.
func mgmtInqStats(_ *Call, r *ndr.Reader, w *ndr.Writer) error {
	maxCount := r.Uint32()
	r.Uint32()
	n, status := mgmtStatsArrayMaxSize, uint32(werrOK)
	if maxCount != mgmtStatsArrayMaxSize {
		n, status = 0, werrNotSupported
	}
	w.MaxCount(n)
	w.Uint32(uint32(n))
	for range n {
		w.Uint32(0)
	}
	w.Flush()
	w.Uint32(status)
	return nil
}

// boolean32 mgmt_is_server_listening([out,ref] error_status_t *status).
func mgmtIsServerListening(_ *Call, _ *ndr.Reader, w *ndr.Writer) error {
	w.Uint32(0)
	w.Uint32(1)
	return nil
}

// WERROR mgmt_stop_server_listening(void): never allowed.
func mgmtStopServerListening(_ *Call, _ *ndr.Reader, w *ndr.Writer) error {
	w.Uint32(werrAccessDenied)
	return nil
}

// WERROR mgmt_inq_princ_name([in] uint32 authn_proto, [in] uint32
// princ_name_size, [out,string,charset(DOS),size_is(princ_name_size)]
// uint8 princ_name[]): NTLMSSP and SPNEGO have the empty principal name.
func mgmtInqPrincName(c *Call, r *ndr.Reader, w *ndr.Writer) error {
	proto := r.Uint32()
	size := r.Uint32()
	if r.Err() != nil {
		return nil
	}
	if size < 1 {
		return Fault(FaultNDR)
	}
	status := uint32(werrOK)
	if AuthType(proto) != AuthNTLM && AuthType(proto) != AuthSPNEGO || c.conn.srv.NTLM == nil {
		status = werrUnknownAuthnService
	}
	w.MaxCount(int(size))
	w.Variance(0, 1)
	w.Uint8(0)
	w.Flush()
	w.Uint32(status)
	return nil
}
