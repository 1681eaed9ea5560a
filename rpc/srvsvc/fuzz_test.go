package srvsvc_test

import (
	"context"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/srvsvc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
)

func stub(t testing.TB, m ndr.Marshaler) []byte {
	b, err := ndr.Marshal(nil, ndr.LittleEndian, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzRequests sends any stub to any srvsvc opnum (the first byte picks
// it) as an administrator: the service answers or faults, never panics,
// and the association survives.
func FuzzRequests(f *testing.F) {
	env := svctest.Env(svctest.Snapshot(f, ""), nil)
	env.Live = live{time.Now()}
	c := svctest.Dial(f, srvsvc.Interface(env), svctest.Root)
	for _, level := range []uint32{0, 1, 2, 501, 502, 7} {
		f.Add(append([]byte{srvsvc.OpNetrShareEnum}, stub(f, &srvsvc.EnumRequest{ServerName: "srv", Level: level, PrefMaxLen: ^uint32(0)})...))
		f.Add(append([]byte{srvsvc.OpNetrShareGetInfo}, stub(f, &srvsvc.GetInfoRequest{ServerName: "srv", NetName: "IPC$", Level: level})...))
	}
	f.Add([]byte{srvsvc.OpNetrShareEnumSticky, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0})
	f.Add([]byte{srvsvc.OpNetrServerGetInfo, 0, 0, 0, 0, 101, 0, 0, 0})
	f.Add([]byte{srvsvc.OpNetrServerGetInfo, 0, 0, 0, 0, 0xF7, 1, 0, 0}) // 503
	for _, q := range []srvsvc.LiveRequest{
		{Op: srvsvc.OpNetrSessionEnum, ServerName: "srv", ClientName: `\\192.0.2.1`, UserName: "alice", Level: 502, PrefMaxLen: ^uint32(0)},
		{Op: srvsvc.OpNetrSessionEnum, Level: 10, Resume: 1},
		{Op: srvsvc.OpNetrConnectionEnum, ServerName: "srv", ClientName: "IPC$", Level: 1, ResumeIsNull: true},
		{Op: srvsvc.OpNetrFileEnum, ServerName: "srv", ClientName: `\PIPE\`, UserName: "root", Level: 3, PrefMaxLen: 4096},
	} {
		f.Add(append([]byte{byte(q.Op)}, stub(f, &q)...))
	}
	f.Add([]byte{srvsvc.OpNetrRemoteTOD, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		svctest.Call(t, c, uint16(data[0]%(srvsvc.OpNetrShareEnumSticky+1)), data[1:])
		if _, err := svctest.Call(t, c, srvsvc.OpNetrRemoteTOD, []byte{0, 0, 0, 0}); err != nil {
			t.Fatalf("the association did not survive: %v", err)
		}
	})
}

// FuzzReplies answers every client call of the package (what smbpipe rpc
// makes of a server's replies) with any stub: the client returns a result
// or an error, never panics.
func FuzzReplies(f *testing.F) {
	c, set := svctest.Replies(f, "srvsvc", srvsvc.Syntax)
	good := stub(f, &srvsvc.EnumReply{Level: 1, Shares: srvsvc.Shares(), Total: 1, ResumeIsNull: true})
	set(good)
	if shares, err := srvsvc.EnumShares(context.Background(), c, "srv", 1); err != nil || len(shares) != 1 || shares[0].Name != "IPC$" {
		f.Fatalf("the well-formed reply: %v, %v", shares, err)
	}
	f.Add(good)
	f.Add(stub(f, &srvsvc.EnumReply{Level: 502, Shares: srvsvc.Shares(), Total: 1}))
	f.Add([]byte{101, 0, 0, 0, 0, 0, 2, 0, 0xF4, 1, 0, 0, 4, 0, 2, 0, 10, 0, 0, 0, 0, 0, 0, 0, 3, 0x10, 0, 0, 8, 0, 2, 0})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		set(data)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, level := range []uint32{100, 101, 102, 502, 503} {
			srvsvc.GetServerInfo(ctx, c, "srv", level)
		}
		for _, level := range []uint32{0, 1, 2, 501, 502} {
			srvsvc.EnumShares(ctx, c, "srv", level)
			srvsvc.GetShareInfo(ctx, c, "srv", "IPC$", level)
		}
		for _, q := range []srvsvc.LiveRequest{
			{Op: srvsvc.OpNetrSessionEnum, Level: 10}, {Op: srvsvc.OpNetrSessionEnum, Level: 502},
			{Op: srvsvc.OpNetrConnectionEnum, ClientName: "IPC$", Level: 1},
			{Op: srvsvc.OpNetrFileEnum, Level: 3},
		} {
			srvsvc.EnumLive(ctx, c, q)
		}
		srvsvc.RemoteTOD(ctx, c, "srv")
	})
}
