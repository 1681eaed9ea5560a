package smbpipe

import (
	"errors"
	"fmt"
	"net"

	"github.com/smbpipe/smbpipe/dcerpc"
)

// RPCService is a pipe served by DCE/RPC interfaces in this process (see
// ListenRPC).
type RPCService struct {
	l   *Listener
	rpc *dcerpc.Server
}

// ListenRPC creates the pipe name, as Listen does, and serves DCE/RPC on
// it: each client open is one association (BIND, ALTER_CONTEXT, requests
// and responses in fragments, RPC-level NTLMSSP or SPNEGO at connect,
// integrity or privacy) on which the client calls ifaces, and the mgmt
// interface. The pipe is always message-mode and duplex (cfg's
// MessageMode and Direction are ignored); its SecurityDescriptor and the
// config's NullSessionPipes decide who may open it, as for any pipe.
//
// A handler (dcerpc.OpFunc) sees who calls with Call.Caller: the
// RPC-authenticated account when the client authenticated at the RPC
// level (with the SIDs the Config gives it), else the SMB session's
// identity (anonymous, guest or an account, with its SIDs); Call.AuthLevel
// says how the calls are protected. Binds and the calls the engine
// refuses are logged (messages "rpc bind", "rpc auth", "rpc refused").
//
// Closing the RPCService removes the pipe; associations open carry on
// until their client closes them. Shutdown and Close of the Server close
// it too and wait for them.
func (s *Server) ListenRPC(name string, cfg *PipeConfig, ifaces ...dcerpc.Interface) (*RPCService, error) {
	if len(ifaces) == 0 {
		return nil, errors.New("smbpipe: ListenRPC without an interface")
	}
	var pc PipeConfig
	if cfg != nil {
		pc = *cfg
	}
	pc.MessageMode, pc.Direction = true, Duplex
	ln, err := s.Listen(name, &pc)
	if err != nil {
		return nil, err
	}
	l := ln.(*Listener)
	rpc, err := s.srv.NewRPC(l.l.Pipe().Name(), ifaces...)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("smbpipe: %w", err)
	}
	s.srv.ServeRPC(l.l, rpc)
	return &RPCService{l: l, rpc: rpc}, nil
}

// Close removes the pipe (see ListenRPC). It is idempotent.
func (r *RPCService) Close() error { return r.l.Close() }

// Addr returns the pipe's address: network "pipe", the pipe's name.
func (r *RPCService) Addr() net.Addr { return r.l.Addr() }

// Interfaces returns the syntaxes of the interfaces served (mgmt
// excluded).
func (r *RPCService) Interfaces() []dcerpc.SyntaxID { return r.rpc.Interfaces() }
