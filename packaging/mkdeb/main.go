// Command mkdeb builds smbpipe's Debian package from the repository with
// nfpm (github.com/goreleaser/nfpm/v2), as a program of its own so that
// nothing else in the module depends on nfpm:
//
//	go run ./packaging/mkdeb [--version V] [--arch ARCH] [--binary FILE] [--out DIR]
//
// The package holds /usr/bin/smbpipe, the systemd unit
// (packaging/smbpipe.service), /etc/smbpipe/smbpipe.toml
// (packaging/smbpipe.toml, a conffile dpkg keeps across upgrades), the
// maintainer scripts of packaging/deb (a system user smbpipe; the config
// readable by root and that group; the unit enabled, not started) and
// the license, changelog and README under /usr/share/doc/smbpipe. It
// prints the path of the .deb it wrote.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

const usage = `usage: go run ./packaging/mkdeb [--version V] [--arch ARCH] [--binary FILE] [--out DIR]

Builds smbpipe_VERSION_ARCH.deb from the repository and prints its path.

flags:
  --version V    package version (default: the newest release in CHANGELOG.md)
  --arch ARCH    Go architecture of the package (default: this machine's)
  --binary FILE  the smbpipe binary to package (default: go build
                 ./cmd/smbpipe with CGO_ENABLED=0 for linux/ARCH)
  --out DIR      where to write the .deb (default: the current directory)
  --root DIR     the repository (default: the module's directory)
  --maintainer M the Maintainer field, "NAME <EMAIL>" (default: ` + defaultMaintainer + `)
`

// defaultMaintainer is the Maintainer field without --maintainer: the
// project has no mailing address, so the address is one that cannot be
// mistaken for a real one (RFC 2606's .invalid).
const defaultMaintainer = "The smbpipe Authors <maintainers@smbpipe.invalid>"

// options is the command line.
type options struct {
	version, arch, binary, out, root, maintainer string
}

func main() {
	o, err := parseArgs(os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkdeb: %v\n\n%s", err, usage)
		os.Exit(2)
	}
	path, err := build(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkdeb: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

func parseArgs(args []string, stdout io.Writer) (*options, error) {
	fs := flag.NewFlagSet("mkdeb", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &options{}
	fs.StringVar(&o.version, "version", "", "")
	fs.StringVar(&o.arch, "arch", runtime.GOARCH, "")
	fs.StringVar(&o.binary, "binary", "", "")
	fs.StringVar(&o.out, "out", ".", "")
	fs.StringVar(&o.root, "root", "", "")
	fs.StringVar(&o.maintainer, "maintainer", defaultMaintainer, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}

// build writes the package and returns its path.
func build(o *options) (string, error) {
	root := o.root
	if root == "" {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			return "", fmt.Errorf("finding the module (run from the repository or pass --root): %w", err)
		}
		root = strings.TrimSpace(string(out))
	}
	version := o.version
	if version == "" {
		v, err := changelogVersion(filepath.Join(root, "CHANGELOG.md"))
		if err != nil {
			return "", err
		}
		version = v
	}
	binary := o.binary
	if binary == "" {
		tmp, err := os.MkdirTemp("", "mkdeb")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		binary = filepath.Join(tmp, "smbpipe")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", binary, "./cmd/smbpipe")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.arch)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("go build ./cmd/smbpipe: %w", err)
		}
	}
	pkg := filepath.Join(root, "packaging")
	info := nfpm.WithDefaults(&nfpm.Info{
		Name:        "smbpipe",
		Arch:        o.arch,
		Platform:    "linux",
		Version:     version,
		Section:     "net",
		Priority:    "optional",
		Maintainer:  o.maintainer,
		Description: "SMB2/SMB3 named-pipe server and client\nServes Windows named pipes over SMB2/SMB3 (IPC$) from a TOML policy,\nwith Windows' access checks, and opens them as a client.",
		Homepage:    "https://github.com/smbpipe/smbpipe",
		License:     "BSD-3-Clause",
		MTime:       time.Unix(0, 0).UTC(), // reproducible
		Overridables: nfpm.Overridables{
			Depends: []string{"passwd"}, // useradd, groupadd in the maintainer scripts
			Contents: files.Contents{
				{Source: binary, Destination: "/usr/bin/smbpipe", FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				{Source: filepath.Join(pkg, "smbpipe.service"), Destination: "/lib/systemd/system/smbpipe.service", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Destination: "/etc/smbpipe", Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o750}},
				{Source: filepath.Join(pkg, "smbpipe.toml"), Destination: "/etc/smbpipe/smbpipe.toml", Type: files.TypeConfigNoReplace, FileInfo: &files.ContentFileInfo{Mode: 0o640}},
				{Source: filepath.Join(root, "LICENSE"), Destination: "/usr/share/doc/smbpipe/copyright", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Source: filepath.Join(root, "CHANGELOG.md"), Destination: "/usr/share/doc/smbpipe/CHANGELOG.md", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Source: filepath.Join(root, "README.md"), Destination: "/usr/share/doc/smbpipe/README.md", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
			},
			Scripts: nfpm.Scripts{
				PreInstall:  filepath.Join(pkg, "deb", "preinst"),
				PostInstall: filepath.Join(pkg, "deb", "postinst"),
				PreRemove:   filepath.Join(pkg, "deb", "prerm"),
				PostRemove:  filepath.Join(pkg, "deb", "postrm"),
			},
		},
	})
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(o.out, deb.Default.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("building %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, nil
}

// releaseLine is a CHANGELOG.md release heading: "## [0.1.0] - 2026-12-02"
// or "## 0.1.0".
var releaseLine = regexp.MustCompile(`^## \[?v?([0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.~+-]*)\]?`)

// changelogVersion is the first release heading's version in path
// (an "Unreleased" heading is skipped).
func changelogVersion(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("no --version and %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := releaseLine.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no --version and no release heading (## [X.Y.Z]) in %s", path)
}
