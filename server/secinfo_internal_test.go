package server

import (
	"encoding/binary"
	"testing"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/security"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestQuerySecurityErrorData: a security query whose OutputBufferLength is
// too small gets STATUS_BUFFER_TOO_SMALL with the size needed, as 4 bytes of
// ErrorData before 3.1.1 and in an error context on 3.1.1 (MS-SMB2
// 3.3.5.20.3); the size is that of the full answer.
func TestQuerySecurityErrorData(t *testing.T) {
	const all = ownerSecurityInformation | groupSecurityInformation | daclSecurityInformation
	sd, err := security.ParseSDDL("O:SYG:SYD:NO_ACCESS_CONTROL", nil)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := sd.AppendBinary(nil)
	for _, tc := range []struct {
		dialect  smb2.Dialect
		contexts uint8
		data     []byte
	}{
		{smb2.Dialect210, 0, binary.LittleEndian.AppendUint32(nil, uint32(len(full)))},
		{smb2.Dialect311, 1, binary.LittleEndian.AppendUint32([]byte{4, 0, 0, 0, 0, 0, 0, 0}, uint32(len(full)))},
	} {
		srv, _ := newTestServer(t)
		c, fc := newTestConn(t, srv, "hot")
		c.dialect = tc.dialect
		c.opens[1].granted = 0x0012019B
		for _, n := range []uint32{0, uint32(len(full)) - 1} {
			q := msg(reqHeader(smb2.CmdQueryInfo, 1), &smb2.QueryInfoRequest{InfoType: smb2.InfoSecurity,
				OutputBufferLength: n, AdditionalInformation: all, FileID: hotFID})
			c.credits.low, c.credits.high = 1, 64
			if err := c.handleFrame(q); err != nil {
				t.Fatal(err)
			}
			m, _, err := smb2.NextMessage(fc.lastFrame()[4:])
			if err != nil {
				t.Fatal(err)
			}
			var h smb2.Header
			var e smb2.ErrorResponse
			if err := h.Decode(m); err != nil {
				t.Fatal(err)
			}
			if err := e.Decode(m); err != nil {
				t.Fatal(err)
			}
			if h.Status != ntstatus.BufferTooSmall || e.ErrorContextCount != tc.contexts || string(e.ErrorData) != string(tc.data) {
				t.Errorf("%#x, length %d: %v contexts %d data %x, want %d %x", tc.dialect, n, h.Status, e.ErrorContextCount, e.ErrorData, tc.contexts, tc.data)
			}
		}
		c.teardown()
	}
}
