package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smbpipe/smbpipe/policy"
)

// sd_notify(3), the few lines of it serve needs under systemd's
// Type=notify: READY=1 once listening, RELOADING=1 then READY=1 around a
// SIGHUP reload, STOPPING=1 at shutdown. Without $NOTIFY_SOCKET (not
// started by systemd) it does nothing.

// sdNotify sends state to $NOTIFY_SOCKET (a path, or "@name" in the
// abstract namespace).
func sdNotify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// notify sends state and logs a failure (the service keeps running;
// systemd then reports the start as timed out).
func notify(log *slog.Logger, state string) {
	if err := sdNotify(state); err != nil {
		log.Warn("systemd notification failed", "state", state, "error", err.Error())
	}
}

// notifyReloading is RELOADING=1 with the CLOCK_MONOTONIC time systemd
// asks of a reload notification.
func notifyReloading(log *slog.Logger) {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	notify(log, fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", ts.Nano()/1000))
}

// warnReadablePassword warns when the config file holds a password and
// others than its owner may read it, or an nt_hash and every user may read
// it (serve's start and reloads call it). An NT hash logs on over NTLM as
// well as the password does; a file of the service's group (the packaged
// root:smbpipe 0640) is not warned about for one.
func warnReadablePassword(log *slog.Logger, path string, accounts int, hasPassword, hasHash bool) {
	if path == "" || !hasPassword && !hasHash {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	mode := fi.Mode().Perm()
	switch {
	case hasPassword && mode&0o044 != 0:
		log.Warn("the config file holds a password and others may read it: chmod 600 it, or replace password with nt_hash (smbpipe hash)",
			"config", path, "mode", fmt.Sprintf("%04o", mode), "accounts", accounts)
	case hasHash && mode&0o004 != 0:
		log.Warn("the config file holds an nt_hash and every user may read it: an NT hash logs on over NTLM as the password does; chmod 600 it (or 640 with the service's group)",
			"config", path, "mode", fmt.Sprintf("%04o", mode), "accounts", accounts)
	}
}

// hasPassword reports whether an account of cfg has a password (not an
// nt_hash).
func hasPassword(cfg *policy.Config) bool {
	for _, a := range cfg.Accounts {
		if a.Password != "" {
			return true
		}
	}
	return false
}

// hasNTHash reports whether an account of cfg has an nt_hash.
func hasNTHash(cfg *policy.Config) bool {
	for _, a := range cfg.Accounts {
		if a.NTHash != "" {
			return true
		}
	}
	return false
}
