package etcdsource_test

import (
	"context"
	"log"
	"log/slog"

	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/policy/etcdsource"
	"github.com/smbpipe/smbpipe/server"
)

// A server that takes its policy from etcd: Open reads the key (or the
// cache while etcd is unreachable), the server starts with that policy,
// and Run applies every later revision through SetPolicy until ctx ends.
// (Not run: it needs an etcd on 127.0.0.1:2379 and a policy at the key;
// smbpipe serve --policy etcd://... does the same.)
func ExampleOpen() {
	ctx := context.Background()
	var srv *server.Server
	src, err := etcdsource.Open(ctx, etcdsource.Options{
		ClientOptions: etcdsource.ClientOptions{Endpoints: []string{"127.0.0.1:2379"}},
		Key:           "/smbpipe/policy",
		CachePath:     "/var/lib/smbpipe/policy-smbpipe_policy.toml",
		OnApply: func(s *policy.Snapshot) {
			if err := srv.SetPolicy(s); err != nil {
				slog.Error("some pipes could not be updated", "error", err.Error())
			}
		},
	})
	if err != nil {
		log.Fatal(err) // neither etcd nor the cache gave a policy
	}
	srv, err = server.New(server.Options{Snapshot: src.Store().Current()})
	if err != nil {
		log.Fatal(err)
	}
	go src.Run(ctx)
	// ... srv.Serve(listener)
}
