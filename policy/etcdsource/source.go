package etcdsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/connectivity"

	"github.com/smbpipe/smbpipe/policy"
)

// Options configure a Source.
type Options struct {
	ClientOptions
	// Key is the etcd key holding the policy's TOML.
	Key string
	// Local is the local part of the configuration (policy.ParseLocal):
	// listen and [limits]. Nil: their defaults.
	Local *policy.Config
	// CachePath is where the last applied revision is kept (WriteCache).
	// Required.
	CachePath string
	// Logger receives the source's records (nil: slog.Default()).
	Logger *slog.Logger
	// OnApply, when set, is called with each new policy right after it
	// became current (the server's SetPolicy): from Run's goroutine, or
	// SetLocal's caller; never twice at once.
	OnApply func(*policy.Snapshot)
}

// Source is a policy taken from one etcd key. Open reads the first
// revision; Run watches for the next ones until its context ends.
type Source struct {
	o     Options
	log   *slog.Logger
	store *policy.Store

	client    *clientv3.Client // nil until connected (NewClient failed at Open)
	closeOnce sync.Once

	// watchFrom is the next etcd revision the watch asks for; 0 means the
	// key must be read again first (never read, or compacted past).
	// Only Open and Run's goroutine touch it.
	watchFrom int64
	fromCache bool
	// reconnected is signalled by monitor when the connection to etcd is
	// back after a loss: Run then watches again (see refreshAuth).
	reconnected chan struct{}
	// resyncAsked is signalled by Resync: Run reads the key again.
	resyncAsked chan struct{}

	// mu is held while a policy is compiled and made current (apply,
	// SetLocal), so that the two apply in order; it guards o.Local and
	// data and rev, the source and revision of the policy in force.
	mu   sync.Mutex
	data []byte
	rev  int64
}

// Open reads the policy at o.Key and compiles it with o.Local. When etcd
// is unreachable, the key is absent or its value does not compile, it
// starts from the cached last good revision at o.CachePath instead
// (logged at Warn with the reason), and fails with a message saying both
// why etcd gave no policy and why there is no cache when there is none.
// The Source holds an etcd client: call Run, or Close if Run is never
// called.
func Open(ctx context.Context, o Options) (*Source, error) {
	if o.Key == "" {
		return nil, errors.New("etcdsource: no key")
	}
	if o.CachePath == "" {
		return nil, errors.New("etcdsource: no cache path")
	}
	s := &Source{o: o, log: o.Logger, reconnected: make(chan struct{}, 1), resyncAsked: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("etcd", s.endpoints(), "key", o.Key)

	var first *policy.Snapshot
	var why error // why etcd gave no policy
	c, err := NewClient(o.ClientOptions)
	if err == nil {
		s.client = c
		gctx, cancel := context.WithTimeout(ctx, o.dialTimeout())
		var resp *clientv3.GetResponse
		resp, err = c.Get(gctx, o.Key)
		cancel()
		if err == nil {
			s.watchFrom = resp.Header.Revision + 1
			if len(resp.Kvs) == 0 {
				why = fmt.Errorf("etcd key %s does not exist (put a policy there with smbpipe policy push)", o.Key)
			} else {
				kv := resp.Kvs[0]
				var snap *policy.Snapshot
				cerr := checkSize(kv.Value)
				if cerr == nil {
					snap, cerr = policy.CompileSource(kv.Value, s.name(kv.ModRevision), kv.ModRevision, o.Local)
				}
				if cerr != nil {
					why = fmt.Errorf("etcd key %s revision %d is not a valid policy: %w", o.Key, kv.ModRevision, cerr)
				} else {
					first, s.data, s.rev = snap, kv.Value, kv.ModRevision
					s.writeCache(kv.Value, kv.ModRevision)
					s.log.Info("policy read from etcd", "policy_revision", kv.ModRevision)
				}
			}
		}
	}
	if err != nil {
		why = fmt.Errorf("etcd %s unreachable: %w", s.endpoints(), err)
	}
	if first == nil {
		snap, cerr := s.fromCacheFile()
		if cerr != nil {
			s.Close()
			return nil, fmt.Errorf("etcdsource: no policy: %w; and no usable cached policy: %w", why, cerr)
		}
		first, s.fromCache = snap, true
		s.log.Warn("starting from the cached policy; etcd gave none", "reason", why.Error(),
			"cache", o.CachePath, "policy_revision", snap.Revision())
	}
	s.store = policy.NewSourceStore(first, s.log)
	return s, nil
}

func (s *Source) fromCacheFile() (*policy.Snapshot, error) {
	key, rev, data, err := ReadCache(s.o.CachePath)
	if err != nil {
		return nil, err
	}
	if key != s.o.Key {
		return nil, fmt.Errorf("cache %s holds key %s, not %s", s.o.CachePath, key, s.o.Key)
	}
	snap, err := policy.CompileSource(data, s.o.CachePath, rev, s.o.Local)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", s.o.CachePath, err)
	}
	s.data, s.rev = data, rev
	return snap, nil
}

// Resync asks Run to read the key again and apply it when its revision
// is not the one in force, then watch from there: what an operator asks
// for (serve on SIGHUP) after restoring etcd from a backup, whose
// revisions may be lower than the ones the watch waits for. It does not
// wait, and is safe for concurrent use.
func (s *Source) Resync() {
	select {
	case s.resyncAsked <- struct{}{}:
	default:
	}
}

// SetLocal replaces the local part of the configuration (Options.Local:
// listen and [limits]) and applies it at once to the policy in force,
// whose revision stays the same; later revisions compile with it. When
// the policy does not compile with local, SetLocal changes nothing and
// returns why (the store counts and logs the refusal). serve calls it on
// SIGHUP with its --config file read again. OnApply is called with the
// new policy, from the calling goroutine; SetLocal is safe for concurrent
// use with Run.
func (s *Source) SetLocal(local *policy.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err := s.store.ApplySource(s.data, s.name(s.rev), s.rev, local)
	if err != nil {
		return err
	}
	s.o.Local = local
	if s.o.OnApply != nil {
		s.o.OnApply(snap)
	}
	return nil
}

// Store is the policy store the source applies revisions to; its Current
// is the policy in force (Snapshot.Revision says which revision).
func (s *Source) Store() *policy.Store { return s.store }

// FromCache reports whether Open started from the cache file.
func (s *Source) FromCache() bool { return s.fromCache }

// Close closes the etcd client. Run closes it when it returns; Close is
// for a Source whose Run is never called, and may be called again.
func (s *Source) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.client != nil {
			err = s.client.Close()
		}
	})
	return err
}

func (s *Source) endpoints() string { return strings.Join(s.o.Endpoints, ",") }

// name names a revision in errors: "KEY@REVISION".
func (s *Source) name(rev int64) string { return s.o.Key + "@" + strconv.FormatInt(rev, 10) }

// Run watches the key and applies each new revision until ctx ends, then
// closes the etcd client. While etcd is unreachable it keeps the policy
// in force and retries with a backoff of up to MaxBackoff; the watch
// resumes at the revision after the last one seen, so no revision is
// missed or applied twice; a watch that fell behind etcd's compaction
// reads the key again. Run is called once.
func (s *Source) Run(ctx context.Context) {
	defer s.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	delay := minBackoff
	wait := func() bool {
		t := time.NewTimer(delay)
		defer t.Stop()
		delay = min(2*delay, s.o.maxBackoff())
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	var stopMonitor context.CancelFunc // nil: no monitor for s.client yet
	defer func() {
		if stopMonitor != nil {
			stopMonitor()
		}
	}()
	for ctx.Err() == nil {
		if s.client == nil {
			c, err := NewClient(s.o.ClientOptions)
			if err != nil {
				s.log.Warn("etcd unreachable; serving the policy in force", "policy_revision", s.store.Current().Revision(), "error", err.Error())
				if !wait() {
					return
				}
				continue
			}
			s.client = c
		}
		if stopMonitor == nil {
			mctx, stop := context.WithCancel(ctx)
			stopMonitor = stop
			c := s.client
			wg.Go(func() { s.monitor(mctx, c) })
		}
		if s.watchFrom == 0 {
			if err := s.resync(ctx); err != nil {
				if ctx.Err() == nil {
					s.log.Warn("etcd: reading the policy key failed; serving the policy in force", "policy_revision", s.store.Current().Revision(), "error", err.Error())
				}
				if !wait() {
					return
				}
				continue
			}
		}
		if err := s.refreshAuth(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			// Some etcd servers (3.4) refuse even the request for a new
			// token while the client presents its expired one: a new
			// client logs on afresh.
			s.log.Warn("etcd: logging on again failed; serving the policy in force, connecting again",
				"policy_revision", s.store.Current().Revision(), "error", err.Error())
			stopMonitor()
			stopMonitor = nil
			s.client.Close()
			s.client = nil
			if !wait() {
				return
			}
			continue
		}
		err := s.watch(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errReconnected) {
			continue
		}
		if err != nil {
			s.log.Warn("etcd watch ended; retrying", "next_revision", s.watchFrom, "error", err.Error())
			if !wait() {
				return
			}
			continue
		}
		delay = minBackoff // compacted: re-read at once
	}
}

// resync reads the key and applies it when its revision is not the one
// in force, then sets the watch to start after the read.
func (s *Source) resync(ctx context.Context) error {
	gctx, cancel := context.WithTimeout(ctx, s.o.dialTimeout())
	resp, err := s.client.Get(gctx, s.o.Key)
	cancel()
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 {
		s.log.Error("etcd policy key absent; keeping the policy in force", "policy_revision", s.store.Current().Revision())
	} else if kv := resp.Kvs[0]; kv.ModRevision != s.store.Current().Revision() {
		// Not "greater": a cluster restored from a backup may number
		// its revisions lower than the cache.
		s.apply(kv.Value, kv.ModRevision)
	}
	if s.fromCache {
		s.fromCache = false
		s.log.Info("etcd reachable; policy in sync", "policy_revision", s.store.Current().Revision())
	}
	s.watchFrom = resp.Header.Revision + 1
	return nil
}

// errWatchClosed: the watch channel closed without a cancel reason.
var errWatchClosed = errors.New("etcdsource: watch closed")

// errReconnected: the connection to etcd came back after a loss; the
// watch is made again.
var errReconnected = errors.New("etcdsource: reconnected")

// refreshAuth makes one request with the client's credentials before a
// watch is made, when they include a user. etcd's authentication tokens
// expire (--auth-token-ttl, 5 minutes by default), and the client renews
// its token only when a unary request is refused for it: a watch made
// again after a reconnection would otherwise keep presenting the expired
// token and never start (etcd issues 11954 and 12385).
func (s *Source) refreshAuth(ctx context.Context) error {
	if s.o.User == "" {
		return nil
	}
	gctx, cancel := context.WithTimeout(ctx, s.o.dialTimeout())
	defer cancel()
	_, err := s.client.Get(gctx, s.o.Key, clientv3.WithCountOnly())
	return err
}

// watch applies the key's events from watchFrom on. It returns nil when
// the watch fell behind a compaction (watchFrom is then 0: read the key
// again), and the watch's error otherwise.
func (s *Source) watch(ctx context.Context) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	ch := s.client.Watch(wctx, s.o.Key, clientv3.WithRev(s.watchFrom), clientv3.WithProgressNotify())
	for {
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case resp, ok = <-ch:
		case <-s.reconnected:
			return errReconnected
		case <-s.resyncAsked:
			s.log.Info("reading the policy key again, as asked", "policy_revision", s.store.Current().Revision())
			s.watchFrom = 0
			return nil
		}
		if !ok {
			break
		}
		if resp.CompactRevision != 0 {
			s.log.Warn("etcd watch compacted past the next revision; reading the key again",
				"next_revision", s.watchFrom, "compact_revision", resp.CompactRevision)
			s.watchFrom = 0
			return nil
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if resp.IsProgressNotify() {
			s.watchFrom = max(s.watchFrom, resp.Header.Revision+1)
			continue
		}
		for _, ev := range resp.Events {
			switch {
			case ev.Type == mvccpb.DELETE:
				s.log.Error("etcd policy key deleted; keeping the policy in force",
					"revision", ev.Kv.ModRevision, "policy_revision", s.store.Current().Revision())
			case ev.Kv.ModRevision > s.store.Current().Revision():
				s.apply(ev.Kv.Value, ev.Kv.ModRevision)
			}
			s.watchFrom = ev.Kv.ModRevision + 1
		}
	}
	return errWatchClosed
}

// apply compiles and swaps in one revision (the store logs a refusal),
// then writes the cache and tells OnApply.
func (s *Source) apply(data []byte, rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkSize(data); err != nil {
		s.log.Error("policy revision refused; keeping the policy in force",
			"revision", rev, "policy_revision", s.store.Current().Revision(), "error", err.Error())
		return
	}
	snap, err := s.store.ApplySource(data, s.name(rev), rev, s.o.Local)
	if err != nil {
		return
	}
	s.data, s.rev = data, rev
	s.writeCache(data, rev)
	if s.o.OnApply != nil {
		s.o.OnApply(snap)
	}
}

// MaxPolicySize bounds the policy a source compiles: etcd's default
// request limit (1.5 MiB, --max-request-bytes) with room to spare. A
// larger value (from an etcd whose limit was raised) is refused unread.
const MaxPolicySize = 2 << 20

func checkSize(data []byte) error {
	if len(data) > MaxPolicySize {
		return fmt.Errorf("etcdsource: the policy is %d bytes, more than the %d a server compiles", len(data), MaxPolicySize)
	}
	return nil
}

func (s *Source) writeCache(data []byte, rev int64) {
	if err := WriteCache(s.o.CachePath, s.o.Key, rev, data); err != nil {
		s.log.Error("policy cache not written; a restart while etcd is unreachable would use an older one",
			"cache", s.o.CachePath, "policy_revision", rev, "error", err.Error())
	}
}

// monitor logs when the connection to etcd is lost and when it is back,
// with the revision in force meanwhile.
func (s *Source) monitor(ctx context.Context, client *clientv3.Client) {
	conn := client.ActiveConnection()
	state := conn.GetState()
	lost := false
	for conn.WaitForStateChange(ctx, state) {
		state = conn.GetState()
		switch {
		case state == connectivity.TransientFailure && !lost:
			lost = true
			s.log.Warn("etcd connection lost; serving the policy in force, reconnecting",
				"policy_revision", s.store.Current().Revision())
		case state == connectivity.Ready && lost:
			lost = false
			s.log.Info("etcd connection back; resuming the watch", "policy_revision", s.store.Current().Revision())
			select {
			case s.reconnected <- struct{}{}:
			default:
			}
		}
	}
}
