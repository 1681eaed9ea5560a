// Package etcdsource takes an smbpipe policy from one etcd key, so that a
// fleet of servers decides with one policy: it reads the key at start
// (or, when etcd is unreachable, a local cache of the last revision
// applied), then watches it and applies each new revision through the
// policy package's compile, validate and atomic swap (Store.ApplySource),
// within milliseconds of the put. A revision that does not compile is
// refused and logged with its revision; the policy in force stays. While
// etcd is unreachable the server keeps its policy, and the watch resumes
// from the next revision when etcd is back (every revision is applied once,
// in order); a watch behind etcd's compaction re-reads the key.
//
// Only the smbpipe command imports this package: the root package,
// server, policy and client do not depend on etcd or gRPC (archtest).
package etcdsource

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// ClientOptions are how to reach etcd, named as etcdctl names them.
type ClientOptions struct {
	// Endpoints are HOST:PORT addresses of etcd members (at least one).
	Endpoints []string
	// CAFile, CertFile and KeyFile are PEM files: the CA that signed
	// the members' certificates, and this client's certificate and key
	// (named so as not to be confused with Options.Key, the etcd key).
	// Any of them set turns TLS on.
	CAFile, CertFile, KeyFile string
	// User and Password authenticate to etcd ("" : no authentication).
	User, Password string
	// DialTimeout bounds connecting and each single request (zero: 5 s).
	DialTimeout time.Duration
	// MaxBackoff bounds the wait between reconnection attempts while etcd
	// is unreachable (zero: 2 s).
	MaxBackoff time.Duration
}

const (
	defaultDialTimeout = 5 * time.Second
	defaultMaxBackoff  = 2 * time.Second
	minBackoff         = 100 * time.Millisecond
)

func (o ClientOptions) dialTimeout() time.Duration {
	if o.DialTimeout > 0 {
		return o.DialTimeout
	}
	return defaultDialTimeout
}

func (o ClientOptions) maxBackoff() time.Duration {
	if o.MaxBackoff > 0 {
		return o.MaxBackoff
	}
	return defaultMaxBackoff
}

// NewClient connects to etcd. The client logs nothing of its own (errors
// come back to the caller), retries a lost connection with a backoff of at
// most MaxBackoff, and pings an idle connection so that a member that
// vanished is noticed within seconds. With User set it authenticates at
// once, so it fails while etcd is unreachable; without, it connects
// lazily. The caller closes it.
func NewClient(o ClientOptions) (*clientv3.Client, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("etcdsource: no etcd endpoint")
	}
	cfg := clientv3.Config{
		Endpoints:            o.Endpoints,
		DialTimeout:          o.dialTimeout(),
		DialKeepAliveTime:    2 * time.Second,
		DialKeepAliveTimeout: 2 * time.Second,
		Username:             o.User,
		Password:             o.Password,
		Logger:               zap.NewNop(),
		// An RPC retried inside the client waits this long between tries.
		BackoffWaitBetween: minBackoff,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: minBackoff, Multiplier: 1.6, Jitter: 0.2, MaxDelay: o.maxBackoff()},
			MinConnectTimeout: o.dialTimeout(),
		})},
	}
	if o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" {
		tc, err := tlsConfig(o)
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	}
	c, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcdsource: etcd %s: %w", strings.Join(o.Endpoints, ","), err)
	}
	return c, nil
}

func tlsConfig(o ClientOptions) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("etcdsource: --etcd-cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcdsource: --etcd-cacert %s: no PEM certificate", o.CAFile)
		}
		tc.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("etcdsource: --etcd-cert and --etcd-key go together")
	}
	if o.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("etcdsource: --etcd-cert/--etcd-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// ParseURL splits a policy URL etcd://HOST:PORT[,HOST:PORT...]/KEY into
// its endpoints and key. The key is everything after the first slash
// following the endpoints, with its leading slash: etcd://h:2379/smbpipe/policy
// names the key "/smbpipe/policy".
func ParseURL(s string) (endpoints []string, key string, err error) {
	rest, ok := strings.CutPrefix(s, "etcd://")
	if !ok {
		return nil, "", fmt.Errorf("policy source %q: want etcd://HOST:PORT[,HOST:PORT...]/KEY", s)
	}
	hosts, k, ok := strings.Cut(rest, "/")
	if !ok || k == "" {
		return nil, "", fmt.Errorf("policy source %q: no key (want etcd://HOST:PORT[,HOST:PORT...]/KEY)", s)
	}
	if endpoints, err = ParseEndpoints(hosts); err != nil {
		return nil, "", fmt.Errorf("policy source %q: %w", s, err)
	}
	return endpoints, "/" + k, nil
}

// ParseEndpoints splits HOST:PORT[,HOST:PORT...] and checks each address.
func ParseEndpoints(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("no etcd endpoint")
	}
	var eps []string
	for ep := range strings.SplitSeq(s, ",") {
		host, port, err := net.SplitHostPort(ep)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("etcd endpoint %q: want HOST:PORT", ep)
		}
		eps = append(eps, ep)
	}
	return eps, nil
}
