package server_test

import (
	"encoding/binary"
	"testing"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/server"
	"github.com/smbpipe/smbpipe/smb2"
)

// TestTreeConnectPaths sends TREE_CONNECT paths to a live server
// (docs/SEMANTICS.md 2.3, issue 9 item 7): only \\server\IPC$ connects;
// \\h\foo\IPC$ and \\h\C$\..\IPC$ are STATUS_BAD_NETWORK_NAME (the last
// component used to be taken as the share), a bare IPC$ is
// STATUS_INVALID_PARAMETER, and so are malformed requests.
func TestTreeConnectPaths(t *testing.T) {
	_, addr := newServer(t, snapshot(t, true, false, "enabled", ""))
	body := func(path string) []byte {
		return (&smb2.TreeConnectRequest{Path: smb2.AppendUTF16(nil, path)}).Append(nil)
	}
	oddLength := body(`\\h\IPC$`)
	binary.LittleEndian.PutUint16(oddLength[6:], binary.LittleEndian.Uint16(oddLength[6:])-1)
	badOffset := body(`\\h\IPC$`)
	binary.LittleEndian.PutUint16(badOffset[4:], 0x1000)
	surrogate := (&smb2.TreeConnectRequest{Path: append(smb2.AppendUTF16(nil, `\\h\IPC$`), 0x00, 0xD8)}).Append(nil)

	cases := []struct {
		name string
		body []byte
		want ntstatus.Status
	}{
		{"odd PathLength", oddLength, ntstatus.InvalidParameter},
		{"PathOffset out of range", badOffset, ntstatus.InvalidParameter},
		{"unpaired surrogate", surrogate, ntstatus.InvalidParameter},
		{"empty path", body(""), ntstatus.InvalidParameter},
	}
	for _, tc := range server.TreePaths {
		cases = append(cases, struct {
			name string
			body []byte
			want ntstatus.Status
		}{tc.Path, body(tc.Path), tc.Want})
	}
	for _, user := range []struct {
		name string
		cfg  client.Config
	}{{"anonymous", anon}, {"alice", alice}} {
		c, err := dial(t, addr, user.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range cases {
			resp, err := c.RoundTrip(t.Context(), &client.RawRequest{
				Header: smb2.Header{Command: smb2.CmdTreeConnect, SessionID: c.SessionID()},
				Body:   tc.body,
				Sign:   true,
			})
			if err != nil {
				t.Fatalf("%s %q: %v", user.name, tc.name, err)
			}
			if resp.Header.Status != tc.want {
				t.Errorf("%s %q: %v, want %v", user.name, tc.name, resp.Header.Status, tc.want)
			}
			if tc.want == ntstatus.Success && resp.Header.TreeID == 0 {
				t.Errorf("%s %q: no TreeId", user.name, tc.name)
			}
			if tc.want != ntstatus.Success && resp.Header.TreeID != 0 {
				t.Errorf("%s %q: TreeId %d on a failure", user.name, tc.name, resp.Header.TreeID)
			}
		}
	}
}
