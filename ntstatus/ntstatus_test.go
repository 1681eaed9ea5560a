package ntstatus

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{
		{Success, "STATUS_SUCCESS"},
		{AccessDenied, "STATUS_ACCESS_DENIED"},
		{ObjectNameNotFound, "STATUS_OBJECT_NAME_NOT_FOUND"},
		{PipeNotAvailable, "STATUS_PIPE_NOT_AVAILABLE"},
		{BufferOverflow, "STATUS_BUFFER_OVERFLOW"},
		{TimeDifferenceAtDC, "STATUS_TIME_DIFFERENCE_AT_DC"},
		{Status(0xC0DEC0DE), "NTSTATUS(0xC0DEC0DE)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("%#x.String() = %q, want %q", uint32(tt.s), got, tt.want)
		}
	}
}

// TestWin32 checks the Win32 errors of docs/SEMANTICS.md 1.6, the ones a
// Windows client reports for each denial.
func TestWin32(t *testing.T) {
	tests := []struct {
		s    Status
		code uint32
		name string
	}{
		{AccessDenied, 5, "ERROR_ACCESS_DENIED"},
		{ObjectNameNotFound, 2, "ERROR_FILE_NOT_FOUND"},
		{ObjectNameInvalid, 123, "ERROR_INVALID_NAME"},
		{PipeNotAvailable, 231, "ERROR_PIPE_BUSY"},
		{InstanceNotAvailable, 231, "ERROR_PIPE_BUSY"},
		{BadImpersonationLevel, 1346, "ERROR_BAD_IMPERSONATION_LEVEL"},
		{BadNetworkName, 67, "ERROR_BAD_NET_NAME"},
		{PipeBroken, 109, "ERROR_BROKEN_PIPE"},
		{PipeDisconnected, 233, "ERROR_PIPE_NOT_CONNECTED"},
		{PipeEmpty, 232, "ERROR_NO_DATA"},
		{IOTimeout, 121, "ERROR_SEM_TIMEOUT"},
		{BufferOverflow, 234, "ERROR_MORE_DATA"},
		{LogonFailure, 1326, "ERROR_LOGON_FAILURE"},
		// A Kerberos logon outside the clock skew (KRB_AP_ERR_SKEW).
		{TimeDifferenceAtDC, 1398, "ERROR_TIME_SKEW"},
	}
	for _, tt := range tests {
		code, name := tt.s.Win32()
		if code != tt.code || name != tt.name {
			t.Errorf("%v.Win32() = %d %s, want %d %s", tt.s, code, name, tt.code, tt.name)
		}
	}
	// Every mapped Win32 code has a name.
	for s, c := range win32 {
		if _, ok := win32Names[c]; !ok {
			t.Errorf("%v maps to Win32 %d, which has no name", s, c)
		}
	}
}

func TestSeverity(t *testing.T) {
	if !AccessDenied.IsError() || AccessDenied.IsWarning() {
		t.Error("STATUS_ACCESS_DENIED is an error")
	}
	if BufferOverflow.IsError() || !BufferOverflow.IsWarning() {
		t.Error("STATUS_BUFFER_OVERFLOW is a warning that carries data, not an error")
	}
	if Success.IsError() || Success.IsWarning() || Pending.IsError() {
		t.Error("success codes are neither")
	}
}

func TestError(t *testing.T) {
	err := fmt.Errorf("open echo: %w", AccessDenied)
	if !errors.Is(err, AccessDenied) {
		t.Error("errors.Is does not find the wrapped status")
	}
	var st Status
	if !errors.As(err, &st) || st != AccessDenied {
		t.Errorf("errors.As = %v", st)
	}
}

// TestTableComplete: every Status constant of the package has its symbolic
// name (a constant missing from the names table would print as a number),
// no two share a value, and every Win32 code the table maps to has a name.
// The constants are read from the source, so a new one cannot be
// forgotten.
func TestTableComplete(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "ntstatus.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	seen := map[Status]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Status" {
				continue
			}
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s: not a literal", name.Name)
				}
				v, err := strconv.ParseUint(lit.Value, 0, 32)
				if err != nil {
					t.Fatal(err)
				}
				s := Status(v)
				n++
				if other, dup := seen[s]; dup {
					t.Errorf("%s and %s have the same value %#x", name.Name, other, v)
				}
				seen[s] = name.Name
				if _, ok := names[s]; !ok {
					t.Errorf("%s (%#08x) has no symbolic name in the names table", name.Name, v)
				}
			}
		}
	}
	if n < 50 || n != len(names) {
		t.Errorf("%d Status constants, %d names", n, len(names))
	}
	for s, c := range win32 {
		if _, ok := win32Names[c]; !ok {
			t.Errorf("%v maps to Win32 %d, which has no name", s, c)
		}
	}
}
