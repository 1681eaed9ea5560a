package srvsvc_test

import (
	"slices"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/srvsvc"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
)

// live is a fixed table of two sessions and one open.
type live struct{ now time.Time }

func (l live) LiveSessions() []svc.Session {
	return []svc.Session{
		{ID: 7, Client: "192.0.2.1:50000", User: "alice", Domain: "TESTSRV", Started: l.now.Add(-90 * time.Second), LastActive: l.now.Add(-5 * time.Second), Opens: 1},
		{ID: 9, Client: "[2001:db8::1]:445", Anonymous: true, Started: l.now.Add(-time.Second)},
	}
}

func (l live) LiveOpens() []svc.Open {
	return []svc.Open{{ID: 8, Session: 7, Pipe: "srvsvc", Client: "192.0.2.1:50000", User: "alice", Granted: 0x0012019F}}
}

func dial(t *testing.T, caller dcerpc.Caller) *dcerpc.Client {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	env := svctest.Env(svctest.Snapshot(t, ""), nil)
	env.Live = live{now}
	env.Now = func() time.Time { return now }
	return svctest.Dial(t, srvsvc.Interface(env), caller)
}

func liveCall(t *testing.T, c *dcerpc.Client, q srvsvc.LiveRequest) srvsvc.LiveReply {
	t.Helper()
	out, err := svctest.Call(t, c, q.Op, stub(t, &q))
	if err != nil {
		t.Fatal(err)
	}
	p := srvsvc.LiveReply{Op: q.Op}
	if err := ndr.Unmarshal(out, ndr.LittleEndian, &p); err != nil {
		t.Fatalf("reply: %v", err)
	}
	return p
}

// TestLiveTables: NetrSessionEnum, NetrConnectionEnum and NetrFileEnum
// list the server's live tables for an administrator at every level and
// refuse a user (ERROR_ACCESS_DENIED, NULL container) and a level they do
// not take (ERROR_INVALID_LEVEL).
func TestLiveTables(t *testing.T) {
	root := dial(t, svctest.Root)
	for _, level := range []uint32{0, 1, 2, 10, 502} {
		p := liveCall(t, root, srvsvc.LiveRequest{Op: srvsvc.OpNetrSessionEnum, ServerName: "srv", Level: level, PrefMaxLen: ^uint32(0)})
		if p.Result != 0 || p.Total != 2 || len(p.Sessions) != 2 || p.Sessions[0].ClientName != `\\192.0.2.1` || p.Sessions[1].ClientName != `\\2001:db8::1` {
			t.Fatalf("NetrSessionEnum level %d: %+v", level, p)
		}
		s := p.Sessions[0]
		if level != 0 && (s.User != "alice" || s.Time != 90 || s.Idle != 5) {
			t.Errorf("NetrSessionEnum level %d: session %+v", level, s)
		}
		if (level == 1 || level == 2 || level == 502) && s.Opens != 1 {
			t.Errorf("NetrSessionEnum level %d: opens %d", level, s.Opens)
		}
		if level == 502 && s.Transport == "" {
			t.Errorf("NetrSessionEnum level 502: no transport")
		}
	}
	p := liveCall(t, root, srvsvc.LiveRequest{Op: srvsvc.OpNetrSessionEnum, UserName: "alice", Level: 10})
	if p.Result != 0 || len(p.Sessions) != 1 {
		t.Errorf("NetrSessionEnum for alice: %+v", p)
	}
	if p := liveCall(t, root, srvsvc.LiveRequest{Op: srvsvc.OpNetrSessionEnum, ClientName: `\\198.51.100.1`, Level: 10}); p.Result != svc.NERRClientNameNotFound {
		t.Errorf("NetrSessionEnum of an unknown client: %+v", p)
	}
	if p := liveCall(t, root, srvsvc.LiveRequest{Op: srvsvc.OpNetrSessionEnum, UserName: "bob", Level: 10}); p.Result != svc.NERRUserNotFound {
		t.Errorf("NetrSessionEnum of an unknown user: %+v", p)
	}

	for _, level := range []uint32{0, 1} {
		p := liveCall(t, root, srvsvc.LiveRequest{Op: srvsvc.OpNetrConnectionEnum, ClientName: "IPC$", Level: level, PrefMaxLen: ^uint32(0)})
		if p.Result != 0 || len(p.Connections) != 2 || p.Connections[0].ID != 7 {
			t.Fatalf("NetrConnectionEnum IPC$ level %d: %+v", level, p)
		}
		if level == 1 && (p.Connections[0].NetName != "192.0.2.1" || p.Connections[0].User != "alice" || p.Connections[0].Type != srvsvc.STypeIPC) {
			t.Errorf("NetrConnectionEnum IPC$ level 1: %+v", p.Connections[0])
		}
	}
	p = liveCall(t, root, srvsvc.LiveRequest{Op: srvsvc.OpNetrConnectionEnum, ClientName: `\\192.0.2.1`, Level: 1})
	if p.Result != 0 || len(p.Connections) != 1 || p.Connections[0].NetName != "IPC$" {
		t.Errorf("NetrConnectionEnum of a client: %+v", p)
	}
	for q, want := range map[string]uint32{"": svc.ErrInvalidParameter, "C$": svc.NERRNetNameNotFound} {
		if p := liveCall(t, root, srvsvc.LiveRequest{Op: srvsvc.OpNetrConnectionEnum, ClientName: q, Level: 1}); p.Result != want {
			t.Errorf("NetrConnectionEnum %q: result %d, want %d", q, p.Result, want)
		}
	}

	for _, level := range []uint32{2, 3} {
		p := liveCall(t, root, srvsvc.LiveRequest{Op: srvsvc.OpNetrFileEnum, Level: level, PrefMaxLen: 4096})
		if p.Result != 0 || len(p.Files) != 1 || p.Files[0].ID != 8 {
			t.Fatalf("NetrFileEnum level %d: %+v", level, p)
		}
		if f := p.Files[0]; level == 3 && (f.Path != `\PIPE\srvsvc` || f.User != "alice" || f.Permissions != 3) {
			t.Errorf("NetrFileEnum level 3: %+v", f)
		}
	}
	if p := liveCall(t, root, srvsvc.LiveRequest{Op: srvsvc.OpNetrFileEnum, ClientName: `\PIPE\lsarpc`, Level: 3}); p.Result != 0 || len(p.Files) != 0 {
		t.Errorf("NetrFileEnum of another path: %+v", p)
	}

	alice := dial(t, svctest.Alice)
	for _, q := range []srvsvc.LiveRequest{
		{Op: srvsvc.OpNetrSessionEnum, Level: 10},
		{Op: srvsvc.OpNetrConnectionEnum, ClientName: "IPC$", Level: 1},
		{Op: srvsvc.OpNetrFileEnum, Level: 3},
	} {
		if p := liveCall(t, alice, q); p.Result != svc.ErrAccessDenied || p.Sessions != nil || p.Connections != nil || p.Files != nil {
			t.Errorf("opnum %d as alice: %+v, want ERROR_ACCESS_DENIED and no entries", q.Op, p)
		}
	}
	for _, q := range []srvsvc.LiveRequest{
		{Op: srvsvc.OpNetrSessionEnum, Level: 3},
		{Op: srvsvc.OpNetrConnectionEnum, ClientName: "IPC$", Level: 2},
		{Op: srvsvc.OpNetrFileEnum, Level: 1},
	} {
		// An unknown level does not decode: the server faults.
		if _, err := svctest.Call(t, root, q.Op, stub(t, &q)); err == nil {
			t.Errorf("opnum %d level %d: no fault", q.Op, q.Level)
		}
	}
}

// TestServerGetInfoLevels: levels 100 and 101 for anyone on the pipe, 102,
// 502 and 503 for administrators; 503 carries the domain.
func TestServerGetInfoLevels(t *testing.T) {
	root, alice := dial(t, svctest.Root), dial(t, svctest.Alice)
	for _, level := range []uint32{100, 101, 102, 502, 503, 599, 7} {
		for _, who := range []struct {
			c     *dcerpc.Client
			admin bool
		}{{root, true}, {alice, false}} {
			w := ndr.NewWriter(nil, ndr.LittleEndian)
			w.UniquePtr(false)
			w.Uint32(level)
			b, _ := w.Bytes()
			out, err := svctest.Call(t, who.c, srvsvc.OpNetrServerGetInfo, b)
			if err != nil {
				t.Fatal(err)
			}
			var p srvsvc.ServerInfoReply
			if err := ndr.Unmarshal(out, ndr.LittleEndian, &p); err != nil {
				t.Fatalf("level %d: %v", level, err)
			}
			served := slices.Contains([]uint32{100, 101, 102, 502, 503}, level)
			adminOnly := level == 102 || level == 502 || level == 503
			var want uint32
			switch {
			case adminOnly && !who.admin:
				want = svc.ErrAccessDenied
			case !served:
				want = svc.ErrInvalidLevel
			}
			if p.Result != want || (p.Info != nil) != (want == 0) {
				t.Errorf("level %d admin %v: result %d info %v, want %d", level, who.admin, p.Result, p.Info != nil, want)
				continue
			}
			switch {
			case p.Info == nil:
			case level == 503 && (p.Info.Domain != "TESTDOM" || p.Info.Tunables[9] == 0 || p.Info.More[0] == 0):
				t.Errorf("level 503: %+v", p.Info)
			case level == 101 && p.Info.Name != "TESTSRV":
				t.Errorf("level 101: %+v", p.Info)
			}
		}
	}
}

// TestCharDev: NetrCharDevEnum and NetrCharDevQEnum answer an
// administrator ERROR_NOT_SUPPORTED and a user ERROR_ACCESS_DENIED, with
// a NULL container.
func TestCharDev(t *testing.T) {
	for _, tc := range []struct {
		who  dcerpc.Caller
		want uint32
	}{{svctest.Root, svc.ErrNotSupported}, {svctest.Alice, svc.ErrAccessDenied}} {
		c := dial(t, tc.who)
		for _, op := range []uint16{srvsvc.OpNetrCharDevEnum, srvsvc.OpNetrCharDevQEnum} {
			w := ndr.NewWriter(nil, ndr.LittleEndian)
			w.UniquePtr(false) // ServerName
			if op == srvsvc.OpNetrCharDevQEnum {
				w.UniquePtr(false) // UserName
			}
			w.Uint32(1)
			w.Uint32(1)
			w.DeferUnique(true, func(w *ndr.Writer) { w.Uint32(0); w.UniquePtr(false) })
			w.Flush()
			w.Uint32(0xFFFFFFFF)
			w.UniquePtr(false)
			b, _ := w.Bytes()
			out, err := svctest.Call(t, c, op, b)
			if err != nil {
				t.Fatal(err)
			}
			want := []byte{1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(tc.want), 0, 0, 0}
			if string(out) != string(want) {
				t.Errorf("opnum %d as %s: % x, want % x", op, tc.who.User, out, want)
			}
		}
	}
}

// BenchmarkServerGetInfo101 is one NetrServerGetInfo level 101 call as a
// user through the DCE/RPC engine on an in-memory pipe (the srvsvc-101
// row of bench/compare.sh without SMB): the service's and the engine's
// share of a call, and its allocations.
func BenchmarkServerGetInfo101(b *testing.B) {
	c := svctest.Dial(b, srvsvc.Interface(svctest.Env(svctest.Snapshot(b, ""), nil)), svctest.Alice)
	req := []byte{0, 0, 0, 0, 101, 0, 0, 0}
	b.ReportAllocs()
	for b.Loop() {
		out, err := svctest.Call(b, c, srvsvc.OpNetrServerGetInfo, req)
		if err != nil || len(out) < 4 || out[len(out)-1]|out[len(out)-2]|out[len(out)-3]|out[len(out)-4] != 0 {
			b.Fatalf("NetrServerGetInfo 101: %x %v", out, err)
		}
	}
}
