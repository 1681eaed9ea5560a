package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// DefaultTokenFile is where `serve --admin addr` writes its token and
// `status --admin addr` looks for it when run by the same user:
// $RUNTIME_DIRECTORY/admin-PORT.token under systemd (the unit's
// RuntimeDirectory=, /run/smbpipe for the packaged one), else
// $XDG_RUNTIME_DIR/smbpipe/admin-PORT.token, or, without a runtime
// directory, $XDG_STATE_HOME/smbpipe (default ~/.local/state/smbpipe).
func DefaultTokenFile(addr string) (string, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("admin: address %q: %w", addr, err)
	}
	name := "admin-" + port + ".token"
	if dir, _, _ := strings.Cut(os.Getenv("RUNTIME_DIRECTORY"), ":"); dir != "" {
		return filepath.Join(dir, name), nil
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = os.Getenv("XDG_STATE_HOME")
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("admin: no runtime or state directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "smbpipe", name), nil
}

// ServiceTokenDir is the packaged systemd unit's RuntimeDirectory, where
// its serve --admin writes the token.
const ServiceTokenDir = "/run/smbpipe"

// TokenFiles are the files `status --admin addr` tries, in order:
// DefaultTokenFile, then the packaged service's
// ServiceTokenDir/admin-PORT.token (for an administrator, as root, of the
// service that runs as its own user).
func TokenFiles(addr string) ([]string, error) {
	def, err := DefaultTokenFile(addr)
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	svc := filepath.Join(ServiceTokenDir, "admin-"+port+".token")
	if svc == def {
		return []string{def}, nil
	}
	return []string{def, svc}, nil
}

// CreateToken writes a new random token to path, readable by its owner
// only (0600, in a directory created 0700 when missing), replacing any
// token there, and returns it.
func CreateToken(path string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("admin: token directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".admin-token-*")
	if err != nil {
		return "", fmt.Errorf("admin: token file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := tmp.WriteString(tok + "\n"); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("admin: token file: %w", err)
	}
	return tok, nil
}

// ErrTokenPermissions is returned by ReadToken for a file others may read.
var ErrTokenPermissions = errors.New("admin: token file is readable by group or others")

// ErrTokenOwner is returned by ReadOwnToken for a file another user owns.
var ErrTokenOwner = errors.New("admin: token file is owned by another user")

// ReadOwnToken is ReadToken for the server: the file must also belong to
// this process's user. Another user could have planted a 0600 file with a
// token they know in a shared directory (/tmp) before serve
// --admin-token-file started, and root reads any file. (A client may read
// another user's token: root running status with the service's token.)
func ReadOwnToken(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("admin: %w", err)
	}
	if uid, other := fileOwner(st); other {
		return "", fmt.Errorf("%w: %s belongs to uid %d", ErrTokenOwner, path, uid)
	}
	return ReadToken(path)
}

// ReadToken reads the token at path (its first line, at most 4 KiB). A
// file that group or others may read is refused: the token is a password.
func ReadToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("admin: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: %s is %v", ErrTokenPermissions, path, st.Mode().Perm())
	}
	b := make([]byte, 4096)
	n, _ := f.Read(b)
	tok := string(b[:n])
	for i, r := range tok {
		if r == '\n' || r == '\r' {
			tok = tok[:i]
			break
		}
	}
	if tok == "" {
		return "", fmt.Errorf("admin: %s is empty", path)
	}
	return tok, nil
}
