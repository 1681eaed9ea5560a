package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/policy/etcdsource"
)

const policyUsage = `usage: smbpipe policy push --etcd HOST:PORT[,...] --key KEY [--revision N | --force] FILE
       smbpipe policy get  --etcd HOST:PORT[,...] --key KEY

The policy of a fleet (serve --policy etcd://HOST:PORT/KEY) lives in one
etcd key. push validates FILE with the compiler serve uses (the same
problems "smbpipe check" prints, one per line, and a local setting such
as listen or [limits], which stays in each server's --config file), then
writes it only if the key is still at the revision the copy you edited
came from, and prints the new revision. Every server applies it within a
second. That revision is --revision N, or the one in the first line "policy
get" wrote (which push removes), or else the key's revision as push reads
it. --force writes whatever the key holds.

get prints the key's revision (a TOML comment line) and the policy's TOML:
smbpipe policy get ... > p.toml; edit p.toml; smbpipe policy push ... p.toml
refuses to overwrite a change someone else pushed meanwhile.

flags:
  --etcd ENDPOINTS     etcd members, HOST:PORT[,HOST:PORT...]
  --key KEY            the etcd key (as in serve's --policy URL, e.g. /smbpipe/policy)
  --revision N         push: write only if the key is at revision N
                       (0: only if the key does not exist yet)
  --force              push: write without comparing the revision
  --timeout D          bound on the whole command (default 10s)
` + etcdFlagsUsage + `
Exit status: 0 done, 1 refused (invalid policy, key changed, etcd error),
2 bad usage.
`

// maxPolicySize is the largest policy push writes: etcd refuses requests
// over 1.5 MiB by default (--max-request-bytes).
const maxPolicySize = 1536 << 10

func init() {
	register(command{"policy", "push or get a fleet's policy in etcd (validated, compare-and-swap)", policyUsage, runPolicy})
}

func runPolicy(args []string) int { return policyCmd(args, os.Stdout, os.Stderr) }

// policyCmd is runPolicy with its output streams injected (for tests).
func policyCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "push" && args[0] != "get") {
		return usageError(stderr, "policy", "want push or get", policyUsage)
	}
	sub := args[0]
	fs := newFlagSet("policy " + sub)
	var ef etcdFlags
	ef.flags(fs)
	endpoints := fs.String("etcd", "", "")
	key := fs.String("key", "", "")
	timeout := fs.Duration("timeout", 10*time.Second, "")
	var force *bool
	var revision *int64
	if sub == "push" {
		force = fs.Bool("force", false, "")
		revision = fs.Int64("revision", -1, "")
	}
	if c := parseFlags(fs, args[1:], policyUsage, stdout, stderr); c >= 0 {
		return c
	}
	bad := func(problem string) int { return usageError(stderr, "policy "+sub, problem, policyUsage) }
	if *endpoints == "" || *key == "" {
		return bad("--etcd and --key are required")
	}
	if (*key)[0] != '/' {
		return bad(fmt.Sprintf("--key %q: an etcd key starting with / (as in etcd://HOST:PORT/KEY)", *key))
	}
	eps, err := etcdsource.ParseEndpoints(*endpoints)
	if err != nil {
		return bad("--etcd: " + err.Error())
	}
	co, err := ef.clientOptions(eps)
	if err != nil {
		return bad(err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	co.DialTimeout = *timeout
	switch sub {
	case "get":
		if fs.NArg() > 0 {
			return bad(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
		}
		return policyGet(ctx, co, *key, stdout, stderr)
	}
	if fs.NArg() != 1 {
		return bad("want one policy FILE")
	}
	if *force && *revision >= 0 {
		return bad("--force and --revision contradict each other")
	}
	return policyPush(ctx, co, *key, fs.Arg(0), *force, *revision, stdout, stderr)
}

// policyPush validates file and writes it at key, with a compare-and-swap
// on the key's revision (the one read now, or want when it is >= 0)
// unless force.
func policyPush(ctx context.Context, co etcdsource.ClientOptions, key, file string, force bool, want int64, stdout, stderr io.Writer) int {
	data, err := readPolicyFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe policy push: %v\n", err)
		return 1
	}
	if rev, rest, ok := cutGetHeader(data, key); ok {
		data = rest
		if want < 0 && !force {
			want = rev
		}
	}
	if _, err := policy.CompileSource(data, file, 0, nil); err != nil {
		for _, line := range problemLines(err) {
			fmt.Fprintln(stderr, line)
		}
		fmt.Fprintf(stderr, "smbpipe policy push: %s is not a valid fleet policy; nothing written\n", file)
		return 1
	}
	c, err := etcdsource.NewClient(co)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe policy push: %v\n", err)
		return 1
	}
	defer c.Close()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "smbpipe policy push: etcd %s: %v\n", key, err)
		return 1
	}
	if force {
		resp, err := c.Put(ctx, key, string(data))
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s: revision %d\n", key, resp.Header.Revision)
		return 0
	}
	if want < 0 {
		resp, err := c.Get(ctx, key)
		if err != nil {
			return fail(err)
		}
		want = 0
		if len(resp.Kvs) > 0 {
			want = resp.Kvs[0].ModRevision
		}
	}
	// ModRevision 0 compares as "the key does not exist".
	resp, err := c.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", want)).
		Then(clientv3.OpPut(key, string(data))).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return fail(err)
	}
	if !resp.Succeeded {
		now := int64(0)
		if r := resp.Responses[0].GetResponseRange(); r != nil && len(r.Kvs) > 0 {
			now = r.Kvs[0].ModRevision
		}
		fmt.Fprintf(stderr, "smbpipe policy push: %s changed: it is at revision %d, not %d; nothing written (get it again, or --force)\n",
			key, now, want)
		return 1
	}
	fmt.Fprintf(stdout, "%s: revision %d\n", key, resp.Header.Revision)
	return 0
}

// The first line policy get prints, before the TOML: getHeaderPrefix,
// the key, getHeaderMiddle, the revision, getHeaderSuffix.
const (
	getHeaderPrefix = "# etcd key "
	getHeaderMiddle = ", revision "
	getHeaderSuffix = " (policy push compares with this revision)"
)

// cutGetHeader removes the line policy get printed before the TOML of key
// and returns the revision it names. A copy of another key keeps its
// line (a comment) and gives no revision.
func cutGetHeader(data []byte, key string) (rev int64, rest []byte, ok bool) {
	line, rest, found := bytes.Cut(data, []byte("\n"))
	if !found {
		return 0, nil, false
	}
	v, ok := bytes.CutPrefix(line, []byte(getHeaderPrefix+key+getHeaderMiddle))
	if !ok {
		return 0, nil, false
	}
	if v, ok = bytes.CutSuffix(v, []byte(getHeaderSuffix)); !ok {
		return 0, nil, false
	}
	rev, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || rev <= 0 {
		return 0, nil, false
	}
	return rev, rest, true
}

func readPolicyFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPolicySize {
		return nil, fmt.Errorf("%s: larger than etcd's default request limit (1.5 MiB)", file)
	}
	return data, nil
}

// errNoKey: get of a key that does not exist.
var errNoKey = errors.New("no such key (push a policy there first)")

// policyGet prints key's revision and TOML.
func policyGet(ctx context.Context, co etcdsource.ClientOptions, key string, stdout, stderr io.Writer) int {
	c, err := etcdsource.NewClient(co)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe policy get: %v\n", err)
		return 1
	}
	defer c.Close()
	resp, err := c.Get(ctx, key)
	if err == nil && len(resp.Kvs) == 0 {
		err = errNoKey
	}
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe policy get: etcd %s: %v\n", key, err)
		return 1
	}
	kv := resp.Kvs[0]
	fmt.Fprintf(stdout, "%s%s%s%d%s\n", getHeaderPrefix, key, getHeaderMiddle, kv.ModRevision, getHeaderSuffix)
	stdout.Write(kv.Value)
	if n := len(kv.Value); n > 0 && kv.Value[n-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	return 0
}
