package server

import (
	"context"
	"log/slog"

	"github.com/smbpipe/smbpipe/internal/smbcrypto"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
)

// audit logs one record per pipe-open decision, granted or denied, with
// the message "pipe open" and these attributes (slog adds the time):
//
//	client         remote address of the connection
//	session        SMB2 SessionId
//	kind           anonymous, guest or user
//	user, domain   as authenticated ("" for anonymous)
//	pipe           the name the client sent
//	desired        DesiredAccess as sent
//	desired_mapped the same with generic rights mapped (file/pipe mapping)
//	impersonation  the ImpersonationLevel sent
//	granted        the access kept on the handle (0 when denied)
//	status         NTSTATUS name; status_code its value
//	rule, reason   the policy rule that decided, in words
//	event_id       the Windows Security event an analyst maps the record
//	               on: 5145 (a detailed file share access check)
//	policy_revision the revision of the policy that decided
//	               (Snapshot.Revision: the etcd key's revision with serve
//	               --policy etcd://...; 0 for a policy from a file)
//
// snap is the policy that decided; st is the final status (the decision's,
// or the namespace's when the open itself failed).
func (c *conn) audit(r *request, snap *policy.Snapshot, req *policy.Request, d *policy.Decision, st ntstatus.Status) {
	c.auditDecision("pipe open", r, snap, req, d, st)
}

// auditDecision logs one decision record with message msg ("pipe open",
// or "pipe wait" for an FSCTL_PIPE_WAIT refused by the NullSessionPipes
// gate), with the attributes of audit.
func (c *conn) auditDecision(msg string, r *request, snap *policy.Snapshot, req *policy.Request, d *policy.Decision, st ntstatus.Status) {
	level := slog.LevelInfo
	if st != ntstatus.Success {
		level = slog.LevelWarn
	}
	if !c.srv.log.Enabled(context.Background(), level) {
		return // the reason is written only for a record that is kept
	}
	granted := d.Granted
	rule, reason := d.Rule, ""
	if st != d.Status {
		granted = 0
		rule, reason = "open", "the pipe could not be opened: "+st.String()
	} else {
		reason = d.Why()
	}
	c.srv.log.LogAttrs(context.Background(), level, msg,
		slog.String("client", c.remote),
		slog.Uint64("session", r.sess.id),
		slog.String("kind", kindName(req.Identity.Kind)),
		slog.String("user", req.Identity.User),
		slog.String("domain", req.Identity.Domain),
		slog.String("pipe", req.PipeName),
		slog.String("desired", hex32(req.DesiredAccess)),
		slog.String("desired_mapped", hex32(d.Desired)),
		slog.Uint64("impersonation", uint64(req.ImpersonationLevel)),
		slog.String("granted", hex32(granted)),
		slog.String("status", st.String()),
		slog.String("status_code", hex32(uint32(st))),
		slog.String("rule", rule),
		slog.String("reason", reason),
		slog.Int("event_id", eventFileShareAccessCheck),
		slog.Int64("policy_revision", snap.Revision()),
	)
}

// The Windows Security event ids the audit records carry (event_id), so
// that a SIEM maps them as it maps Windows': 5145 a detailed file share
// access check (a pipe open on IPC$), 4624 a logon, 4625 a failed logon.
const (
	eventFileShareAccessCheck = 5145
	eventLogon                = 4624
	eventLogonFailed          = 4625
)

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	b := []byte("0x00000000")
	for i := 9; i >= 2; i-- {
		b[i] = digits[v&0xF]
		v >>= 4
	}
	return string(b)
}

// auditSession logs one record per SESSION_SETUP decision that ends an
// NTLM exchange, established or refused, with the message "session setup"
// and the attributes of "pipe open" that apply (slog adds the time):
//
//	client         remote address of the connection
//	session        SMB2 SessionId
//	kind           anonymous, guest or user (as asked, when refused)
//	user, domain   as the client sent them ("" for anonymous)
//	dialect        the connection's SMB dialect
//	signing        whether the session requires signing
//	encryption     whether the session must encrypt (encryption = "required")
//	cipher         the connection's cipher ("" when encryption is not
//	               negotiated): what the session encrypts with
//	reauth         whether this exchange re-authenticated a live session
//	status         NTSTATUS name; status_code its value
//	rule, reason   policy.CheckSession's rule and reason, or logon-failure
//	event_id       4624 when established, 4625 when refused
//	policy_revision the revision of the policy in force when the record
//	               is written (as for "pipe open")
//	extra          Kerberos logons (kerberos.go): auth "kerberos",
//	               principal, service, enctype, session_enctype, krb_error,
//	               user_sid, pac_groups, upn
func (c *conn) auditSession(s *session, kind policy.Kind, user, domain string, reauth bool, st ntstatus.Status, rule, reason string, extra ...slog.Attr) {
	level, event := slog.LevelInfo, eventLogon
	if st != ntstatus.Success {
		level, event = slog.LevelWarn, eventLogonFailed
	}
	attrs := []slog.Attr{
		slog.String("client", c.remote),
		slog.Uint64("session", s.id),
		slog.String("kind", kindName(kind)),
		slog.String("user", user),
		slog.String("domain", domain),
		slog.String("dialect", c.dialect.String()),
		slog.Bool("signing", s.signingRequired),
		slog.Bool("encryption", s.encryptData),
		slog.String("cipher", smbcrypto.CipherName(c.cipher)),
		slog.Bool("reauth", reauth),
		slog.String("status", st.String()),
		slog.String("status_code", hex32(uint32(st))),
		slog.String("rule", rule),
		slog.String("reason", reason),
		slog.Int("event_id", event),
		slog.Int64("policy_revision", c.srv.snapshot().Revision()),
	}
	c.srv.log.LogAttrs(context.Background(), level, "session setup", append(attrs, extra...)...)
}
