package server

import (
	"encoding/binary"
	"testing"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestSigningAlgorithmChoice checks the 3.1.1 SIGNING_CAPABILITIES answer:
// AES-GMAC whenever the client offers it, else the client's first
// supported algorithm, AES-CMAC when nothing is common (MS-SMB2 3.3.5.4),
// and an empty list is INVALID_PARAMETER.
func TestSigningAlgorithmChoice(t *testing.T) {
	const (
		hmac = smb2.SigningHMACSHA256
		cmac = smb2.SigningAESCMAC
		gmac = smb2.SigningAESGMAC
	)
	tests := []struct {
		name    string
		offered []uint16 // nil: no SIGNING_CAPABILITIES context
		want    uint16   // 0xFFFF: no context in the response
		status  ntstatus.Status
	}{
		{"smbclient and Windows 11 order", []uint16{gmac, cmac, hmac}, gmac, ntstatus.Success},
		{"GMAC offered second", []uint16{cmac, gmac}, gmac, ntstatus.Success},
		{"GMAC offered last", []uint16{hmac, cmac, gmac}, gmac, ntstatus.Success},
		{"CMAC only", []uint16{cmac}, cmac, ntstatus.Success},
		{"HMAC first", []uint16{hmac, cmac}, hmac, ntstatus.Success},
		{"unknown ones skipped", []uint16{7, 9, cmac}, cmac, ntstatus.Success},
		{"nothing common", []uint16{7, 9}, cmac, ntstatus.Success},
		{"no context", nil, 0xFFFF, ntstatus.Success},
		{"empty list", []uint16{}, 0, ntstatus.InvalidParameter},
	}
	srv, _ := newTestServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre := smb2.PreauthIntegrityCaps{HashAlgorithms: []uint16{smb2.HashSHA512}, Salt: make([]byte, 32)}
			req := smb2.NegotiateRequest{
				SecurityMode: smb2.SigningEnabled,
				Dialects:     []smb2.Dialect{smb2.Dialect311},
				Contexts:     []smb2.NegotiateContext{{Type: smb2.CtxPreauthIntegrity, Data: pre.Append(nil)}},
			}
			if tt.offered != nil {
				data := binary.LittleEndian.AppendUint16(nil, uint16(len(tt.offered)))
				for _, a := range tt.offered {
					data = binary.LittleEndian.AppendUint16(data, a)
				}
				req.Contexts = append(req.Contexts, smb2.NegotiateContext{Type: smb2.CtxSigning, Data: data})
			}
			fc := &fakeConn{}
			c := newConn(srv, fc, policy.Limits{}.WithDefaults())
			defer c.teardown()
			if err := c.handleFrame(msg(reqHeader(smb2.CmdNegotiate, 0), &req)); err != nil {
				t.Fatal(err)
			}
			f := fc.lastFrame()
			if hs := responses(t, f); hs[0].Status != tt.status {
				t.Fatalf("status %v, want %v", hs[0].Status, tt.status)
			}
			if tt.status != ntstatus.Success {
				return
			}
			var resp smb2.NegotiateResponse
			if err := resp.Decode(f[4:]); err != nil {
				t.Fatal(err)
			}
			got := uint16(0xFFFF)
			for _, nc := range resp.Contexts {
				if nc.Type != smb2.CtxSigning {
					continue
				}
				var sc smb2.SigningCaps
				if err := sc.Decode(nc.Data); err != nil || len(sc.SigningAlgorithms) != 1 {
					t.Fatalf("response SIGNING_CAPABILITIES %x: %v", nc.Data, err)
				}
				got = sc.SigningAlgorithms[0]
			}
			if got != tt.want {
				t.Errorf("chose %#x, want %#x", got, tt.want)
			}
			if tt.want != 0xFFFF && c.signAlg != tt.want {
				t.Errorf("connection signs with %#x, want %#x", c.signAlg, tt.want)
			}
		})
	}
}
