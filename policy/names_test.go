package policy_test

import (
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
)

// namesConfig lists "info" and "kiosk" as null-session pipes and configures
// pipes whose names Go's case mapping confuses with them but Windows does
// not: İnfo (U+0130) and Kiosk with a KELVIN SIGN (U+212A). Issue 9: an
// anonymous open of either was granted.
var namesConfig = `
[LanmanServer]
RestrictNullSessAccess = 1
NullSessionPipes = ["info", "\\PIPE\\kiosk", "ﬀ"]
` + testserver.OpenEchoPipes("İnfo", "\u212Aiosk", "ıNFO", "INFO", "Stra\u00dfe", "STRA\u1e9eE", "ﬀ")

// TestNullSessionPipesAttack is issue 9's finding: with NullSessionPipes =
// ["info", "kiosk"], anonymous opens of the configured pipes İnfo and
// Kiosk (KELVIN SIGN) were granted, because NullSessionPipes compared
// lower-cased names (İ and K lower-case to i and k) while Windows upcases
// (İ and K upcase to themselves).
func TestNullSessionPipesAttack(t *testing.T) {
	s := testserver.Snapshot(t, `
[LanmanServer]
RestrictNullSessAccess = 1
NullSessionPipes = ["info", "kiosk"]
`+testserver.OpenEchoPipes("\u0130nfo", "\u212Aiosk"), "attack.toml")
	for _, name := range []string{"\u0130nfo", "\u212Aiosk", "\u0130NFO", "\u212AIOSK"} {
		d := s.Decide(policy.Request{Identity: policy.Identity{Kind: policy.Anonymous}, PipeName: name,
			DesiredAccess: 0x3, ImpersonationLevel: policy.ImpersonationImpersonation, Pipe: s.PipeInfo(name)})
		if d.Status != ntstatus.AccessDenied || d.Rule != policy.RuleNullSessionPipes {
			t.Errorf("anonymous open of %q: %v by rule %s, want STATUS_ACCESS_DENIED by %s", name, d.Status, d.Rule, policy.RuleNullSessionPipes)
		}
		if s.PipeInfo(name) == nil {
			t.Errorf("pipe %q not found", name)
		}
	}
}

func TestNullSessionPipesNameFolding(t *testing.T) {
	s := testserver.Snapshot(t, namesConfig, "names.toml")
	for _, tc := range []struct {
		pipe   string
		listed bool
		exists string // the configured name it opens, "" for none
	}{
		{"info", true, "INFO"},
		{"INFO", true, "INFO"},
		{"Info", true, "INFO"},
		{"İnfo", false, "İnfo"}, // U+0130 upcases to itself, not I
		{"İNFO", false, "İnfo"}, // same pipe as İnfo
		{"ınfo", false, "ıNFO"}, // dotless ı upcases to itself
		{"\u212aiosk", false, "\u212aiosk"},
		{"\u212aIOSK", false, "\u212aiosk"},
		{"kiosk", true, ""},
		{"KIOSK", true, ""},
		{"\\pipe\\kiosk", false, ""}, // CREATE names carry no \pipe\ prefix
		{"\\kiosk", false, ""},
		{"strasse", false, ""}, // ß is not SS
		{"stra\u00dfe", false, "Stra\u00dfe"},
		{"stra\u1e9ee", false, "STRA\u1e9eE"}, // ẞ is not ß
		{"ﬀ", true, "ﬀ"},                      // a ligature upcases to itself, not FF
		{"ff", false, ""},
	} {
		if got := s.NullSessionPipe(tc.pipe); got != tc.listed {
			t.Errorf("NullSessionPipe(%q) = %v, want %v", tc.pipe, got, tc.listed)
		}
		info := s.PipeInfo(tc.pipe)
		switch {
		case tc.exists == "" && info != nil:
			t.Errorf("PipeInfo(%q) = %q, want none", tc.pipe, info.Name)
		case tc.exists != "" && (info == nil || info.Name != tc.exists):
			t.Errorf("PipeInfo(%q) = %+v, want %q", tc.pipe, info, tc.exists)
		}
		if _, ok := s.Backend(tc.pipe); ok != (tc.exists != "") {
			t.Errorf("Backend(%q) found = %v", tc.pipe, ok)
		}
		want := ntstatus.AccessDenied
		switch {
		case tc.listed && tc.exists != "":
			want = ntstatus.Success
		case tc.listed:
			want = ntstatus.ObjectNameNotFound
		}
		d := s.Decide(policy.Request{Identity: policy.Identity{Kind: policy.Anonymous}, PipeName: tc.pipe,
			DesiredAccess: 0x3, ImpersonationLevel: policy.ImpersonationImpersonation, Pipe: info})
		if d.Status != want {
			t.Errorf("anonymous open of %q: %v (%s), want %v", tc.pipe, d.Status, d.Reason, want)
		}
	}
}

// TestPipeNamesFoldingToOneAreAnError: two [[pipe]] names Windows would
// treat as one are a config error with file and line; names Go's case
// mapping confuses but Windows keeps apart are not.
func TestPipeNamesFoldingToOneAreAnError(t *testing.T) {
	pipe := func(name string) string { return "[[pipe]]\nname = \"" + name + "\"\nbackend = \"echo\"\n" }
	for _, tc := range []struct {
		name, a, b string
		want       string // "" when both may be configured
	}{
		{"ascii case", "echo", "ECHO", `smbpipe.toml:5: pipe[1].name: duplicate pipe "ECHO": the same name as pipe[0] "echo" (Windows compares pipe names upcased: "ECHO")`},
		{"sigma", "\u03c3", "\u03c2", `smbpipe.toml:5: pipe[1].name: duplicate pipe "ς": the same name as pipe[0] "σ" (Windows compares pipe names upcased: "Σ")`},
		{"y diaeresis", "\u00ff", "\u0178", `pipe[1].name: duplicate pipe "Ÿ": the same name as pipe[0] "ÿ"`},
		{"kelvin", "kiosk", "\u212aiosk", ""},
		{"dotted I", "info", "\u0130nfo", ""},
		{"dotless i", "info", "\u0131nfo", ""},
		{"long s", "mess", "me\u017fs", ""},
		{"sharp s", "stra\u00dfe", "stra\u1e9ee", ""},
		{"deseret", "\U00010428", "\U00010400", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Parse([]byte(pipe(tc.a)+pipe(tc.b)), "smbpipe.toml")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("%q and %q are different pipes to Windows: %v", tc.a, tc.b, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
