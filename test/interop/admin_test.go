package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smbpipe/smbpipe/admin"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testbin"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/internal/testetcd"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
)

const chromium = "/usr/bin/chromium"

var adminRE = regexp.MustCompile(`msg="admin listening" addr=(\S+) token_file=(\S+)`)

// startAdmin runs serve with --admin on a free loopback port, the token in
// the default place under a private XDG_RUNTIME_DIR (set for the test, so
// that `smbpipe status` run by the test finds it as an operator's would).
// It returns the server and the admin address.
func startAdmin(t *testing.T) (*server, string) {
	t.Helper()
	return startAdminWith(t, testConfig)
}

// startAdminWith is startAdmin with the config file's text and more
// serve flags.
func startAdminWith(t *testing.T, config string, extra ...string) (*server, string) {
	t.Helper()
	rt := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", rt)
	s := startServerArgs(t, config, append([]string{"--admin", "127.0.0.1:0"}, extra...)...)
	m := adminRE.FindStringSubmatch(s.Log())
	if m == nil {
		t.Fatalf("no admin listening line:\n%s", s.Log())
	}
	if want := filepath.Join(rt, "smbpipe", "admin-"+m[1][strings.LastIndexByte(m[1], ':')+1:]+".token"); m[2] != want {
		t.Errorf("token file %s, want %s", m[2], want)
	}
	if fi, err := os.Stat(m[2]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v", fi, err)
	}
	return s, m[1]
}

// holdImpacket starts impacket holding a session of user with the pipe
// open; closing the returned writer releases it. It returns the process's
// output lines as they come.
func holdImpacket(t *testing.T, s *server, user, pass, pipe string) (io.WriteCloser, <-chan string) {
	t.Helper()
	cmd := exec.Command(python, "testdata/impacket_hold.py", s.port, user, pass, pipe)
	cmd.Stderr = os.Stderr
	stdin, lines := testbin.Lines(t, cmd, 8, 20*time.Second)
	expectLine(t, lines, "OK held", 60*time.Second)
	return stdin, lines
}

// expectLine fails the test unless the next of impacket's lines, within
// d, is want.
func expectLine(t *testing.T, lines <-chan string, want string, d time.Duration) {
	t.Helper()
	select {
	case l := <-lines:
		if l != want {
			t.Fatalf("impacket: %q, want %q", l, want)
		}
	case <-time.After(d):
		t.Fatalf("impacket printed no %q within %v", want, d)
	}
}

// status runs `smbpipe status --json` and decodes it.
func statusJSON(t *testing.T, adminAddr string) admin.Status {
	t.Helper()
	out, err := exec.Command(smbpipeBin, "status", "--admin", adminAddr, "--json").Output()
	if err != nil {
		t.Fatalf("smbpipe status --json: %v\n%s", err, out)
	}
	var st admin.Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	return st
}

// TestAdminStatus: `smbpipe status` finds serve's token by itself and
// lists impacket's and the Go client's sessions and opens, with bytes;
// the tables name them too.
func TestAdminStatus(t *testing.T) {
	need(t, python, "-c", "import impacket")
	s, adminAddr := startAdminWith(t, testConfig, "--metrics", "127.0.0.1:0") // /metrics on the admin listener
	release, lines := holdImpacket(t, s, "alice", "Passw0rd!", "echo")
	gc := testclient.Dial(t, s.addr, client.Config{})
	p, err := gc.OpenPipe(t.Context(), "echo")
	if err != nil {
		t.Fatal(err)
	}
	if n, _, err := p.Transact(t.Context(), []byte("status!"), make([]byte, 16)); err != nil || n != 7 {
		t.Fatalf("Transact = %d, %v", n, err)
	}
	if _, err := gc.OpenPipe(t.Context(), "private"); !errors.Is(err, ntstatus.AccessDenied) {
		t.Fatalf("anonymous open of private: %v", err)
	}

	st := statusJSON(t, adminAddr)
	var imp, goSess *struct{ id uint64 }
	for _, x := range st.Sessions {
		switch {
		case x.Kind == "user" && x.User == "alice":
			imp = &struct{ id uint64 }{x.ID}
		case x.Kind == "anonymous" && x.Client == gc.LocalAddr().String():
			goSess = &struct{ id uint64 }{x.ID}
		}
	}
	if len(st.Sessions) != 2 || imp == nil || goSess == nil {
		t.Fatalf("sessions %+v: want impacket's alice and the Go client's anonymous one", st.Sessions)
	}
	var sawImp, sawGo bool
	for _, o := range st.Opens {
		sawImp = sawImp || o.Session == imp.id && o.Pipe == "echo" && o.BytesIn == 4 && o.BytesOut == 4
		sawGo = sawGo || o.Session == goSess.id && o.Pipe == "echo" && o.BytesIn == 7 && o.BytesOut == 7
	}
	if !sawImp || !sawGo || len(st.Opens) != 2 {
		t.Errorf("opens %+v: want impacket's (4 bytes each way) and the Go client's (7)", st.Opens)
	}
	if len(st.Decisions) < 3 || !st.Decisions[0].Denied || st.Decisions[0].Pipe != "private" || st.Decisions[0].Rule == "" {
		t.Errorf("decisions %+v: want the denial of private first", st.Decisions)
	}

	out, err := exec.Command(smbpipeBin, "status", "--admin", adminAddr).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `WORKGROUP\alice`) || !strings.Contains(string(out), "(2 sessions)") ||
		!strings.Contains(string(out), "(2 open pipes)") || !strings.Contains(string(out), "STATUS_ACCESS_DENIED") {
		t.Errorf("smbpipe status: %v\n%s", err, out)
	}
	if out, err := exec.Command(smbpipeBin, "status", "--admin", adminAddr, "--admin-token-file", filepath.Join(t.TempDir(), "none")).CombinedOutput(); err == nil {
		t.Errorf("status with a missing token file succeeded:\n%s", out)
	}

	// Without the token: /healthz and /metrics only.
	get := func(path, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+adminAddr+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/metrics", ""); code != 200 || !strings.Contains(body, "smbpipe_build_info{") || !strings.Contains(body, "smbpipe_sessions 2") {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	for _, p := range []string{"/", "/api/status"} {
		if code, _ := get(p, ""); code != 401 {
			t.Errorf("%s without a token: %d", p, code)
		}
		if code, _ := get(p, "Bearer "+strings.Repeat("0", 64)); code != 403 {
			t.Errorf("%s with a wrong token: %d", p, code)
		}
	}

	release.Close()
	expectLine(t, lines, "OK released", 30*time.Second)
}

// screenshotPath is where TestAdminBrowser saves its screenshot:
// $SMBPIPE_SCREENSHOT when set (how README's docs/img/live-view.png is
// made), else live-view.png in $TEST_OUTPUT when set, else in the test's
// artifact directory (kept with go test -artifacts -outputdir DIR).
func screenshotPath(t *testing.T) string {
	if p := os.Getenv("SMBPIPE_SCREENSHOT"); p != "" {
		return p
	}
	dir := os.Getenv("TEST_OUTPUT")
	if dir == "" {
		dir = t.ArtifactDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "live-view.png")
}

// TestAdminStatusRevision: with the policy from etcd (serve --policy),
// smbpipe status names the etcd URL and the revision in force, and
// follows a new revision put to the key.
func TestAdminStatusRevision(t *testing.T) {
	e := testetcd.Start(t)
	const key = "/smbpipe/policy"
	put := func(policy string) int64 {
		t.Helper()
		e.Ctl("put", key, policy)
		var got struct {
			Kvs []struct {
				ModRevision int64 `json:"mod_revision"`
			} `json:"kvs"`
		}
		if out := e.Ctl("get", key, "-w", "json"); json.Unmarshal([]byte(out), &got) != nil || len(got.Kvs) != 1 {
			t.Fatalf("etcdctl get: %s", out)
		}
		return got.Kvs[0].ModRevision
	}
	rev := put(testserver.AliceEcho)
	url := "etcd://" + e.Endpoint() + key
	_, adminAddr := startAdminWith(t, "", "--policy", url, "--policy-cache", filepath.Join(t.TempDir(), "cache.toml"))

	st := statusJSON(t, adminAddr)
	if st.Policy.File != url || st.Policy.Revision != rev || !slices.Contains(st.Policy.Pipes, "echo") {
		t.Errorf("policy %+v, want %s at revision %d", st.Policy, url, rev)
	}
	out, err := exec.Command(smbpipeBin, "status", "--admin", adminAddr).CombinedOutput()
	if want := fmt.Sprintf("Policy: %s at revision %d, applied ", url, rev); err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("smbpipe status: %v, want it to begin %q:\n%s", err, want, out)
	}

	rev2 := put(testserver.AliceEcho + "\n[[pipe]]\nname = \"second\"\nbackend = \"echo\"\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		st = statusJSON(t, adminAddr)
		if st.Policy.Revision == rev2 && slices.Contains(st.Policy.Pipes, "second") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("policy %+v 5 s after revision %d was put", st.Policy, rev2)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAdminBrowser opens the live view in Debian's chromium (headless)
// while impacket and the Go client hold sessions: they and their pipes
// appear, a denial shows up within 2 s, and the page's Close session
// button ends the Go client's connection. It saves a screenshot of the
// page (see screenshotPath).
func TestAdminBrowser(t *testing.T) {
	need(t, python, "-c", "import impacket")
	need(t, chromium, "--version")
	s, adminAddr := startAdmin(t)
	holdImpacket(t, s, "alice", "Passw0rd!", "echo")
	gc := testclient.Dial(t, s.addr, client.Config{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP"})
	if _, err := gc.OpenPipe(t.Context(), "private"); err != nil {
		t.Fatal(err)
	}
	anon := testclient.Dial(t, s.addr, client.Config{})
	if _, err := anon.OpenPipe(t.Context(), "echo"); err != nil {
		t.Fatal(err)
	}
	url, err := exec.Command(smbpipeBin, "status", "--admin", adminAddr, "--url").Output()
	if err != nil {
		t.Fatalf("status --url: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1500, 1000))
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	// The URL carries the token once; the page then lives on its cookie.
	if err := chromedp.Do(bctx,
		chromedp.Navigate(strings.TrimSpace(string(url))),
		chromedp.WaitVisible(chromedp.CSS(`#sessions tbody tr[data-id]`)),
	); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	eval := func(expr string) any {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	sessions := eval(`document.querySelectorAll("#sessions tbody tr[data-id]").length`)
	opens := eval(`document.querySelectorAll("#opens tbody tr[data-id]").length`)
	sessionText, _ := eval(`document.querySelector("#sessions tbody").textContent`).(string)
	openText, _ := eval(`document.querySelector("#opens tbody").textContent`).(string)
	if sessions != float64(3) || !strings.Contains(sessionText, `WORKGROUP\alice`) || !strings.Contains(sessionText, "anonymous") {
		t.Errorf("page shows %v sessions: %q", sessions, sessionText)
	}
	if opens != float64(3) || !strings.Contains(openText, "echo") || !strings.Contains(openText, "private") {
		t.Errorf("page shows %v opens: %q", opens, openText)
	}
	if v := eval(`document.cookie.includes("smbpipe_admin")`); v != false {
		t.Errorf("the token cookie is visible to scripts (%v)", v)
	}

	// A denial appears within 2 s.
	start := time.Now()
	if _, err := anon.OpenPipe(t.Context(), "private"); !errors.Is(err, ntstatus.AccessDenied) {
		t.Fatalf("anonymous open of private: %v", err)
	}
	for {
		shown := eval(`[...document.querySelectorAll("#decisions tr.denied")].some(r => r.textContent.includes("private") && r.textContent.includes("STATUS_ACCESS_DENIED"))`)
		if shown == true {
			t.Logf("denial shown after %v", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("the denial did not appear within 2 s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Errorf("screenshot: %d bytes, not a PNG", len(png))
	}
	shot := screenshotPath(t)
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("screenshot: %s", shot)

	// Close the Go client's alice session from the page.
	var id uint64
	for _, x := range statusJSON(t, adminAddr).Sessions {
		if x.Client == gc.LocalAddr().String() {
			id = x.ID
		}
	}
	if id == 0 {
		t.Fatal("the Go client's session is not listed")
	}
	sel := `#sessions tr[data-id="` + strconv.FormatUint(id, 10) + `"] button`
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for gc.Echo(t.Context()) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the Go client's connection did not end after Close session")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// serve's log is read through a pipe: wait for the record.
	for !strings.Contains(s.Log(), `msg="admin close session" by="admin 127.0.0.1:`) {
		if time.Now().After(deadline) {
			t.Fatalf("no audit record of the close:\n%s", s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The page follows: the session's row goes away.
	if err := chromedp.Do(bctx, chromedp.WaitNotPresent(chromedp.CSS(`#sessions tr[data-id="`+strconv.FormatUint(id, 10)+`"]`))); err != nil {
		t.Errorf("the closed session stays on the page: %v", err)
	}

	// The denial's explain link: the trace, as smbpipe explain prints it.
	href, _ := eval(`document.querySelector("#decisions tr.denied a").href`).(string)
	if !strings.Contains(href, "/api/explain?seq=") {
		t.Fatalf("explain link %q", href)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(href)); err != nil {
		t.Fatal(err)
	}
	if text, _ := eval(`document.body.innerText`).(string); !strings.Contains(text, `pipe "private"`) ||
		!strings.Contains(text, "rule:     null-session-pipes") || !strings.Contains(text, "fix:") {
		t.Errorf("explanation page:\n%s", text)
	}
}
