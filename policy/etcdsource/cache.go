package etcdsource

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The cache file is the last policy revision a server applied, so that it
// can start while etcd is unreachable. It is the policy's TOML behind three
// comment lines, so it is itself a valid policy an operator can read:
//
//	# smbpipe policy cache: the last revision this server applied; written by smbpipe serve
//	# key = "/smbpipe/policy"
//	# revision = 12
//	<the TOML as stored in etcd>
const (
	cacheMagic = "# smbpipe policy cache: the last revision this server applied; written by smbpipe serve\n"
	// maxCacheSize bounds what ReadCache reads: a policy of
	// MaxPolicySize and the header.
	maxCacheSize = MaxPolicySize + 64<<10
)

// ErrNoCache is returned (wrapped) by ReadCache when there is no cache
// file at the path.
var ErrNoCache = errors.New("etcdsource: no cached policy")

// WriteCache writes data, the policy of key at revision, to path
// atomically: a temporary file in the same directory, synced, renamed
// over path, and the directory synced, so that a crash leaves the old
// cache or the new one, never a mix. The directory is created (0700) when
// missing; the file is 0600, as the policy holds account passwords.
func WriteCache(path, key string, revision int64, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("etcdsource: cache: %w", err)
	}
	f, err := os.CreateTemp(dir, ".smbpipe-policy-*")
	if err != nil {
		return fmt.Errorf("etcdsource: cache: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("etcdsource: cache: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(cacheMagic)
	fmt.Fprintf(&b, "# key = %s\n# revision = %d\n", strconv.Quote(key), revision)
	b.Write(data)
	if _, err := f.Write(b.Bytes()); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("etcdsource: cache: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("etcdsource: cache: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename is durable once the directory is
		d.Close()
	}
	return nil
}

// ReadCache reads the cache file at path: the key and revision it was
// written for and the policy's TOML. A missing file is ErrNoCache; a file
// that is not a cache, or larger than a cache of MaxPolicySize, is an
// error naming path.
func ReadCache(path string) (key string, revision int64, data []byte, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", 0, nil, fmt.Errorf("%w at %s", ErrNoCache, path)
	}
	if err != nil {
		return "", 0, nil, fmt.Errorf("etcdsource: cache: %w", err)
	}
	defer f.Close()
	all, err := io.ReadAll(io.LimitReader(f, maxCacheSize+1))
	if err != nil {
		return "", 0, nil, fmt.Errorf("etcdsource: cache: %w", err)
	}
	bad := func(why string) (string, int64, []byte, error) {
		return "", 0, nil, fmt.Errorf("etcdsource: cache %s: %s", path, why)
	}
	if len(all) > maxCacheSize {
		return bad("larger than a cache of the largest policy a server compiles")
	}
	rest, ok := bytes.CutPrefix(all, []byte(cacheMagic))
	if !ok {
		return bad("not an smbpipe policy cache (first line)")
	}
	r := bufio.NewReader(bytes.NewReader(rest))
	keyLine, err1 := r.ReadString('\n')
	revLine, err2 := r.ReadString('\n')
	if err1 != nil || err2 != nil {
		return bad("truncated header")
	}
	q, ok := strings.CutPrefix(strings.TrimSuffix(keyLine, "\n"), "# key = ")
	if !ok {
		return bad("no key line")
	}
	if key, err = strconv.Unquote(q); err != nil {
		return bad("bad key line")
	}
	v, ok := strings.CutPrefix(strings.TrimSuffix(revLine, "\n"), "# revision = ")
	if !ok {
		return bad("no revision line")
	}
	if revision, err = strconv.ParseInt(v, 10, 64); err != nil || revision <= 0 {
		return bad("bad revision line")
	}
	return key, revision, rest[len(keyLine)+len(revLine):], nil
}
