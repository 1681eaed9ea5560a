// Package admin serves an smbpipe server's live view over HTTP: the
// sessions and open pipe instances (server.Sessions, server.Opens), the
// recent access decisions, denials first, each with its explanation
// (policy.Snapshot.Decide), and the policy in force; and the two actions
// an administrator has on Windows, closing a session and closing an open.
//
// The page and its script are embedded (no framework, nothing fetched
// from the network) and poll /api/status every second. Every path but
// /healthz (and /metrics, when a Metrics handler is given) needs the
// token: as "Authorization: Bearer TOKEN", or as the HttpOnly cookie that
// GET /login?token=TOKEN sets (the URL `smbpipe status --url` prints).
// No credential is 401, a wrong one 403. The actions are POSTs that also
// need the header "X-Smbpipe-Action: 1", which a cross-site form cannot
// send, and the cookie is SameSite=Strict.
package admin

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/security"
	"github.com/smbpipe/smbpipe/server"
)

//go:embed static
var static embed.FS

// cookiePrefix names the cookie holding the token in the browser:
// cookieName adds the port, because a browser keeps one cookie of a name
// per host, whatever the port. Two endpoints on one host (two services, or
// a fleet's servers on 127.0.0.1) would otherwise overwrite each other's,
// and the first page would be refused with the second's token.
const cookiePrefix = "smbpipe_admin"

// cookieName is the cookie of the endpoint r was sent to:
// smbpipe_admin_PORT (smbpipe_admin without a port in Host).
func cookieName(r *http.Request) string {
	if _, port, err := net.SplitHostPort(r.Host); err == nil && port != "" {
		return cookiePrefix + "_" + port
	}
	return cookiePrefix
}

// ActionHeader must be set (to any value) on the POST actions.
const ActionHeader = "X-Smbpipe-Action"

// Options configure Handler. Server and Token are required.
type Options struct {
	Server *server.Server
	// Token is the credential every request but /healthz must carry.
	Token string
	// PolicyFile is the config file shown ("" : the embedded default).
	PolicyFile string
	// ReloadFailures counts failed reloads of the file (nil: none shown).
	ReloadFailures func() uint64
	// Metrics, when set, is served at /metrics without the token, as on a
	// separate --metrics listener.
	Metrics http.Handler
	// Logger receives a record of each refused request; nil discards.
	Logger *slog.Logger
}

// Status is what GET /api/status returns and `smbpipe status --json`
// prints.
type Status struct {
	Time      time.Time             `json:"time"`
	Sessions  []server.SessionInfo  `json:"sessions"`
	Opens     []server.OpenInfo     `json:"opens"`
	Decisions []server.DecisionInfo `json:"decisions"`
	Policy    PolicyInfo            `json:"policy"`
}

// PolicyInfo is the policy in force.
type PolicyInfo struct {
	File           string    `json:"file"`
	Applied        time.Time `json:"applied"`
	ReloadFailures uint64    `json:"reload_failures"`
	Pipes          []string  `json:"pipes"`
	// Revision is the revision of the policy store the policy was read
	// at (etcd: the key's ModRevision); 0, and absent, for a file.
	Revision int64 `json:"revision,omitempty"`
}

type handler struct {
	o   Options
	mux *http.ServeMux
}

// Handler returns the admin endpoint's handler.
func Handler(o Options) (http.Handler, error) {
	if o.Server == nil || o.Token == "" {
		return nil, fmt.Errorf("admin: Options.Server and Options.Token are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{o: o, mux: http.NewServeMux()}
	sub, _ := fs.Sub(static, "static")
	files := http.FileServerFS(sub)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	if o.Metrics != nil {
		h.mux.Handle("GET /metrics", o.Metrics)
	}
	h.mux.HandleFunc("GET /login", h.login)
	h.mux.Handle("GET /{$}", h.auth(files))
	h.mux.Handle("GET /static/", h.auth(http.StripPrefix("/static", files)))
	h.mux.Handle("GET /api/status", h.auth(http.HandlerFunc(h.status)))
	h.mux.Handle("GET /api/explain", h.auth(http.HandlerFunc(h.explain)))
	h.mux.Handle("POST /api/sessions/{id}/close", h.auth(h.action(h.closeSession)))
	h.mux.Handle("POST /api/opens/{id}/close", h.auth(h.action(h.closeOpen)))
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	h.mux.ServeHTTP(w, r)
}

func (h *handler) valid(tok string) bool {
	return subtle.ConstantTimeCompare([]byte(tok), []byte(h.o.Token)) == 1
}

// credential returns the token the request carries ("" for none).
func credential(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		// The scheme is case-insensitive (RFC 9110 section 11.1).
		if scheme, t, ok := strings.Cut(strings.TrimSpace(a), " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(t)
		}
		return a // present but not a bearer token: a wrong credential
	}
	if c, err := r.Cookie(cookieName(r)); err == nil {
		return c.Value
	}
	if c, err := r.Cookie(cookiePrefix); err == nil {
		return c.Value // set before the name carried the port
	}
	return ""
}

// auth admits a request with the token: 401 without a credential, 403
// with a wrong one.
func (h *handler) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch tok := credential(r); {
		case tok == "":
			w.Header().Set("WWW-Authenticate", `Bearer realm="smbpipe admin"`)
			http.Error(w, "401 unauthorized: open the URL `smbpipe status --url` prints, or send Authorization: Bearer TOKEN", http.StatusUnauthorized)
		case !h.valid(tok):
			h.o.Logger.Warn("admin request refused: wrong token", "remote", r.RemoteAddr, "path", r.URL.Path)
			http.Error(w, "403 forbidden: wrong token", http.StatusForbidden)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// login takes the token once from the URL and keeps it in a cookie.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	switch {
	case tok == "":
		http.Error(w, "401 unauthorized: /login?token=TOKEN", http.StatusUnauthorized)
		return
	case !h.valid(tok):
		h.o.Logger.Warn("admin login refused: wrong token", "remote", r.RemoteAddr)
		http.Error(w, "403 forbidden: wrong token", http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// action guards a POST against cross-site requests: the action header
// must be there, and a browser's Origin, when sent, must be this host.
func (h *handler) action(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(ActionHeader) == "" {
			http.Error(w, "403 forbidden: actions need the "+ActionHeader+" header", http.StatusForbidden)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host && o != "https://"+r.Host {
			http.Error(w, "403 forbidden: cross-origin action", http.StatusForbidden)
			return
		}
		next(w, r)
	})
}

// Snapshot returns the status now.
func (h *handler) snapshot() Status {
	s := h.o.Server
	st := Status{
		Time:      time.Now(),
		Sessions:  s.Sessions(),
		Opens:     s.Opens(),
		Decisions: s.Decisions(),
		Policy:    PolicyInfo{File: h.o.PolicyFile, Applied: s.PolicyApplied()},
	}
	if st.Policy.File == "" {
		st.Policy.File = "(embedded default)"
	}
	if h.o.ReloadFailures != nil {
		st.Policy.ReloadFailures = h.o.ReloadFailures()
	}
	snap := s.Policy()
	st.Policy.Revision = snap.Revision()
	if cfg := snap.Config(); cfg != nil {
		for _, p := range cfg.Pipes {
			st.Policy.Pipes = append(st.Policy.Pipes, p.Name)
		}
	}
	return st
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(h.snapshot())
}

// explain prints a recorded decision decided again with its trace, in
// the words of `smbpipe explain`.
func (h *handler) explain(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.URL.Query().Get("seq"), 10, 64)
	if err != nil {
		http.Error(w, "400 bad request: seq=N", http.StatusBadRequest)
		return
	}
	e, ok := h.o.Server.Explain(seq)
	if !ok {
		http.Error(w, "404 not found: that decision is no longer recorded", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	WriteExplanation(w, e)
}

// WriteExplanation writes e as `smbpipe explain` does.
func WriteExplanation(w interface{ Write([]byte) (int, error) }, e server.Explanation) {
	d := e.Decision
	fmt.Fprintf(w, "decision: #%d at %s, %s from %s (session %d)\n", d.Seq, d.Time.Format(time.RFC3339), Printable(d.Message), Printable(d.Client), d.Session)
	who := d.Kind
	if d.User != "" {
		who += " " + Printable(d.Domain+`\`+d.User)
	}
	if e.Request == nil {
		fmt.Fprintf(w, "request:  logon as %s\n", who)
		fmt.Fprintf(w, "result:   %s\n", d.Status)
		fmt.Fprintf(w, "rule:     %s\n", d.Rule)
		fmt.Fprintf(w, "reason:   %s\n", Printable(d.Reason))
		return
	}
	q := e.Request
	fmt.Fprintf(w, "request:  %s, pipe %q, desired access 0x%08X (%s), impersonation level %d\n",
		who, q.PipeName, q.DesiredAccess, security.RightsNames(q.DesiredAccess), q.ImpersonationLevel)
	x := e.Explained
	for _, s := range x.Steps {
		for l := range strings.SplitSeq(s, "\n") {
			fmt.Fprintln(w, Printable(l))
		}
	}
	fmt.Fprintf(w, "rule:     %s\n", x.Rule)
	fmt.Fprintf(w, "reason:   %s\n", Printable(x.Reason))
	if d.Status != ntstatus.Success.String() && d.Rule == "open" {
		fmt.Fprintf(w, "open:     %s\n", Printable(d.Reason))
	}
	for i, f := range x.Fixes {
		if len(x.Fixes) > 1 {
			f = fmt.Sprintf("(%d) %s", i+1, f)
		}
		fmt.Fprintf(w, "fix:      %s\n", f)
	}
}

func (h *handler) closeSession(w http.ResponseWriter, r *http.Request) {
	h.close(w, r, h.o.Server.CloseSession)
}

func (h *handler) closeOpen(w http.ResponseWriter, r *http.Request) {
	h.close(w, r, h.o.Server.CloseOpen)
}

func (h *handler) close(w http.ResponseWriter, r *http.Request, f func(uint64, string) error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "400 bad request: id", http.StatusBadRequest)
		return
	}
	if err := f(id, "admin "+r.RemoteAddr); err != nil {
		http.Error(w, "404 not found: "+err.Error(), http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
