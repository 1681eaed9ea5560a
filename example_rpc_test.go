package smbpipe_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"

	"github.com/smbpipe/smbpipe"
	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/policy"
)

// A Go program serves its own DCE/RPC interface on \pipe\double: one
// operation, uint32 Double([in] uint32 v), whose handler sees who calls.
// The client binds with packet privacy (NTLMSSP sealing) over smbpipe's
// Dialer and calls it.
func ExampleServer_ListenRPC() {
	srv := &smbpipe.Server{
		Config: &policy.Config{Accounts: []policy.Account{{Name: "alice", Password: "Passw0rd!"}}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	defer srv.Close()
	syntax := dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("5e2a7bd6-1d3c-4c4e-9f0a-6a1e4d2b9c10"), Major: 1}
	seen := make(chan string, 1)
	double := dcerpc.Interface{
		Name:   "double",
		Syntax: syntax,
		Ops: []dcerpc.Op{{Name: "Double", Func: func(c *dcerpc.Call, in *ndr.Reader, out *ndr.Writer) error {
			v := in.Uint32()
			if err := in.Err(); err != nil {
				return err
			}
			who := c.Caller()
			seen <- fmt.Sprintf(`%s\%s at %v, Authenticated Users: %v`,
				who.Domain, who.User, c.AuthLevel(), slices.Contains(who.SIDs, "S-1-5-11"))
			out.Uint32(2 * v)
			return nil
		}}},
	}
	svc, err := srv.ListenRPC("double", &smbpipe.PipeConfig{
		SecurityDescriptor: "D:(A;;0x12019B;;;AU)(A;;FA;;;SY)", // authenticated users
	}, double)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()
	tl, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(tl)

	ctx := context.Background()
	d := smbpipe.Dialer{Config: smbpipe.ClientConfig{User: "alice", Password: "Passw0rd!"}}
	p, err := d.DialContext(ctx, `\\`+tl.Addr().String()+`\pipe\double`)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	c, err := dcerpc.Bind(ctx, p, syntax, &dcerpc.ClientOptions{
		AuthLevel: dcerpc.LevelPrivacy,
		NTLM:      &ntlm.Client{User: "alice", Password: "Passw0rd!"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := c.Call(ctx, 0, binary.LittleEndian.AppendUint32(nil, 21))
	fmt.Println(binary.LittleEndian.Uint32(out), err)
	fmt.Println(<-seen)
	// Output:
	// 42 <nil>
	// WORKGROUP\alice at privacy, Authenticated Users: true
}
