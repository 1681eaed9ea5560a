package etcdsource_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testetcd"
	"github.com/smbpipe/smbpipe/policy/etcdsource"
)

// addUser adds the etcd role role with permission perm ("read" or
// "readwrite") on the policy key, and the user user:password in it.
func addUser(e *testetcd.Etcd, user, password, role, perm string) {
	e.Ctl("role", "add", role)
	e.Ctl("role", "grant-permission", role, perm, key)
	e.Ctl("user", "add", user+":"+password, "--interactive=false")
	e.Ctl("user", "grant-role", user, role)
}

// TestTLS: over TLS with a client certificate (as etcd's
// --client-cert-auth requires), the source reads and watches the key;
// without the client certificate, or without the CA, etcd gives nothing.
func TestTLS(t *testing.T) {
	e, files := testetcd.StartTLS(t)
	e.Ctl("put", key, policyWith("a"))
	a := newApplied()
	o := options(t, e.Endpoint(), a)
	o.CAFile, o.CertFile, o.KeyFile = files.CACert, files.Cert, files.Key
	src := mustOpen(t, o)
	if src.FromCache() {
		t.Fatal("over TLS: started from the cache")
	}
	run(t, src)
	e.Ctl("put", key, policyWith("b"))
	if s := a.wait(t, 2*time.Second); strings.Join(nullPipes(s), ",") != "b" {
		t.Fatalf("applied %v, want [b]", nullPipes(s))
	}

	for name, change := range map[string]func(*etcdsource.Options){
		"no client certificate": func(o *etcdsource.Options) { o.CertFile, o.KeyFile = "", "" },
		"no CA":                 func(o *etcdsource.Options) { o.CAFile = "" },
		"plain TCP":             func(o *etcdsource.Options) { o.CAFile, o.CertFile, o.KeyFile = "", "", "" },
	} {
		bad := o
		bad.DialTimeout = time.Second
		bad.CachePath = filepath.Join(t.TempDir(), "none.toml")
		change(&bad)
		if src, err := etcdsource.Open(t.Context(), bad); err == nil {
			src.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

// TestAuth: with etcd's authentication on, servers log on as a user whose
// role may only read the key; the source reads and watches it with that
// user; a wrong password gives nothing; and that user cannot write the
// policy (an operator's user can).
func TestAuth(t *testing.T) {
	e := testetcd.Start(t)
	e.Ctl("put", key, policyWith("a"))
	addUser(e, "server", "s3rver", "smbpipe-server", "read")
	addUser(e, "ops", "0ps", "smbpipe-operator", "readwrite")
	e.EnableAuth("r00t")

	a := newApplied()
	o := options(t, e.Endpoint(), a)
	o.User, o.Password = "server", "s3rver"
	src := mustOpen(t, o)
	if src.FromCache() {
		t.Fatal("with a user: started from the cache")
	}
	run(t, src)

	client := func(user, pass string) (func(string) error, func()) {
		c, err := etcdsource.NewClient(etcdsource.ClientOptions{Endpoints: []string{e.Endpoint()}, User: user, Password: pass})
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		return func(v string) error {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, err := c.Put(ctx, key, v)
			return err
		}, func() { c.Close() }
	}
	putAsServer, closeServer := client("server", "s3rver")
	defer closeServer()
	if err := putAsServer(policyWith("x")); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the servers' user wrote the policy: %v", err)
	}
	putAsOps, closeOps := client("ops", "0ps")
	defer closeOps()
	if err := putAsOps(policyWith("b")); err != nil {
		t.Fatal(err)
	}
	if s := a.wait(t, 2*time.Second); strings.Join(nullPipes(s), ",") != "b" {
		t.Fatalf("applied %v, want [b]", nullPipes(s))
	}

	bad := o
	bad.Password = "wrong"
	bad.CachePath = filepath.Join(t.TempDir(), "none.toml")
	if src, err := etcdsource.Open(t.Context(), bad); err == nil {
		src.Close()
		t.Error("a wrong password opened the source")
	} else if !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("a wrong password: %v, want etcd's authentication failure", err)
	}
}

// TestAuthTokenExpiry: etcd's authentication tokens expire (here after a
// second); the source keeps applying revisions with its user long after,
// across a lost and restored connection too.
func TestAuthTokenExpiry(t *testing.T) {
	e := testetcd.Start(t, "--auth-token-ttl=1")
	p := testetcd.NewProxy(t, e.Endpoint())
	e.Ctl("put", key, policyWith("a"))
	addUser(e, "server", "s3rver", "smbpipe-server", "read")
	e.EnableAuth("r00t")

	a := newApplied()
	o := options(t, p.Addr(), a)
	o.User, o.Password = "server", "s3rver"
	src := mustOpen(t, o)
	run(t, src)
	time.Sleep(3 * time.Second) // the token is expired
	e.Ctl("put", key, policyWith("b"))
	if s := a.wait(t, 2*time.Second); strings.Join(nullPipes(s), ",") != "b" {
		t.Fatalf("applied %v, want [b]", nullPipes(s))
	}
	p.Cut()
	e.Ctl("put", key, policyWith("c"))
	time.Sleep(3 * time.Second)
	p.Restore()
	if s := a.wait(t, 10*time.Second); strings.Join(nullPipes(s), ",") != "c" {
		t.Fatalf("after reconnecting with an expired token: applied %v, want [c]", nullPipes(s))
	}
}
