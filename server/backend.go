package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/smbpipe/smbpipe/backend"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
)

// handlerFor returns the handler that serves a [[pipe]]'s backend.
func handlerFor(p policy.Pipe, log *slog.Logger) (backend.Handler, error) {
	h, err := backend.FromSpec(p.Backend, log.With("pipe", p.Name))
	if err != nil {
		return nil, fmt.Errorf("server: pipe %q: %w", p.Name, err)
	}
	return h, nil
}

// serveBackend accepts server ends from l until ctx ends or l is closed and
// runs h on each; every goroutine is counted on wg, so Close and Shutdown
// can wait for them.
func serveBackend(ctx context.Context, l *pipe.Listener, h backend.Handler, wg *sync.WaitGroup) {
	for {
		e, err := l.AcceptEnd(ctx)
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeEnd(e)
		}()
	}
}
