package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/client"
)

// TestRunSrvsvc: NetrServerGetInfo 101 through a bound srvsvc association
// on two workers, as alice: every call answered and checked. Anonymous
// callers cannot open \pipe\srvsvc (not a null-session pipe), so the run
// fails at setup; a pipe that is not srvsvc fails the bind.
func TestRunSrvsvc(t *testing.T) {
	addr := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := client.Config{User: "alice", Password: "Passw0rd!"}
	r, err := RunSrvsvc(ctx, Options{Addr: addr, Client: alice, Concurrency: 2, Count: 200})
	if err != nil {
		t.Fatal(err)
	}
	if r.Ops != 200 || r.Errors != 0 || r.Workload != Srvsvc || r.Size != 68 || r.P50 <= 0 {
		t.Errorf("result %+v", r)
	}
	if _, err := RunSrvsvc(ctx, Options{Addr: addr, Count: 1}); err == nil || !strings.Contains(err.Error(), "STATUS_ACCESS_DENIED") {
		t.Errorf("anonymous: %v, want STATUS_ACCESS_DENIED", err)
	}
	if _, err := RunSrvsvc(ctx, Options{Addr: addr, Client: alice, Pipe: "echo", Count: 1}); err == nil || !strings.Contains(err.Error(), "bind") {
		t.Errorf("echo pipe: %v, want a failed bind", err)
	}
}
