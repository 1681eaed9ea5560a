// Package metrics exports an smbpipe server's counts as Prometheus
// metrics. It implements server.Metrics in a registry of its own (never
// the global default one), so several servers in one process do not
// collide:
//
//	m := metrics.New()
//	srv, _ := server.New(server.Options{Snapshot: snap, Metrics: m})
//	http.Handle("/metrics", m.Handler())
//
// The smbpipe command wires it in for `serve --metrics`; a program that
// embeds the server without it does not depend on Prometheus.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smbpipe/smbpipe/server"
)

// Prometheus holds the server's metrics in its own registry. It is safe
// for concurrent use.
type Prometheus struct {
	reg      *prometheus.Registry
	counters [server.NumMetrics]prometheus.Counter     // counters without a label
	vec      [server.NumMetrics]*prometheus.CounterVec // counters with one
	gauges   [server.NumMetrics]prometheus.Gauge
}

// desc is the name and help of each server metric.
var desc = [server.NumMetrics]struct {
	name, help string
	gauge      bool
}{
	server.MetricConnections:       {"smbpipe_connections", "Client connections open now.", true},
	server.MetricConnectionsTotal:  {"smbpipe_connections_total", "Client connections accepted (including those closed at once by max_connections).", false},
	server.MetricSessions:          {"smbpipe_sessions", "Authenticated sessions now.", true},
	server.MetricSessionsTotal:     {"smbpipe_sessions_total", "Sessions established, by kind (user, guest, anonymous).", false},
	server.MetricEncryptedSessions: {"smbpipe_encrypted_sessions_total", "Sessions that encrypt (SMB3), by cipher.", false},
	server.MetricOpens:             {"smbpipe_opens", "Pipe handles open now.", true},
	server.MetricOpensTotal:        {"smbpipe_opens_total", "Successful pipe opens.", false},
	server.MetricDenials: {"smbpipe_denials_total",
		"Refused pipe opens and waits by the deciding policy rule, and refused logons (rules logon-failure, null-session-refused).", false},
	server.MetricReloads:   {"smbpipe_policy_reloads_total", "Policies applied with SetPolicy (hot reloads).", false},
	server.MetricLimitHits: {"smbpipe_limit_hits_total", "Requests or connections refused or closed by a [limits] value, by limit.", false},
	server.MetricPanics:    {"smbpipe_panics_total", "Connections closed by a recovered panic (a bug; should stay 0).", false},
	server.MetricAsyncBytes: {"smbpipe_async_bytes",
		"Bytes held now by pending operations: WRITE and TRANSCEIVE data waiting for pipe quota, READ and TRANSCEIVE replies waiting to be sent (max_async_bytes).", true},
	server.MetricProcesses: {"smbpipe_processes", "Backend processes (exec:) running now or reserved by an open about to start one (max_processes).", true},
}

// New returns the server's metrics, registered in a new registry, every
// limit's hit counter exported at 0.
func New() *Prometheus {
	p := &Prometheus{reg: prometheus.NewRegistry()}
	p.reg.MustRegister(buildInfo())
	for m := server.Metric(0); m < server.NumMetrics; m++ {
		d := desc[m]
		switch {
		case m.Label() != "":
			p.vec[m] = prometheus.NewCounterVec(prometheus.CounterOpts{Name: d.name, Help: d.help}, []string{m.Label()})
			p.reg.MustRegister(p.vec[m])
		case d.gauge:
			p.gauges[m] = prometheus.NewGauge(prometheus.GaugeOpts{Name: d.name, Help: d.help})
			p.reg.MustRegister(p.gauges[m])
		default:
			p.counters[m] = prometheus.NewCounter(prometheus.CounterOpts{Name: d.name, Help: d.help})
			p.reg.MustRegister(p.counters[m])
		}
	}
	for _, l := range server.LimitNames() {
		p.vec[server.MetricLimitHits].WithLabelValues(l)
	}
	return p
}

// Add implements server.Metrics.
func (p *Prometheus) Add(m server.Metric, label string, delta float64) {
	if m >= server.NumMetrics {
		return
	}
	switch {
	case p.vec[m] != nil:
		p.vec[m].WithLabelValues(label).Add(delta)
	case p.gauges[m] != nil:
		p.gauges[m].Add(delta)
	case p.counters[m] != nil && delta > 0:
		p.counters[m].Add(delta)
	}
}

// Set implements server.Metrics (gauges only).
func (p *Prometheus) Set(m server.Metric, v float64) {
	if m < server.NumMetrics && p.gauges[m] != nil {
		p.gauges[m].Set(v)
	}
}

// Registry is the registry holding the metrics; callers may register their
// own collectors in it (the smbpipe command adds the policy store's reload
// failures and the Go runtime's collectors).
func (p *Prometheus) Registry() *prometheus.Registry { return p.reg }

// Handler serves the registry in the Prometheus text format.
func (p *Prometheus) Handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{Registry: p.reg})
}
