package policy

import "testing"

// TestParsed: Parse, Default and their clones are Parsed; a Config built
// in Go is not.
func TestParsed(t *testing.T) {
	c, err := Parse([]byte("allow_anonymous = false\n[LanmanServer]\nRestrictNullSessAccess = 0\n"), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Parsed() || !c.Clone().Parsed() || !Default().Parsed() {
		t.Error("a parsed Config (or its clone) is not Parsed")
	}
	if c.AllowAnonymous || c.LanmanServer.RestrictNullSessAccess != 0 {
		t.Errorf("the file's false and 0 were not kept: %v %d", c.AllowAnonymous, c.LanmanServer.RestrictNullSessAccess)
	}
	var nilCfg *Config
	if (&Config{}).Parsed() || nilCfg.Parsed() {
		t.Error("a Config built in Go is Parsed")
	}
}
