package smbpipe

import "github.com/smbpipe/smbpipe/server"

// SessionInfo describes one established session: its ID for CloseSession,
// client address, user, guest or anonymous, dialect, signing, encryption,
// start and last activity, and its number of opens. See
// server.SessionInfo.
type SessionInfo = server.SessionInfo

// OpenInfo describes one open pipe instance: its ID for CloseOpen, the
// pipe, the session holding it, granted access, bytes in and out, when it
// was opened. See server.OpenInfo.
type OpenInfo = server.OpenInfo

// ErrNotFound is returned by CloseSession and CloseOpen for an ID that is
// not listed (any more).
var ErrNotFound = server.ErrNotFound

// Sessions returns the sessions established now, oldest first (what
// Get-SmbSession lists on Windows). It never waits for a connection and is
// safe to call from any goroutine; a Server not yet used has none.
func (s *Server) Sessions() []SessionInfo {
	if s.init() != nil {
		return nil
	}
	return s.srv.Sessions()
}

// Opens returns the pipe instances open now, oldest first (what
// Get-SmbOpenFile lists on Windows), with the bytes each client wrote and
// read. Like Sessions it never waits and is safe from any goroutine.
func (s *Server) Opens() []OpenInfo {
	if s.init() != nil {
		return nil
	}
	return s.srv.Opens()
}

// CloseSession ends the session id (SessionInfo.ID) by closing the
// connection that carries it, as Close-SmbSession does; by names who asked
// and goes to the log record of the action. ErrNotFound: no such session.
func (s *Server) CloseSession(id uint64, by string) error {
	if err := s.init(); err != nil {
		return err
	}
	return s.srv.CloseSession(id, by)
}

// CloseOpen force-closes the open pipe instance id (OpenInfo.ID), as
// Close-SmbOpenFile does: the Conn the Listener returned for it sees the
// client leave, and the client's next request on the handle gets
// STATUS_FILE_CLOSED. by names who asked and goes to the log record of the
// action. ErrNotFound: no such open.
func (s *Server) CloseOpen(id uint64, by string) error {
	if err := s.init(); err != nil {
		return err
	}
	return s.srv.CloseOpen(id, by)
}
