package dcerpc_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/dcerpc"
)

// TestImpacket runs impacket's DCE/RPC client over ncacn_ip_tcp (the same
// PDUs as over a pipe, read from a byte stream by frag_length) against
// the engine: bind at each auth level with NTLM, rpcecho calls with
// fragmentation both ways, faults, alter_context to mgmt.
func TestImpacket(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no python3")
	}
	if err := exec.Command(py, "-c", "import impacket.dcerpc.v5.rpcrt").Run(); err != nil {
		t.Skip("no impacket")
	}
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				f.srv.ServeConn(context.Background(), dcerpc.StreamConn(c), dcerpc.Caller{ClientAddr: c.RemoteAddr().String()})
			}()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		level, password, want string
	}{
		{"none", "", "OK"},
		{"connect", "", "OK"},
		{"integrity", "", "OK"},
		{"privacy", "", "OK"},
		{"integrity", "wrong", "CALL rpc_s_access_denied"},
	} {
		t.Run(tc.level+tc.password, func(t *testing.T) {
			password := "Secret#1"
			if tc.password != "" {
				password = tc.password
			}
			// EchoData and SourceData of 10 KiB: three fragments each way.
			out, err := exec.CommandContext(ctx(t), py, "testdata/impacket_echo.py", "tcp:"+port, tc.level, "alice", password, "10240").CombinedOutput()
			if err != nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}
