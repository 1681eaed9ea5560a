package ndr_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/ndr"
)

// Structures of MS-SRVS and MS-LSAD marshalled the way the rpc packages
// will, checked byte for byte against impacket's NDR encoder.
//
// The vectors come from impacket with two normalizations, so that they are
// what Windows and Samba send: padding bytes are zero (impacket fills them
// with 0xaa, 0xab, ...) and referent ids are numbered 0x00020000, +4, ...
// in wire order (impacket draws random ones). The prelude, run with the
// system python3:
//
//	import re, random, itertools, inspect
//	import impacket.dcerpc.v5.ndr as ndr
//	src = inspect.getsource(ndr)
//	src = re.sub(r"b'\\x[0-9a-fA-F]{2}' ?\* ?(pad0?)", r"b'\\x00'*\1", src)
//	exec(compile(src, ndr.__file__, 'exec'), ndr.__dict__)
//	_ids = itertools.count(0x5EED0001)
//	random.randint = lambda a, b: next(_ids)
//	def wire(b):
//	    out, n = bytearray(b), {}
//	    for i in range(0, len(out) - 3):
//	        v = int.from_bytes(out[i:i+4], 'little')
//	        if 0x5EED0001 <= v < 0x5EED1000:
//	            n.setdefault(v, 0x20000 + 4 * len(n))
//	            out[i:i+4] = n[v].to_bytes(4, 'little')
//	    return bytes(out).hex()

// shareInfo1 (SHARE_INFO_1, MS-SRVS 2.2.4.23) is in example_test.go.

// shareInfo1Container is SHARE_INFO_1_CONTAINER: EntriesRead and a unique
// pointer to an array of size_is(EntriesRead). A nil Entries is the NULL
// pointer.
type shareInfo1Container struct {
	Entries []shareInfo1
}

func (c *shareInfo1Container) MarshalNDR(w *ndr.Writer) {
	w.Uint32(uint32(len(c.Entries)))
	w.DeferUnique(c.Entries != nil, func(w *ndr.Writer) {
		w.MaxCount(len(c.Entries))
		for i := range c.Entries {
			c.Entries[i].MarshalNDR(w)
		}
	})
}

func (c *shareInfo1Container) UnmarshalNDR(r *ndr.Reader) {
	entriesRead := r.Uint32()
	r.DeferUnique(func(r *ndr.Reader) {
		n := r.MaxCount()
		if n != entriesRead {
			r.Fail("size_is(EntriesRead) disagrees with EntriesRead")
			return
		}
		c.Entries = make([]shareInfo1, r.Elements(n, 12))
		for i := range c.Entries {
			c.Entries[i].UnmarshalNDR(r)
		}
	})
}

// shareEnumStruct is SHARE_ENUM_STRUCT at level 1: Level, then the
// non-encapsulated SHARE_ENUM_UNION switch_is(Level), whose DWORD
// discriminant is marshalled again before the arm.
type shareEnumStruct struct {
	Level  uint32
	Level1 *shareInfo1Container
}

func (s *shareEnumStruct) MarshalNDR(w *ndr.Writer) {
	w.Uint32(s.Level)
	w.Uint32(s.Level) // the union's discriminant
	switch s.Level {
	case 1:
		w.DeferUnique(s.Level1 != nil, s.Level1.MarshalNDR)
	default:
		w.Fail("unknown level")
	}
}

func (s *shareEnumStruct) UnmarshalNDR(r *ndr.Reader) {
	s.Level = r.Uint32()
	if r.Uint32() != s.Level {
		r.Fail("SHARE_ENUM_UNION discriminant disagrees with Level")
		return
	}
	switch s.Level {
	case 1:
		r.DeferUnique(func(r *ndr.Reader) {
			s.Level1 = new(shareInfo1Container)
			s.Level1.UnmarshalNDR(r)
		})
	default:
		r.Fail("unknown level")
	}
}

// netrShareEnumRequest is NetrShareEnum's [in] parameters (opnum 15).
type netrShareEnumRequest struct {
	ServerName            *string // [in,string,unique] SRVSVC_HANDLE
	InfoStruct            shareEnumStruct
	PreferedMaximumLength uint32
	ResumeHandle          *uint32 // [in,out,unique]
}

func (q *netrShareEnumRequest) MarshalNDR(w *ndr.Writer) {
	if w.UniquePtr(q.ServerName != nil) {
		w.WString(*q.ServerName)
	}
	q.InfoStruct.MarshalNDR(w) // [in,out] top-level [ref]: no referent id
	w.Flush()
	w.Uint32(q.PreferedMaximumLength)
	if w.UniquePtr(q.ResumeHandle != nil) {
		w.Uint32(*q.ResumeHandle)
	}
}

func (q *netrShareEnumRequest) UnmarshalNDR(r *ndr.Reader) {
	if r.UniquePtr() {
		s := r.WString()
		q.ServerName = &s
	}
	q.InfoStruct.UnmarshalNDR(r)
	r.Flush()
	q.PreferedMaximumLength = r.Uint32()
	if r.UniquePtr() {
		h := r.Uint32()
		q.ResumeHandle = &h
	}
}

// netrShareEnumResponse is NetrShareEnum's [out] parameters and result.
type netrShareEnumResponse struct {
	InfoStruct   shareEnumStruct
	TotalEntries uint32
	ResumeHandle *uint32
	Status       uint32
}

func (p *netrShareEnumResponse) MarshalNDR(w *ndr.Writer) {
	p.InfoStruct.MarshalNDR(w)
	w.Flush()
	w.Uint32(p.TotalEntries)
	if w.UniquePtr(p.ResumeHandle != nil) {
		w.Uint32(*p.ResumeHandle)
	}
	w.Uint32(p.Status)
}

func (p *netrShareEnumResponse) UnmarshalNDR(r *ndr.Reader) {
	p.InfoStruct.UnmarshalNDR(r)
	r.Flush()
	p.TotalEntries = r.Uint32()
	if r.UniquePtr() {
		h := r.Uint32()
		p.ResumeHandle = &h
	}
	p.Status = r.Uint32()
}

// rpcSID is RPC_SID (MS-DTYP 2.4.2.3), a conformant structure: the maximum
// count of SubAuthority comes first.
type rpcSID struct {
	Revision     uint8
	Authority    [6]byte
	SubAuthority []uint32
}

func (s *rpcSID) MarshalNDR(w *ndr.Writer) {
	w.MaxCount(len(s.SubAuthority))
	w.Uint8(s.Revision)
	w.Uint8(uint8(len(s.SubAuthority)))
	w.Octets(s.Authority[:])
	for _, a := range s.SubAuthority {
		w.Uint32(a)
	}
}

func (s *rpcSID) UnmarshalNDR(r *ndr.Reader) {
	n := r.MaxCount()
	s.Revision = r.Uint8()
	if uint32(r.Uint8()) != n {
		r.Fail("SubAuthorityCount disagrees with the array")
		return
	}
	copy(s.Authority[:], r.Octets(6))
	s.SubAuthority = make([]uint32, r.Elements(n, 4))
	for i := range s.SubAuthority {
		s.SubAuthority[i] = r.Uint32()
	}
}

// accountDomInfo is LSAPR_POLICY_ACCOUNT_DOM_INFO (MS-LSAD 2.2.4.6).
type accountDomInfo struct {
	DomainName string
	DomainSID  *rpcSID
}

func (d *accountDomInfo) MarshalNDR(w *ndr.Writer) {
	w.UnicodeString(d.DomainName)
	w.DeferUnique(d.DomainSID != nil, d.DomainSID.MarshalNDR)
}

func (d *accountDomInfo) UnmarshalNDR(r *ndr.Reader) {
	r.UnicodeString(&d.DomainName)
	r.DeferUnique(func(r *ndr.Reader) {
		d.DomainSID = new(rpcSID)
		d.DomainSID.UnmarshalNDR(r)
	})
}

const policyAccountDomainInformation = 5

// lsarQueryInformationPolicyRequest is opnum 7's [in] parameters.
type lsarQueryInformationPolicyRequest struct {
	Policy ndr.ContextHandle
	Class  uint16 // POLICY_INFORMATION_CLASS, a 16-bit enum
}

func (q *lsarQueryInformationPolicyRequest) MarshalNDR(w *ndr.Writer) {
	w.ContextHandle(q.Policy)
	w.Enum(q.Class)
}

func (q *lsarQueryInformationPolicyRequest) UnmarshalNDR(r *ndr.Reader) {
	q.Policy = r.ContextHandle()
	q.Class = r.Enum()
}

// lsarQueryInformationPolicyResponse: [out, switch_is(InformationClass)]
// PLSAPR_POLICY_INFORMATION *PolicyInformation (a top-level [ref] to a
// [unique] pointer to the union), then the NTSTATUS.
type lsarQueryInformationPolicyResponse struct {
	Class   uint16
	Account *accountDomInfo // the arm for class 5; nil is a NULL pointer
	Status  uint32
}

func (p *lsarQueryInformationPolicyResponse) MarshalNDR(w *ndr.Writer) {
	if w.UniquePtr(p.Account != nil) {
		w.Enum(p.Class) // the union's discriminant
		switch p.Class {
		case policyAccountDomainInformation:
			p.Account.MarshalNDR(w)
		default:
			w.Fail("unknown information class")
		}
	}
	w.Flush()
	w.Uint32(p.Status)
}

func (p *lsarQueryInformationPolicyResponse) UnmarshalNDR(r *ndr.Reader) {
	if r.UniquePtr() {
		p.Class = r.Enum()
		switch p.Class {
		case policyAccountDomainInformation:
			p.Account = new(accountDomInfo)
			p.Account.UnmarshalNDR(r)
		default:
			r.Fail("unknown information class")
		}
	}
	r.Flush()
	p.Status = r.Uint32()
}

// nested is a structure whose first pointer's referent embeds a pointer:
// the depth-first order puts that pointer's referent (3) before the second
// pointer's (2).
type nested struct {
	P1    *nestedT
	P2    *uint32
	After uint32
}

type nestedT struct {
	T  uint32
	P3 *uint32
}

func (n *nested) MarshalNDR(w *ndr.Writer) {
	w.DeferUnique(n.P1 != nil, func(w *ndr.Writer) {
		w.Uint32(n.P1.T)
		w.DeferUnique(n.P1.P3 != nil, func(w *ndr.Writer) { w.Uint32(*n.P1.P3) })
	})
	w.DeferUnique(n.P2 != nil, func(w *ndr.Writer) { w.Uint32(*n.P2) })
	w.Flush()
	w.Uint32(n.After)
}

func (n *nested) UnmarshalNDR(r *ndr.Reader) {
	r.DeferUnique(func(r *ndr.Reader) {
		n.P1 = &nestedT{T: r.Uint32()}
		r.DeferUnique(func(r *ndr.Reader) { n.P1.P3 = ptr(r.Uint32()) })
	})
	r.DeferUnique(func(r *ndr.Reader) { n.P2 = ptr(r.Uint32()) })
	r.Flush()
	n.After = r.Uint32()
}

func ptr[T any](v T) *T { return &v }

// codec is what every vector holds: a value and a fresh one to decode into.
type codec interface {
	ndr.Marshaler
	ndr.Unmarshaler
}

var impacketVectors = []struct {
	name  string
	value codec
	fresh func() codec
	// hex is impacket's encoding (little-endian), produced by the
	// snippet in the comment of each case.
	hex string
}{
	{
		// from impacket.dcerpc.v5 import srvs
		// from impacket.dcerpc.v5.ndr import NULL
		// req = srvs.NetrShareEnum()
		// req['ServerName'] = '\\\\srv\x00'
		// req['PreferedMaximumLength'] = 0xFFFFFFFF
		// req['ResumeHandle'] = 0
		// req['InfoStruct']['Level'] = 1
		// req['InfoStruct']['ShareInfo']['tag'] = 1
		// req['InfoStruct']['ShareInfo']['Level1']['Buffer'] = NULL
		// print(wire(req.getData()))
		name: "NetrShareEnum request",
		value: &netrShareEnumRequest{
			ServerName:            ptr(`\\srv`),
			InfoStruct:            shareEnumStruct{Level: 1, Level1: &shareInfo1Container{}},
			PreferedMaximumLength: 0xFFFFFFFF,
			ResumeHandle:          ptr(uint32(0)),
		},
		fresh: func() codec { return new(netrShareEnumRequest) },
		hex: "00000200060000000000000006000000" + "5c005c0073007200760000000100000001000000" +
			"040002000000000000000000ffffffff0800020000000000",
	},
	{
		// resp = srvs.NetrShareEnumResponse()
		// resp['InfoStruct']['Level'] = 1
		// resp['InfoStruct']['ShareInfo']['tag'] = 1
		// c = resp['InfoStruct']['ShareInfo']['Level1']
		// for name, typ, rem in [('IPC$', 0x80000003, 'Remote IPC'), ('pub', 0, 'Public files')]:
		//     e = srvs.SHARE_INFO_1()
		//     e['shi1_netname'] = name + '\x00'
		//     e['shi1_type'] = typ
		//     e['shi1_remark'] = rem + '\x00'
		//     c['Buffer'].append(e)
		// c['EntriesRead'] = 2
		// resp['TotalEntries'] = 2
		// resp['ResumeHandle'] = 0
		// resp['ErrorCode'] = 0
		// print(wire(resp.getData()))
		name: "NetrShareEnum response",
		value: &netrShareEnumResponse{
			InfoStruct: shareEnumStruct{Level: 1, Level1: &shareInfo1Container{Entries: []shareInfo1{
				{"IPC$", 0x80000003, "Remote IPC"},
				{"pub", 0, "Public files"},
			}}},
			TotalEntries: 2,
			ResumeHandle: ptr(uint32(0)),
		},
		fresh: func() codec { return new(netrShareEnumResponse) },
		hex: "01000000010000000000020002000000040002000200000008000200030000800c000200" +
			"1000020000000000140002000500000000000000050000004900500043002400000000000b00" +
			"0000000000000b000000520065006d006f007400650020004900500043000000000004000000" +
			"000000000400000070007500620000000d000000000000000d0000005000750062006c006900" +
			"63002000660069006c00650073000000000002000000180002000000000000000000",
	},
	{
		// from impacket.dcerpc.v5 import lsad
		// req = lsad.LsarQueryInformationPolicy()
		// req['PolicyHandle'] = bytes.fromhex('00000000') + bytes.fromhex('0123456789abcdef0011223344556677')
		// req['InformationClass'] = lsad.POLICY_INFORMATION_CLASS.PolicyAccountDomainInformation
		// print(wire(req.getData()))
		name: "LsarQueryInformationPolicy request",
		value: &lsarQueryInformationPolicyRequest{
			Policy: ndr.ContextHandle{UUID: ndr.MustParseUUID("67452301-ab89-efcd-0011-223344556677")},
			Class:  policyAccountDomainInformation,
		},
		fresh: func() codec { return new(lsarQueryInformationPolicyRequest) },
		hex:   "000000000123456789abcdef00112233445566770500",
	},
	{
		// resp = lsad.LsarQueryInformationPolicyResponse()
		// resp['PolicyInformation']['tag'] = lsad.POLICY_INFORMATION_CLASS.PolicyAccountDomainInformation
		// info = resp['PolicyInformation']['PolicyAccountDomainInfo']
		// info['DomainName'] = 'SMBPIPE'
		// info['DomainSid'].fromCanonical('S-1-5-21-1004336348-1177238915-682003330')
		// resp['ErrorCode'] = 0
		// print(wire(resp.getData()))
		name: "LsarQueryInformationPolicy response",
		value: &lsarQueryInformationPolicyResponse{
			Class: policyAccountDomainInformation,
			Account: &accountDomInfo{
				DomainName: "SMBPIPE",
				DomainSID: &rpcSID{
					Revision:     1,
					Authority:    [6]byte{0, 0, 0, 0, 0, 5},
					SubAuthority: []uint32{21, 1004336348, 1177238915, 682003330},
				},
			},
		},
		fresh: func() codec { return new(lsarQueryInformationPolicyResponse) },
		hex: "00000200050000000e000e0004000200080002000700000000000000070000005300" +
			"4d0042005000490050004500000004000000010400000000000515000000dcf4dc3b83" +
			"3d2b46828ba62800000000",
	},
	{
		// from impacket.dcerpc.v5.ndr import NDRSTRUCT, NDRPOINTER, NDRCALL
		// from impacket.dcerpc.v5.dtypes import DWORD, LPDWORD
		// class T(NDRSTRUCT): structure = (('t', DWORD), ('p3', LPDWORD))
		// class PT(NDRPOINTER): referent = (('Data', T),)
		// class A(NDRSTRUCT): structure = (('p1', PT), ('p2', LPDWORD))
		// class Call(NDRCALL): structure = (('a', A), ('after', DWORD))
		// c = Call()
		// c['a']['p1']['t'] = 0x11111111
		// c['a']['p1']['p3'] = 0x33333333
		// c['a']['p2'] = 0x22222222
		// c['after'] = 0x44444444
		// print(wire(c.getData()))
		name: "nested deferral",
		value: &nested{
			P1:    &nestedT{T: 0x11111111, P3: ptr(uint32(0x33333333))},
			P2:    ptr(uint32(0x22222222)),
			After: 0x44444444,
		},
		fresh: func() codec { return new(nested) },
		hex:   "00000200040002001111111108000200333333332222222244444444",
	},
}

func TestImpacketVectors(t *testing.T) {
	for _, tc := range impacketVectors {
		t.Run(tc.name, func(t *testing.T) {
			want, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ndr.Marshal(nil, ndr.LittleEndian, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs from impacket:\n got %x\nwant %x", got, want)
			}
			dec := tc.fresh()
			r := ndr.NewReader(want, ndr.LittleEndian)
			dec.UnmarshalNDR(r)
			r.Flush()
			wantDecoded(t, r, dec, tc.value)
		})
	}
}

// TestBigEndianRoundTrip encodes each vector big-endian: the same length as
// little-endian (alignment does not depend on the byte order), other bytes,
// and the same value decoded.
func TestBigEndianRoundTrip(t *testing.T) {
	for _, tc := range impacketVectors {
		t.Run(tc.name, func(t *testing.T) {
			be, err := ndr.Marshal(nil, ndr.BigEndian, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if len(be)*2 != len(tc.hex) {
				t.Errorf("big-endian length %d, little-endian %d", len(be), len(tc.hex)/2)
			}
			dec := tc.fresh()
			if err := ndr.Unmarshal(be, ndr.BigEndian, dec); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dec, tc.value) {
				t.Errorf("decoded %+v\nwant %+v", dec, tc.value)
			}
			if hex.EncodeToString(be) == tc.hex {
				t.Errorf("big-endian encoding equals the little-endian one")
			}
		})
	}
}

// The LSA request big-endian, by hand: the attributes and Data1..Data3 of
// the handle's UUID and the enum turn around, Data4 does not.
func TestBigEndianLsaRequest(t *testing.T) {
	v := impacketVectors[2].value
	got, err := ndr.Marshal(nil, ndr.BigEndian, v)
	if err != nil {
		t.Fatal(err)
	}
	want := "00000000" + "67452301" + "ab89" + "efcd" + "0011223344556677" + "0005"
	if hex.EncodeToString(got) != want {
		t.Errorf("got %x\nwant %s", got, want)
	}
}

// Every truncation of a valid stub fails cleanly; no prefix decodes.
func TestTruncatedVectors(t *testing.T) {
	for _, tc := range impacketVectors {
		full, _ := hex.DecodeString(tc.hex)
		for n := range len(full) {
			dec := tc.fresh()
			err := ndr.Unmarshal(full[:n], ndr.LittleEndian, dec)
			if !errors.Is(err, ndr.ErrMalformed) {
				t.Errorf("%s truncated to %d bytes: err = %v, want ErrMalformed", tc.name, n, err)
			}
		}
	}
}

// Hostile changes to the share enumeration: each must fail, not allocate
// what the counts claim.
func TestShareEnumHostile(t *testing.T) {
	valid, _ := hex.DecodeString(impacketVectors[1].hex)
	// patch sets the uint32 at each offset (pairs of offset, value).
	patch := func(kv ...uint32) []byte {
		b := bytes.Clone(valid)
		for i := 0; i < len(kv); i += 2 {
			binary.LittleEndian.PutUint32(b[kv[i]:], kv[i+1])
		}
		return b
	}
	// Offsets: 4 union discriminant, 12 EntriesRead, 20 the array's max
	// count, 48/52/56 max count, offset and actual count of "IPC$".
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"union discriminant", patch(4, 2), "discriminant"},
		{"EntriesRead", patch(12, 0xFFFFFFFF), "EntriesRead"},
		{"max count huge", patch(12, 0x40000000, 20, 0x40000000), "larger than the data"},
		{"string offset", patch(52, 1), "offset"},
		{"actual above max", patch(56, 6), "beyond the maximum"},
		{"actual beyond data", patch(48, 0x7FFFFFFF, 56, 0x7FFFFFFF), "larger than the data"},
		{"no terminator", patch(48, 4, 56, 4), "NUL"},
		{"empty string", patch(48, 0, 56, 0), "terminator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p netrShareEnumResponse
			err := ndr.Unmarshal(tc.data, ndr.LittleEndian, &p)
			if !errors.Is(err, ndr.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrMalformed mentioning %q", err, tc.want)
			}
		})
	}
}
