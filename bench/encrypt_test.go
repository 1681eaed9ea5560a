package bench

import (
	"fmt"
	"testing"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestServerAllocsPerEncryptedTransact pins the server's allocations per
// encrypted transact round trip (alice, AES-128-GCM and AES-256-GCM, and
// AES-128-CCM) at zero in steady state, as TestServerAllocsPerTransact does
// for the plain one.
func TestServerAllocsPerEncryptedTransact(t *testing.T) {
	skipAllocProfile(t)
	addr := startServer(t)
	for _, cipher := range []uint16{smb2.CipherAES128GCM, smb2.CipherAES256GCM, smb2.CipherAES128CCM} {
		cfg := aliceConfig
		cfg.Encryption, cfg.Ciphers = client.EncryptionRequired, []uint16{cipher}
		p := transactPipe(t, addr, cfg)
		if c := p.Conn(); !c.Encrypted() || c.Cipher() != cipher {
			t.Fatalf("cipher %#x: encrypted %v with %#x", cipher, c.Encrypted(), c.Cipher())
		}
		for _, size := range []int{64, 4 << 10} {
			checkServerAllocs(t, fmt.Sprintf("cipher %#x %5d B, encrypted", cipher, size), 1000, echoTransact(t, p, size))
		}
	}
}

// BenchmarkTransactEncrypted is BenchmarkTransactInProcess's 64 B and 4 KiB
// round trips on an encrypted session.
func BenchmarkTransactEncrypted(b *testing.B) {
	for _, cipher := range []uint16{smb2.CipherAES128GCM, smb2.CipherAES256GCM, smb2.CipherAES128CCM} {
		for _, size := range []int{64, 4 << 10} {
			b.Run(map[uint16]string{1: "CCM128", 2: "GCM128", 4: "GCM256"}[cipher]+"-"+map[int]string{64: "64B", 4096: "4KiB"}[size], func(b *testing.B) {
				addr := startServer(b)
				cfg := aliceConfig
				cfg.Encryption, cfg.Ciphers = client.EncryptionRequired, []uint16{cipher}
				transact := echoTransact(b, transactPipe(b, addr, cfg), size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					transact()
				}
			})
		}
	}
}
