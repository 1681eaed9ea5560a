package policy_test

import (
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/policy"
)

// TestConfigErrorsForPeople: an unknown key names the closest known key,
// a type error speaks TOML, not Go, and each problem is one line with
// file:line.
func TestConfigErrorsForPeople(t *testing.T) {
	for _, c := range []struct{ toml, want string }{
		{"listn = \"x\"\n", `f.toml:1: listn: unknown key (did you mean listen?)`},
		{"[Lsa]\nRestrictAnonymus = 1\n", `f.toml:2: Lsa.RestrictAnonymus: unknown key (did you mean RestrictAnonymous?)`},
		{"[[pipe]]\nnmae = \"x\"\n", `f.toml:2: pipe.nmae: unknown key (did you mean name?)`},
		{"[limits]\nmax_credit = 5\n", `f.toml:2: limits.max_credit: unknown key (did you mean max_credits?)`},
		{"zzzzzz = 1\n", `f.toml:1: zzzzzz: unknown key`},
		{"listen = 5\n", `f.toml:1: listen: want a string, got a TOML integer`},
		{"guest = \"yes\"\n", `f.toml:1: guest: want true or false, got a TOML string`},
		{"[LanmanServer]\nNullSessionPipes = \"echo\"\n", `f.toml:2: LanmanServer.NullSessionPipes: want an array, got a TOML string`},
	} {
		_, err := policy.Parse([]byte(c.toml), "f.toml")
		if err == nil {
			t.Errorf("%q parsed", c.toml)
			continue
		}
		if got := err.Error(); got != c.want {
			t.Errorf("%q: %q, want %q", c.toml, got, c.want)
		}
		if strings.Contains(err.Error(), "policy.") || strings.Contains(err.Error(), "*") {
			t.Errorf("%q: a Go type in %q", c.toml, err)
		}
	}
}
