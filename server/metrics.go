package server

import "time"

// Metrics receives the server's counts: connections, sessions, opens,
// denials, limit hits and so on. Implementations must be safe for
// concurrent use and cheap (they are called on the request path).
// Options.Metrics nil discards the counts; package metrics implements it
// with Prometheus, and the smbpipe command wires that in, so a program
// embedding the server does not depend on Prometheus.
type Metrics interface {
	// Add adds delta to the counter or gauge m; label is the value of
	// m's label (Metric.Label) or "" when it has none.
	Add(m Metric, label string, delta float64)
	// Set sets the gauge m.
	Set(m Metric, v float64)
}

// Metric names one of the server's counts.
type Metric uint8

// The server's metrics; the comment gives the kind and the label.
const (
	MetricConnections       Metric = iota // gauge: client connections open
	MetricConnectionsTotal                // counter: connections accepted (also those refused by max_connections)
	MetricSessions                        // gauge: authenticated sessions
	MetricSessionsTotal                   // counter, label kind (user, guest, anonymous): sessions established
	MetricOpens                           // gauge: pipe handles open
	MetricOpensTotal                      // counter: successful opens
	MetricDenials                         // counter, label rule: refused opens, WAITs and logons by rule
	MetricReloads                         // counter: policies applied with SetPolicy
	MetricLimitHits                       // counter, label limit: requests or connections refused by a [limits] value
	MetricPanics                          // counter: connections closed by a recovered panic
	MetricAsyncBytes                      // gauge: bytes held by pending operations
	MetricProcesses                       // gauge: backend processes running or reserved
	MetricEncryptedSessions               // counter, label cipher (AES-128-GCM ...): sessions that encrypt (required at logon, or first encrypted request)
	NumMetrics
)

// Label is the name of m's label, or "".
func (m Metric) Label() string {
	switch m {
	case MetricSessionsTotal:
		return "kind"
	case MetricDenials:
		return "rule"
	case MetricLimitHits:
		return "limit"
	case MetricEncryptedSessions:
		return "cipher"
	}
	return ""
}

// LimitNames are the values of MetricLimitHits' label, one per [limits]
// key that refuses something.
func LimitNames() []string { return limitNames[:] }

// meter forwards to the configured Metrics, or discards.
type meter struct{ m Metrics }

func (mt meter) add(m Metric, label string, d float64) {
	if mt.m != nil {
		mt.m.Add(m, label, d)
	}
}

func (mt meter) inc(m Metric, label string) { mt.add(m, label, 1) }
func (mt meter) dec(m Metric)               { mt.add(m, "", -1) }

func (mt meter) set(m Metric, v float64) {
	if mt.m != nil {
		mt.m.Set(m, v)
	}
}

// limit identifies one [limits] value in logs and metrics.
type limit uint8

const (
	limConnections limit = iota
	limSessions
	limOpens
	limAsync
	limAsyncBytes
	limAsyncBytesServer
	limProcesses
	limMessageSize
	limHandshake
	limIdle
	numLimits
)

var limitNames = [numLimits]string{
	limConnections:      "max_connections",
	limSessions:         "max_sessions_per_connection",
	limOpens:            "max_opens_per_session",
	limAsync:            "max_async_per_connection",
	limAsyncBytes:       "max_async_bytes_per_connection",
	limAsyncBytesServer: "max_async_bytes",
	limProcesses:        "max_processes",
	limMessageSize:      "max_message_size",
	limHandshake:        "handshake_timeout",
	limIdle:             "idle_timeout",
}

// limitHit counts a hit of l and logs the first one of this connection.
// Safe from any goroutine of the connection.
func (c *conn) limitHit(l limit, args ...any) {
	c.srv.metrics.inc(MetricLimitHits, limitNames[l])
	bit := uint32(1) << l
	for {
		old := c.limitsLogged.Load()
		if old&bit != 0 {
			return
		}
		if c.limitsLogged.CompareAndSwap(old, old|bit) {
			break
		}
	}
	c.log.Warn("smb limit reached (logged once per connection)", append([]any{"limit", limitNames[l]}, args...)...)
}

// refuseConn counts a connection refused by max_connections, logging at
// most one such refusal a second for the whole server.
func (s *Server) refuseConn(remote string, max int) {
	s.metrics.inc(MetricLimitHits, limitNames[limConnections])
	now := time.Now().UnixNano()
	if last := s.lastRefusalLog.Load(); now-last < int64(time.Second) || !s.lastRefusalLog.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("smb limit reached; connection closed (logged at most once a second)",
		"limit", limitNames[limConnections], "max", max, "client", remote)
}
