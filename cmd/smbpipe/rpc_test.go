package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testserver"
)

func TestParseRPCArgs(t *testing.T) {
	noenv := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		ok   bool
		path string
	}{
		{[]string{"//h", "srvinfo"}, true, "//h/pipe/srvsvc"},
		{[]string{"-U", "alice%x", "-p", "4450", `\\h:99`, "lookupnames", "a", "b"}, true, "//h:99/pipe/lsarpc"},
		{[]string{"//h", "USERS"}, true, "//h/pipe/samr"},
		{[]string{"//h", "groups"}, false, ""},            // USER missing
		{[]string{"//h", "srvinfo", "1", "2"}, false, ""}, // too many
		{[]string{"//h", "nosuch"}, false, ""},
		{[]string{"//h"}, false, ""},
		{[]string{"srvinfo"}, false, ""},
		{[]string{"//h/x", "srvinfo"}, false, ""},
		{[]string{"--bogus", "//h", "srvinfo"}, false, ""},
		{[]string{"-U", "alice", "//h", "srvinfo"}, false, ""}, // no password, no $PASSWD
		{[]string{"--bench", "2s", "-c", "4", "--format=tsv", "-U", "a%b", "//h", "srvinfo"}, true, "//h/pipe/srvsvc"},
		{[]string{"--bench", "2s", "//h", "users"}, false, ""},
		{[]string{"--bench", "2s", "//h", "srvinfo", "102"}, false, ""},
		{[]string{"--bench", "0s", "//h", "srvinfo"}, false, ""},
		{[]string{"-c", "0", "--bench", "1s", "//h", "srvinfo"}, false, ""},
		{[]string{"--format", "json", "//h", "srvinfo"}, false, ""},
		{[]string{"--bench"}, false, ""},
	} {
		o, err := parseRPCArgs(tc.args, noenv)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok %v", tc.args, err, tc.ok)
			continue
		}
		if err == nil && o.dial.path != tc.path {
			t.Errorf("%q: path %q, want %q", tc.args, o.dial.path, tc.path)
		}
	}
}

var rpcTestConfig = testserver.AliceEcho + `
[[account]]
name = "root"
password = "Passw0rd!"
groups = ["Administrators"]
`

// TestRPCCommands runs the commands against an in-process server as
// alice (a user), root (an administrator) and anonymously: what each
// prints, and the status a refused call exits with.
func TestRPCCommands(t *testing.T) {
	addr := testserver.Start(t, rpcTestConfig)
	for _, tc := range []struct {
		user string
		args []string
		code int
		want []string // in stdout, or stderr when code != 0
	}{
		{"alice%Passw0rd!", []string{"srvinfo"}, 0, []string{"SMBPIPE", "platform_id     :\t500", "server type     :\t0x9003"}},
		{"alice%Passw0rd!", []string{"shares"}, 0, []string{"netname: IPC$", "remark:\tRemote IPC"}},
		{"alice%Passw0rd!", []string{"shares", "502"}, 1, []string{"ERROR_ACCESS_DENIED (5)"}},
		{"alice%Passw0rd!", []string{"netsharegetinfo", "nosuch"}, 1, []string{"NERR_NetNameNotFound"}},
		{"alice%Passw0rd!", []string{"sessions"}, 1, []string{"ERROR_ACCESS_DENIED"}},
		{"alice%Passw0rd!", []string{"lsaquery"}, 0, []string{"Domain Name: WORKGROUP", "Account Domain Name: SMBPIPE"}},
		{"alice%Passw0rd!", []string{"lookupsids", "S-1-5-32-544", "S-1-1-0"}, 0, []string{`S-1-5-32-544 BUILTIN\Administrators (4)`, "S-1-1-0 Everyone (5)"}},
		{"alice%Passw0rd!", []string{"lookupnames", "Administrators", "nobody"}, 0, []string{"Administrators S-1-5-32-544 (Local Group: 4)", "nobody *unknown* (Unknown: 8)"}},
		{"alice%Passw0rd!", []string{"getusername"}, 0, []string{"Account Name: alice, Authority Name: SMBPIPE"}},
		{"alice%Passw0rd!", []string{"users"}, 1, []string{"SamrConnect5: STATUS_ACCESS_DENIED"}},
		{"alice%Passw0rd!", []string{"wkstainfo"}, 0, []string{"computer name   :\tSMBPIPE"}},
		{"root%Passw0rd!", []string{"users"}, 0, []string{"user:[Administrator] rid:[0x1f4]", "user:[alice] rid:[", "user:[root] rid:["}},
		{"root%Passw0rd!", []string{"groups", "root"}, 0, []string{"group rid:[0x201] attr:[0x7]", "alias rid:[0x220] (BUILTIN)"}},
		{"root%Passw0rd!", []string{"srvinfo", "503"}, 0, []string{"domain          :\tWORKGROUP"}},
		{"root%Passw0rd!", []string{"shares", "2"}, 0, []string{"netname: IPC$", "type:\t0x80000003"}},
		// The server's live tables: root's own session, and the srvsvc
		// pipe the command holds open to ask.
		{"root%Passw0rd!", []string{"sessions"}, 0, []string{"root"}},
		{"root%Passw0rd!", []string{"files"}, 0, []string{"srvsvc", "root"}},
		{"root%Passw0rd!", []string{"connections", `\\192.0.2.9`}, 1, []string{"NERR_ClientNameNotFound (2312)"}},
		{"", []string{"srvinfo"}, 1, []string{"create srvsvc: STATUS_ACCESS_DENIED"}},
		{"root%wrong", []string{"srvinfo"}, 1, []string{"STATUS_LOGON_FAILURE"}},
	} {
		t.Run(strings.SplitN(tc.user, "%", 2)[0]+"/"+strings.Join(tc.args, "_"), func(t *testing.T) {
			args := append([]string{"//" + addr}, tc.args...)
			if tc.user != "" {
				args = append([]string{"-U", tc.user}, args...)
			}
			o, err := parseRPCArgs(args, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out, errOut bytes.Buffer
			code := rpcMain(ctx, o, &out, &errOut)
			text := out.String()
			if tc.code != 0 {
				text = errOut.String()
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errOut.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("no %q in:\n%s", w, text)
				}
			}
		})
	}
}

// TestRPCBench: --bench runs bench.RunSrvsvc and prints its TSV line.
func TestRPCBench(t *testing.T) {
	addr := testserver.Start(t, rpcTestConfig)
	o, err := parseRPCArgs([]string{"--bench", "300ms", "-c", "2", "--format", "tsv", "-U", "alice%Passw0rd!", "//" + addr, "srvinfo"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if o.bench != 300*time.Millisecond || o.clients != 2 || o.format != "tsv" || o.dial.cfg.User != "alice" {
		t.Fatalf("options %+v", o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	if code := rpcMain(ctx, o, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	f := strings.Split(strings.TrimSpace(out.String()), "\t")
	if len(f) != 13 || f[0] != "srvsvc" || f[1] == "0.0" || f[6] != "0" {
		t.Errorf("tsv line %q", out.String())
	}
}
