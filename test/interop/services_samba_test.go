package interop

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testsmbd"
)

// The services tests against Samba's smbd, where it has the feature: the
// same clients, so that the differences the README lists (smbpipe
// following Windows) are checked against the peer, and smbpipe rpc is
// shown to work against another implementation. smbd here: a stand-alone
// server with "restrict anonymous = 0", alice a user.

const sambaAlice = testsmbd.User + "%" + testsmbd.Password

// sambaShareRowRE is smbclient -L's row for smbd's IPC$ (its comment is
// "IPC Service (Samba <version>)").
var sambaShareRowRE = regexp.MustCompile(`(?m)^\s+IPC\$\s+IPC\s+IPC Service \(Samba`)

// TestServicesSambaDifferences: what Samba gives where smbpipe refuses as
// Windows does: anonymous share listing, share level 2 to a user, SAMR
// enumeration to a user.
func TestServicesSambaDifferences(t *testing.T) {
	need(t, rpcclientPath, "--version")
	need(t, smbclientPath, "--version")
	addr := testsmbd.Start(t, "")
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	out, err := run(t, 60*time.Second, smbclientPath, "-L", "//127.0.0.1", "-p", port, "-N")
	if err != nil || !sambaShareRowRE.MatchString(out) {
		t.Errorf("anonymous smbclient -L against smbd: err %v, want IPC$ listed:\n%s", err, out)
	}
	for _, tc := range []struct{ cmd, want string }{
		{"netshareenumall", "netname: IPC$"}, // level 2, to a user
		{"enumdomusers", "user:[alice]"},     // SAMR, to a user
	} {
		out, err := run(t, 60*time.Second, rpcclientPath, "-U", sambaAlice, "-p", port, "127.0.0.1", "-c", tc.cmd)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("rpcclient %s as alice against smbd: err %v, want %q:\n%s", tc.cmd, err, tc.want, out)
		}
	}
}

// TestServicesSambaRPCCommand: smbpipe rpc against smbd.
func TestServicesSambaRPCCommand(t *testing.T) {
	addr := testsmbd.Start(t, "")
	for _, tc := range []struct {
		args []string
		want string
		fail bool
	}{
		{[]string{"srvinfo"}, "platform_id     :\t500", false},
		{[]string{"shares"}, "netname: IPC$", false},
		{[]string{"wkstainfo"}, "domain          :\tWORKGROUP", false},
		{[]string{"lsaquery"}, "Domain Name: WORKGROUP", false},
		{[]string{"lookupnames", "alice"}, "(User: 1)", false},
		{[]string{"lookupsids", "S-1-5-32-544"}, `BUILTIN\Administrators (4)`, false},
		{[]string{"getusername"}, "Account Name: alice", false},
		{[]string{"users"}, "user:[alice] rid:[", false},
		{[]string{"groups", "alice"}, "group rid:[0x201]", false},
		// Samba, like Windows and smbpipe, lists sessions to
		// administrators only.
		{[]string{"sessions"}, "ERROR_ACCESS_DENIED (5)", true},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			t.Parallel()
			out, err := run(t, 60*time.Second, smbpipeBin, append([]string{"rpc", "-U", sambaAlice, "//" + addr}, tc.args...)...)
			t.Logf("%s", out)
			if (err != nil) != tc.fail || !strings.Contains(out, tc.want) {
				t.Errorf("smbpipe rpc %v against smbd: err %v, want %q:\n%s", tc.args, err, tc.want, out)
			}
		})
	}
}
