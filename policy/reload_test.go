package policy_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/internal/testlog"
	"github.com/smbpipe/smbpipe/policy"
)

func configWith(pipes string) string {
	return "[LanmanServer]\nNullSessionPipes = [" + pipes + "]\n[[pipe]]\nname = \"echo\"\nbackend = \"echo\"\nsddl = \"D:NO_ACCESS_CONTROL\"\n"
}

func TestStoreReloadFailureKeepsPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.toml")
	os.WriteFile(path, []byte(configWith(`"echo"`)), 0o600)
	st, err := policy.NewStore(path, slog.New(slog.NewTextHandler(&testlog.Buffer{}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	old := st.Current()
	os.WriteFile(path, []byte("guest = = true"), 0o600)
	if _, err := st.Reload(); err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Fatalf("%v", err)
	}
	os.Remove(path)
	if _, err := st.Reload(); err == nil {
		t.Fatal("missing file reloaded")
	}
	if st.Current() != old || st.Failures() != 2 {
		t.Fatalf("failures %d", st.Failures())
	}
	if _, err := policy.NewStore(path, nil); err == nil {
		t.Fatal("NewStore of a missing file")
	}
	def, err := policy.NewStore("", nil)
	if err != nil || def.Current().Config().Pipes[0].Name != "echo" {
		t.Fatal("embedded default store")
	}
}
