package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus collectors, registered in a registry
// the server owns (never the global default one), so several servers in
// one process do not collide.
type metrics struct {
	reg           *prometheus.Registry
	connsOpen     prometheus.Gauge
	connsTotal    prometheus.Counter
	sessionsOpen  prometheus.Gauge
	sessionsTotal *prometheus.CounterVec // by kind
	opensOpen     prometheus.Gauge
	opensTotal    prometheus.Counter
	denials       *prometheus.CounterVec // by rule
	reloads       prometheus.Counter
	limitHits     *prometheus.CounterVec // by limit
	panics        prometheus.Counter
	asyncBytes    prometheus.Gauge // see Server.asyncBytes
	processes     prometheus.Gauge // see procTable.n
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{Name: "smbpipe_connections",
			Help: "Client connections open now."}),
		connsTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "smbpipe_connections_total",
			Help: "Client connections accepted (including those closed at once by max_connections)."}),
		sessionsOpen: prometheus.NewGauge(prometheus.GaugeOpts{Name: "smbpipe_sessions",
			Help: "Authenticated sessions now."}),
		sessionsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smbpipe_sessions_total",
			Help: "Sessions established, by kind (user, guest, anonymous)."}, []string{"kind"}),
		opensOpen: prometheus.NewGauge(prometheus.GaugeOpts{Name: "smbpipe_opens",
			Help: "Pipe handles open now."}),
		opensTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "smbpipe_opens_total",
			Help: "Successful pipe opens."}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smbpipe_denials_total",
			Help: "Refused pipe opens by the deciding policy rule, and refused logons (rules logon-failure, null-session-refused)."},
			[]string{"rule"}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{Name: "smbpipe_policy_reloads_total",
			Help: "Policies applied with SetPolicy (hot reloads)."}),
		limitHits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smbpipe_limit_hits_total",
			Help: "Requests or connections refused or closed by a [limits] value, by limit."}, []string{"limit"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{Name: "smbpipe_panics_total",
			Help: "Connections closed by a recovered panic (a bug; should stay 0)."}),
		asyncBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "smbpipe_async_bytes",
			Help: "Bytes held now by pending operations: WRITE and TRANSCEIVE data waiting for pipe quota, READ and TRANSCEIVE replies waiting to be sent (max_async_bytes)."}),
		processes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "smbpipe_processes",
			Help: "Backend processes (exec:) running now or reserved by an open about to start one (max_processes)."}),
	}
	m.reg.MustRegister(m.connsOpen, m.connsTotal, m.sessionsOpen, m.sessionsTotal, m.opensOpen, m.opensTotal,
		m.denials, m.reloads, m.limitHits, m.panics, m.asyncBytes, m.processes)
	for _, l := range limitNames {
		m.limitHits.WithLabelValues(l) // export every limit, at 0
	}
	return m
}

// Metrics returns the registry holding the server's metrics. Callers may
// register their own collectors in it (the CLI adds the policy store's
// reload failures and the Go runtime's collectors).
func (s *Server) Metrics() *prometheus.Registry { return s.metrics.reg }

// MetricsHandler serves the registry in the Prometheus text format.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Registry: s.metrics.reg})
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
	c.srv.metrics.limitHits.WithLabelValues(limitNames[l]).Inc()
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
	s.metrics.limitHits.WithLabelValues(limitNames[limConnections]).Inc()
	now := time.Now().UnixNano()
	if last := s.lastRefusalLog.Load(); now-last < int64(time.Second) || !s.lastRefusalLog.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("smb limit reached; connection closed (logged at most once a second)",
		"limit", limitNames[limConnections], "max", max, "client", remote)
}
