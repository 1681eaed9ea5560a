package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/security"
)

const matrixPolicy = "testdata/explain/policy.toml"

func runMatrix(t *testing.T, format string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := explain([]string{"--config", matrixPolicy, "--matrix", "--format", format}, &out, &errb); code != 0 {
		t.Fatalf("explain --matrix --format %s: exit %d: %s", format, code, errb.String())
	}
	return out.String()
}

// TestMatrixAgreesWithServer: every pipe cell of the matrix is what a real
// server answers to a MAXIMUM_ALLOWED open by that principal (status and
// granted access), and a few cells hold the values the policy file means.
func TestMatrixAgreesWithServer(t *testing.T) {
	var m accessMatrix
	if err := json.Unmarshal([]byte(runMatrix(t, "json")), &m); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(matrixPolicy)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(data), "guest = false", "guest = false\nlisten = \"127.0.0.1:0\"", 1)
	addr := testserver.Start(t, cfg)
	creds := map[string]client.Config{"anonymous": {}, "alice": {User: "alice", Password: "Passw0rd!"},
		"bob": {User: "bob", Password: "Passw0rd!"}}
	cell := map[[2]string]matrixCell{}
	pipes := 0
	for _, r := range m.Rows {
		for _, c := range r.Cells {
			cell[[2]string{r.Name + "/" + r.Kind, c.Principal}] = c
		}
		if r.Kind != "pipe" {
			continue
		}
		pipes++
		for _, c := range r.Cells {
			cc, ok := creds[c.Principal]
			if !ok {
				continue
			}
			conn, err := client.Dial(t.Context(), addr, &cc)
			if err != nil {
				t.Fatalf("%s: %v", c.Principal, err)
			}
			p, err := conn.OpenPipeOptions(t.Context(), r.Name, client.OpenOptions{DesiredAccess: security.MaximumAllowed})
			var st ntstatus.Status
			switch {
			case err == nil:
				st = ntstatus.Success
				p.Close()
			case !errors.As(err, &st):
				t.Fatalf("%s on %s: %v", c.Principal, r.Name, err)
			}
			conn.Close()
			if st.String() != c.Status || c.Allowed != (st == ntstatus.Success) {
				t.Errorf("%s on %s: server says %s, matrix %s (%s)", c.Principal, r.Name, st, c.Status, c.Rule)
			}
		}
	}
	if pipes != 11 { // 6 [[pipe]] and the 5 service pipes
		t.Errorf("%d pipe rows, want 11", pipes)
	}
	for _, w := range []struct {
		row, who, letters, mask, rule string
	}{
		{"echo/pipe", "anonymous", "R,W", "0x0012019B", "granted"},
		{"readonly/pipe", "alice", "R", "0x00120089", "granted"},
		{"secret/pipe", "alice", "F", "0x001F01FF", "granted"},
		{"secret/pipe", "anonymous", "", "", "null-session-pipes"},
		{"echo/pipe", "guest", "", "", "logon-failure"},
		{"echo/pipe", "Administrators", "F", "0x001F01FF", "granted"},
		{"srvsvc share enumeration, admin level/rpc", "alice", "", "", "admin-only"},
		{"srvsvc share enumeration, admin level/rpc", "Administrators", "", "", "granted"},
		{"samr connect/rpc", "alice", "", "", "restrict-remote-sam"},
	} {
		c, ok := cell[[2]string{w.row, w.who}]
		if !ok || c.Letters != w.letters || c.Mask != w.mask || c.Rule != w.rule {
			t.Errorf("%s × %s = %+v, want letters %q mask %q rule %q", w.row, w.who, c, w.letters, w.mask, w.rule)
		}
		if !c.Allowed && (c.Reason == "" || !strings.Contains(c.Explain, "smbpipe explain --config "+matrixPolicy)) {
			t.Errorf("%s × %s: a denied cell without reason or explain command: %+v", w.row, w.who, c)
		}
	}
	if got := cell[[2]string{"secret/pipe", "alice"}].Rights; got != "FILE_ALL_ACCESS" {
		t.Errorf("rights %q", got)
	}
}

// TestMatrixFormats: the formats carry the same cells.
func TestMatrixFormats(t *testing.T) {
	recs, err := csv.NewReader(strings.NewReader(runMatrix(t, "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// 11 pipes and 18 call classes × 5 principals, and the header.
	if want := (11+len(policy.RPCClasses()))*5 + 1; len(recs) != want {
		t.Errorf("%d csv records, want %d", len(recs), want)
	}
	found := false
	for _, r := range recs {
		if r[0] == "pipe" && r[1] == "echo" && r[3] == "anonymous" && r[5] == "R,W" && r[6] == "0x0012019B" {
			found = true
		}
	}
	if !found {
		t.Error("csv lacks anonymous (R,W) on echo")
	}
	text := runMatrix(t, "text")
	for _, want := range []string{`\pipe\echo`, "(R,W) 0x0012019B", "- null-session-pipes [", "srvsvc.NetrShareEnum --level 2", "why denied:"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	md := runMatrix(t, "md")
	if !strings.Contains(md, "| pipe / call | anonymous | guest | alice | bob | Administrators |") || !strings.Contains(md, `| \\pipe\\echo | (R,W) 0x0012019B |`) {
		t.Errorf("md table:\n%s", md)
	}
	var out, errb bytes.Buffer
	if code := explain([]string{"--matrix", "--format", "xml"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "want text, csv, json or md") {
		t.Errorf("--format xml: exit %d, %q", code, errb.String())
	}
	if code := explain([]string{"--matrix", "--user", "alice"}, &out, &errb); code != 2 {
		t.Errorf("--matrix --user: exit %d", code)
	}
}

func TestIcaclsLetters(t *testing.T) {
	for g, want := range map[uint32]string{0x1F01FF: "F", 0x1F01FB: "F", 0x12019B: "R,W", 0x120089: "R", 0x100003: "RD,WD,S"} {
		if got := icaclsLetters(g); got != want {
			t.Errorf("icaclsLetters(0x%X) = %q, want %q", g, got, want)
		}
	}
}
