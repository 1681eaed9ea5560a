package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
)

// namesConfig has pipes whose names Go's case mapping and Windows' disagree
// on (docs/SEMANTICS.md 1.3) and a NullSessionPipes list that names their
// look-alikes.
const namesConfig = `
listen = "127.0.0.1:0"
allow_anonymous = true

[LanmanServer]
RestrictNullSessAccess = 1
NullSessionPipes = ["info", "kiosk", "message", "STRASSE", "GRO\u1e9e", "\u03c3", "\u0131dle", "mixed", "\\PIPE\\\u0178es"]

[[account]]
name = "alice"
password = "Passw0rd!"

[[pipe]]
name = "\u0130nfo"
backend = "echo"
sddl = "D:NO_ACCESS_CONTROL"

[[pipe]]
name = "\u212aiosk"
backend = "echo"
sddl = "D:NO_ACCESS_CONTROL"

[[pipe]]
name = "me\u017fsage"
backend = "echo"
sddl = "D:NO_ACCESS_CONTROL"

[[pipe]]
name = "stra\u00dfe"
backend = "echo"
sddl = "D:NO_ACCESS_CONTROL"

[[pipe]]
name = "gro\u00df"
backend = "echo"
sddl = "D:NO_ACCESS_CONTROL"

[[pipe]]
name = "\u03c2"
backend = "echo"
sddl = "D:NO_ACCESS_CONTROL"

[[pipe]]
name = "\u0131dle"
backend = "echo"
sddl = "D:NO_ACCESS_CONTROL"

[[pipe]]
name = "MiXeD"
backend = "echo"
sddl = "D:NO_ACCESS_CONTROL"

[[pipe]]
name = "\u00ffes"
backend = "echo"
sddl = "D:NO_ACCESS_CONTROL"
`

// namesCases: each name opened anonymously and as alice, and the status
// both the live server and explain must give.
var namesCases = []struct {
	pipe        string
	anon, alice ntstatus.Status
}{
	// Issue 9: "info" and "kiosk" are listed; İnfo and Kiosk (KELVIN SIGN)
	// are other names to Windows, so anonymous callers may not open them.
	{"\u0130nfo", ntstatus.AccessDenied, ntstatus.Success},
	{"\u0130NFO", ntstatus.AccessDenied, ntstatus.Success},
	{"info", ntstatus.ObjectNameNotFound, ntstatus.ObjectNameNotFound},
	{"\u212aiosk", ntstatus.AccessDenied, ntstatus.Success},
	{"\u212aIOSK", ntstatus.AccessDenied, ntstatus.Success},
	{"Kiosk", ntstatus.ObjectNameNotFound, ntstatus.ObjectNameNotFound},
	// ſ is not s.
	{"me\u017fsage", ntstatus.AccessDenied, ntstatus.Success},
	{"message", ntstatus.ObjectNameNotFound, ntstatus.ObjectNameNotFound},
	// ß is neither SS nor ẞ.
	{"stra\u00dfe", ntstatus.AccessDenied, ntstatus.Success},
	{"STRASSE", ntstatus.ObjectNameNotFound, ntstatus.ObjectNameNotFound},
	{"GRO\u00df", ntstatus.AccessDenied, ntstatus.Success},
	{"gro\u1e9e", ntstatus.ObjectNameNotFound, ntstatus.ObjectNameNotFound},
	// ς, σ and Σ are one name.
	{"\u03c2", ntstatus.Success, ntstatus.Success},
	{"\u03c3", ntstatus.Success, ntstatus.Success},
	{"\u03a3", ntstatus.Success, ntstatus.Success},
	// Dotless ı upcases to itself: ıdle is listed and exists, IDLE is neither.
	{"\u0131dle", ntstatus.Success, ntstatus.Success},
	{"\u0131DLE", ntstatus.Success, ntstatus.Success},
	{"IDLE", ntstatus.AccessDenied, ntstatus.ObjectNameNotFound},
	{"idle", ntstatus.AccessDenied, ntstatus.ObjectNameNotFound},
	// Mixed ASCII case.
	{"mixed", ntstatus.Success, ntstatus.Success},
	{"MIXED", ntstatus.Success, ntstatus.Success},
	{"mIxEd", ntstatus.Success, ntstatus.Success},
	// ÿ upcases to Ÿ (U+0178); the list entry's \PIPE\ prefix is dropped.
	{"\u00ffes", ntstatus.Success, ntstatus.Success},
	{"\u0178ES", ntstatus.Success, ntstatus.Success},
	// A CREATE name has no \pipe\ prefix and no leading backslash.
	{`\pipe\mixed`, ntstatus.AccessDenied, ntstatus.ObjectNameNotFound},
	{`\PIPE\mixed`, ntstatus.AccessDenied, ntstatus.ObjectNameNotFound},
	{`pipe\mixed`, ntstatus.AccessDenied, ntstatus.ObjectNameNotFound},
	{`\mixed`, ntstatus.AccessDenied, ntstatus.ObjectNameNotFound},
}

var explainResultRE = regexp.MustCompile(`(?m)^result: \S+ \(0x([0-9A-F]{8})\)`)

// explainStatus runs `smbpipe explain` and returns the NTSTATUS of its last
// result line, checking that the exit code agrees.
func explainStatus(t *testing.T, config, user, pipe string) ntstatus.Status {
	t.Helper()
	var out, errb bytes.Buffer
	code := explain([]string{"--config", config, "--user", user, "--pipe", pipe, "--access", "0x12019F"}, &out, &errb)
	m := explainResultRE.FindAllStringSubmatch(out.String(), -1)
	if len(m) == 0 || errb.Len() != 0 {
		t.Fatalf("explain %s %q: exit %d, no result\n%s%s", user, pipe, code, out.String(), errb.String())
	}
	v, _ := strconv.ParseUint(m[len(m)-1][1], 16, 32)
	st := ntstatus.Status(v)
	if (code == 0) != (st == ntstatus.Success) {
		t.Fatalf("explain %s %q: exit %d with %v", user, pipe, code, st)
	}
	return st
}

// TestExplainAgreesWithServerOnNames opens each tricky name on a live
// server with our client, anonymously and as alice, and checks the
// NTSTATUS against the expected one and against what explain says for
// the same config.
func TestExplainAgreesWithServerOnNames(t *testing.T) {
	config := filepath.Join(t.TempDir(), "names.toml")
	if err := os.WriteFile(config, []byte(namesConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testserver.Start(t, namesConfig)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	users := []struct {
		name string
		cfg  client.Config
	}{
		{"anonymous", client.Config{}},
		{"alice", client.Config{User: "alice", Password: "Passw0rd!"}},
	}
	for _, u := range users {
		c, err := client.Dial(ctx, addr, &u.cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, tc := range namesCases {
			want := tc.anon
			if u.name == "alice" {
				want = tc.alice
			}
			live := ntstatus.Success
			p, err := c.OpenPipe(ctx, tc.pipe)
			if err == nil {
				p.Close()
			} else if ce := (*client.Error)(nil); errors.As(err, &ce) {
				live = ce.Status
			} else {
				t.Fatalf("%s opens %q: %v", u.name, tc.pipe, err)
			}
			explained := explainStatus(t, config, u.name, tc.pipe)
			if live != want || explained != want {
				t.Errorf("%s opens %q: server %v, explain %v, want %v", u.name, tc.pipe, live, explained, want)
			}
		}
	}
}
