package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/metrics"
	"github.com/smbpipe/smbpipe/server"
)

// TestPrometheus: every server metric is exported under its name, counters
// and gauges move as the server reports, labels carry their values, every
// limit's hit counter is there at 0, and the handler serves the text
// format.
func TestPrometheus(t *testing.T) {
	m := metrics.New()
	var _ server.Metrics = m
	m.Add(server.MetricConnections, "", 1)
	m.Add(server.MetricConnections, "", 1)
	m.Add(server.MetricConnections, "", -1)
	m.Add(server.MetricConnectionsTotal, "", 2)
	m.Add(server.MetricDenials, "dacl", 1)
	m.Add(server.MetricSessionsTotal, "anonymous", 3)
	m.Set(server.MetricProcesses, 7)
	m.Add(server.Metric(200), "", 1) // out of range: ignored
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		"smbpipe_connections 1\n",
		"smbpipe_connections_total 2\n",
		`smbpipe_denials_total{rule="dacl"} 1` + "\n",
		`smbpipe_sessions_total{kind="anonymous"} 3` + "\n",
		"smbpipe_processes 7\n",
		"smbpipe_opens 0\n",
		"smbpipe_panics_total 0\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	for _, l := range server.LimitNames() {
		if want := `smbpipe_limit_hits_total{limit="` + l + `"} 0`; !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
}
