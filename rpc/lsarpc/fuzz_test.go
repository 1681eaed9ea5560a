package lsarpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/lsarpc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
	"github.com/smbpipe/smbpipe/security"
)

// openPolicy2 returns the stub of LsarOpenPolicy2 with MAXIMUM_ALLOWED.
func openPolicy2() []byte {
	w := ndr.NewWriter(nil, ndr.LittleEndian)
	w.UniquePtr(true)
	w.WString(`\\srv`)
	(&lsarpc.ObjectAttributes{QoS: &lsarpc.QoS{Length: 12, ImpersonationLevel: 2, ContextTracking: 1}}).MarshalNDR(w)
	w.Uint32(0x02000000)
	b, _ := w.Bytes()
	return b
}

// open opens a policy handle and returns it.
func open(t testing.TB, call func(op uint16, stub []byte) ([]byte, error)) ndr.ContextHandle {
	out, err := call(lsarpc.OpOpenPolicy2, openPolicy2())
	if err != nil || len(out) != 24 || out[20] != 0 {
		t.Fatalf("LsarOpenPolicy2: %x %v", out, err)
	}
	r := ndr.NewReader(out, ndr.LittleEndian)
	return r.ContextHandle()
}

func handleStub(h ndr.ContextHandle, rest func(w *ndr.Writer)) []byte {
	w := ndr.NewWriter(nil, ndr.LittleEndian)
	w.ContextHandle(h)
	rest(w)
	b, _ := w.Bytes()
	return b
}

// FuzzRequests sends any stub to any lsarpc opnum (the first byte picks
// it; when the second is odd, the stub's first 20 bytes become a live
// policy handle so that the decoders behind the handle check are
// reached): an answer or a fault, never a panic.
func FuzzRequests(f *testing.F) {
	c := svctest.Dial(f, lsarpc.Interface(svctest.Env(svctest.Snapshot(f, ""), nil)), svctest.Root)
	call := func(op uint16, stub []byte) ([]byte, error) { return svctest.Call(f, c, op, stub) }
	h := open(f, call)
	a, _ := security.ParseSID("S-1-5-32-544")
	b, _ := security.ParseSID("S-1-5-21-1-2-3-1001")
	f.Add(append([]byte{lsarpc.OpOpenPolicy2, 0}, openPolicy2()...))
	f.Add(append([]byte{lsarpc.OpLookupSids, 1}, handleStub(h, func(w *ndr.Writer) {
		lsarpc.WriteSIDArray(w, []security.SID{a, b})
		lsarpc.WriteTranslated(w, lsarpc.FormName, nil)
		w.Enum(1)
		w.Uint32(0)
	})...))
	f.Add(append([]byte{lsarpc.OpLookupNames3, 1}, handleStub(h, func(w *ndr.Writer) {
		lsarpc.WriteNames(w, []string{"alice", `BUILTIN\Administrators`, "nobody"})
		lsarpc.WriteTranslated(w, lsarpc.FormSidEx2, nil)
		w.Enum(1)
		w.Uint32(0)
		w.Uint32(0)
		w.Uint32(2)
	})...))
	f.Add(append([]byte{lsarpc.OpQuerySecurityObject, 1}, handleStub(h, func(w *ndr.Writer) { w.Uint32(7) })...))
	f.Add(append([]byte{lsarpc.OpQueryInformationPolicy2, 1}, handleStub(h, func(w *ndr.Writer) { w.Enum(12) })...))
	f.Add([]byte{lsarpc.OpGetUserName, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		op := uint16(data[0] % (lsarpc.OpLookupNames4 + 1))
		if op == lsarpc.OpClose {
			return // closing the fuzzer's handle would stop the deep paths
		}
		stub := append([]byte(nil), data[2:]...)
		if data[1]&1 == 1 && len(stub) >= 20 {
			copy(stub, handleStub(h, func(*ndr.Writer) {}))
		}
		svctest.Call(t, c, op, stub)
		if _, err := svctest.Call(t, c, lsarpc.OpQueryInformationPolicy, handleStub(h, func(w *ndr.Writer) { w.Enum(5) })); err != nil {
			t.Fatalf("the association or its handle did not survive: %v", err)
		}
	})
}

// FuzzReplies answers every client call of the package (what smbpipe rpc
// makes of a server's replies) with any stub: the client returns a result
// or an error, never panics. The seeds are the real service's replies.
func FuzzReplies(f *testing.F) {
	real := svctest.Dial(f, lsarpc.Interface(svctest.Env(svctest.Snapshot(f, ""), nil)), svctest.Root)
	call := func(op uint16, stub []byte) ([]byte, error) { return svctest.Call(f, real, op, stub) }
	h := open(f, call)
	a, _ := security.ParseSID("S-1-5-32-544")
	lookup, err := call(lsarpc.OpLookupSids, handleStub(h, func(w *ndr.Writer) {
		lsarpc.WriteSIDArray(w, []security.SID{a})
		lsarpc.WriteTranslated(w, lsarpc.FormName, nil)
		w.Enum(1)
		w.Uint32(0)
	}))
	if err != nil {
		f.Fatal(err)
	}
	c, set := svctest.Replies(f, "lsarpc", lsarpc.Syntax)
	set(lookup)
	if _, names, err := lsarpc.LookupSIDs(context.Background(), c, h, []security.SID{a}); err != nil || len(names) != 1 || names[0].Name != "Administrators" {
		f.Fatalf("the real reply: %v, %v", names, err)
	}
	f.Add(lookup)
	for _, class := range []uint16{3, 5, 12} {
		out, err := call(lsarpc.OpQueryInformationPolicy, handleStub(h, func(w *ndr.Writer) { w.Enum(class) }))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(out)
	}
	f.Add(make([]byte, 48))
	f.Fuzz(func(t *testing.T, data []byte) {
		set(data)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		lsarpc.OpenPolicy2(ctx, c, "srv", 0x02000000)
		for _, class := range []uint16{3, 5, 12} {
			lsarpc.QueryInfo(ctx, c, h, class)
		}
		lsarpc.LookupSIDs(ctx, c, h, []security.SID{a})
		lsarpc.LookupNames(ctx, c, h, []string{"alice", "Administrators"})
		lsarpc.GetUserName(ctx, c, "srv")
		lsarpc.Close(ctx, c, h)
	})
}
