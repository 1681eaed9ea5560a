package ntlm

import (
	"bytes"
	"errors"
	"testing"
)

// TestSealVectors: MS-NLMP 4.2.4.4 (NTLMv2, extended session security,
// KEY_EXCH) seals "Plaintext" as the spec shows; the second message (the
// RC4 handle continued, sequence number 1) was computed with impacket's
// ntlm.SEAL.
func TestSealVectors(t *testing.T) {
	key := [16]byte(bytes.Repeat([]byte{0x55}, 16))
	const flags = 0xe28a8233
	c, err := NewSecurity(key, flags, false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSecurity(key, flags, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []struct{ sealed, sig string }{
		{"54e50165bf1936dc996020c1811b0f06fb5f", "010000007fb38ec5c55d497600000000"},
		{"64c308e09ea236e7f4232553c94a01e700fa", "01000000255405955d31d8c401000000"},
	} {
		data := encodeUTF16("Plaintext")
		sig := c.Seal(nil, data, data)
		if !bytes.Equal(data, unhex(t, v.sealed)) || !bytes.Equal(sig, unhex(t, v.sig)) {
			t.Errorf("message %d: sealed %x sig %x", i, data, sig)
		}
		// The server end unseals it (here msg == data: the signed
		// message is the plaintext itself).
		if err := s.Unseal(data, data, sig); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(data) != string(encodeUTF16("Plaintext")) {
			t.Errorf("message %d: unsealed %x", i, data)
		}
	}
}

// TestSignVerify: signatures of the two directions, sequence numbers,
// tampering and replay.
func TestSignVerify(t *testing.T) {
	key := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for _, flags := range []uint32{0xe28a8233, 0xe28a8233 &^ FlagKeyExch} {
		c, _ := NewSecurity(key, flags, false)
		s, _ := NewSecurity(key, flags, true)
		for i := range 3 {
			msg := []byte("request body")
			sig := c.Sign(nil, msg)
			if err := s.Verify(msg, sig); err != nil {
				t.Fatalf("flags %#x request %d: %v", flags, i, err)
			}
			reply := []byte("reply")
			rsig := s.Sign(nil, reply)
			if err := c.Verify(reply, rsig); err != nil {
				t.Fatalf("flags %#x reply %d: %v", flags, i, err)
			}
		}
		// A signature made for the other direction does not verify.
		c2, _ := NewSecurity(key, flags, false)
		c3, _ := NewSecurity(key, flags, false)
		if err := c2.Verify([]byte("x"), c3.Sign(nil, []byte("x"))); !errors.Is(err, ErrBadSignature) {
			t.Errorf("flags %#x: own direction verified: %v", flags, err)
		}
		// Tampered message, replay (old sequence number).
		c4, _ := NewSecurity(key, flags, false)
		s4, _ := NewSecurity(key, flags, true)
		sig := c4.Sign(nil, []byte("abc"))
		if err := s4.Verify([]byte("abd"), sig); err == nil {
			t.Errorf("flags %#x: tampered message verified", flags)
		}
		c5, _ := NewSecurity(key, flags, false)
		s5, _ := NewSecurity(key, flags, true)
		sig = c5.Sign(nil, []byte("abc"))
		if err := s5.Verify([]byte("abc"), sig); err != nil {
			t.Fatal(err)
		}
		if err := s5.Verify([]byte("abc"), sig); err == nil {
			t.Errorf("flags %#x: replayed signature verified", flags)
		}
	}
	if _, err := NewSecurity(key, FlagSign, true); !errors.Is(err, ErrNoSessionSecurity) {
		t.Errorf("without ESS: %v", err)
	}
}

// TestSecurityMechListMIC: the first signature of a fresh Security is the
// mechListMIC the handshake computes (sequence 0, fresh handle); after
// ResetRC4 the next signature uses the fresh handle with sequence 1.
func TestSecurityMechListMIC(t *testing.T) {
	c := &Client{User: "alice", Password: "secret", Seal: true}
	res, key, s, err := handshake(t, c, ServerConfig{Lookup: accounts(map[string]string{"alice": "secret"})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.SessionKey != key || res.Flags != c.NegotiatedFlags() || res.Flags&FlagSeal == 0 {
		t.Fatalf("flags %#x / %#x, keys equal %v", res.Flags, c.NegotiatedFlags(), res.SessionKey == key)
	}
	mechs := []byte("mech list")
	srv, _ := NewSecurity(res.SessionKey, res.Flags, true)
	cli, _ := NewSecurity(key, c.NegotiatedFlags(), false)
	if got := srv.Sign(nil, mechs); !bytes.Equal(got, s.MechListMIC(mechs)) {
		t.Errorf("server MIC %x, handshake %x", got, s.MechListMIC(mechs))
	}
	if got := cli.Sign(nil, mechs); !bytes.Equal(got, c.MechListMIC(mechs)) {
		t.Errorf("client MIC %x, handshake %x", got, c.MechListMIC(mechs))
	}
	cli.ResetRC4()
	sig := cli.Sign(nil, []byte("m"))
	if sig[12] != 1 {
		t.Errorf("sequence after the MIC: %x", sig)
	}
	// The server verified the client's MIC (receive sequence 0); without
	// its own reset the handles disagree.
	if err := srv.Verify(mechs, c.MechListMIC(mechs)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Verify([]byte("m"), sig); err == nil {
		t.Errorf("verified without resetting the handle")
	}
	srv2, _ := NewSecurity(res.SessionKey, res.Flags, true)
	if err := srv2.Verify(mechs, c.MechListMIC(mechs)); err != nil {
		t.Fatal(err)
	}
	srv2.ResetRC4()
	if err := srv2.Verify([]byte("m"), sig); err != nil {
		t.Errorf("after reset: %v", err)
	}
}

func TestSignAllocs(t *testing.T) {
	key := [16]byte{1}
	c, _ := NewSecurity(key, 0xe28a8233, false)
	msg := make([]byte, 100)
	buf := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() { buf = c.Seal(buf[:0], msg, msg) }); n != 0 {
		t.Errorf("Seal allocates %v times", n)
	}
}
