package samr_test

import (
	"context"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/samr"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
	"github.com/smbpipe/smbpipe/security"
)

func build(f func(w *ndr.Writer)) []byte {
	w := ndr.NewWriter(nil, ndr.LittleEndian)
	f(w)
	b, _ := w.Bytes()
	return b
}

// handles opens a server, an account-domain and a user handle as root.
func handles(t testing.TB, call func(op uint16, stub []byte) ([]byte, error)) (srv, dom, user ndr.ContextHandle) {
	get := func(op uint16, stub []byte, off int) ndr.ContextHandle {
		out, err := call(op, stub)
		if err != nil || len(out) < off+24 || out[off+20] != 0 {
			t.Fatalf("opnum %d: %x %v", op, out, err)
		}
		return ndr.NewReader(out[off:], ndr.LittleEndian).ContextHandle()
	}
	srv = get(samr.OpConnect5, build(func(w *ndr.Writer) {
		w.UniquePtr(true)
		w.WString(`\\srv`)
		w.Uint32(0x02000000)
		w.Uint32(1)
		w.Uint32(1)
		w.Uint32(3)
		w.Uint32(0)
	}), 16)
	m, _ := security.ParseSID("S-1-5-21-1-2-3")
	dom = get(samr.OpOpenDomain, build(func(w *ndr.Writer) {
		w.ContextHandle(srv)
		w.Uint32(0x02000000)
		svc.WriteSID(w, m)
	}), 0)
	user = get(samr.OpOpenUser, build(func(w *ndr.Writer) {
		w.ContextHandle(dom)
		w.Uint32(0x02000000)
		w.Uint32(1001)
	}), 0)
	return srv, dom, user
}

// FuzzRequests sends any stub to any samr opnum (the first byte picks it;
// the second, when not 0, puts a live server, domain or user handle in
// the stub's first 20 bytes): an answer or a fault, never a panic.
func FuzzRequests(f *testing.F) {
	c := svctest.Dial(f, samr.Interface(svctest.Env(svctest.Snapshot(f, ""), nil)), svctest.Root)
	call := func(op uint16, stub []byte) ([]byte, error) { return svctest.Call(f, c, op, stub) }
	srv, dom, user := handles(f, call)
	hs := []ndr.ContextHandle{srv, dom, user}
	with := func(h ndr.ContextHandle, rest func(w *ndr.Writer)) []byte {
		return build(func(w *ndr.Writer) { w.ContextHandle(h); rest(w) })
	}
	f.Add(append([]byte{samr.OpEnumerateUsersInDomain, 2}, with(dom, func(w *ndr.Writer) { w.Uint32(0); w.Uint32(0); w.Uint32(0xFFFF) })...))
	f.Add(append([]byte{samr.OpQueryInformationUser2, 3}, with(user, func(w *ndr.Writer) { w.Enum(21) })...))
	f.Add(append([]byte{samr.OpQueryDisplayInformation, 2}, with(dom, func(w *ndr.Writer) { w.Enum(1); w.Uint32(0); w.Uint32(100); w.Uint32(0xFFFF) })...))
	f.Add(append([]byte{samr.OpLookupNamesInDomain, 2}, with(dom, func(w *ndr.Writer) {
		w.Uint32(2)
		w.MaxCount(1000)
		w.Variance(0, 2)
		w.UnicodeString("alice")
		w.UnicodeString("nobody")
		w.Flush()
	})...))
	f.Add(append([]byte{samr.OpLookupIdsInDomain, 2}, with(dom, func(w *ndr.Writer) { w.Uint32(1); w.MaxCount(1000); w.Variance(0, 1); w.Uint32(500) })...))
	f.Add(append([]byte{samr.OpOpenAlias, 2}, with(dom, func(w *ndr.Writer) { w.Uint32(0x02000000); w.Uint32(544) })...))
	f.Add(append([]byte{samr.OpGetMembersInAlias, 2}, with(dom, func(*ndr.Writer) {})...))
	f.Add(append([]byte{samr.OpQueryInformationAlias, 2}, with(dom, func(w *ndr.Writer) { w.Enum(1) })...))
	f.Add(append([]byte{samr.OpLookupDomainInSamServer, 1}, with(srv, func(w *ndr.Writer) { w.UnicodeString("BUILTIN"); w.Flush() })...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		op := uint16(data[0] % (samr.OpConnect5 + 1))
		if op == samr.OpCloseHandle {
			return
		}
		stub := append([]byte(nil), data[2:]...)
		if k := data[1] % 4; k > 0 && len(stub) >= 20 {
			copy(stub, with(hs[k-1], func(*ndr.Writer) {}))
		}
		svctest.Call(t, c, op, stub)
		if _, err := svctest.Call(t, c, samr.OpQueryInformationDomain, with(dom, func(w *ndr.Writer) { w.Enum(2) })); err != nil {
			t.Fatalf("the association or its handle did not survive: %v", err)
		}
	})
}

// FuzzReplies answers every client call of the package (what smbpipe rpc
// makes of a server's replies) with any stub: the client returns a result
// or an error, never panics. The seeds are the real service's replies.
func FuzzReplies(f *testing.F) {
	real := svctest.Dial(f, samr.Interface(svctest.Env(svctest.Snapshot(f, ""), nil)), svctest.Root)
	call := func(op uint16, stub []byte) ([]byte, error) { return svctest.Call(f, real, op, stub) }
	srv, dom, user := handles(f, call)
	with := func(h ndr.ContextHandle, rest func(w *ndr.Writer)) []byte {
		return build(func(w *ndr.Writer) { w.ContextHandle(h); rest(w) })
	}
	users, err := call(samr.OpEnumerateUsersInDomain, with(dom, func(w *ndr.Writer) { w.Uint32(0); w.Uint32(0); w.Uint32(0xFFFFFFFF) }))
	if err != nil {
		f.Fatal(err)
	}
	c, set := svctest.Replies(f, "samr", samr.Syntax)
	set(users)
	es, err := samr.EnumUsers(context.Background(), c, dom)
	if err != nil || len(es) < 3 {
		f.Fatalf("the real reply: %v, %v", es, err)
	}
	f.Add(users)
	for _, q := range []struct {
		op   uint16
		stub []byte
	}{
		{samr.OpLookupNamesInDomain, with(dom, func(w *ndr.Writer) {
			w.Uint32(1)
			w.MaxCount(1000)
			w.Variance(0, 1)
			w.UnicodeString("alice")
			w.Flush()
		})},
		{samr.OpGetGroupsForUser, with(user, func(*ndr.Writer) {})},
		{samr.OpLookupDomainInSamServer, with(srv, func(w *ndr.Writer) { w.UnicodeString("BUILTIN"); w.Flush() })},
	} {
		out, err := call(q.op, q.stub)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(out)
	}
	sid, _ := security.ParseSID("S-1-5-21-1-2-3-1001")
	f.Fuzz(func(t *testing.T, data []byte) {
		set(data)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		samr.Connect5(ctx, c, "srv", 0x02000000)
		samr.EnumDomains(ctx, c, srv)
		samr.EnumUsers(ctx, c, dom)
		samr.EnumAliases(ctx, c, dom)
		samr.LookupDomain(ctx, c, srv, "BUILTIN")
		samr.OpenDomain(ctx, c, srv, 0x02000000, sid)
		samr.OpenUser(ctx, c, dom, 0x02000000, 1001)
		samr.OpenAlias(ctx, c, dom, 0x02000000, 544)
		samr.LookupNames(ctx, c, dom, []string{"alice"})
		samr.GroupsForUser(ctx, c, user)
		samr.AliasMembership(ctx, c, dom, []security.SID{sid})
		samr.MembersInAlias(ctx, c, dom)
		samr.Close(ctx, c, user)
	})
}
