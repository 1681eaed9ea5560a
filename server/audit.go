package server

import (
	"context"
	"log/slog"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
)

// audit logs one record per pipe-open decision: who, from where, which
// pipe, the access asked and granted, the outcome and why. st is the final
// status (the decision's, or the namespace's when the open itself failed).
func (c *conn) audit(r *request, req *policy.Request, d *policy.Decision, st ntstatus.Status) {
	granted := d.Granted
	rule, reason := d.Rule, d.Reason
	if st != d.Status {
		granted = 0
		rule, reason = "open", "the pipe could not be opened: "+st.String()
	}
	level := slog.LevelInfo
	if st != ntstatus.Success {
		level = slog.LevelWarn
	}
	c.srv.log.LogAttrs(context.Background(), level, "pipe open",
		slog.String("client", c.remote),
		slog.Uint64("session", r.sess.id),
		slog.String("kind", kindName(req.Identity.Kind)),
		slog.String("user", req.Identity.User),
		slog.String("domain", req.Identity.Domain),
		slog.String("pipe", req.PipeName),
		slog.String("desired", hex32(req.DesiredAccess)),
		slog.String("granted", hex32(granted)),
		slog.String("status", st.String()),
		slog.String("rule", rule),
		slog.String("reason", reason),
	)
}

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	b := []byte("0x00000000")
	for i := 9; i >= 2; i-- {
		b[i] = digits[v&0xF]
		v >>= 4
	}
	return string(b)
}
