package smb2

import (
	"go/build"
	"strings"
	"testing"
)

// TestNoIO guards the architecture: smb2 is a pure codec, so neither it
// nor the project packages it imports may import net or os (tests may).
func TestNoIO(t *testing.T) {
	const module = "github.com/smbpipe/smbpipe/"
	seen := map[string]bool{}
	var check func(dir, path string)
	check = func(dir, path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		pkg, err := build.Import(path, dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, imp := range pkg.Imports {
			if imp == "net" || imp == "os" || strings.HasPrefix(imp, "net/") || strings.HasPrefix(imp, "os/") {
				t.Errorf("%s imports %s", path, imp)
			}
			if strings.HasPrefix(imp, module) {
				check(pkg.Dir, imp)
			}
		}
	}
	check(".", ".")
	if len(seen) < 2 {
		t.Fatalf("only checked %v", seen)
	}
}
