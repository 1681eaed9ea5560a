package dcerpc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/auth/ntlm"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/internal/testsmbd"
	"github.com/smbpipe/smbpipe/ndr"
)

// The client against Samba's RPC servers over SMB (smbd and the
// samba-dcerpcd it starts): the pipe is opened with package client (a
// client.Pipe is a dcerpc.MessageConn); the stubs are written here with
// package ndr, as an interface package would.

var (
	srvsvcSyntax = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("4b324fc8-1670-01d3-1278-5a47bf6ee188"), Major: 3}
	lsarpcSyntax = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("12345778-1234-abcd-ef00-0123456789ab")}
)

// TestSmbdSrvsvcLsarpc calls srvsvc NetrServerGetInfo (level 101) and
// lsarpc LsarOpenPolicy2, LsarQueryInformationPolicy (level 5, the account
// domain) and LsarClose on smbd as alice, without RPC-level
// authentication and sealed (NTLMSSP, packet privacy).
func TestSmbdSrvsvcLsarpc(t *testing.T) {
	if testing.Short() {
		t.Skip("starts smbd")
	}
	addr := testsmbd.Start(t, "")
	d := client.Dialer{Config: client.Config{User: testsmbd.User, Password: testsmbd.Password, Domain: "WORKGROUP"}}
	for _, tc := range []struct {
		name string
		opts func() *dcerpc.ClientOptions
	}{
		{"plain", func() *dcerpc.ClientOptions { return nil }},
		{"sealed", func() *dcerpc.ClientOptions {
			return &dcerpc.ClientOptions{AuthLevel: dcerpc.LevelPrivacy,
				NTLM: &ntlm.Client{User: testsmbd.User, Password: testsmbd.Password, Domain: "WORKGROUP"}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			bind := func(name string, syntax dcerpc.SyntaxID) *dcerpc.Client {
				p, err := d.DialContext(ctx, `\\`+addr+`\pipe\`+name)
				if err != nil {
					t.Fatalf("open %s: %v", name, err)
				}
				t.Cleanup(func() { p.Close() })
				c, err := dcerpc.Bind(ctx, p, syntax, tc.opts())
				if err != nil {
					t.Fatalf("bind %s: %v", name, err)
				}
				return c
			}

			// srvsvc NetrServerGetInfo(\\server, 101).
			srv := bind("srvsvc", srvsvcSyntax)
			w := ndr.NewWriter(nil, ndr.LittleEndian)
			if w.UniquePtr(true) {
				w.WString(`\\` + addr)
			}
			w.Uint32(101)
			stub, _ := w.Bytes()
			out, err := srv.Call(ctx, 21, stub)
			if err != nil {
				t.Fatalf("NetrServerGetInfo: %v", err)
			}
			var name, comment string
			var platform, major, typ uint32
			r := ndr.NewReader(out, ndr.LittleEndian)
			if level := r.Uint32(); level != 101 {
				t.Fatalf("info level %d", level)
			}
			r.DeferUnique(func(r *ndr.Reader) {
				platform = r.Uint32()
				r.DeferUnique(func(r *ndr.Reader) { name = r.WString() })
				major = r.Uint32()
				r.Uint32() // version_minor
				typ = r.Uint32()
				r.DeferUnique(func(r *ndr.Reader) { comment = r.WString() })
			})
			r.Flush()
			werr := r.Uint32()
			if r.Err() != nil || werr != 0 {
				t.Fatalf("NetrServerGetInfo: %v, WERROR 0x%x", r.Err(), werr)
			}
			// PLATFORM_ID_NT, the name smb.conf gives, SV_TYPE_SERVER.
			if platform != 500 || name != "SMBPEER" || major < 5 || typ&0x2 == 0 {
				t.Errorf("info101: platform %d name %q version %d type 0x%x comment %q", platform, name, major, typ, comment)
			}

			// lsarpc LsarOpenPolicy2(NULL, {len 24}, MAXIMUM_ALLOWED).
			lsa := bind("lsarpc", lsarpcSyntax)
			w = ndr.NewWriter(nil, ndr.LittleEndian)
			w.UniquePtr(false) // system_name
			w.Uint32(24)       // lsa_ObjectAttribute: len
			for range 2 {      // root_dir, object_name
				w.UniquePtr(false)
			}
			w.Uint32(0) // attributes
			for range 2 {
				w.UniquePtr(false) // sec_desc, sec_qos
			}
			w.Uint32(0x02000000)
			stub, _ = w.Bytes()
			out, err = lsa.Call(ctx, 44, stub)
			if err != nil {
				t.Fatalf("LsarOpenPolicy2: %v", err)
			}
			r = ndr.NewReader(out, ndr.LittleEndian)
			handle := r.ContextHandle()
			if st := r.Uint32(); r.Err() != nil || st != 0 || handle.IsZero() {
				t.Fatalf("LsarOpenPolicy2: %v, NTSTATUS 0x%08x, handle %v", r.Err(), st, handle)
			}

			// LsarQueryInformationPolicy(handle, PolicyAccountDomainInformation).
			w = ndr.NewWriter(nil, ndr.LittleEndian)
			w.ContextHandle(handle)
			w.Enum(5)
			stub, _ = w.Bytes()
			out, err = lsa.Call(ctx, 7, stub)
			if err != nil {
				t.Fatalf("LsarQueryInformationPolicy: %v", err)
			}
			var domain string
			var sid []uint32
			var authority []byte
			r = ndr.NewReader(out, ndr.LittleEndian)
			if r.UniquePtr() {
				if level := r.Enum(); level != 5 {
					t.Fatalf("info level %d", level)
				}
				r.UnicodeString(&domain)            // lsa_StringLarge
				r.DeferUnique(func(r *ndr.Reader) { // dom_sid2
					n := r.MaxCount()
					if r.Uint8() != 1 || uint32(r.Uint8()) != n || n > 15 {
						r.Fail("bad SID")
						return
					}
					authority = r.Octets(6)
					for range n {
						sid = append(sid, r.Uint32())
					}
				})
				r.Flush()
			}
			st := r.Uint32()
			if r.Err() != nil || st != 0 {
				t.Fatalf("LsarQueryInformationPolicy: %v, NTSTATUS 0x%08x", r.Err(), st)
			}
			// A standalone server's account domain is itself:
			// S-1-5-21-a-b-c.
			if !strings.EqualFold(domain, "SMBPEER") || string(authority) != "\x00\x00\x00\x00\x00\x05" || len(sid) != 4 || sid[0] != 21 {
				t.Errorf("account domain %q, SID authority %x sub-authorities %v", domain, authority, sid)
			}
			t.Logf("srvsvc: %q platform %d version %d type 0x%x; lsarpc: account domain %q S-1-5-%v", name, platform, major, typ, domain, sid)

			// LsarClose(handle) returns a NULL handle; the old one is gone.
			w = ndr.NewWriter(nil, ndr.LittleEndian)
			w.ContextHandle(handle)
			stub, _ = w.Bytes()
			if out, err = lsa.Call(ctx, 0, stub); err != nil {
				t.Fatalf("LsarClose: %v", err)
			}
			r = ndr.NewReader(out, ndr.LittleEndian)
			if h, st := r.ContextHandle(), r.Uint32(); r.Err() != nil || st != 0 || !h.IsZero() {
				t.Fatalf("LsarClose: %v, NTSTATUS 0x%08x, handle %v", r.Err(), st, h)
			}
			w = ndr.NewWriter(nil, ndr.LittleEndian)
			w.ContextHandle(handle)
			w.Enum(5)
			stub, _ = w.Bytes()
			if _, err := lsa.Call(ctx, 7, stub); faultOf(err) != dcerpc.FaultContextMismatch {
				t.Errorf("query on a closed handle: %v, want a context mismatch fault", err)
			}
		})
	}
}
