package svc

import "time"

// A Session is one established SMB session of the server that runs the
// services, as srvsvc's NetrSessionEnum and NetrConnectionEnum list it.
type Session struct {
	// ID names the session among every session and open the server ever
	// served.
	ID uint64
	// Client is the remote address of the session's connection
	// (host:port).
	Client string
	// User and Domain are the account the session acts as ("" for an
	// anonymous session).
	User, Domain     string
	Guest, Anonymous bool
	// Started is when the session was established, LastActive when it
	// last used a pipe.
	Started, LastActive time.Time
	// Opens is the number of pipe handles the session holds.
	Opens int
}

// An Open is one pipe handle a session holds (NetrFileEnum).
type Open struct {
	ID      uint64
	Session uint64 // the holding Session's ID
	Pipe    string // the name as opened, without \pipe\
	Client  string
	User    string
	Granted uint32 // the access mask of the handle
}

// Live is the server's table of the sessions and opens it serves now.
// Both methods return copies the caller owns, safe to call from any
// goroutine.
type Live interface {
	LiveSessions() []Session
	LiveOpens() []Open
}
