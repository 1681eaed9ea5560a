package metrics_test

import (
	"io"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/smbpipe/smbpipe/metrics"
)

// TestBuildInfo: smbpipe_build_info is exported at 1 with its labels.
func TestBuildInfo(t *testing.T) {
	rec := httptest.NewRecorder()
	metrics.New().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	re := regexp.MustCompile(`(?m)^smbpipe_build_info\{goversion="go[^"]+",revision="[^"]+",version="[^"]+"\} 1$`)
	if !re.Match(body) {
		t.Errorf("no smbpipe_build_info line in:\n%s", body)
	}
}
