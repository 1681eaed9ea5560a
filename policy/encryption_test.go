package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/ntstatus"
)

func TestEncryptionKeys(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		enc        string
		ciphers    []string
		err        string
	}{
		{"default", "", "enabled", DefaultCiphers, ""},
		{"required", "encryption = \"Required\"\n", "required", DefaultCiphers, ""},
		{"off", "encryption = \"off\"\n", "off", DefaultCiphers, ""},
		{"order", "encryption_ciphers = [\"aes-256-gcm\", \"AES-128-CCM\"]\n", "enabled", []string{"AES-256-GCM", "AES-128-CCM"}, ""},
		{"bad value", "\nencryption = \"always\"\n", "", nil, `smbpipe.toml:2: encryption: "always": want "off", "enabled" or "required"`},
		{"bad cipher", "\n\nencryption_ciphers = [\"AES-128-GCM\", \"ChaCha20\"]\n", "", nil, `smbpipe.toml:3: encryption_ciphers: "ChaCha20": want one of AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM`},
		{"twice", "encryption_ciphers = [\"AES-128-GCM\", \"aes-128-gcm\"]\n", "", nil, `smbpipe.toml:1: encryption_ciphers: "aes-128-gcm" is listed twice`},
		{"empty", "encryption_ciphers = []\n", "", nil, "smbpipe.toml:1: encryption_ciphers: empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.toml), "smbpipe.toml")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			snap, err := Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := snap.Config(); got.Encryption != tc.enc || !slices.Equal(got.EncryptionCiphers, tc.ciphers) {
				t.Errorf("encryption %q %v, want %q %v", got.Encryption, got.EncryptionCiphers, tc.enc, tc.ciphers)
			}
		})
	}
	// A Config built in Go: zero means "enabled" with the default ciphers,
	// and the caller's value is not written to.
	cfg := &Config{Listen: "127.0.0.1:1", ServerName: "S", Signing: "enabled"}
	snap, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Config().Encryption != "enabled" || !slices.Equal(snap.Config().EncryptionCiphers, DefaultCiphers) || cfg.Encryption != "" || cfg.EncryptionCiphers != nil {
		t.Errorf("zero config: %q %v; caller's %q %v", snap.Config().Encryption, snap.Config().EncryptionCiphers, cfg.Encryption, cfg.EncryptionCiphers)
	}
}

func TestEncryptionGate(t *testing.T) {
	base := "allow_anonymous = true\nguest = true\n[[account]]\nname = \"alice\"\npassword = \"x\"\n"
	for _, enc := range []string{"enabled", "required"} {
		cfg, err := Parse([]byte("encryption = \""+enc+"\"\n"+base), "t.toml")
		if err != nil {
			t.Fatal(err)
		}
		snap, err := Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		anon, guest, user := snap.CheckSession(true, ""), snap.CheckSession(false, "bob"), snap.CheckSession(false, "alice")
		if user.Status != ntstatus.Success {
			t.Errorf("%s: user %+v", enc, user)
		}
		for _, d := range []SessionDecision{anon, guest} {
			if enc == "enabled" && d.Status != ntstatus.Success {
				t.Errorf("enabled: %+v", d)
			}
			if enc == "required" && (d.Status != ntstatus.AccessDenied || d.Rule != RuleEncryptionRequired || !strings.Contains(d.Reason, "no session key")) {
				t.Errorf("required: %+v", d)
			}
		}
	}
}
