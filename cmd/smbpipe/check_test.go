package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckEveryProblemAtOnce: smbpipe check lists a misspelt key and the
// invalid values of the same file in one run, one FILE:LINE line each, so
// that an administrator does not fix them one run at a time.
func TestCheckEveryProblemAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smbpipe.toml")
	const text = `listn = "127.0.0.1:445"
signing = "sometimes"

[Lsa]
RestrictAnonymous = 5

[[pipe]]
name = "echo"
backend = "ech"
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := check([]string{"--config", path}, &out, &errs); code != 1 {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out.String(), errs.String())
	}
	lines := strings.Split(strings.TrimSpace(errs.String()), "\n")
	for _, want := range []string{path + ":1: listn: unknown key (did you mean listen?)", path + ":2: signing: ",
		path + ":5: Lsa.RestrictAnonymous: 5", path + ":9: pipe[0].backend: unknown backend \"ech\""} {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("no line %q in:\n%s", want, errs.String())
		}
	}
	if len(lines) != 4 {
		t.Errorf("%d lines, want 4:\n%s", len(lines), errs.String())
	}
}
