package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/metrics"
	"github.com/smbpipe/smbpipe/server"
)

// encryptedSessions is smbpipe_encrypted_sessions_total{cipher} of m.
func encryptedSessions(t *testing.T, m *metrics.Prometheus, cipher string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "smbpipe_encrypted_sessions_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "cipher" && l.GetValue() == cipher {
					return s.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestDialEncrypt: dial --encrypt against a server that offers encryption
// seals the session with the cipher asked for (the server counts an
// encrypted session of that cipher) and echoes; against a server with
// encryption = "off", anonymously, or with no cipher in common it fails
// with exit 1 and says why, never falling back to clear text.
func TestDialEncrypt(t *testing.T) {
	start := func(encryption string) (string, *metrics.Prometheus) {
		m := metrics.New()
		cfg := dialTestConfig + "\n" // the [[pipe]] tables end it: put the key first
		cfg = "encryption = " + encryption + "\n" + cfg
		_, addr := testserver.StartWith(t, server.Options{Snapshot: testserver.Snapshot(t, cfg, "dial.toml"), Metrics: m})
		return addr, m
	}
	enabled, m := start(`"enabled"`)
	for _, v := range []struct{ dialect, cipher string }{
		{"3.1.1", "AES-128-GCM"}, {"3.1.1", "AES-128-CCM"}, {"3.1.1", "AES-256-GCM"}, {"3.1.1", "AES-256-CCM"},
		{"3.0.2", "AES-128-CCM"}, {"3.0", "AES-128-CCM"},
	} {
		t.Run(v.dialect+"/"+v.cipher, func(t *testing.T) {
			before := encryptedSessions(t, m, v.cipher)
			msg := fmt.Sprintf("sealed with %s on %s\n", v.cipher, v.dialect)
			r := runDialT(t, []string{"-U", "alice%Passw0rd!", "--encrypt", "--ciphers", v.cipher, "--dialect", v.dialect,
				"--idle", "200ms", "//" + enabled + "/pipe/private"}, msg, 0, 20*time.Second)
			if r.code != 0 || r.stdout != msg {
				t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			if got := encryptedSessions(t, m, v.cipher); got != before+1 {
				t.Fatalf("encrypted sessions with %s: %v -> %v, want one more", v.cipher, before, got)
			}
		})
	}
	off, _ := start(`"off"`)
	required, _ := start("\"required\"\nencryption_ciphers = [\"AES-256-GCM\"]")
	for _, tt := range []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"server with encryption off", []string{"-U", "alice%Passw0rd!", "--encrypt", "//" + off + "/pipe/echo"}, []string{"--encrypt", "offers none of the ciphers offered", "encryption not possible"}},
		{"server with encryption off, 3.0", []string{"-U", "alice%Passw0rd!", "--encrypt", "--dialect", "3.0", "//" + off + "/pipe/echo"}, []string{"--encrypt", "offers none of the ciphers offered", "encryption not possible"}},
		{"anonymous", []string{"--encrypt", "//" + enabled + "/pipe/echo"}, []string{"--encrypt", "anonymous or guest true"}},
		{"no cipher in common", []string{"-U", "alice%Passw0rd!", "--encrypt", "--ciphers", "AES-128-GCM,AES-128-CCM", "//" + required + "/pipe/echo"}, []string{"--encrypt", "offers none of the ciphers offered (AES-128-GCM, AES-128-CCM)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runDialT(t, tt.args, "never sent in clear\n", 0, 20*time.Second)
			if r.code != 1 || r.stdout != "" {
				t.Fatalf("exit %d stdout %q stderr %q; want exit 1, nothing printed", r.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
		})
	}
	// Without --encrypt the same client works in clear against "off".
	r := runDialT(t, []string{"-U", "alice%Passw0rd!", "--idle", "200ms", "//" + off + "/pipe/echo"}, "clear\n", 0, 20*time.Second)
	if r.code != 0 || r.stdout != "clear\n" {
		t.Fatalf("clear dial: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}
