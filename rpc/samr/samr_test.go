package samr_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/samr"
	"github.com/smbpipe/smbpipe/rpc/svc"
	"github.com/smbpipe/smbpipe/rpc/svc/svctest"
	"github.com/smbpipe/smbpipe/security"
)

// open is SAMR as a user may reach it once RestrictRemoteSAM is empty.
const open = svctest.Config + `
[Lsa]
RestrictRemoteSAM = ""
`

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func denied(err error) bool {
	var st svc.StatusError
	return errors.As(err, &st) && uint32(st) == svc.StatusAccessDenied
}

func dial(t *testing.T, caller dcerpc.Caller, audit *svctest.Audit) *dcerpc.Client {
	return svctest.Dial(t, samr.Interface(svctest.Env(svctest.Snapshot(t, open), audit)), caller)
}

// TestAliases: SamrOpenAlias and SamrGetMembersInAlias list BUILTIN's
// members (root and Administrator in Administrators), and
// SamrQueryInformationAlias its general information.
func TestAliases(t *testing.T) {
	c := dial(t, svctest.Root, nil)
	x := ctx(t)
	srv, err := samr.Connect5(x, c, "srv", samr.MaximumAllowed)
	ok(t, err)
	b, err := samr.OpenDomain(x, c, srv, samr.MaximumAllowed, svc.BuiltinSID())
	ok(t, err)
	a, err := samr.OpenAlias(x, c, b, samr.MaximumAllowed, 544)
	ok(t, err)
	sids, err := samr.MembersInAlias(x, c, a)
	ok(t, err)
	var got []string
	for _, s := range sids {
		got = append(got, s.String())
	}
	slices.Sort(got)
	if want := []string{"S-1-5-21-1-2-3-1002", "S-1-5-21-1-2-3-500"}; !slices.Equal(got, want) {
		t.Errorf("members of Administrators: %v, want %v", got, want)
	}
	if _, err := samr.OpenAlias(x, c, b, samr.MaximumAllowed, 999); !errors.Is(err, svc.StatusError(svc.StatusNoSuchAlias)) {
		t.Errorf("OpenAlias 999: %v, want STATUS_NO_SUCH_ALIAS", err)
	}
	m, err := security.ParseSID("S-1-5-21-1-2-3")
	ok(t, err)
	d, err := samr.OpenDomain(x, c, srv, samr.MaximumAllowed, m)
	ok(t, err)
	if _, err := samr.OpenAlias(x, c, d, samr.MaximumAllowed, 544); !errors.Is(err, svc.StatusError(svc.StatusNoSuchAlias)) {
		t.Errorf("OpenAlias 544 in the account domain: %v, want STATUS_NO_SUCH_ALIAS", err)
	}
	// Users are in the account domain only; BUILTIN holds none.
	for _, u := range []struct {
		name string
		dom  ndr.ContextHandle
		rid  uint32
	}{{"BUILTIN", b, 1001}, {"BUILTIN", b, 544}, {"the account domain", d, 9999}} {
		if h, err := samr.OpenUser(x, c, u.dom, samr.MaximumAllowed, u.rid); !errors.Is(err, svc.StatusError(svc.StatusNoSuchUser)) {
			t.Errorf("OpenUser %d in %s: %v %v, want STATUS_NO_SUCH_USER", u.rid, u.name, h, err)
		}
	}
	if _, err := samr.OpenUser(x, c, d, samr.MaximumAllowed, 1001); err != nil {
		t.Errorf("OpenUser 1001 in the account domain: %v", err)
	}
	w := ndr.NewWriter(nil, ndr.LittleEndian)
	w.ContextHandle(a)
	w.Enum(1)
	stub, _ := w.Bytes()
	out, err := svctest.Call(t, c, samr.OpQueryInformationAlias, stub)
	ok(t, err)
	r := ndr.NewReader(out, ndr.LittleEndian)
	var name, comment string
	if r.UniquePtr() {
		r.Uint16()
		r.UnicodeString(&name)
		if n := r.Uint32(); n != 2 {
			t.Errorf("QueryInformationAlias: MemberCount %d", n)
		}
		r.UnicodeString(&comment)
	}
	r.Flush()
	if st := r.Uint32(); st != 0 || name != "Administrators" || comment == "" {
		t.Errorf("QueryInformationAlias: %q %q status %#x", name, comment, st)
	}
}

// TestObjectAccess: each SAM handle keeps what its open was granted.
// alice (Everyone's rights once RestrictRemoteSAM lets her in) may open
// the domain for reading and enumerate, not ask for DOMAIN_ALL_ACCESS; a
// domain handle opened with DOMAIN_LOOKUP only cannot enumerate; root gets
// everything. Each refusal is an audit record with rule object-access.
func TestObjectAccess(t *testing.T) {
	var audit svctest.Audit
	c := dial(t, svctest.Alice, &audit)
	x := ctx(t)
	srv, err := samr.Connect5(x, c, "srv", samr.MaximumAllowed)
	ok(t, err)
	m, err := security.ParseSID("S-1-5-21-1-2-3")
	ok(t, err)
	if _, err := samr.OpenDomain(x, c, srv, 0x000F07FF, m); !denied(err) {
		t.Errorf("alice OpenDomain DOMAIN_ALL_ACCESS: %v, want STATUS_ACCESS_DENIED", err)
	}
	d, err := samr.OpenDomain(x, c, srv, samr.MaximumAllowed, m)
	ok(t, err)
	if us, err := samr.EnumUsers(x, c, d); err != nil || len(us) != 4 {
		t.Errorf("alice EnumUsers: %v %v", us, err)
	}
	look, err := samr.OpenDomain(x, c, srv, 0x200, m)
	ok(t, err)
	if _, err := samr.EnumUsers(x, c, look); !denied(err) {
		t.Errorf("EnumUsers on a DOMAIN_LOOKUP handle: %v, want STATUS_ACCESS_DENIED", err)
	}
	if rids, _, err := samr.LookupNames(x, c, look, []string{"alice"}); err != nil || !slices.Equal(rids, []uint32{1001}) {
		t.Errorf("LookupNames on a DOMAIN_LOOKUP handle: %v %v", rids, err)
	}
	u, err := samr.OpenUser(x, c, d, 0x100, 1001) // USER_LIST_GROUPS
	ok(t, err)
	if gs, err := samr.GroupsForUser(x, c, u); err != nil || len(gs) != 1 || gs[0].RID != 513 {
		t.Errorf("GroupsForUser: %v %v", gs, err)
	}
	if _, err := samr.OpenUser(x, c, d, 0x20, 1001); !denied(err) { // USER_WRITE_ACCOUNT
		t.Errorf("alice OpenUser USER_WRITE_ACCOUNT: %v, want STATUS_ACCESS_DENIED", err)
	}
	if got := audit.Snapshot(); len(got) != 3 || !slices.Contains(got, "samr.SamrEnumerateUsersInDomain:object-access") ||
		!slices.Contains(got, "samr.SamrOpenDomain:object-access") || !slices.Contains(got, "samr.SamrOpenUser:object-access") {
		t.Errorf("audit: %v", got)
	}

	root := dial(t, svctest.Root, nil)
	srv, err = samr.Connect5(x, root, "srv", samr.MaximumAllowed)
	ok(t, err)
	d, err = samr.OpenDomain(x, root, srv, 0x000F07FF, m)
	ok(t, err)
	_, err = samr.EnumUsers(x, root, d)
	ok(t, err)
}

// TestClose: SamrCloseHandle ends the handle; a second close of it is
// nca_s_fault_context_mismatch.
func TestClose(t *testing.T) {
	c := dial(t, svctest.Root, nil)
	x := ctx(t)
	srv, err := samr.Connect5(x, c, "srv", samr.MaximumAllowed)
	ok(t, err)
	ok(t, samr.Close(x, c, srv))
	if err := samr.Close(x, c, srv); !errors.Is(err, dcerpc.Fault(dcerpc.FaultContextMismatch)) {
		t.Errorf("a second Close: %v, want nca_s_fault_context_mismatch", err)
	}
}

// accountDomain connects to SAM on c and opens the machine's account
// domain (S-1-5-21-1-2-3 in svctest) with MAXIMUM_ALLOWED.
func accountDomain(t *testing.T, x context.Context, c *dcerpc.Client) ndr.ContextHandle {
	t.Helper()
	srv, err := samr.Connect5(x, c, "srv", samr.MaximumAllowed)
	ok(t, err)
	m, err := security.ParseSID("S-1-5-21-1-2-3")
	ok(t, err)
	d, err := samr.OpenDomain(x, c, srv, samr.MaximumAllowed, m)
	ok(t, err)
	return d
}
