package policy

import (
	"strings"
	"testing"
)

var keyNames = []string{"", "echo", "ECHO", `sql\query`, "İnfo", "Kiosk", "ſ", "ß", "ẞ", "ς", "ı", "ÿ", "ǅ",
	"\xff\xfe", "a\xc3", "😀x", "\uFFFD", "Ǆǅǆ", strings.Repeat("é", 200)}

// TestAppendLower: the decision's account keys are strings.ToLower's.
func TestAppendLower(t *testing.T) {
	for _, s := range append(keyNames, "Alice", "BOB", "a-b_c.d") {
		got, ok := appendLower(nil, s)
		if ascii := isASCII(s); ok != ascii || ok && string(got) != strings.ToLower(s) {
			t.Errorf("appendLower(%q) = %q %v", s, got, ok)
		}
	}
}
