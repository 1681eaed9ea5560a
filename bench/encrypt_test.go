package bench

import (
	"context"
	"testing"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestServerAllocsPerEncryptedTransact pins the server's allocations per
// encrypted transact round trip (alice, AES-128-GCM and AES-256-GCM, and
// AES-128-CCM) at zero in steady state, as TestServerAllocsPerTransact does
// for the plain one.
func TestServerAllocsPerEncryptedTransact(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation profile at rate 1 is slow")
	}
	if raceEnabled {
		t.Skip("the race detector allocates, and sync.Pool drops items at random under it")
	}
	addr := startServer(t)
	for _, cipher := range []uint16{smb2.CipherAES128GCM, smb2.CipherAES256GCM, smb2.CipherAES128CCM} {
		cfg := aliceConfig
		cfg.Encryption, cfg.Ciphers = client.EncryptionRequired, []uint16{cipher}
		p := transactPipe(t, addr, cfg)
		if c := p.Conn(); !c.Encrypted() || c.Cipher() != cipher {
			t.Fatalf("cipher %#x: encrypted %v with %#x", cipher, c.Encrypted(), c.Cipher())
		}
		ctx := context.Background()
		for _, size := range []int{64, 4 << 10} {
			msg := message(&Options{Size: size})
			out := make([]byte, len(msg))
			transact := func() {
				if n, _, err := p.Transact(ctx, msg, out); err != nil || n != len(msg) {
					t.Fatalf("transact: %d bytes, %v", n, err)
				}
			}
			for range 200 {
				transact()
			}
			srv, cli, other := allocsBySide(1000, transact)
			t.Logf("cipher %#x %5d B: server %.2f allocs/op, client %.2f, unattributed %.2f (target: server 0)", cipher, size, srv, cli, other)
			if srv >= 0.1 {
				t.Errorf("cipher %#x %d B: server allocates %.2f times per encrypted transact, want 0", cipher, size, srv)
			}
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
				p := transactPipe(b, addr, cfg)
				ctx := context.Background()
				msg := message(&Options{Size: size})
				out := make([]byte, len(msg))
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if n, _, err := p.Transact(ctx, msg, out); err != nil || n != len(msg) {
						b.Fatalf("transact: %d bytes, %v", n, err)
					}
				}
			})
		}
	}
}
