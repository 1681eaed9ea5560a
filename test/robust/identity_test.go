package robust

import (
	"context"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/pipe"
)

// TestCallerIdentity: the pipe's server end sees the identity Windows
// would present, never the names the client chose: a guest logon is the
// Guest account, whatever user and domain it sent; a user is the account
// as configured, in the server's domain, whatever case and domain it
// sent. Before, a guest session passed
// on the client's user name (Administrator) and any domain.
func TestCallerIdentity(t *testing.T) {
	ts := start(t, "guest = true\ndomain = \"CORP\"")
	l, err := ts.srv.Listen("who", pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex}, "D:(A;;FA;;;WD)(A;;FA;;;AN)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, tc := range []struct {
		name               string
		cfg                client.Config
		user, domain       string
		anonymous, isGuest bool
	}{
		{"guest as Administrator", client.Config{User: "Administrator", Password: "x", Domain: "EVIL"}, "Guest", "CORP", false, true},
		{"guest as nobody", client.Config{User: "nobody", Password: "x"}, "Guest", "CORP", false, true},
		{"alice in another case and domain", client.Config{User: "ALICE", Password: "Passw0rd!", Domain: "EVIL"}, "alice", "CORP", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, ts.addr, tc.cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if _, err := c.OpenPipe(ctx, "who"); err != nil {
				t.Fatal(err)
			}
			e, err := l.AcceptEnd(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			who, ok := e.Caller()
			if !ok {
				t.Fatal("no caller on the server end")
			}
			if who.User != tc.user || who.Domain != tc.domain || who.Anonymous != tc.anonymous || who.Guest != tc.isGuest {
				t.Fatalf("caller %+v, want user %q domain %q anonymous %v guest %v", who, tc.user, tc.domain, tc.anonymous, tc.isGuest)
			}
		})
	}
}
