package spnego

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCapturedTokens decodes the tokens real clients and Samba exchanged and
// checks that re-encoding reproduces them byte for byte.
func TestCapturedTokens(t *testing.T) {
	tests := []struct {
		file     string
		init     bool
		mechs    []string
		hint     string
		state    int
		mech     string
		ntlmType byte // NTLMSSP message type inside, 0 for none
		mic      bool
	}{
		{file: "smbclient-smb311-negotiate-resp.der", init: true, mechs: []string{OIDNTLMSSP}, hint: HintNotDefined},
		{file: "impacket-negotiate-resp.der", init: true, mechs: []string{OIDNTLMSSP}, hint: HintNotDefined},
		{file: "smbclient-smb311-alice-0-c2s.der", init: true, mechs: []string{OIDNTLMSSP}, ntlmType: 1},
		{file: "smbclient-smb311-alice-1-s2c.der", state: AcceptIncomplete, mech: OIDNTLMSSP, ntlmType: 2},
		{file: "smbclient-smb311-alice-2-c2s.der", state: NoState, ntlmType: 3, mic: true},
		{file: "smbclient-smb311-alice-3-s2c.der", state: AcceptCompleted, mic: true},
		{file: "smbclient-smb202-alice-0-c2s.der", init: true, mechs: []string{OIDNTLMSSP}, ntlmType: 1},
		{file: "smbclient-smb202-alice-2-c2s.der", state: NoState, ntlmType: 3, mic: true},
		{file: "smbclient-smb202-alice-3-s2c.der", state: AcceptCompleted, mic: true},
		{file: "impacket-alice-0-c2s.der", init: true, mechs: []string{OIDNTLMSSP}, ntlmType: 1},
		{file: "impacket-alice-1-s2c.der", state: AcceptIncomplete, mech: OIDNTLMSSP, ntlmType: 2},
		{file: "impacket-alice-2-c2s.der", state: NoState, ntlmType: 3},
		{file: "impacket-alice-3-s2c.der", state: AcceptCompleted},
		{file: "impacket-anon-2-c2s.der", state: NoState, ntlmType: 3},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw := readTestdata(t, tc.file)
			in, resp, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			var token, again []byte
			if tc.init {
				if in == nil || resp != nil {
					t.Fatalf("got init=%v resp=%v", in, resp)
				}
				if !reflect.DeepEqual(in.MechTypes, tc.mechs) || in.HintName != tc.hint {
					t.Errorf("mechs %v hint %q", in.MechTypes, in.HintName)
				}
				if !bytes.Equal(in.RawMechTypes, EncodeMechTypes(tc.mechs)) {
					t.Errorf("RawMechTypes %x", in.RawMechTypes)
				}
				token = in.MechToken
				again = EncodeInit(&Init{MechTypes: in.MechTypes, MechToken: in.MechToken, MechListMIC: in.MechListMIC, HintName: in.HintName})
			} else {
				if resp == nil || in != nil {
					t.Fatalf("got init=%v resp=%v", in, resp)
				}
				if resp.NegState != tc.state || resp.SupportedMech != tc.mech || (resp.MechListMIC != nil) != tc.mic {
					t.Errorf("resp %+v", resp)
				}
				if tc.mic && len(resp.MechListMIC) != 16 {
					t.Errorf("mechListMIC length %d", len(resp.MechListMIC))
				}
				token = resp.ResponseToken
				again = EncodeResp(resp)
			}
			if tc.ntlmType != 0 {
				if !IsNTLMSSP(token) || token[8] != tc.ntlmType {
					t.Errorf("inner token %x", token)
				}
			} else if token != nil {
				t.Errorf("unexpected inner token %x", token)
			}
			if !bytes.Equal(again, raw) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", again, raw)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0x5a}, 70000) // forces a 3-byte length
	inits := []*Init{
		{MechTypes: []string{OIDNTLMSSP}},
		{MechTypes: []string{OIDMSKRB5, OIDKRB5, OIDNTLMSSP}, MechToken: []byte("NTLMSSP\x00\x01"), MechListMIC: []byte{1, 2}},
		{MechTypes: []string{OIDNTLMSSP}, HintName: HintNotDefined, MechListMIC: []byte{3}},
		{MechTypes: []string{"2.999.1234567890123"}, MechToken: big},
	}
	for i, in := range inits {
		enc := EncodeInit(in)
		got, err := DecodeInit(enc)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !reflect.DeepEqual(got.MechTypes, in.MechTypes) || !bytes.Equal(got.MechToken, in.MechToken) ||
			!bytes.Equal(got.MechListMIC, in.MechListMIC) || got.HintName != in.HintName ||
			!bytes.Equal(got.RawMechTypes, in.RawMechTypes) {
			t.Errorf("%d: round trip mismatch %+v", i, got)
		}
	}
	resps := []*Resp{
		{NegState: NoState},
		{NegState: AcceptIncomplete, SupportedMech: OIDNTLMSSP, ResponseToken: []byte("x")},
		{NegState: AcceptCompleted, MechListMIC: make([]byte, 16)},
		{NegState: RequestMIC, ResponseToken: big},
		{NegState: Reject},
	}
	for i, r := range resps {
		got, err := DecodeResp(EncodeResp(r))
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("%d: got %+v want %+v", i, got, r)
		}
	}
}

func TestMalformed(t *testing.T) {
	good := readTestdata(t, "smbclient-smb311-alice-0-c2s.der")
	bad := [][]byte{
		nil,
		{0x60},
		{0x60, 0x80, 0x00, 0x00},       // indefinite length
		{0xa1, 0x02, 0x30, 0x00, 0x00}, // trailing byte inside
		{0xa1, 0x05, 0x30, 0x03, 0xa0, 0x01, 0x0a},                               // truncated negState
		{0xa1, 0x84, 0xff, 0xff, 0xff, 0xff},                                     // length beyond input
		{0xa1, 0x0a, 0x30, 0x08, 0xa2, 0x02, 0x04, 0x00, 0xa0, 0x02, 0x0a, 0x00}, // fields out of order
		append(append([]byte{}, good...), 0),                                     // trailing data
		good[:len(good)-1],
		{0x60, 0x06, 0x06, 0x01, 0x2a, 0xa0, 0x01, 0x30}, // wrong OID
		{0x61, 0x00},
	}
	for i, b := range bad {
		if in, resp, err := Decode(b); err == nil {
			t.Errorf("%d: %x decoded as %+v %+v", i, b, in, resp)
		}
	}
}

func TestOIDs(t *testing.T) {
	for _, oid := range []string{OIDSPNEGO, OIDNTLMSSP, OIDKRB5, OIDMSKRB5, "0.0", "2.5.4.3", "2.999.3"} {
		body, ok := appendOIDBody(nil, oid)
		if !ok {
			t.Fatalf("%s: not encodable", oid)
		}
		if got, ok := parseOID(body); !ok || got != oid {
			t.Errorf("%s: parsed back as %q", oid, got)
		}
	}
	for _, bad := range []string{"", "1", "3.1", "1.40", "1.2.x", "1..2"} {
		if _, ok := appendOIDBody(nil, bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, bad := range [][]byte{{}, {0x81}, {0x2a, 0x80, 0x01}} {
		if s, ok := parseOID(bad); ok {
			t.Errorf("%x parsed as %q", bad, s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.der"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, resp, err := Decode(b)
		if err != nil {
			return
		}
		if (in == nil) == (resp == nil) {
			t.Fatalf("exactly one result expected: %v %v", in, resp)
		}
		if in != nil {
			in2, err := DecodeInit(EncodeInit(&Init{MechTypes: in.MechTypes, MechToken: in.MechToken, MechListMIC: in.MechListMIC, HintName: in.HintName}))
			if err != nil {
				t.Fatalf("re-encoded init does not decode: %v", err)
			}
			if !reflect.DeepEqual(in2.MechTypes, in.MechTypes) || !bytes.Equal(in2.MechToken, in.MechToken) || !bytes.Equal(in2.MechListMIC, in.MechListMIC) {
				t.Fatalf("init round trip: %+v vs %+v", in, in2)
			}
		} else {
			resp2, err := DecodeResp(EncodeResp(resp))
			if err != nil || !reflect.DeepEqual(resp, resp2) {
				t.Fatalf("resp round trip: %+v vs %+v (%v)", resp, resp2, err)
			}
		}
	})
}

// TestNonMinimalLengths: the reader accepts long-form DER lengths that are
// not minimal (up to four length bytes), deliberately: SPNEGO tokens are
// BER-tolerant in practice (RFC 4178 specifies DER, but BER encoders of
// peers may emit long forms), a lenient reader costs nothing, and a token
// decoded through them carries the same values. Indefinite lengths
// and lengths of more than four bytes are refused.
func TestNonMinimalLengths(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		body string
		ok   bool
	}{
		{[]byte{0x04, 0x03, 'a', 'b', 'c'}, "abc", true},                 // minimal
		{[]byte{0x04, 0x81, 0x03, 'a', 'b', 'c'}, "abc", true},           // long form for 3
		{[]byte{0x04, 0x84, 0, 0, 0, 0x03, 'a', 'b', 'c'}, "abc", true},  // four length bytes
		{[]byte{0x04, 0x80, 'a', 'b', 'c', 0, 0}, "", false},             // indefinite
		{[]byte{0x04, 0x85, 0, 0, 0, 0, 0x03, 'a', 'b', 'c'}, "", false}, // five length bytes
		{[]byte{0x04, 0x82, 0x01, 0x00, 'a'}, "", false},                 // past the end
	} {
		r := reader(tc.in)
		_, body, ok := r.readTLV()
		if ok != tc.ok || string(body) != tc.body {
			t.Errorf("readTLV(%x) = %q, %v; want %q, %v", tc.in, body, ok, tc.body, tc.ok)
		}
	}
	// A whole token: the outer length of an encoded NegTokenResp
	// rewritten in the four-byte long form decodes to the same values.
	tok := EncodeResp(&Resp{NegState: AcceptCompleted, SupportedMech: OIDNTLMSSP, ResponseToken: []byte("token")})
	if tok[1]&0x80 != 0 {
		t.Fatalf("test token already long form: %x", tok[:4])
	}
	n := int(tok[1])
	long := append([]byte{tok[0], 0x84, 0, 0, 0, byte(n)}, tok[2:]...)
	_, want, err := Decode(tok)
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := Decode(long)
	if err != nil {
		t.Fatalf("non-minimal outer length refused: %v", err)
	}
	if got.NegState != want.NegState || !bytes.Equal(got.ResponseToken, want.ResponseToken) || got.SupportedMech != want.SupportedMech {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
}
