package robust

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/ntstatus"
)

// TestPipeWaitNoOracle: FSCTL_PIPE_WAIT from a null session answers a
// name missing from NullSessionPipes exactly as CREATE does,
// STATUS_ACCESS_DENIED, whether the pipe exists or not, and audits the
// denial (SEMANTICS-2 §9). Before, an existing pipe answered SUCCESS and a
// missing one OBJECT_NAME_NOT_FOUND. Other sessions keep the normal
// outcomes.
func TestPipeWaitNoOracle(t *testing.T) {
	ts := start(t, privatePipe)
	wait := func(c *client.Conn, name string) error {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		return c.WaitPipe(ctx, name, 100*time.Millisecond)
	}
	a := dial(t, ts.addr, anon)
	u := dial(t, ts.addr, alice)
	for _, tc := range []struct {
		c    *client.Conn
		who  string
		name string
		want ntstatus.Status
	}{
		{a, "anonymous", "private", ntstatus.AccessDenied}, // exists, unlisted
		{a, "anonymous", "PRIVATE", ntstatus.AccessDenied}, // any case
		{a, "anonymous", "nosuch", ntstatus.AccessDenied},  // missing, unlisted
		{a, "anonymous", `\pipe\nosuch`, ntstatus.AccessDenied},
		{a, "anonymous", "echo", ntstatus.Success}, // listed
		{u, "alice", "private", ntstatus.Success},
		{u, "alice", "nosuch", ntstatus.ObjectNameNotFound},
	} {
		err := wait(tc.c, tc.name)
		switch {
		case tc.want == ntstatus.Success && err != nil:
			t.Errorf("%s WAIT %q: %v, want success", tc.who, tc.name, err)
		case tc.want != ntstatus.Success && !isStatus(err, tc.want):
			t.Errorf("%s WAIT %q: %v, want %v", tc.who, tc.name, err, tc.want)
		}
		// CREATE gives the same answer to the null session.
		if tc.c == a && tc.want == ntstatus.AccessDenied {
			if _, err := tc.c.OpenPipe(t.Context(), tc.name); !isStatus(err, ntstatus.AccessDenied) {
				t.Errorf("anonymous CREATE %q: %v, want STATUS_ACCESS_DENIED", tc.name, err)
			}
		}
	}
	if !strings.Contains(ts.log.String(), `msg="pipe wait"`) || !strings.Contains(ts.log.String(), "rule=null-session-pipes") {
		t.Errorf("no audit record of the refused WAIT:\n%s", ts.log)
	}
	if got := ts.metric(t, `smbpipe_denials_total{rule="null-session-pipes"}`); got < 4 {
		t.Errorf("denials{null-session-pipes} = %v, want at least 4", got)
	}
}
