// Package archtest guards the package layering of docs/ARCHITECTURE.md:
// dependencies point downwards only, and the pure packages do no I/O.
package archtest

import (
	"go/build"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/smbpipe/smbpipe/"

// rules: for each package (relative to the module root), the project
// packages it may import directly, and standard packages it must not.
var rules = []struct {
	pkg      string
	allowed  []string // project packages
	noStdlib []string
}{
	{"ntstatus", nil, []string{"net", "os"}},
	{"smb2", []string{"internal/utf16le", "ntstatus"}, []string{"net", "os"}},
	{"auth/ntlm", []string{"internal/utf16le"}, []string{"net", "os"}},
	{"auth/spnego", nil, []string{"net", "os"}},
	{"auth/kerberos", []string{"ndr", "security"}, []string{"net", "os"}},
	{"internal/smbcrypto", nil, []string{"net", "os"}},
	{"internal/ntname", nil, []string{"net", "os"}},
	{"internal/sockio", nil, nil},
	{"internal/utf16le", nil, []string{"net", "os"}},
	{"ndr", nil, []string{"net", "os"}},
	{"security", []string{"ntstatus"}, []string{"net", "os"}},
	{"pipe", []string{"internal/ntname"}, nil}, // no SMB: knows nothing of smb2
	{"backend", []string{"pipe"}, nil},
	{"dcerpc", []string{"auth/ntlm", "auth/spnego", "ndr"}, []string{"os"}}, // no SMB, no pipe: any MessageConn
	{"rpc/echo", []string{"dcerpc", "ndr", "ntstatus"}, []string{"net", "os"}},
	{"rpc/svc", []string{"dcerpc", "ndr", "policy", "security"}, []string{"net", "os"}},
	{"rpc/srvsvc", []string{"dcerpc", "ndr", "policy", "rpc/svc"}, []string{"net", "os"}},
	{"rpc/wkssvc", []string{"dcerpc", "ndr", "policy", "rpc/svc"}, []string{"net", "os"}},
	{"rpc/lsarpc", []string{"dcerpc", "ndr", "policy", "rpc/svc", "security"}, []string{"net", "os"}},
	{"rpc/samr", []string{"dcerpc", "ndr", "policy", "rpc/svc", "security"}, []string{"net", "os"}},
	{"policy", []string{"internal/ntname", "internal/utf16le", "ntstatus", "security"}, []string{"net/http"}},
	{"client", []string{"auth/kerberos", "auth/ntlm", "auth/spnego", "internal/smbcrypto", "internal/sockio", "ntstatus", "smb2"}, []string{"encoding/binary"}},                                                                                                                                                    // smb2 owns the bytes
	{"server", []string{"auth/kerberos", "auth/ntlm", "auth/spnego", "backend", "dcerpc", "internal/ntname", "internal/smbcrypto", "internal/sockio", "ntstatus", "pipe", "policy", "rpc/echo", "rpc/lsarpc", "rpc/samr", "rpc/srvsvc", "rpc/svc", "rpc/wkssvc", "security", "smb2"}, []string{"encoding/binary"}}, // smb2 owns the bytes
	{"metrics", []string{"server"}, nil},
	{"admin", []string{"ntstatus", "policy", "security", "server"}, nil},                                          // the live view over HTTP, beside metrics
	{".", []string{"client", "dcerpc", "ntstatus", "pipe", "policy", "security", "server"}, []string{"net/http"}}, // no metrics, admin, watch or etcd
	{"policy/policytest", []string{"ntstatus"}, []string{"net", "os"}},
	{"policy/watch", []string{"policy"}, nil},
	{"policy/etcdsource", []string{"policy"}, nil},
	{"internal/testlog", nil, nil},
	{"internal/testbin", nil, nil},                                           // test support only
	{"internal/testsmbd", []string{"internal/testbin"}, nil},                 // test support only
	{"internal/testkdc", []string{"auth/kerberos", "internal/testbin"}, nil}, // test support only
	{"internal/testetcd", []string{"internal/testbin"}, nil},                 // test support only
	{"internal/testserver", []string{"policy", "server"}, nil},               // test support only
	{"internal/testclient", []string{"client"}, nil},                         // test support only
}

func root(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestLayering(t *testing.T) {
	dir := root(t)
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			p, err := build.ImportDir(filepath.Join(dir, filepath.FromSlash(r.pkg)), 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range p.Imports {
				if rel, ok := strings.CutPrefix(imp, module); ok {
					if !slices.Contains(r.allowed, rel) {
						t.Errorf("%s imports %s: not allowed by the layering (allowed: %v)", r.pkg, rel, r.allowed)
					}
					continue
				}
				if slices.Contains(r.noStdlib, imp) {
					t.Errorf("%s imports %s, which its rule forbids (a pure package does no I/O; server and client leave byte offsets to smb2)", r.pkg, imp)
				}
			}
		})
	}
}

// TestRootDependencies: a program that imports the root package (or the
// server, policy and client packages it is built from) pays for none of
// the dependencies the smbpipe command wires in: Prometheus (and its
// protobuf), fsnotify, etcd's client (and its gRPC), nor the
// packaging (nfpm, packaging/mkdeb) and terminal (pty, tests) ones.
func TestRootDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	for _, pkg := range []string{".", "./server", "./policy", "./client"} {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Dir = root(t)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, banned := range []string{"github.com/prometheus/", "google.golang.org/protobuf", "github.com/fsnotify/", "go.etcd.io/", "google.golang.org/grpc", "github.com/goreleaser/", "github.com/creack/"} {
				if strings.HasPrefix(dep, banned) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
