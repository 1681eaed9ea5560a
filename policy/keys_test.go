package policy

import (
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/internal/ntname"
)

var keyNames = []string{"", "echo", "ECHO", `sql\query`, "İnfo", "Kiosk", "ſ", "ß", "ẞ", "ς", "ı", "ÿ", "ǅ",
	"\xff\xfe", "a\xc3", "😀x", "\uFFFD", "Ǆǅǆ", strings.Repeat("é", 200)}

// TestAppendUpcase: the decision's pipe-name keys are ntname.Upcase's.
func TestAppendUpcase(t *testing.T) {
	for _, s := range keyNames {
		if got, want := string(appendUpcase(nil, s)), ntname.Upcase(s); got != want {
			t.Errorf("appendUpcase(%q) = %q, ntname.Upcase %q", s, got, want)
		}
	}
}

// TestAppendLower: the decision's account keys are strings.ToLower's.
func TestAppendLower(t *testing.T) {
	for _, s := range append(keyNames, "Alice", "BOB", "a-b_c.d") {
		got, ok := appendLower(nil, s)
		if ascii := isASCII(s); ok != ascii || ok && string(got) != strings.ToLower(s) {
			t.Errorf("appendLower(%q) = %q %v", s, got, ok)
		}
	}
}

func FuzzAppendUpcase(f *testing.F) {
	for _, s := range keyNames {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendUpcase(nil, s)), ntname.Upcase(s); got != want {
			t.Errorf("appendUpcase(%q) = %q, ntname.Upcase %q", s, got, want)
		}
	})
}
