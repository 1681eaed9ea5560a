package smbpipe_test

import (
	"encoding/binary"
	"testing"

	"github.com/smbpipe/smbpipe"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/ntstatus"
	rpcecho "github.com/smbpipe/smbpipe/rpc/echo"
)

// whoami is an interface whose one operation answers with the caller's
// user name and flags: uint32 WhoAmI([out,string] wchar_t **name).
var whoami = dcerpc.Interface{
	Name:   "whoami",
	Syntax: dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("0f6a3e2c-52a1-4a5b-8c4e-2d2b7e3f9a01"), Major: 1},
	Ops: []dcerpc.Op{{Name: "WhoAmI", Func: func(c *dcerpc.Call, _ *ndr.Reader, out *ndr.Writer) error {
		who := c.Caller()
		if out.UniquePtr(true) {
			out.WString(who.Domain + `\` + who.User)
		}
		var flags uint32
		if who.Anonymous {
			flags |= 1
		}
		out.Uint32(flags | uint32(c.AuthLevel())<<8)
		return nil
	}}},
}

func callWhoami(t *testing.T, p *client.Pipe, opts *dcerpc.ClientOptions) (string, uint32) {
	t.Helper()
	c, err := dcerpc.Bind(ctxT(t), p, whoami.Syntax, opts)
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	out, err := c.Call(ctxT(t), 0, nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	r := ndr.NewReader(out, ndr.LittleEndian)
	var name string
	if r.UniquePtr() {
		name = r.WString()
	}
	flags := r.Uint32()
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	return name, flags
}

// TestListenRPC: a Go interface served with ListenRPC sees the SMB
// session's identity (anonymous on a null session, at auth level none),
// the policy decides the open as for any pipe, the mgmt interface lists
// the interfaces served, and Close removes the pipe.
func TestListenRPC(t *testing.T) {
	srv := &smbpipe.Server{Config: testConfig("whoami"), Logger: quiet()}
	if _, err := srv.ListenRPC("none", nil); err == nil {
		t.Fatal("ListenRPC without an interface succeeded")
	}
	svc, err := srv.ListenRPC("whoami", &smbpipe.PipeConfig{SecurityDescriptor: "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)"}, whoami, rpcecho.Interface())
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Interfaces(); len(got) != 2 || got[0] != whoami.Syntax {
		t.Fatalf("Interfaces() = %v", got)
	}
	if _, err := srv.ListenRPC("WHOAMI", nil, whoami); err == nil {
		t.Fatal("a second pipe of the same name")
	}
	addr := start(t, srv)

	anon := dialConn(t, addr, client.Config{})
	if name, flags := callWhoami(t, open(t, anon, "whoami"), nil); name != `\` || flags != 1|uint32(dcerpc.LevelNone)<<8 {
		t.Errorf("anonymous: %q, flags 0x%x", name, flags)
	}
	alice := dialConn(t, addr, client.Config{User: "alice", Password: "Passw0rd!"})
	p := open(t, alice, "whoami")
	if name, flags := callWhoami(t, p, nil); name != `WORKGROUP\alice` || flags != uint32(dcerpc.LevelNone)<<8 {
		t.Errorf("alice: %q, flags 0x%x", name, flags)
	}

	// The second interface, on another instance of the pipe.
	p2 := open(t, alice, "whoami")
	c, err := dcerpc.Bind(ctxT(t), p2, rpcecho.Syntax, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Call(ctxT(t), rpcecho.OpAddOne, binary.LittleEndian.AppendUint32(nil, 41))
	if err != nil || binary.LittleEndian.Uint32(out) != 42 {
		t.Fatalf("AddOne: %x, %v", out, err)
	}

	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = alice.OpenPipe(ctxT(t), "whoami")
	wantStatus(t, "open after Close", err, ntstatus.ObjectNameNotFound)
}
