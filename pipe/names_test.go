package pipe

import (
	"errors"
	"testing"
)

// TestNamesCompareAsWindows: pipe names are compared as Windows compares
// them (internal/ntname), not with Go's case mapping: ı, ſ and the
// title-case ǅ are not I, S and Ǆ, so each names a pipe of its own; ς and
// σ are one name.
func TestNamesCompareAsWindows(t *testing.T) {
	var ns Namespace
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"info", "\u0131nfo", false},  // dotless ı; strings.ToUpper makes it I
		{"mess", "me\u017fs", false},  // long s; strings.ToUpper makes it S
		{"\u01c6z", "\u01c5z", false}, // ǆ and title-case ǅ; strings.ToUpper makes both Ǆ
		{"kiosk", "\u212aiosk", false},
		{"x\u0130", "xi", false},
		{"stra\u00dfe", "STRA\u1e9eE", false},
		{"\u03c3s", "\u03c2S", true},
		{"\u00ffy", "\u0178Y", true},
		{"Echo2", "eCHO2", true},
	} {
		la, err := ns.Create(tc.a, Config{})
		if err != nil {
			t.Fatalf("Create(%q): %v", tc.a, err)
		}
		lb, err := ns.Create(tc.b, Config{})
		switch {
		case tc.same && !errors.Is(err, ErrExists):
			t.Errorf("Create(%q) after %q: %v, want ErrExists", tc.b, tc.a, err)
		case !tc.same && err != nil:
			t.Errorf("Create(%q) after %q: %v; they are different names to Windows", tc.b, tc.a, err)
		}
		if p, ok := ns.Lookup(tc.b); !ok || (tc.same && p.Name() != tc.a) || (!tc.same && p.Name() != tc.b) {
			t.Errorf("Lookup(%q) = %v, %v", tc.b, p, ok)
		}
		la.Close()
		if lb != nil {
			lb.Close()
		}
	}
	if n := len(ns.Names()); n != 0 {
		t.Fatalf("%d pipes left", n)
	}
}
