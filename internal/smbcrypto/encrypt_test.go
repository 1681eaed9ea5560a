package smbcrypto

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"
)

// Test vectors of the Microsoft Open Specifications blog posts
// "Encryption in SMB 3.0: A protocol perspective" (AES-128-CCM, 3.0) and
// "SMB 3.1.1 Encryption in Windows 10" (AES-128-GCM, 3.1.1): the session
// key, the keys derived from it, a WRITE request encrypted by the client
// and a WRITE response encrypted by the server.
var blogVectors = []struct {
	name       string
	dialect    uint16
	cipher     uint16
	sessionKey string
	preauth    string
	c2s, s2c   string
	// plain is the client's request; sealed its transform frame (with
	// the blog's nonce, whose reserved bytes are not zero in the 3.0
	// sample and are part of the AAD).
	plain, sealed string
	// respSealed is the server's response as sent, respPlain decrypted.
	respSealed, respPlain string
}{
	{
		name: "3.0 AES-128-CCM", dialect: Dialect300, cipher: CipherAES128CCM,
		sessionKey: "B4546771B515F766A86735532DD6C4F0",
		c2s:        "261B72350558F2E9DCF613070383EDBF",
		s2c:        "8FE2B57EC34D2DB5B1A9727F526BBDB5",
		plain: "FE534D4240000100000000000900400008000000000000000400000000000000" +
			"FFFE0000010000001100001400E4080000000000000000000000000000000000" +
			"3100700017000000000000000000000015010000390000020100000039020000" +
			"00000000000000007000000000000000536D623320656E6372797074696F6E20" +
			"74657374696E67",
		sealed: "FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A" +
			"744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5" +
			"2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4" +
			"4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5" +
			"AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6" +
			"C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB",
		respSealed: "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014" +
			"00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079" +
			"E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787" +
			"1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1" +
			"77309E5B",
		respPlain: "FE534D4240000100000000000900210009000000000000000400000000000000" +
			"FFFE0000010000001100001400E4080000000000000000000000000000000000" +
			"11000000170000000000000000000000",
	},
	{
		name: "3.1.1 AES-128-GCM", dialect: Dialect311, cipher: CipherAES128GCM,
		sessionKey: "419FDDF34C1E001909D362AE7FB6AF79",
		preauth: "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDBA7DB256BA2EA30E9" +
			"77F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770",
		c2s: "A2F5E80E5D59103034F32E52F698E5EC",
		s2c: "748C50868C90F302962A5C35F5F9A8BF",
		plain: "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000" +
			"25000000001000000000000000000000000000000000000031007000170000000000000000000000" +
			"0600000004000000010000000400000000000000000000007000000000000000536D623320656E63" +
			"72797074696F6E2074657374696E67",
		sealed: "FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000000087000000" +
			"0000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02" +
			"D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB4" +
			"4576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9" +
			"1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8",
		respSealed: "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000" +
			"00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8" +
			"F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B" +
			"82E03C9E18A050FF0EA1C967",
		respPlain: "FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000" +
			"25000000001000000000000000000000000000000000000011000000170000000000000000000000",
	},
}

func TestEncryptionVectors(t *testing.T) {
	for _, v := range blogVectors {
		t.Run(v.name, func(t *testing.T) {
			var ph *PreauthHash
			if v.preauth != "" {
				ph = new(PreauthHash)
				copy(ph[:], unhex(t, v.preauth))
			}
			c2s, s2c := DeriveCipherKeys(v.dialect, v.cipher, unhex(t, v.sessionKey), ph)
			if got := hex.EncodeToString(c2s); got != hex.EncodeToString(unhex(t, v.c2s)) {
				t.Errorf("client-to-server key %s, want %s", got, v.c2s)
			}
			if got := hex.EncodeToString(s2c); got != hex.EncodeToString(unhex(t, v.s2c)) {
				t.Errorf("server-to-client key %s, want %s", got, v.s2c)
			}
			// DeriveKeys agrees for the 128-bit ciphers.
			k := DeriveKeys(v.dialect, unhex(t, v.sessionKey), ph)
			if !bytes.Equal(k.Encryption, c2s) || !bytes.Equal(k.Decryption, s2c) {
				t.Errorf("DeriveKeys %x %x", k.Encryption, k.Decryption)
			}

			// The client's request: seal with the blog's nonce.
			enc, err := NewCrypter(v.cipher, c2s)
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(t, v.sealed)
			frame := make([]byte, TransformSize, TransformSize+len(want)+16)
			copy(frame, want[:TransformSize])
			clear(frame[offTSignature:offTNonce])
			frame = append(frame, unhex(t, v.plain)...)
			enc.seal(frame)
			if !bytes.Equal(frame, want) {
				t.Errorf("sealed\n%x\nwant\n%x", frame, want)
			}
			// The server opens it.
			dec, _ := NewCrypter(v.cipher, c2s)
			got, err := dec.Open(bytes.Clone(want))
			if err != nil || !bytes.Equal(got, unhex(t, v.plain)) {
				t.Errorf("open request: %v %x", err, got)
			}
			// The server's response, opened by the client.
			cdec, _ := NewCrypter(v.cipher, s2c)
			got, err = cdec.Open(unhex(t, v.respSealed))
			if err != nil || !bytes.Equal(got, unhex(t, v.respPlain)) {
				t.Errorf("open response: %v\n%x\nwant\n%x", err, got, unhex(t, v.respPlain))
			}
			// Any flipped bit is refused.
			for _, off := range []int{4, 19, 20, 35, 36, 40, 44, 51, 52, len(want) - 1} {
				bad := bytes.Clone(want)
				bad[off] ^= 1
				if _, err := dec.Open(bad); err == nil {
					t.Errorf("byte %d tampered: accepted", off)
				}
			}
		})
	}
}

// TestCrypterRoundTrip seals and opens messages of every length class
// with each cipher, and checks the nonces Seal uses never repeat.
func TestCrypterRoundTrip(t *testing.T) {
	for _, id := range []uint16{CipherAES128CCM, CipherAES128GCM, CipherAES256CCM, CipherAES256GCM} {
		t.Run(CipherName(id), func(t *testing.T) {
			c2s, _ := DeriveCipherKeys(Dialect311, id, bytes.Repeat([]byte{9}, 16), nil)
			if len(c2s)*8 != CipherKeyBits(id) {
				t.Fatalf("key of %d bytes", len(c2s))
			}
			enc, err := NewCrypter(id, c2s)
			if err != nil {
				t.Fatal(err)
			}
			dec, _ := NewCrypter(id, c2s)
			seen := map[string]bool{}
			for _, n := range []int{0, 1, 15, 16, 17, 64, 100, 4096, 65537} {
				msg := bytes.Repeat([]byte{byte(n)}, n)
				frame := make([]byte, TransformSize, TransformSize+n+16)
				copy(frame, "\xfdSMB")
				binary.LittleEndian.PutUint32(frame[36:], uint32(n))
				frame[42] = 1
				frame = append(frame, msg...)
				enc.Seal(frame)
				nonce := string(frame[offTNonce : offTNonce+16])
				if seen[nonce] {
					t.Fatalf("nonce %x used twice", nonce)
				}
				seen[nonce] = true
				if n > 0 && bytes.Equal(frame[TransformSize:], msg) {
					t.Errorf("len %d: not encrypted", n)
				}
				if unused := frame[offTNonce+enc.nonceSize() : offTNonce+16]; !bytes.Equal(unused, make([]byte, len(unused))) {
					t.Errorf("unused nonce bytes %x", unused)
				}
				got, err := dec.Open(frame)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("len %d: %v", n, err)
				}
			}
			// Without spare capacity Seal still works (allocating).
			frame := make([]byte, TransformSize+40)
			frame[42] = 1
			enc.Seal(frame)
			if _, err := dec.Open(frame); err != nil {
				t.Error("no spare capacity:", err)
			}
		})
	}
	if _, err := NewCrypter(CipherAES256GCM, make([]byte, 16)); err == nil {
		t.Error("AES-256 with a 16-byte key accepted")
	}
	if _, err := NewCrypter(9, make([]byte, 16)); err == nil {
		t.Error("unknown cipher accepted")
	}
}

// TestDeriveCipherKeys256 pins what the AES-256 ciphers derive from: the
// full session key with L = 256, so a 32-byte key changes the result
// beyond its first 16 bytes, and a 16-byte key is used as is.
func TestDeriveCipherKeys256(t *testing.T) {
	full := bytes.Repeat([]byte{1}, 32)
	a, b := DeriveCipherKeys(Dialect311, CipherAES256GCM, full, nil)
	full2 := bytes.Clone(full)
	full2[31] = 2
	a2, _ := DeriveCipherKeys(Dialect311, CipherAES256GCM, full2, nil)
	if len(a) != 32 || len(b) != 32 || bytes.Equal(a, a2) {
		t.Errorf("256-bit keys %x %x %x", a, b, a2)
	}
	var zero PreauthHash
	want := KDF(full, []byte(label311C2S), zero[:], 256)
	if !bytes.Equal(a, want) {
		t.Errorf("c2s %x, want %x", a, want)
	}
	c, _ := DeriveCipherKeys(Dialect311, CipherAES128GCM, full2, nil)
	c1, _ := DeriveCipherKeys(Dialect311, CipherAES128GCM, full, nil)
	if len(c) != 16 || !bytes.Equal(c, c1) {
		t.Error("128-bit keys should use the first 16 bytes only")
	}
	if x, y := DeriveCipherKeys(Dialect210, CipherAES128CCM, full, nil); x != nil || y != nil {
		t.Error("2.1 has no cipher keys")
	}
}

func TestCrypterNoAllocs(t *testing.T) {
	for _, id := range []uint16{CipherAES128CCM, CipherAES128GCM, CipherAES256GCM} {
		key := make([]byte, CipherKeyBits(id)/8)
		enc, _ := NewCrypter(id, key)
		dec, _ := NewCrypter(id, key)
		frame := make([]byte, TransformSize+512, TransformSize+512+16)
		frame[42] = 1
		if n := testing.AllocsPerRun(100, func() {
			enc.Seal(frame)
			if _, err := dec.Open(frame); err != nil {
				t.Fatal(err)
			}
			// Open of AES-GCM moved the message down 16 bytes; Seal
			// again from a clean frame.
			frame = frame[:TransformSize+512]
		}); n != 0 {
			t.Errorf("%s: %v allocs", CipherName(id), n)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, id := range []uint16{CipherAES128CCM, CipherAES128GCM, CipherAES256GCM} {
		b.Run(CipherName(id), func(b *testing.B) {
			key := make([]byte, CipherKeyBits(id)/8)
			enc, _ := NewCrypter(id, key)
			frame := make([]byte, TransformSize+4096, TransformSize+4096+16)
			b.SetBytes(4096)
			for b.Loop() {
				enc.Seal(frame)
			}
		})
	}
}
