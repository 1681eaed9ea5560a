package server

import (
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/internal/ntname"
	"github.com/smbpipe/smbpipe/ntstatus"
)

// TreePathCase is a TREE_CONNECT path and what treePathStatus answers.
type TreePathCase struct {
	Path string
	Want ntstatus.Status
}

// TreePaths are the cases of docs/SEMANTICS.md 2.3; TestTreeConnectPaths
// (package server_test) sends them over the wire.
var TreePaths = []TreePathCase{
	{`\\SMBPIPE\IPC$`, ntstatus.Success},
	{`\\smbpipe\ipc$`, ntstatus.Success},
	{`\\127.0.0.1\IPC$`, ntstatus.Success},
	{`\\::1\IPC$`, ntstatus.Success},
	{`\\fe80--1.ipv6-literal.net\IPC$`, ntstatus.Success},
	{`\\host.example.com\Ipc$`, ntstatus.Success},
	{`\\*\IPC$`, ntstatus.Success},
	{`\\h/x\IPC$`, ntstatus.Success}, // any server component
	{`\\..\IPC$`, ntstatus.Success},  // even "..": it is not the share
	// Issue 9 item 7: the share is everything after the server.
	{`\\h\foo\IPC$`, ntstatus.BadNetworkName},
	{`\\h\C$\..\IPC$`, ntstatus.BadNetworkName},
	{`\\h\..\IPC$`, ntstatus.BadNetworkName},
	{`\\h\IPC$\`, ntstatus.BadNetworkName},
	{`\\h\IPC$\x`, ntstatus.BadNetworkName},
	{`\\h\IPC$/`, ntstatus.BadNetworkName},
	{`\\h\IPC$/..`, ntstatus.BadNetworkName},
	{`\\h\IPC$.`, ntstatus.BadNetworkName},
	{`\\h\IPC$` + "\x00", ntstatus.BadNetworkName},
	{`\\h` + "\x00" + `\IPC$`, ntstatus.BadNetworkName},
	{`\\h\ IPC$`, ntstatus.BadNetworkName},
	{`\\h\C$`, ntstatus.BadNetworkName},
	{`\\h\share`, ntstatus.BadNetworkName},
	{`\\h\` + "\u0131pc$", ntstatus.BadNetworkName}, // dotless ı is not I
	{`\\h\` + "\u0130PC$", ntstatus.BadNetworkName}, // İ is not I
	// Not \\server\share.
	{`IPC$`, ntstatus.InvalidParameter},
	{`\IPC$`, ntstatus.InvalidParameter},
	{`\\IPC$`, ntstatus.InvalidParameter},
	{`\\h\`, ntstatus.InvalidParameter},
	{`\\h`, ntstatus.InvalidParameter},
	{`\\\IPC$`, ntstatus.InvalidParameter},
	{`//h/IPC$`, ntstatus.InvalidParameter},
	{`\/h\IPC$`, ntstatus.InvalidParameter},
	{``, ntstatus.InvalidParameter},
}

func TestTreePathStatus(t *testing.T) {
	for _, tc := range TreePaths {
		if got := treePathStatus(tc.Path); got != tc.Want {
			t.Errorf("treePathStatus(%q) = %v, want %v", tc.Path, got, tc.Want)
		}
	}
}

// FuzzTreePath: treePathStatus never panics, and grants only a path
// \\server\share whose server is not empty and has no \, and whose share
// is IPC$ as Windows compares names: never a path with more components or
// a NUL.
func FuzzTreePath(f *testing.F) {
	for _, tc := range TreePaths {
		f.Add(tc.Path)
	}
	f.Fuzz(func(t *testing.T, path string) {
		st := treePathStatus(path)
		switch st {
		case ntstatus.Success:
			rest, ok := strings.CutPrefix(path, `\\`)
			i := strings.IndexByte(rest, '\\')
			if !ok || i <= 0 || !ntname.Equal(rest[i+1:], "IPC$") ||
				strings.IndexByte(path, 0) >= 0 || strings.Count(path, `\`) != 3 {
				t.Fatalf("%q connects IPC$", path)
			}
		case ntstatus.InvalidParameter:
			if strings.HasPrefix(path, `\\`) && strings.Count(path, `\`) >= 3 && !strings.HasPrefix(path, `\\\`) && !strings.HasSuffix(path, `\`) {
				t.Fatalf("%q is \\\\server\\share but got %v", path, st)
			}
		case ntstatus.BadNetworkName:
		default:
			t.Fatalf("%q: %v", path, st)
		}
	})
}
