package metrics

import (
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// buildInfo is the smbpipe_build_info gauge: always 1, with the module
// version, the VCS revision and the Go version the binary was built with
// as labels ("unknown" when the build did not record them).
func buildInfo() prometheus.Collector {
	version, revision, goVersion := "unknown", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smbpipe_build_info",
		Help: "Always 1; the labels say which smbpipe this is (module version, VCS revision, Go version)."},
		[]string{"version", "revision", "goversion"})
	g.WithLabelValues(version, revision, goVersion).Set(1)
	return g
}
