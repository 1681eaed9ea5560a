package interop

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	smbtorturePath = "/usr/bin/smbtorture"
	rpcclientPath  = "/usr/bin/rpcclient"
)

// TestSmbtorture: Samba's smbtorture (package samba-testsuite) as an
// independent check of the server's handling of every opcode
// (smb2.scan.scan) and of invalid compound chains (smb2.compound.invalid1)
// on IPC$, anonymously and as alice.
func TestSmbtorture(t *testing.T) {
	need(t, smbtorturePath, "--version")
	s := startServer(t, testConfig)
	smbtortureSuccess(t, s, 90*time.Second, "smb2.scan.scan", "smb2.compound.invalid1")
}

// smbtortureSuccess runs each smbtorture test against s's IPC$,
// anonymously and as alice, in parallel subtests (TEST/anonymous,
// TEST/alice) that fail unless smbtorture reports the test's success
// within timeout; at cleanup it fails t if the server logged a panic.
func smbtortureSuccess(t *testing.T, s *server, timeout time.Duration, tests ...string) {
	t.Helper()
	for _, who := range []struct{ name, user string }{{"anonymous", "%"}, {"alice", "alice%Passw0rd!"}} {
		for _, test := range tests {
			t.Run(test+"/"+who.name, func(t *testing.T) {
				t.Parallel()
				out, err := run(t, timeout, smbtorturePath, "//127.0.0.1/IPC$", "-p", s.port, "-U", who.user, test)
				last := test[strings.LastIndexByte(test, '.')+1:]
				if err != nil || !strings.Contains(out, "success: "+last) {
					t.Fatalf("smbtorture %s: %v\n%s", test, err, tail(out, 40))
				}
			})
		}
	}
	t.Cleanup(func() {
		if strings.Contains(s.Log(), "connection panic") {
			t.Errorf("the server logged a panic")
		}
	})
}

// TestRpcclientSrvinfo: srvsvc is served by default but, as on a Windows
// member server, not listed in NullSessionPipes: `rpcclient -c srvinfo`
// fails cleanly with ACCESS_DENIED for an anonymous session and answers
// alice (platform 500, version 10.0).
func TestRpcclientSrvinfo(t *testing.T) {
	need(t, rpcclientPath, "--version")
	s := startServer(t, testConfig)
	out, err := run(t, 30*time.Second, rpcclientPath, "-U", "%", "-p", s.port, "127.0.0.1", "-c", "srvinfo")
	if err == nil || !strings.Contains(out, "Could not initialise srvsvc. Error was NT_STATUS_ACCESS_DENIED") {
		t.Errorf("rpcclient -U %% srvinfo: err %v, want a failure with NT_STATUS_ACCESS_DENIED:\n%s", err, out)
	}
	out, err = run(t, 30*time.Second, rpcclientPath, "-U", "alice%Passw0rd!", "-p", s.port, "127.0.0.1", "-c", "srvinfo")
	if err != nil || !strings.Contains(out, "platform_id     :\t500") || !strings.Contains(out, "os version      :\t10.0") {
		t.Errorf("rpcclient -U alice srvinfo: err %v:\n%s", err, out)
	}
}

var metricsRE = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)

// TestServeMetrics: `smbpipe serve --metrics` serves Prometheus metrics on
// its own listener; a session and a refused logon show up in them.
func TestServeMetrics(t *testing.T) {
	need(t, smbclientPath, "--version")
	s := startServerArgs(t, testConfig, "--metrics", "127.0.0.1:0")
	waitLog(t, s, "metrics listening") // logged after "smbpipe listening"
	m := metricsRE.FindStringSubmatch(s.Log())
	if m == nil {
		t.Fatalf("no metrics listening line:\n%s", s.Log())
	}
	if out, err := smbclient(t, s, "SMB3_11", "-U%"); err != nil {
		t.Fatalf("smbclient: %v\n%s", err, out)
	}
	_, _ = smbclient(t, s, "SMB3_11", "-U", "alice%nope", "-W", "WORKGROUP")
	resp, err := http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`smbpipe_sessions_total{kind="anonymous"} 1`,
		`smbpipe_denials_total{rule="logon-failure"} 1`,
		`smbpipe_connections_total 2`,
		"smbpipe_policy_reload_failures_total 0",
		"smbpipe_panics_total 0",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
