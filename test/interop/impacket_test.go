package interop

import (
	"strings"
	"testing"
	"time"
)

const python = "/usr/bin/python3"

// impacketScript runs the impacket script testdata/NAME with args (60 s at
// most) and returns its step lines ("OK ..." and "FAIL ..."); it fails t
// when the script does not exit cleanly.
func impacketScript(t *testing.T, name string, args ...string) []string {
	t.Helper()
	return impacketScriptEnv(t, nil, name, args...)
}

// impacketScriptEnv is impacketScript with the environment env (nil: this
// process's).
func impacketScriptEnv(t *testing.T, env []string, name string, args ...string) []string {
	t.Helper()
	out, err := runEnv(t, 60*time.Second, env, python, append([]string{"testdata/" + name}, args...)...)
	if err != nil {
		t.Fatalf("impacket: %v\n%s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "OK ") || strings.HasPrefix(l, "FAIL ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// impacket runs testdata/impacket_pipe.py and returns its step lines.
func impacket(t *testing.T, s *server, user, pass, dialect, pipe string) []string {
	t.Helper()
	return impacketScript(t, "impacket_pipe.py", s.port, user, pass, dialect, pipe)
}

// TestImpacket covers issue 2's impacket list: anonymous and alice
// sessions through every negotiation impacket offers, the echo pipe by
// WRITE/READ, TRANSCEIVE and a 60 KiB message, and the denial statuses.
func TestImpacket(t *testing.T) {
	need(t, python, "-c", "import impacket")
	s := startServer(t, testConfig)

	fullRun := []string{"connect", "login", "tree", "open", "write-read", "transact", "large", "close", "tree-disconnect", "logoff"}
	cases := []struct {
		name, user, pass, dialect, pipe string
		dialectHex                      string // "" any
		want                            []string
		fail                            string // "step STATUS" of the final line, "" for a full run
	}{
		{name: "anonymous/default", dialect: "default", pipe: "echo", want: fullRun},
		{name: "anonymous/2.0.2", dialect: "2.0.2", pipe: "echo", dialectHex: "0x0202", want: fullRun},
		{name: "anonymous/2.1", dialect: "2.1", pipe: "echo", dialectHex: "0x0210", want: fullRun},
		{name: "anonymous/3.0", dialect: "3.0", pipe: "echo", dialectHex: "0x0300", want: fullRun},
		{name: "alice/default", user: "alice", pass: "Passw0rd!", dialect: "default", pipe: "echo", want: fullRun},
		{name: "alice/2.0.2", user: "alice", pass: "Passw0rd!", dialect: "2.0.2", pipe: "echo", dialectHex: "0x0202", want: fullRun},
		{name: "alice/2.1", user: "alice", pass: "Passw0rd!", dialect: "2.1", pipe: "echo", dialectHex: "0x0210", want: fullRun},
		{name: "alice/3.0", user: "alice", pass: "Passw0rd!", dialect: "3.0", pipe: "echo", dialectHex: "0x0300", want: fullRun},
		{name: "alice/private", user: "alice", pass: "Passw0rd!", dialect: "default", pipe: "private", want: fullRun},
		{name: "alice/wrong-password", user: "alice", pass: "wrong", dialect: "default", pipe: "echo",
			want: []string{"connect"}, fail: "login STATUS_LOGON_FAILURE"},
		{name: "alice/missing-pipe", user: "alice", pass: "Passw0rd!", dialect: "default", pipe: "nosuchpipe",
			want: []string{"connect", "login", "tree"}, fail: "open STATUS_OBJECT_NAME_NOT_FOUND"},
		{name: "anonymous/not-null-session-pipe", dialect: "default", pipe: "private",
			want: []string{"connect", "login", "tree"}, fail: "open STATUS_ACCESS_DENIED"},
		{name: "anonymous/missing-pipe", dialect: "default", pipe: "nosuchpipe",
			want: []string{"connect", "login", "tree"}, fail: "open STATUS_ACCESS_DENIED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lines := impacket(t, s, tc.user, tc.pass, tc.dialect, tc.pipe)
			want := len(tc.want)
			if tc.fail != "" {
				want++
			}
			if len(lines) != want {
				t.Fatalf("steps:\n%s\nwant %v then %q", strings.Join(lines, "\n"), tc.want, tc.fail)
			}
			for i, step := range tc.want {
				if f := strings.Fields(lines[i]); f[0] != "OK" || f[1] != step {
					t.Fatalf("step %d: %q, want OK %s\nall:\n%s", i, lines[i], step, strings.Join(lines, "\n"))
				}
			}
			if tc.dialectHex != "" && !strings.Contains(lines[0], "dialect="+tc.dialectHex) {
				t.Errorf("negotiated %q, want %s", lines[0], tc.dialectHex)
			}
			if tc.fail != "" {
				if got := lines[len(lines)-1]; got != "FAIL "+tc.fail {
					t.Errorf("last step %q, want FAIL %s", got, tc.fail)
				}
			}
		})
	}
}
