package server

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/backend"
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/rpc/echo"
	"github.com/smbpipe/smbpipe/rpc/lsarpc"
	"github.com/smbpipe/smbpipe/rpc/samr"
	"github.com/smbpipe/smbpipe/rpc/srvsvc"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/wkssvc"
)

// rpcInterfaces returns the interfaces of a built-in RPC backend served
// on the pipe name: rpcecho, or a Windows service deciding its calls with
// the policy in force and auditing refusals in s's log (auditRPCDecision).
func (s *Server) rpcInterfaces(name string, b policy.Backend) []dcerpc.Interface {
	env := svc.Env{
		Policy: s.snapshot,
		Live:   rpcLive{s},
		Audit: func(c *dcerpc.Call, r policy.RPCRequest, d *policy.RPCDecision) {
			s.auditRPCDecision(name, c, r, d)
		},
	}
	switch b.Kind {
	case "rpcecho":
		return []dcerpc.Interface{echo.Interface()}
	case policy.ServiceSrvsvc:
		return []dcerpc.Interface{srvsvc.Interface(env)}
	case policy.ServiceWkssvc:
		return []dcerpc.Interface{wkssvc.Interface(env)}
	case policy.ServiceLsarpc:
		return []dcerpc.Interface{lsarpc.Interface(env), lsarpc.DSSetupInterface(env)}
	case policy.ServiceSamr:
		return []dcerpc.Interface{samr.Interface(env)}
	}
	return nil
}

// auditRPCDecision logs a call the policy refused (Warn "rpc denied"),
// beside the engine's "rpc refused": client, pipe, kind, user, domain as
// in "pipe open", interface, call, level, status (a Win32 code for srvsvc
// and wkssvc), the stable rule and the reason.
func (s *Server) auditRPCDecision(pipeName string, c *dcerpc.Call, r policy.RPCRequest, d *policy.RPCDecision) {
	if !s.log.Enabled(context.Background(), slog.LevelWarn) {
		return
	}
	who := c.Caller()
	kind := "user"
	switch {
	case who.Anonymous:
		kind = "anonymous"
	case who.Guest:
		kind = "guest"
	}
	status := d.Status.String()
	if d.Win32 {
		code, name := d.Status.Win32()
		status = name + " (" + strconv.FormatUint(uint64(code), 10) + ")"
	}
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "rpc denied",
		slog.String("client", who.ClientAddr),
		slog.String("pipe", pipeName),
		slog.String("kind", kind),
		slog.String("user", who.User),
		slog.String("domain", who.Domain),
		slog.String("interface", r.Interface),
		slog.String("call", r.Op),
		slog.Uint64("level", uint64(r.Level)),
		slog.String("status", status),
		slog.String("rule", d.Rule),
		slog.String("reason", d.Why()))
}

// NewRPC returns a DCE/RPC server for the pipe name serving ifaces (the
// mgmt interface is answered too), wired to s: RPC-level NTLM checks the
// accounts of the policy in force at each authentication, an
// authenticated caller gets the SIDs the policy gives its account, and
// every bind and every call the engine refuses is an audit record in s's
// log ("rpc bind", "rpc auth", "rpc refused"; see auditRPC). Serve it on
// the pipe's listener with ServeRPC.
func (s *Server) NewRPC(name string, ifaces ...dcerpc.Interface) (*dcerpc.Server, error) {
	rpc := &dcerpc.Server{
		SecondaryAddr: `\PIPE\` + name,
		NTLM:          func() ntlm.ServerConfig { return ntlmConfigFor(s.snapshot()) },
		Identity:      s.rpcIdentity,
		Audit:         func(e dcerpc.Event) { s.auditRPC(name, e) },
	}
	for _, i := range ifaces {
		if err := rpc.Register(i); err != nil {
			return nil, err
		}
	}
	return rpc, nil
}

// ServeRPC serves, from a goroutine of its own, one DCE/RPC association
// with rpc on each instance of l's pipe (a message-mode pipe made by
// Listen), for the caller that opened it, until l is closed.
// Associations still running then carry on until their client goes;
// Shutdown and Close wait for them.
func (s *Server) ServeRPC(l *pipe.Listener, rpc *dcerpc.Server) {
	s.backendWG.Add(1)
	go func() {
		defer s.backendWG.Done()
		s.serveBackend(context.Background(), l, rpcHandler(rpc))
	}()
}

// rpcHandler serves each server end with rpc and closes it when the
// association ends.
func rpcHandler(rpc *dcerpc.Server) backend.Handler {
	return backend.HandlerFunc(func(e *pipe.End) {
		defer e.Close()
		who, _ := e.Caller()
		rpc.ServeConn(context.Background(), e, RPCCaller(who))
	})
}

// RPCCaller is the transport identity of an RPC association on a pipe
// instance: the identity of the SMB session that opened it.
func RPCCaller(c pipe.Caller) dcerpc.Caller {
	return dcerpc.Caller{User: c.User, Domain: c.Domain, SIDs: c.SIDs,
		Anonymous: c.Anonymous, Guest: c.Guest, ClientAddr: c.ClientAddr}
}

// ntlmConfigFor is the NTLM server configuration of a policy snapshot:
// its accounts and names.
func ntlmConfigFor(snap *policy.Snapshot) ntlm.ServerConfig {
	cfg := snap.Config()
	return ntlm.ServerConfig{
		Lookup: func(user, _ string) ([16]byte, bool) {
			h, _, ok := snap.LookupAccount(user)
			return h, ok
		},
		TargetName:      cfg.ServerName,
		NetBIOSComputer: cfg.ServerName,
		NetBIOSDomain:   cfg.Domain,
		DNSComputer:     cfg.ServerName,
		DNSDomain:       cfg.Domain,
	}
}

// rpcIdentity maps an RPC-level NTLM logon to the caller the calls see,
// as a session setup would: the account as configured in the server's
// domain with its SIDs, or anonymous when the policy lets null sessions
// in.
func (s *Server) rpcIdentity(r *ntlm.Result) (dcerpc.Caller, error) {
	snap := s.snapshot()
	id := policy.Identity{Kind: policy.Anonymous}
	if r.Anonymous {
		if d := snap.CheckSession(true, ""); d.Status != ntstatus.Success {
			return dcerpc.Caller{}, errors.New("server: anonymous logon refused: " + d.Reason)
		}
	} else {
		_, name, ok := snap.LookupAccount(r.User)
		if !ok {
			name = r.User
		}
		id = policy.Identity{Kind: policy.User, User: name, Domain: snap.Config().Domain}
	}
	return dcerpc.Caller{User: id.User, Domain: id.Domain, SIDs: snap.SIDs(id), Anonymous: r.Anonymous}, nil
}

// auditRPC logs an RPC association's event on the pipe name, beside the
// "pipe open" records of the same client:
//
//	"rpc bind"     a BIND or ALTER_CONTEXT: event (bind, alter_context),
//	               interface and syntax (when known), assoc_group,
//	               auth_type, auth_level,
//	               result (acceptance, user_rejection, provider_rejection,
//	               bind_nak) and reason; Warn unless accepted
//	"rpc auth"     an RPC-level authentication completed or failed
//	"rpc refused"  a call or PDU the engine refused: interface, opnum,
//	               call, fault (its name) and fault_code, reason; Warn
//
// with client, pipe, kind, user and domain as in "pipe open".
func (s *Server) auditRPC(pipeName string, e dcerpc.Event) {
	level := slog.LevelInfo
	var msg string
	switch e.Kind {
	case "bind", "alter_context":
		msg = "rpc bind"
	case "auth":
		msg = "rpc auth"
	default:
		msg = "rpc refused"
	}
	if !e.Accepted {
		level = slog.LevelWarn
	}
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	kind := "user"
	switch {
	case e.Caller.Anonymous:
		kind = "anonymous"
	case e.Caller.Guest:
		kind = "guest"
	}
	attrs := []slog.Attr{
		slog.String("client", e.Caller.ClientAddr),
		slog.String("pipe", pipeName),
		slog.String("kind", kind),
		slog.String("user", e.Caller.User),
		slog.String("domain", e.Caller.Domain),
	}
	if e.Interface != (dcerpc.SyntaxID{}) {
		attrs = append(attrs, slog.String("interface", e.Name), slog.String("syntax", e.Interface.String()))
	}
	attrs = append(attrs,
		slog.String("assoc_group", hex32(e.AssocGroup)),
		slog.String("auth_type", e.AuthType.String()),
		slog.String("auth_level", e.AuthLevel.String()),
	)
	switch msg {
	case "rpc bind":
		code := e.Reason
		if e.Nak {
			code = e.Result // the reject reason
		}
		attrs = append(attrs, slog.String("event", e.Kind), slog.String("result", bindResult(e)),
			slog.Uint64("reason_code", uint64(code)), slog.String("reason", e.Detail))
	case "rpc auth":
		attrs = append(attrs, slog.Bool("accepted", e.Accepted), slog.String("reason", e.Detail))
	default:
		attrs = append(attrs, slog.Uint64("call", uint64(e.CallID)), slog.Uint64("opnum", uint64(e.Opnum)),
			slog.String("fault", dcerpc.Fault(e.Fault).Name()), slog.String("fault_code", hex32(e.Fault)),
			slog.String("reason", e.Detail))
	}
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}

func bindResult(e dcerpc.Event) string {
	if e.Nak {
		return "bind_nak"
	}
	switch e.Result {
	case dcerpc.ResultAcceptance:
		return "acceptance"
	case dcerpc.ResultUserRejection:
		return "user_rejection"
	}
	return "provider_rejection"
}
