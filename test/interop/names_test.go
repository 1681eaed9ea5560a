package interop

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testserver"
)

// namesConfig is issue 9's NullSessionPipes finding: "info" and "kiosk"
// are listed, and the configured pipes İnfo (U+0130) and Kiosk (U+212A
// KELVIN SIGN) are other names to Windows, which upcases each UTF-16 unit
// (İ and K upcase to themselves); Go's lower-casing made them i and k.
var namesConfig = `
server_name = "SMBPIPE"
allow_anonymous = true

[LanmanServer]
RestrictNullSessAccess = 1
NullSessionPipes = ["info", "kiosk", "echo"]

[[account]]
name = "alice"
password = "Passw0rd!"
` + testserver.OpenEchoPipes("\u0130nfo", "\u212Aiosk", "echo")

// TestImpacketNameFolding opens the look-alike names with impacket against
// `smbpipe serve`: a null session is denied İnfo and Kiosk (but opens the
// listed echo), alice opens both (they exist), and `smbpipe explain` gives
// the same status for each.
func TestImpacketNameFolding(t *testing.T) {
	need(t, python, "-c", "import impacket")
	s := startServer(t, namesConfig)
	o := startOpener(t, s)
	o.login(t, "anon", "-", "-")
	o.login(t, "alice", "alice", "Passw0rd!")
	for _, tc := range []struct {
		conn, user, pipe, want string
	}{
		{"anon", "anonymous", "\u0130nfo", "STATUS_ACCESS_DENIED"},
		{"anon", "anonymous", "\u0130NFO", "STATUS_ACCESS_DENIED"},
		{"anon", "anonymous", "\u212aiosk", "STATUS_ACCESS_DENIED"},
		{"anon", "anonymous", "\u212aIOSK", "STATUS_ACCESS_DENIED"},
		{"anon", "anonymous", "ECHO", "STATUS_SUCCESS"},
		{"alice", "alice", "\u0130nfo", "STATUS_SUCCESS"},
		{"alice", "alice", "\u212aiosk", "STATUS_SUCCESS"},
		{"alice", "alice", "info", "STATUS_OBJECT_NAME_NOT_FOUND"},
		{"alice", "alice", "kiosk", "STATUS_OBJECT_NAME_NOT_FOUND"},
	} {
		if got := o.open(t, tc.conn, tc.pipe, 0x12019f); got != tc.want {
			t.Errorf("impacket %s opens %q: %s, want %s", tc.user, tc.pipe, got, tc.want)
		}
		out, _ := run(t, 30*time.Second, smbpipeBin, "explain", "--config", filepath.Join(s.configDir, "smbpipe.toml"),
			"--user", tc.user, "--pipe", tc.pipe, "--access", "0x12019F")
		if !strings.Contains(out, "\nresult: "+tc.want+" ") {
			t.Errorf("explain %s %q does not say %s:\n%s", tc.user, tc.pipe, tc.want, out)
		}
	}
}
