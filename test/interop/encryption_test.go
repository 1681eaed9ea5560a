package interop

import (
	"strings"
	"testing"
)

// TestSmbclientEncrypted: smbclient --client-protection=encrypt as alice
// on SMB3_00, SMB3_02 and SMB3_11 with each cipher forced, against
// encryption = "enabled" (the client asks) and "required" (the server
// marks the session); the session setup record names the cipher, and the
// tree connect to IPC$ (sent encrypted) succeeds.
func TestSmbclientEncrypted(t *testing.T) {
	need(t, smbclientPath, "--version")
	for _, enc := range []string{"enabled", "required"} {
		s := startServer(t, "encryption = \""+enc+"\"\n"+testConfig)
		for _, tc := range encryptedCombos {
			out, err := smbclient(t, s, tc.proto, "-U", "alice%Passw0rd!", "-W", "WORKGROUP",
				"--client-protection=encrypt", "--option=client smb3 encryption algorithms="+tc.cipher)
			if err != nil {
				t.Errorf("%s %s %s: %v\n%s", enc, tc.proto, tc.cipher, err, out)
				continue
			}
			want := "encryption=" + map[string]string{"enabled": "false", "required": "true"}[enc] + " cipher=" + tc.cipher
			if !logHas(s, "dialect="+tc.dialect+" ") || !logHas(s, want) {
				t.Errorf("%s %s %s: no %q in the server log", enc, tc.proto, tc.cipher, want)
			}
		}
		if strings.Contains(s.Log(), "smb connection dropped") {
			t.Errorf("%s: a connection was dropped:\n%s", enc, s.Log())
		}
	}
	// A client that cannot encrypt is refused under "required".
	s := startServer(t, "encryption = \"required\"\n"+testConfig)
	out, err := smbclient(t, s, "SMB2_10", "-U", "alice%Passw0rd!", "-W", "WORKGROUP")
	if err == nil || !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Errorf("SMB2_10 under required: %v\n%s", err, out)
	}
}

// TestSmbclientEncryptedNoCommonCipher: smbclient offering only ciphers
// that encryption_ciphers leaves out (AES-128-CCM and -GCM against
// AES-256-GCM only) is refused under required with
// NT_STATUS_ACCESS_DENIED on SMB3_02 and SMB3_11, and the audit record
// names the ciphers of each side rather than saying the client offered no
// encryption.
func TestSmbclientEncryptedNoCommonCipher(t *testing.T) {
	need(t, smbclientPath, "--version")
	s := startServer(t, "encryption = \"required\"\nencryption_ciphers = [\"AES-256-GCM\"]\n"+testConfig)
	for _, proto := range []string{"SMB3_02", "SMB3_11"} {
		out, err := smbclient(t, s, proto, "-U", "alice%Passw0rd!", "-W", "WORKGROUP",
			"--option=client smb3 encryption algorithms=AES-128-CCM,AES-128-GCM")
		if err == nil || !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
			t.Errorf("%s: %v\n%s", proto, err, out)
		}
	}
	for _, want := range []string{"dialect=3.0.2 ", "dialect=3.1.1 ", "no cipher in common: the client offered AES-128-CCM", "event_id=4625"} {
		if !logHas(s, want) {
			t.Errorf("no %q in the server log:\n%s", want, s.Log())
		}
	}
}
