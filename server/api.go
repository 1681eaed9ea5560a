// Package server is the SMB2/SMB3 server for named pipes on IPC$:
// connections, sessions, trees, opens, dispatch, async operations and
// cancellation. Access decisions come from a policy.Snapshot consulted at
// the moment of each SESSION_SETUP and CREATE; pipes live in a
// pipe.Namespace.
package server

import (
	"log/slog"

	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
)

// Options configure a Server. Snapshot is required; the rest defaults.
type Options struct {
	Snapshot *policy.Snapshot
	Logger   *slog.Logger // nil: slog.Default()
	// Namespace to serve; nil: a new one. Pipes of the snapshot's [[pipe]]
	// table are created in it with their backends by New.
	Namespace *pipe.Namespace
	// Metrics receives the server's counts; nil discards them (package
	// metrics provides a Prometheus one).
	Metrics Metrics
}
