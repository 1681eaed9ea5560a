package server

import (
	"context"
	"errors"
	"net"

	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
)

// STUBS: replaced by the real implementation. Signatures are the contract.

// Server serves SMB2 connections.
type Server struct{}

// New builds a server and creates the snapshot's configured pipes.
func New(opts Options) (*Server, error) { return nil, errors.New("server: not implemented") }

// Serve accepts connections on l until Shutdown or Close.
func (s *Server) Serve(l net.Listener) error { return errors.New("server: not implemented") }

// Shutdown stops accepting, lets in-flight requests finish (bounded by ctx)
// and closes every connection.
func (s *Server) Shutdown(ctx context.Context) error { return nil }

// Close closes the listeners and every connection at once.
func (s *Server) Close() error { return nil }

// SetPolicy swaps the policy snapshot (hot reload); pipes added to or
// removed from the [[pipe]] table are created or removed.
func (s *Server) SetPolicy(snap *policy.Snapshot) error { return nil }

// Namespace returns the pipe namespace served.
func (s *Server) Namespace() *pipe.Namespace { return nil }
