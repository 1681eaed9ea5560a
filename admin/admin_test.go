package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/admin"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/server"
)

var config = testserver.AliceEcho + `
[[pipe]]
name = "secret"
backend = "echo"
mode = "message"
`

func setup(t *testing.T) (*server.Server, string, *httptest.Server) {
	t.Helper()
	srv, addr := testserver.StartWith(t, server.Options{Snapshot: testserver.Snapshot(t, config, "test.toml")})
	h, err := admin.Handler(admin.Options{Server: srv, Token: "s3cret", PolicyFile: "test.toml",
		ReloadFailures: func() uint64 { return 2 },
		Metrics:        http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "m 1\n") })})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return srv, addr, hs
}

func do(t *testing.T, method, url, auth string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestAuth: /healthz and /metrics are open; everything else is 401
// without a credential, 403 with a wrong one, 200 with the token as a
// bearer or as the cookie /login sets; actions need the action header.
func TestAuth(t *testing.T) {
	_, _, hs := setup(t)
	for _, p := range []string{"/healthz", "/metrics"} {
		if resp, body := do(t, "GET", hs.URL+p, "", nil); resp.StatusCode != 200 || body == "" {
			t.Errorf("GET %s: %d %q", p, resp.StatusCode, body)
		}
	}
	for _, p := range []string{"/", "/api/status", "/api/explain?seq=1", "/static/app.js"} {
		if resp, _ := do(t, "GET", hs.URL+p, "", nil); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without a token: %d", p, resp.StatusCode)
		}
		if resp, _ := do(t, "GET", hs.URL+p, "Bearer wrong", nil); resp.StatusCode != 403 {
			t.Errorf("GET %s with a wrong token: %d", p, resp.StatusCode)
		}
		if resp, _ := do(t, "GET", hs.URL+p, "", map[string]string{"Cookie": "smbpipe_admin=wrong"}); resp.StatusCode != 403 {
			t.Errorf("GET %s with a wrong cookie: %d", p, resp.StatusCode)
		}
	}
	if resp, body := do(t, "GET", hs.URL+"/", "Bearer s3cret", nil); resp.StatusCode != 200 || !strings.Contains(body, "/static/app.js") {
		t.Errorf("GET / with the token: %d %q", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", hs.URL+"/login?token=wrong", "", nil); resp.StatusCode != 403 {
		t.Errorf("login with a wrong token: %d", resp.StatusCode)
	}
	resp, _ := do(t, "GET", hs.URL+"/login?token=s3cret", "", nil)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "smbpipe_admin_"+hs.URL[strings.LastIndexByte(hs.URL, ':')+1:] {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d, cookie %+v", resp.StatusCode, cookie)
	}
	if resp, _ := do(t, "GET", hs.URL+"/api/status", "", map[string]string{"Cookie": cookie.String()}); resp.StatusCode != 200 {
		t.Errorf("status with the cookie: %d", resp.StatusCode)
	}
	// An action without the header is refused even with the cookie, and
	// one from another origin too.
	if resp, _ := do(t, "POST", hs.URL+"/api/sessions/1/close", "", map[string]string{"Cookie": cookie.String()}); resp.StatusCode != 403 {
		t.Errorf("POST without the action header: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "POST", hs.URL+"/api/sessions/1/close", "", map[string]string{"Cookie": cookie.String(),
		admin.ActionHeader: "1", "Origin": "http://evil.example"}); resp.StatusCode != 403 {
		t.Errorf("cross-origin POST: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "POST", hs.URL+"/api/sessions/1/close", "", nil); resp.StatusCode != 401 {
		t.Errorf("POST without a token: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", hs.URL+"/api/sessions/1/close", "Bearer s3cret", nil); resp.StatusCode != 405 {
		t.Errorf("GET of an action: %d", resp.StatusCode)
	}
}

// TestStatusJSONAndActions: a client's session, open and denial appear in
// /api/status; explain prints the trace; the actions close them.
func TestStatusJSONAndActions(t *testing.T) {
	_, addr, hs := setup(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, &client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.OpenPipe(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.OpenPipe(ctx, "secret"); !errors.Is(err, ntstatus.AccessDenied) {
		t.Fatalf("secret: %v", err)
	}
	resp, body := do(t, "GET", hs.URL+"/api/status", "Bearer s3cret", nil)
	var st admin.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status: %v %q", err, body)
	}
	if len(st.Sessions) != 1 || st.Sessions[0].Kind != "anonymous" || len(st.Opens) != 1 || st.Opens[0].Pipe != "echo" ||
		len(st.Decisions) != 2 || !st.Decisions[0].Denied || st.Decisions[0].Pipe != "secret" ||
		st.Policy.File != "test.toml" || st.Policy.ReloadFailures != 2 || !slices.Contains(st.Policy.Pipes, "secret") {
		t.Fatalf("status = %s", body)
	}
	if !strings.Contains(body, `"bytes_in"`) || !strings.Contains(body, `"last_active"`) {
		t.Errorf("JSON field names: %s", body)
	}
	resp, body = do(t, "GET", hs.URL+"/api/explain?seq="+jsonNum(st.Decisions[0].Seq), "Bearer s3cret", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `pipe "secret"`) || !strings.Contains(body, "rule:     "+st.Decisions[0].Rule) ||
		!strings.Contains(body, "fix:") {
		t.Errorf("explain: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", hs.URL+"/api/explain?seq=99", "Bearer s3cret", nil); resp.StatusCode != 404 {
		t.Errorf("explain of an unknown decision: %d", resp.StatusCode)
	}
	act := map[string]string{admin.ActionHeader: "1"}
	if resp, _ := do(t, "POST", hs.URL+"/api/opens/"+jsonNum(st.Opens[0].ID)+"/close", "Bearer s3cret", act); resp.StatusCode != 204 {
		t.Errorf("close open: %d", resp.StatusCode)
	}
	if _, err := p.WriteMsg(ctx, []byte("x")); !errors.Is(err, ntstatus.FileClosed) {
		t.Errorf("write after close: %v", err)
	}
	if resp, _ := do(t, "POST", hs.URL+"/api/opens/"+jsonNum(st.Opens[0].ID)+"/close", "Bearer s3cret", act); resp.StatusCode != 404 {
		t.Errorf("second close open: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "POST", hs.URL+"/api/sessions/"+jsonNum(st.Sessions[0].ID)+"/close", "Bearer s3cret", act); resp.StatusCode != 204 {
		t.Errorf("close session: %d", resp.StatusCode)
	}
	if err := c.Echo(ctx); err == nil {
		t.Error("the connection still answers after close session")
	}
}

func jsonNum(v uint64) string { b, _ := json.Marshal(v); return string(b) }

// TestTokenFile: CreateToken writes a 0600 file in a 0700 directory;
// ReadToken reads it and refuses one others may read.
func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	path, err := admin.DefaultTokenFile("127.0.0.1:9470")
	if err != nil || path != filepath.Join(dir, "smbpipe", "admin-9470.token") {
		t.Fatalf("DefaultTokenFile = %q, %v", path, err)
	}
	tok, err := admin.CreateToken(path)
	if err != nil || len(tok) != 64 {
		t.Fatalf("CreateToken = %q, %v", tok, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, %v", fi.Mode(), err)
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("token directory mode %v", di.Mode().Perm())
	}
	if got, err := admin.ReadToken(path); err != nil || got != tok {
		t.Errorf("ReadToken = %q, %v", got, err)
	}
	tok2, _ := admin.CreateToken(path)
	if tok2 == tok {
		t.Error("a second CreateToken kept the token")
	}
	os.Chmod(path, 0o644)
	if _, err := admin.ReadToken(path); !errors.Is(err, admin.ErrTokenPermissions) {
		t.Errorf("ReadToken of a 0644 file: %v", err)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	if p, _ := admin.DefaultTokenFile(":1"); p != filepath.Join(dir, "state", "smbpipe", "admin-1.token") {
		t.Errorf("state dir fallback: %q", p)
	}
}

// TestStatusRevision: a policy read from a shared store (etcd) shows its
// revision; one from a file has none.
func TestStatusRevision(t *testing.T) {
	srv, _, hs := setup(t)
	status := func() (admin.Status, string) {
		t.Helper()
		_, body := do(t, "GET", hs.URL+"/api/status", "Bearer s3cret", nil)
		var st admin.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("status: %v %q", err, body)
		}
		return st, body
	}
	if st, body := status(); st.Policy.Revision != 0 || strings.Contains(body, `"revision"`) {
		t.Errorf("a file's policy has a revision: %s", body)
	}
	snap, err := policy.CompileSource([]byte(config), "/smbpipe/policy", 42, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetPolicy(snap); err != nil {
		t.Fatal(err)
	}
	if st, body := status(); st.Policy.Revision != 42 || !strings.Contains(body, `"revision": 42`) {
		t.Errorf("revision %d, want 42: %s", st.Policy.Revision, body)
	}
}

// TestBearerSchemeCase: the Authorization scheme is case-insensitive
// (RFC 9110), as curl and HTTP libraries may send "bearer".
func TestBearerSchemeCase(t *testing.T) {
	_, _, hs := setup(t)
	for _, a := range []string{"Bearer s3cret", "bearer s3cret", "BEARER s3cret", "Bearer  s3cret "} {
		if resp, body := do(t, "GET", hs.URL+"/api/status", a, nil); resp.StatusCode != 200 {
			t.Errorf("Authorization %q: %d %s", a, resp.StatusCode, body)
		}
	}
	for _, a := range []string{"Basic s3cret", "Bearers3cret", "bearer wrong"} {
		if resp, _ := do(t, "GET", hs.URL+"/api/status", a, nil); resp.StatusCode != 403 {
			t.Errorf("Authorization %q: %d, want 403", a, resp.StatusCode)
		}
	}
}

// TestExplainHostileNames: /api/explain is text an administrator reads
// with curl in a terminal; a client's user name or requested pipe must not
// carry escape sequences into it.
func TestExplainHostileNames(t *testing.T) {
	srv, addr, hs := setup(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, &client.Config{User: "ev\x1b[31mil", Password: "x"})
	if err == nil {
		c.Close()
	}
	var d server.DecisionInfo
	for _, x := range srv.Decisions() {
		if strings.Contains(x.User, "\x1b") {
			d = x
		}
	}
	if d.Seq == 0 {
		t.Fatalf("no decision recorded for the hostile logon: %+v (dial: %v)", srv.Decisions(), err)
	}
	_, body := do(t, "GET", hs.URL+"/api/explain?seq="+strconv.FormatUint(d.Seq, 10), "Bearer s3cret", nil)
	if strings.ContainsAny(body, "\x1b") || !strings.Contains(body, `ev\x1b[31mil`) {
		t.Errorf("explain of a hostile logon:\n%q", body)
	}
}

// TestTokenFileOwner: the server refuses a token file another user owns,
// even with mode 0600: in /tmp that user could have written a token they
// know before serve --admin-token-file started (as root) and read it.
func TestTokenFileOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file another owner")
	}
	path := filepath.Join(t.TempDir(), "planted.token")
	if err := os.WriteFile(path, []byte("known-to-mallory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	if tok, err := admin.ReadOwnToken(path); !errors.Is(err, admin.ErrTokenOwner) {
		t.Errorf("ReadOwnToken of another user's file = %q, %v", tok, err)
	}
	// status run by root reads the service user's token.
	if tok, err := admin.ReadToken(path); err != nil || tok != "known-to-mallory" {
		t.Errorf("ReadToken of another user's file = %q, %v", tok, err)
	}
}

// TestTokenFileUnderSystemd: under the packaged unit (User=smbpipe, home
// /nonexistent, ProtectSystem=strict) there is no XDG directory: the token
// goes to the unit's RuntimeDirectory, which systemd names in
// $RUNTIME_DIRECTORY, and status, run as root, finds it there.
func TestTokenFileUnderSystemd(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/nonexistent")
	t.Setenv("RUNTIME_DIRECTORY", "/run/smbpipe:/run/other")
	if p, err := admin.DefaultTokenFile("127.0.0.1:9465"); err != nil || p != "/run/smbpipe/admin-9465.token" {
		t.Errorf("DefaultTokenFile under systemd = %q, %v", p, err)
	}
	t.Setenv("RUNTIME_DIRECTORY", "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/0")
	files, err := admin.TokenFiles(":9465")
	if err != nil || !slices.Equal(files, []string{"/run/user/0/smbpipe/admin-9465.token", "/run/smbpipe/admin-9465.token"}) {
		t.Errorf("TokenFiles = %q, %v", files, err)
	}
}

// TestCookiePerEndpoint: a browser keeps one cookie of a name per host,
// whatever the port; logging in to a second endpoint on the same host
// (another service, a fleet's servers on 127.0.0.1) must not log the first
// page out.
func TestCookiePerEndpoint(t *testing.T) {
	_, _, a := setup(t)
	srv, _ := testserver.StartWith(t, server.Options{Snapshot: testserver.Snapshot(t, config, "test.toml")})
	h, err := admin.Handler(admin.Options{Server: srv, Token: "other"})
	if err != nil {
		t.Fatal(err)
	}
	b := httptest.NewServer(h)
	t.Cleanup(b.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(url string) int {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(a.URL + "/login?token=s3cret"); code != 200 {
		t.Fatalf("login to A: %d", code)
	}
	if code := get(b.URL + "/login?token=other"); code != 200 {
		t.Fatalf("login to B: %d", code)
	}
	if code := get(a.URL + "/api/status"); code != 200 {
		t.Errorf("A after logging in to B: %d", code)
	}
	if code := get(b.URL + "/api/status"); code != 200 {
		t.Errorf("B: %d", code)
	}
}
