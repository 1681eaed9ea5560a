package server

import "github.com/smbpipe/smbpipe/rpc/svc"

// rpcLive is the server's live tables as the RPC services read them
// (svc.Live): srvsvc's NetrSessionEnum, NetrConnectionEnum and
// NetrFileEnum list what Sessions and Opens list.
type rpcLive struct{ s *Server }

func (l rpcLive) LiveSessions() []svc.Session {
	in := l.s.Sessions()
	out := make([]svc.Session, len(in))
	for i, si := range in {
		out[i] = svc.Session{
			ID:         si.ID,
			Client:     si.Client,
			User:       si.User,
			Domain:     si.Domain,
			Guest:      si.Kind == "guest",
			Anonymous:  si.Kind == "anonymous",
			Started:    si.Started,
			LastActive: si.LastActive,
			Opens:      si.Opens,
		}
	}
	return out
}

func (l rpcLive) LiveOpens() []svc.Open {
	in := l.s.Opens()
	out := make([]svc.Open, len(in))
	for i, oi := range in {
		out[i] = svc.Open{
			ID:      oi.ID,
			Session: oi.Session,
			Pipe:    oi.Pipe,
			Client:  oi.Client,
			User:    oi.User,
			Granted: oi.Granted,
		}
	}
	return out
}
