package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

const versionUsage = `usage: smbpipe version   (or smbpipe --version)

Prints the module version (a tag such as v1.2.0 when installed with
"go install ...@VERSION", "(devel)" when built from a checkout), the VCS
revision and time the binary was built from (with "+dirty" when the tree
had uncommitted changes) and the Go version.
`

func init() {
	register(command{"version", "print the module version and VCS revision", versionUsage, runVersion})
}

func runVersion(args []string) int {
	if len(args) > 0 {
		if wantsHelp(args) {
			fmt.Print(versionUsage)
			return 0
		}
		return usageError(os.Stderr, "version", fmt.Sprintf("unexpected argument %q", args[0]), versionUsage)
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Println(versionString(bi))
	return 0
}

// versionString is "smbpipe VERSION (REVISION[+dirty], TIME) GOVERSION"
// from the build info; nil (no build info) is "smbpipe unknown".
func versionString(bi *debug.BuildInfo) string {
	if bi == nil {
		return "smbpipe unknown " + runtime.Version()
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	out := "smbpipe " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += " (" + rev + dirty
		if at != "" {
			out += ", " + at
		}
		out += ")"
	}
	return out + " " + bi.GoVersion
}
