package robust

import (
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/internal/testclient"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/lsarpc"
	"github.com/smbpipe/smbpipe/rpc/samr"
	"github.com/smbpipe/smbpipe/rpc/srvsvc"
	"github.com/smbpipe/smbpipe/rpc/wkssvc"
	"github.com/smbpipe/smbpipe/security"
)

// stubB builds an NDR request stub by hand, so that its counts, offsets
// and pointers can lie (ndr.Writer writes only consistent ones).
// Alignment is relative to the start of the stub.
type stubB struct{ b []byte }

func (s *stubB) align(n int) *stubB {
	for len(s.b)%n != 0 {
		s.b = append(s.b, 0)
	}
	return s
}

func (s *stubB) u8(v uint8) *stubB { s.b = append(s.b, v); return s }

func (s *stubB) u16(v uint16) *stubB {
	s.align(2)
	s.b = binary.LittleEndian.AppendUint16(s.b, v)
	return s
}

func (s *stubB) u32(vs ...uint32) *stubB {
	s.align(4)
	for _, v := range vs {
		s.b = binary.LittleEndian.AppendUint32(s.b, v)
	}
	return s
}

func (s *stubB) handle(h ndr.ContextHandle) *stubB {
	w := ndr.NewWriter(nil, ndr.LittleEndian)
	w.ContextHandle(h)
	b, _ := w.Bytes()
	s.align(4)
	s.b = append(s.b, b...)
	return s
}

// str writes a conformant varying wchar_t string whose max_count, offset
// and actual_count say what the caller wants, followed by the UTF-16 of
// text (which need not be actual_count units long).
func (s *stubB) str(maxCount, offset, actual uint32, text string) *stubB {
	s.u32(maxCount, offset, actual)
	for _, u := range utf16.Encode([]rune(text)) {
		s.b = binary.LittleEndian.AppendUint16(s.b, u)
	}
	return s.align(4)
}

// sid writes an RPC_SID referent: conformance maxCount, revision 1,
// SubAuthorityCount count, authority 5 and subs.
func (s *stubB) sid(maxCount uint32, count uint8, subs ...uint32) *stubB {
	s.u32(maxCount)
	s.b = append(s.b, 1, count, 0, 0, 0, 0, 0, 5)
	return s.u32(subs...)
}

// unicode writes an RPC_UNICODE_STRING's inline part (Length,
// MaximumLength in bytes, the Buffer pointer's referent id).
func (s *stubB) unicode(length, maxLength uint16, ref uint32) *stubB {
	return s.u16(length).u16(maxLength).u32(ref)
}

// stubCase is one hostile request stub sent to an opnum on a bound
// service, after setup gave it the handles it needs.
type stubCase struct {
	name  string
	why   string // the decoder's reason for bad stub data (check nil)
	op    uint16
	stub  func(h ndr.ContextHandle) []byte
	check func(out []byte, err error) error // nil: wantNDRFault
}

// wantNDRFault accepts a FAULT with nca_s_fault_ndr (bad stub data) only.
func wantNDRFault(out []byte, err error) error {
	var f dcerpc.Fault
	if !errors.As(err, &f) || uint32(f) != dcerpc.FaultNDR {
		return errors.Join(errors.New("want a fault with bad stub data"), err, errors.New(hexTail(out)))
	}
	return nil
}

// wantResult accepts a reply whose last four bytes (the call's NTSTATUS or
// Win32 result) are code.
func wantResult(code uint32) func([]byte, error) error {
	return func(out []byte, err error) error {
		if err != nil {
			return err
		}
		if len(out) < 4 || binary.LittleEndian.Uint32(out[len(out)-4:]) != code {
			return errors.New("want result " + hex32(code) + ", reply " + hexTail(out))
		}
		return nil
	}
}

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	b := []byte("0x00000000")
	for i := 9; i >= 2; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b)
}

func hexTail(out []byte) string {
	if len(out) > 32 {
		out = out[len(out)-32:]
	}
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range out {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return "…" + sb.String()
}

const (
	statusInvalidParameter             = 0xC000000D
	statusInsufficientResources        = 0xC000009A
	statusTooManySids                  = 0xC000014A // STATUS_TOO_MANY_SIDS (MS-LSAT: more than 20480 SIDs)
	statusTooManyNames                 = 0xC0000117 // STATUS_TOO_MANY_NAMES (MS-LSAT: more than 1000 names)
	huge                        uint32 = 0x7FFFFFF0
)

// servicesMalformed are the lying stubs, by service. Each names what lies.
var servicesMalformed = []struct {
	service string
	syntax  dcerpc.SyntaxID
	// setup opens the handle the calls need (none for srvsvc and wkssvc).
	setup func(ctx context.Context, c *dcerpc.Client) (ndr.ContextHandle, error)
	// good is a well-formed call that must still work after each case.
	good  func(ctx context.Context, c *dcerpc.Client, h ndr.ContextHandle) error
	cases []stubCase
}{
	{service: "srvsvc", syntax: srvsvc.Syntax,
		good: func(ctx context.Context, c *dcerpc.Client, _ ndr.ContextHandle) error {
			_, err := srvsvc.GetServerInfo(ctx, c, "srv", 101)
			return err
		},
		cases: []stubCase{
			{name: "ServerName actual_count past max_count", why: "actual count beyond the maximum count", op: srvsvc.OpNetrServerGetInfo, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0x20000).str(4, 0, 200, `\\s`).u32(101).b
			}},
			{name: "ServerName actual_count past the stub", why: "array count larger than the data", op: srvsvc.OpNetrServerGetInfo, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0x20000).str(huge, 0, huge, `\\srv`).u32(101).b
			}},
			{name: "ServerName offset past max_count", why: "actual count beyond the maximum count", op: srvsvc.OpNetrServerGetInfo, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0x20000).str(6, 0xFFFFFFFC, 6, "\\\\srv\x00").u32(101).b
			}},
			{name: "ServerName pointer to nothing", why: "data too short", op: srvsvc.OpNetrServerGetInfo, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0x20000).b
			}},
			{name: "share container: EntriesRead and max_count huge, no elements", why: "array count larger than the data", op: srvsvc.OpNetrShareEnum, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0, 1, 1, 0x20000, huge, 0x20004, huge).u32(0xFFFFFFFF, 0).b
			}},
			{name: "share container: EntriesRead 1, max_count 3", why: "share container: size_is differs from EntriesRead", op: srvsvc.OpNetrShareEnum, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0, 1, 1, 0x20000, 1, 0x20004, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0).u32(0xFFFFFFFF, 0).b
			}},
			{name: "share container: element pointers to nothing", why: "data too short", op: srvsvc.OpNetrShareEnum, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0, 1, 1, 0x20000, 2, 0x20004, 2, 0x20008, 0, 0x2000c, 0x20010, 0, 0x20014).b
			}},
			{name: "enum level and union discriminant differ", why: "union discriminant differs from Level", op: srvsvc.OpNetrShareEnum, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0, 1, 502, 0x20000, 0, 0).u32(0xFFFFFFFF, 0).b
			}},
			// max_count is the size of the caller's buffer, not of the
			// string: a huge one with an honest actual_count is valid NDR,
			// answered without allocating max_count units.
			{name: "NetName max_count huge, actual_count honest", op: srvsvc.OpNetrShareGetInfo, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0).str(huge, 0, 5, "IPC$\x00").u32(1).b
			}, check: wantResult(0)},
			{name: "live enumeration: session container max_count past EntriesRead", why: "session container: size_is differs from EntriesRead", op: srvsvc.OpNetrSessionEnum, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0, 0, 0, 10, 10, 0x20000, 0, 0x20004, huge).u32(0xFFFFFFFF, 0).b
			}},
		}},
	{service: "wkssvc", syntax: wkssvc.Syntax,
		good: func(ctx context.Context, c *dcerpc.Client, _ ndr.ContextHandle) error {
			return wantResult(0)(c.Call(ctx, wkssvc.OpNetrWkstaGetInfo, []byte{0, 0, 0, 0, 100, 0, 0, 0}))
		},
		cases: []stubCase{
			{name: "ServerName actual_count huge", why: "array count larger than the data", op: wkssvc.OpNetrWkstaGetInfo, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0x20000).str(huge, 0, huge, `\\srv`).u32(100).b
			}},
			{name: "ServerName odd offset and count", why: "actual count beyond the maximum count", op: wkssvc.OpNetrWkstaGetInfo, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0x20000).str(3, 2, 3, `\\s`).u32(100).b
			}},
			{name: "no level", why: "data too short", op: wkssvc.OpNetrWkstaGetInfo, stub: func(ndr.ContextHandle) []byte {
				return (&stubB{}).u32(0).b
			}},
		}},
	{service: "lsarpc", syntax: lsarpc.Syntax,
		setup: func(ctx context.Context, c *dcerpc.Client) (ndr.ContextHandle, error) {
			return lsarpc.OpenPolicy2(ctx, c, "srv", 0x02000000)
		},
		good: func(ctx context.Context, c *dcerpc.Client, h ndr.ContextHandle) error {
			s, _ := security.ParseSID("S-1-5-32-544")
			_, names, err := lsarpc.LookupSIDs(ctx, c, h, []security.SID{s})
			if err == nil && (len(names) != 1 || names[0].Name != "Administrators") {
				err = errors.New("S-1-5-32-544 not translated to Administrators")
			}
			return err
		},
		cases: []stubCase{
			{name: "SID array: Entries and max_count 20000, nothing behind", why: "array count larger than the data", op: lsarpc.OpLookupSids, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(20000, 0x20000, 20000, 0x20004).b
			}},
			{name: "SID array: Entries 2, max_count 1", why: "SID array: size_is differs from the count", op: lsarpc.OpLookupSids, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(2, 0x20000, 1, 0x20004).sid(2, 2, 32, 544).u32(0, 0).u16(1).u32(0).b
			}},
			{name: "SID: conformance 1, SubAuthorityCount 15", why: "RPC_SID: bad revision or sub-authority count", op: lsarpc.OpLookupSids, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1, 0x20000, 1, 0x20004).sid(1, 15, 32).u32(0, 0).u16(1).u32(0).b
			}},
			{name: "SID: 200 sub-authorities", why: "RPC_SID: bad revision or sub-authority count", op: lsarpc.OpLookupSids, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1, 0x20000, 1, 0x20004).sid(200, 200, make([]uint32, 200)...).u32(0, 0).u16(1).u32(0).b
			}},
			{name: "SID pointer to nothing", why: "data too short", op: lsarpc.OpLookupSids, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(3, 0x20000, 3, 0x20004, 0x20008, 0x2000c).b
			}},
			{name: "SID array pointer NULL under Entries 3", why: "NULL SID array under a nonzero count", op: lsarpc.OpLookupSids, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(3, 0).u32(0, 0).u16(1).u32(0).b
			}},
			{name: "TranslatedNames in: Entries huge, pointer to nothing", why: "data too short", op: lsarpc.OpLookupSids, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1, 0x20000, 1, 0x20004).sid(2, 2, 32, 544).u32(huge, 0x20008).b
			}},
			// LSAPR_SID_ENUM_BUFFER.Entries is [range(0,20480)]: beyond
			// it the stub itself is invalid.
			{name: "SID count past the limit", why: "more SIDs than LsarLookupSids takes", op: lsarpc.OpLookupSids, stub: func(h ndr.ContextHandle) []byte {
				s := (&stubB{}).handle(h).u32(20481, 0x20000, 20481)
				for i := range 20481 {
					s.u32(0x20004 + uint32(i)*4)
				}
				for range 20481 {
					s.sid(1, 1, 7)
				}
				return s.u32(0, 0).u16(1).u32(0).b
			}},
			{name: "names: Length past MaximumLength", why: "Length above MaximumLength", op: lsarpc.OpLookupNames, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1, 1).unicode(0xFFFE, 10, 0x20000).str(5, 0, 0x7FFF, "alice").u32(0, 0).u16(1).u32(0).b
			}},
			{name: "names: odd Length", why: "counts disagree with its lengths", op: lsarpc.OpLookupNames, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1, 1).unicode(9, 10, 0x20000).str(5, 0, 5, "alice").u32(0, 0).u16(1).u32(0).b
			}},
			{name: "names: Count 1, max_count huge", why: "names: size_is differs from Count", op: lsarpc.OpLookupNames, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1, huge).unicode(10, 10, 0x20000).str(5, 0, 5, "alice").u32(0, 0).u16(1).u32(0).b
			}},
			{name: "names: buffer pointer to nothing", why: "data too short", op: lsarpc.OpLookupNames, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(2, 2).unicode(10, 10, 0x20000).unicode(10, 10, 0x20004).b
			}},
			{name: "names: string shorter than Length says", why: "counts disagree with its lengths", op: lsarpc.OpLookupNames3, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1, 1).unicode(10, 10, 0x20000).str(5, 0, 2, "al").u32(0, 0).u16(1).u32(0, 0, 2).b
			}},
		}},
	{service: "samr", syntax: samr.Syntax,
		setup: func(ctx context.Context, c *dcerpc.Client) (ndr.ContextHandle, error) {
			srv, err := samr.Connect5(ctx, c, "srv", 0x02000000)
			if err != nil {
				return srv, err
			}
			sid, err := samr.LookupDomain(ctx, c, srv, "SMBPIPE")
			if err != nil {
				return srv, err
			}
			return samr.OpenDomain(ctx, c, srv, 0x02000000, sid)
		},
		good: func(ctx context.Context, c *dcerpc.Client, dom ndr.ContextHandle) error {
			rids, _, err := samr.LookupNames(ctx, c, dom, []string{"alice"})
			if err == nil && (len(rids) != 1 || rids[0] < 1000) {
				err = errors.New("alice not looked up")
			}
			return err
		},
		cases: []stubCase{
			{name: "LookupNamesInDomain: Count past max_count", why: "actual count beyond the maximum count", op: samr.OpLookupNamesInDomain, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(5000, 1000, 0, 5000).unicode(10, 10, 0x20000).str(5, 0, 5, "alice").b
			}},
			{name: "LookupNamesInDomain: Count 1001 in a size_is(1000) array", op: samr.OpLookupNamesInDomain, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1001, 1000, 0, 1001).b
			}, check: func(out []byte, err error) error {
				// MS-SAMR 3.1.5.11.2: more than 1000 names is
				// STATUS_INSUFFICIENT_RESOURCES; refusing the stub is as good.
				if wantNDRFault(out, err) == nil {
					return nil
				}
				return wantResult(statusInsufficientResources)(out, err)
			}},
			{name: "LookupNamesInDomain: actual_count differs from Count", why: "names: length_is differs from Count", op: samr.OpLookupNamesInDomain, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1, 1000, 0, 3).unicode(10, 10, 0x20000).str(5, 0, 5, "alice").b
			}},
			{name: "LookupIdsInDomain: actual_count huge", why: "actual count beyond the maximum count", op: samr.OpLookupIdsInDomain, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(huge, 1000, 0, huge, 500).b
			}},
			{name: "LookupIdsInDomain: offset past max_count", why: "actual count beyond the maximum count", op: samr.OpLookupIdsInDomain, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1, 1000, 0xFFFFFFFF, 1, 500).b
			}},
			{name: "GetAliasMembership: SID array Count huge, pointers to nothing", why: "array count larger than the data", op: samr.OpGetAliasMembership, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(huge, 0x20000, huge, 0x20004).b
			}},
			{name: "GetAliasMembership: SID conformance 0, SubAuthorityCount 5", why: "RPC_SID: bad revision or sub-authority count", op: samr.OpGetAliasMembership, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).u32(1, 0x20000, 1, 0x20004).sid(0, 5, 21, 1, 2, 3, 1001).b
			}},
			{name: "QueryDisplayInformation: no stub after the handle", why: "data too short", op: samr.OpQueryDisplayInformation, stub: func(h ndr.ContextHandle) []byte {
				return (&stubB{}).handle(h).b
			}},
		}},
}

// TestMalformedServiceStubs: the Windows services on IPC$ (srvsvc,
// wkssvc, lsarpc, samr) of a live server receive request stubs whose
// counts, offsets and pointers lie (conformance beside the size_is count,
// actual_count past max_count or past the stub, pointers to nothing, a SID
// whose SubAuthorityCount is not its conformance). Each is refused with a
// fault (bad stub data) or the error Windows returns; the service
// allocates nothing like what the counts claim, the association carries
// on with a well-formed call, a well-behaved client on another connection
// keeps calling, and nothing panics (start checks the log).
func TestMalformedServiceStubs(t *testing.T) {
	// alice may call SAMR (RestrictRemoteSAM empty) so that the decoders
	// behind SamrConnect and SamrOpenDomain are reached.
	ts := start(t, "[Lsa]\nRestrictRemoteSAM = \"\"\n")
	otherConn := dial(t, ts.addr, alice)
	other, err := dcerpc.Bind(t.Context(), testclient.Open(t, otherConn, "srvsvc"), srvsvc.Syntax, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, ts.addr, alice)
	for _, s := range servicesMalformed {
		t.Run(s.service, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			p := testclient.Open(t, conn, s.service)
			t.Cleanup(func() { p.Close() })
			c, err := dcerpc.Bind(ctx, p, s.syntax, nil)
			if err != nil {
				t.Fatal(err)
			}
			var h ndr.ContextHandle
			if s.setup != nil {
				if h, err = s.setup(ctx, c); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			if err := s.good(ctx, c, h); err != nil {
				t.Fatalf("the well-formed call before the cases: %v", err)
			}
			for _, tc := range s.cases {
				t.Run(tc.name, func(t *testing.T) {
					check := tc.check
					if check == nil {
						check = wantNDRFault
					}
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
					out, err := c.Call(cctx, tc.op, tc.stub(h))
					ccancel()
					runtime.ReadMemStats(&after)
					if err := check(out, err); err != nil {
						t.Errorf("opnum %d: %v", tc.op, err)
					}
					if reason := lastReason(ts.log.String()); tc.check == nil && !strings.Contains(reason, tc.why) {
						t.Errorf("opnum %d refused for %q, want %q", tc.op, reason, tc.why)
					}
					// The lying counts claim up to 2^31 elements; the
					// largest honest stub here is 20481 SIDs (~700 KB).
					if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
						t.Errorf("opnum %d: %d MiB allocated for a stub of %d bytes", tc.op, grew>>20, len(tc.stub(h)))
					}
					if err := s.good(ctx, c, h); err != nil {
						t.Fatalf("the association did not carry on: %v", err)
					}
					if _, err := srvsvc.GetServerInfo(ctx, other, "srv", 101); err != nil {
						t.Fatalf("the well-behaved client on another connection: %v", err)
					}
				})
			}
		})
	}
	// Each stub refused as bad stub data is a "rpc refused" record with
	// the decoder's reason.
	want := 0
	for _, s := range servicesMalformed {
		for _, tc := range s.cases {
			if tc.check == nil {
				want++
			}
		}
	}
	log := ts.log.String()
	if strings.Count(log, `fault="bad stub data" fault_code=0x000006f7 reason="dcerpc: bad stub data: ndr: decode at offset`) < want {
		t.Errorf("want %d \"rpc refused\" records for bad stub data with the decoder's reason:\n%s", want, tail(log, 40))
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// lastReason returns the reason of the log's last "rpc refused" record.
func lastReason(log string) string {
	i := strings.LastIndex(log, `msg="rpc refused"`)
	if i < 0 {
		return ""
	}
	line, _, _ := strings.Cut(log[i:], "\n")
	_, reason, _ := strings.Cut(line, ` reason="dcerpc: bad stub data: `)
	return strings.TrimSuffix(reason, `"`)
}
