package srvsvc_test

import (
	"testing"

	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/srvsvc"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
)

// TestShareLevel503: NetrShareEnum and NetrShareGetInfo at level 503
// (SHARE_INFO_503_I: 502's fields and the server name the share is scoped
// to, "*" for all) answer an administrator and refuse a user with
// ERROR_ACCESS_DENIED, as Windows; the enumeration's request used not to
// decode (a bad-stub fault).
func TestShareLevel503(t *testing.T) {
	root, alice := dial(t, svctest.Root), dial(t, svctest.Alice)
	enum := func(who string) srvsvc.EnumReply {
		t.Helper()
		q := srvsvc.EnumRequest{ServerName: "srv", Level: 503, PrefMaxLen: ^uint32(0), ResumeIsNull: true}
		cl := root
		if who == "alice" {
			cl = alice
		}
		out, err := svctest.Call(t, cl, srvsvc.OpNetrShareEnum, stub(t, &q))
		if err != nil {
			t.Fatalf("NetrShareEnum 503 as %s: %v", who, err)
		}
		var p srvsvc.EnumReply
		if err := ndr.Unmarshal(out, ndr.LittleEndian, &p); err != nil {
			t.Fatalf("NetrShareEnum 503 reply as %s: %v", who, err)
		}
		return p
	}
	if p := enum("root"); p.Result != 0 || len(p.Shares) != 1 || p.Shares[0].Name != "IPC$" || p.Shares[0].ServerName != "*" ||
		p.Shares[0].MaxUses != 0xFFFFFFFF || p.Shares[0].Type != srvsvc.STypeIPC|srvsvc.STypeSpecial {
		t.Errorf("NetrShareEnum 503 as root: %+v", p)
	}
	if p := enum("alice"); p.Result != svc.ErrAccessDenied || p.Shares != nil {
		t.Errorf("NetrShareEnum 503 as alice: %+v, want ERROR_ACCESS_DENIED", p)
	}

	get := func(who string) srvsvc.GetInfoReply {
		t.Helper()
		cl := root
		if who == "alice" {
			cl = alice
		}
		q := srvsvc.GetInfoRequest{ServerName: "srv", NetName: "ipc$", Level: 503}
		out, err := svctest.Call(t, cl, srvsvc.OpNetrShareGetInfo, stub(t, &q))
		if err != nil {
			t.Fatalf("NetrShareGetInfo 503 as %s: %v", who, err)
		}
		var p srvsvc.GetInfoReply
		if err := ndr.Unmarshal(out, ndr.LittleEndian, &p); err != nil {
			t.Fatalf("NetrShareGetInfo 503 reply as %s: %v", who, err)
		}
		return p
	}
	if p := get("root"); p.Result != 0 || p.Share == nil || p.Share.Name != "IPC$" || p.Share.ServerName != "*" || p.Share.Remark != "Remote IPC" {
		t.Errorf("NetrShareGetInfo 503 as root: %+v %+v", p, p.Share)
	}
	if p := get("alice"); p.Result != svc.ErrAccessDenied || p.Share != nil {
		t.Errorf("NetrShareGetInfo 503 as alice: %+v, want ERROR_ACCESS_DENIED", p)
	}
}

// TestNameValidate: NetprNameValidate (opnum 33) checks a name of each
// NAMETYPE_* as Windows: 0 for a valid one, ERROR_INVALID_NAME for one too
// long or holding a character names may not hold, ERROR_INVALID_PARAMETER
// for an unknown type or flag; any user may ask.
func TestNameValidate(t *testing.T) {
	c := dial(t, svctest.Alice)
	for _, tc := range []struct {
		name       string
		typ, flags uint32
		want       uint32
	}{
		{"IPC$", 9, 0, 0},
		{"my share", 9, 0, 0},
		{"a/b", 9, 0, svc.ErrInvalidName},
		{"a*b", 9, 0, svc.ErrInvalidName},
		{"", 9, 0, svc.ErrInvalidName},
		{"...", 9, 0, svc.ErrInvalidName},
		{"SMBPIPE", 4, 0, 0},
		{"ABCDEFGHIJKLMNOP", 4, 0, svc.ErrInvalidName}, // 16 > CNLEN
		{"alice", 1, 0, 0},
		{"alice@x", 1, 0, 0},
		{"a\tb", 1, 0, svc.ErrInvalidName},
		{`\\srv\ipc$`, 8, 0, 0},
		{"secret!", 12, 0, 0},
		{"123456789", 12, 0, svc.ErrInvalidName}, // 9 > SHPWLEN
		{"x", 0, 0, svc.ErrInvalidParameter},
		{"x", 14, 0, svc.ErrInvalidParameter},
		{"x", 9, 1, svc.ErrInvalidParameter},
		{"x", 9, 0x80000000, 0},
	} {
		w := ndr.NewWriter(nil, ndr.LittleEndian)
		w.UniquePtr(true)
		w.WString(`\\srv`)
		w.WString(tc.name)
		w.Uint32(tc.typ)
		w.Uint32(tc.flags)
		b, _ := w.Bytes()
		out, err := svctest.Call(t, c, srvsvc.OpNetprNameValidate, b)
		if err != nil {
			t.Fatalf("NetprNameValidate %q type %d: %v", tc.name, tc.typ, err)
		}
		if got := ndr.NewReader(out, ndr.LittleEndian).Uint32(); got != tc.want || len(out) != 4 {
			t.Errorf("NetprNameValidate %q type %d flags %#x: %d, want %d", tc.name, tc.typ, tc.flags, got, tc.want)
		}
	}
}
