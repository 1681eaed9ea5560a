package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reloadConfig is the policy of TestHotReload; %s is the NullSessionPipes
// list, then extra TOML (pipes and accounts added by the steps).
const reloadConfig = `
server_name = "SMBPIPE"
allow_anonymous = true
guest = false

[LanmanServer]
RestrictNullSessAccess = 1
NullSessionPipes = [%s]

[[account]]
name = "alice"
password = "Passw0rd!"

[[pipe]]
name = "guarded"
backend = "echo"
mode = "message"
sddl = "%s"
%s`

// writeConfig replaces the server's config file the way editors and
// deployment tools do (write a temporary file, rename it over the old one),
// so the watcher never reads half a file.
func writeConfig(t *testing.T, s *server, text string) time.Time {
	t.Helper()
	path := filepath.Join(s.configDir, "smbpipe.toml")
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return at
}

// within polls f every 10 ms until it returns true, failing the test if
// that takes longer than limit after since; it returns how long it took.
func within(t *testing.T, since time.Time, limit time.Duration, what string, f func() (bool, string)) time.Duration {
	t.Helper()
	for {
		ok, last := f()
		if ok {
			return time.Since(since)
		}
		if time.Since(since) > limit {
			t.Fatalf("%s: not within %v of the write (last: %s)", what, limit, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHotReload proves hot reload on a running `smbpipe serve --config
// FILE` with impacket: an anonymous open of a pipe missing from
// NullSessionPipes is denied; after the file is rewritten to list it, the
// next open ON THE SAME CONNECTION is granted within 1 s; a pipe listed
// before it exists is reachable as soon as a reload creates it; a changed
// sddl applies to the next CREATE and a new account to the next
// SESSION_SETUP; a broken file changes nothing, and its error is logged
// with file, line and the failure count.
func TestHotReload(t *testing.T) {
	need(t, python, "-c", "import impacket")
	const (
		nullDACL = "D:NO_ACCESS_CONTROL"
		auOnly   = "D:(A;;FA;;;AU)"
		later    = "\n[[pipe]]\nname = \"later\"\nbackend = \"echo\"\nmode = \"message\"\nsddl = \"D:NO_ACCESS_CONTROL\"\n"
		carol    = "\n[[account]]\nname = \"carol\"\npassword = \"Secret1!\"\n"
	)
	cfg := func(nsp, sddl, extra string) string { return fmt.Sprintf(reloadConfig, nsp, sddl, extra) }
	s := startServer(t, cfg(`"later"`, nullDACL, ""))
	o := startOpener(t, s)
	o.login(t, "a", "-", "-")

	// 1. Not listed: denied. Listed but missing: not found.
	if got := o.open(t, "a", "guarded", 0x3); got != "STATUS_ACCESS_DENIED" {
		t.Fatalf("guarded before reload: %s", got)
	}
	if got := o.open(t, "a", "later", 0x3); got != "STATUS_OBJECT_NAME_NOT_FOUND" {
		t.Fatalf("later before it exists: %s", got)
	}

	// 2. List the pipe: the same connection opens it within 1 s.
	at := writeConfig(t, s, cfg(`"later", "guarded"`, nullDACL, ""))
	took := within(t, at, time.Second, "guarded listed", func() (bool, string) {
		got := o.open(t, "a", "guarded", 0x3)
		return got == "STATUS_SUCCESS", got
	})
	t.Logf("NullSessionPipes change applied after %v", took.Round(time.Millisecond))

	// 3. The pipe listed before it existed is reachable once a reload
	// creates it.
	at = writeConfig(t, s, cfg(`"later", "guarded"`, nullDACL, later))
	took = within(t, at, time.Second, "later created", func() (bool, string) {
		got := o.open(t, "a", "later", 0x3)
		return got == "STATUS_SUCCESS", got
	})
	t.Logf("new [[pipe]] reachable after %v", took.Round(time.Millisecond))

	// 4. A narrower sddl applies to the next CREATE; a new account to the
	// next SESSION_SETUP.
	if got := o.do(t, "login c carol Secret1!"); got != "c login STATUS_LOGON_FAILURE" {
		t.Fatalf("carol before reload: %q", got)
	}
	at = writeConfig(t, s, cfg(`"later", "guarded"`, auOnly, later+carol))
	within(t, at, time.Second, "sddl change", func() (bool, string) {
		got := o.open(t, "a", "guarded", 0x3)
		return got == "STATUS_ACCESS_DENIED", got
	})
	within(t, at, time.Second, "new account", func() (bool, string) {
		got := o.do(t, "login c carol Secret1!")
		return strings.HasPrefix(got, "c login OK"), got
	})
	if got := o.open(t, "c", "guarded", 0x3); got != "STATUS_SUCCESS" {
		t.Errorf("carol (Authenticated Users) on guarded: %s", got)
	}

	// 5. A broken file: the policy stays, the error names file and line,
	// the failure count rises.
	broken := cfg(`"later", "guarded"`, auOnly, later+carol) + "\n[[pipe]]\nname = \"bad\"\nbackend = \"echo\"\nsddl = \"D:(A;;XX;;;WD)\"\n"
	writeConfig(t, s, broken)
	path := filepath.Join(s.configDir, "smbpipe.toml")
	failRE := regexp.MustCompile(`msg="policy reload failed; keeping the previous policy" file=\S+ error="` + regexp.QuoteMeta(path) + `:(\d+): pipe\[2\]\.sddl: .*XX.*" failures=(\d+)`)
	deadline := time.Now().Add(5 * time.Second)
	var m []string
	for m == nil {
		if m = failRE.FindStringSubmatch(s.Log()); m == nil && time.Now().After(deadline) {
			t.Fatalf("no reload failure with file and line in the log")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if wantLine := strings.Count(broken[:strings.Index(broken, `sddl = "D:(A;;XX`)], "\n") + 1; m[1] != strconv.Itoa(wantLine) || m[2] != "1" {
		t.Errorf("reload failure at line %s with failures=%s, want line %d and 1", m[1], m[2], wantLine)
	}
	if got := o.open(t, "a", "later", 0x3); got != "STATUS_SUCCESS" {
		t.Errorf("after the broken file, later: %s", got)
	}
	if got := o.open(t, "a", "guarded", 0x3); got != "STATUS_ACCESS_DENIED" {
		t.Errorf("after the broken file, guarded: %s", got)
	}
	if got := o.do(t, "login d carol Secret1!"); !strings.HasPrefix(got, "d login OK") {
		t.Errorf("after the broken file, carol: %q", got)
	}
}

// sessionRulesConfig is the policy of TestHotReloadSessionRules:
// allow_anonymous, RestrictNullSessAccess and EveryoneIncludesAnonymous,
// a listed pipe whose DACL grants only Everyone and an unlisted one whose
// DACL grants ANONYMOUS LOGON.
const sessionRulesConfig = `
server_name = "SMBPIPE"
allow_anonymous = %t
guest = false

[LanmanServer]
RestrictNullSessAccess = %d
NullSessionPipes = ["wd"]

[Lsa]
EveryoneIncludesAnonymous = %d

[[pipe]]
name = "wd"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;WD)"

[[pipe]]
name = "an"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)"
`

// TestHotReloadSessionRules proves, on one running `smbpipe serve` and one
// impacket process, that the session rules reload without a restart or a
// dropped connection, each within 1 s of the write:
//   - EveryoneIncludesAnonymous 0 -> 1: the listed pipe whose DACL grants
//     only WD, denied before, opens on the next CREATE of the existing
//     anonymous session (the decision builds the token from the current
//     policy) and on a session set up after the change;
//   - RestrictNullSessAccess 1 -> 0: the next CREATE of an unlisted pipe
//     whose DACL admits AN succeeds on the existing anonymous session;
//   - allow_anonymous true -> false: the next anonymous SESSION_SETUP is
//     refused with STATUS_ACCESS_DENIED while an existing anonymous session
//     keeps its open pipe working.
func TestHotReloadSessionRules(t *testing.T) {
	need(t, python, "-c", "import impacket")
	cfg := func(allow bool, restrict, everyone int) string {
		return fmt.Sprintf(sessionRulesConfig, allow, restrict, everyone)
	}
	s := startServer(t, cfg(true, 1, 0))
	o := startOpener(t, s)
	o.login(t, "a", "-", "-")
	if got := o.open(t, "a", "wd", 0x3); got != "STATUS_ACCESS_DENIED" {
		t.Fatalf("wd (Everyone only) with EveryoneIncludesAnonymous = 0: %s", got)
	}
	if got := o.open(t, "a", "an", 0x3); got != "STATUS_ACCESS_DENIED" {
		t.Fatalf("an (unlisted) with RestrictNullSessAccess = 1: %s", got)
	}

	// 1. EveryoneIncludesAnonymous 0 -> 1: the next CREATE of wd on the
	// existing session (same connection) succeeds, and so does one on a
	// session set up after the change.
	at := writeConfig(t, s, cfg(true, 1, 1))
	took := within(t, at, time.Second, "EveryoneIncludesAnonymous = 1", func() (bool, string) {
		got := o.open(t, "a", "wd", 0x3)
		return got == "STATUS_SUCCESS", got
	})
	t.Logf("EveryoneIncludesAnonymous change applied after %v", took.Round(time.Millisecond))
	o.login(t, "b", "-", "-")
	if got := o.open(t, "b", "wd", 0x3); got != "STATUS_SUCCESS" {
		t.Errorf("wd on a session set up after EveryoneIncludesAnonymous = 1: %s", got)
	}
	if got := o.do(t, "hold a h wd 3"); got != "h STATUS_SUCCESS" {
		t.Fatalf("hold wd: %q", got)
	}
	if got := o.do(t, "echo a h before"); got != "h echo OK" {
		t.Fatalf("echo on wd: %q", got)
	}

	// 2. RestrictNullSessAccess 1 -> 0: the unlisted pipe whose DACL
	// admits AN opens on the existing session, same connection.
	at = writeConfig(t, s, cfg(true, 0, 1))
	took = within(t, at, time.Second, "RestrictNullSessAccess = 0", func() (bool, string) {
		got := o.open(t, "a", "an", 0x3)
		return got == "STATUS_SUCCESS", got
	})
	t.Logf("RestrictNullSessAccess change applied after %v", took.Round(time.Millisecond))

	// 3. allow_anonymous true -> false: the next null session is refused;
	// the existing one keeps its open pipe.
	at = writeConfig(t, s, cfg(false, 0, 1))
	n := 0
	took = within(t, at, time.Second, "allow_anonymous = false", func() (bool, string) {
		n++
		id := fmt.Sprintf("c%d", n)
		got := o.do(t, "login %s - -", id)
		return got == id+" login STATUS_ACCESS_DENIED", got
	})
	t.Logf("allow_anonymous change applied after %v", took.Round(time.Millisecond))
	if got := o.do(t, "echo a h after"); got != "h echo OK" {
		t.Errorf("held pipe of the existing anonymous session after allow_anonymous = false: %q", got)
	}
	if got := o.do(t, "login u alice Passw0rd!"); got != "u login STATUS_LOGON_FAILURE" {
		t.Errorf("a user logon is not affected by allow_anonymous (no accounts here): %q", got)
	}
	if strings.Contains(s.Log(), "reload failed") {
		t.Errorf("a reload failed:\n%s", s.Log())
	}
}
