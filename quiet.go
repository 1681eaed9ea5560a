package smbpipe

import (
	"context"
	"log/slog"
	"strings"
)

// quietHandler is Logger's handler under QuietSessions: it drops the
// records about one client. Those are the records of a connection's logger
// (the server derives it with a "client" attribute) and the audit records
// (session setup, pipe open, RPC decisions), which carry "client"
// themselves; the administrator's actions ("admin ..." records) name the
// client too and stay.
type quietHandler struct {
	h    slog.Handler
	conn bool // a connection's logger: everything dropped
}

func (q quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return !q.conn && q.h.Enabled(ctx, l)
}

func (q quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if q.conn {
		return nil
	}
	if !strings.HasPrefix(r.Message, "admin ") {
		client := false
		r.Attrs(func(a slog.Attr) bool {
			client = a.Key == "client"
			return !client
		})
		if client {
			return nil
		}
	}
	return q.h.Handle(ctx, r)
}

func (q quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	conn := q.conn
	for _, a := range as {
		conn = conn || a.Key == "client"
	}
	return quietHandler{h: q.h.WithAttrs(as), conn: conn}
}

func (q quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h: q.h.WithGroup(name), conn: q.conn}
}
