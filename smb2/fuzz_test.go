package smb2

import (
	"bytes"
	"reflect"
	"testing"
)

// Seeds: every captured message plus the constructed samples.
func seedMessages(f *testing.F) [][]byte {
	msgs := capturedMessages(f)
	for _, b := range sampleBodies() {
		msgs = append(msgs, message(testHeader(0, 0), b))
	}
	return msgs
}

func FuzzHeader(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m[:HeaderSize])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Header
		if err := h.Decode(data); err != nil {
			return
		}
		if got := h.Append(nil); !bytes.Equal(got, data[:HeaderSize]) {
			t.Fatalf("re-encoded header %x, want %x", got, data[:HeaderSize])
		}
	})
}

func FuzzCompound(f *testing.F) {
	for _, cf := range loadCaptures(f) {
		f.Add(cf.frame[4:])
	}
	h := testHeader(CmdRead, 0)
	f.Add(compound(message(h, &ReadRequest{Length: 1}), message(h, &CloseRequest{}), message(h, &EchoRequest{})))
	f.Fuzz(func(t *testing.T, frame []byte) {
		total := 0
		for rest := frame; rest != nil; {
			msg, r, err := NextMessage(rest)
			if err != nil {
				return
			}
			if len(msg) < HeaderSize || (r != nil && len(msg)%8 != 0) {
				t.Fatalf("message of %d bytes", len(msg))
			}
			total += len(msg)
			rest = r
		}
		if total != len(frame) {
			t.Fatalf("messages cover %d of %d bytes", total, len(frame))
		}
	})
}

// FuzzRequest decodes the body type chosen by the header's Command and
// response flag (requests and responses alike) and checks the round trip.
func FuzzRequest(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var h Header
		if h.Decode(msg) != nil {
			return
		}
		_, _, _ = checkRoundTrip(t, msg)
	})
}

func FuzzNegotiateContexts(f *testing.F) {
	for _, m := range seedMessages(f) {
		if PeekCommand(m) != CmdNegotiate {
			continue
		}
		var off uint32
		var n uint16
		if PeekFlags(m)&FlagServerToRedir != 0 {
			if len(m) >= HeaderSize+64 {
				off, n = le32(m, HeaderSize+60), le16(m, HeaderSize+6)
			}
		} else if len(m) >= HeaderSize+36 {
			off, n = le32(m, HeaderSize+28), le16(m, HeaderSize+32)
		}
		if n > 0 && int(off) < len(m) {
			f.Add(m[off:], n)
		}
	}
	f.Fuzz(func(t *testing.T, list []byte, count uint16) {
		ctxs, err := ParseNegotiateContexts(list, int(count))
		if err != nil {
			return
		}
		again, err := ParseNegotiateContexts(AppendNegotiateContexts(nil, ctxs), int(count))
		if err != nil || !reflect.DeepEqual(again, ctxs) {
			t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, again, ctxs)
		}
		for _, c := range ctxs {
			var v interface {
				Decode([]byte) error
				Append([]byte) []byte
			}
			switch c.Type {
			case CtxPreauthIntegrity:
				v = &PreauthIntegrityCaps{}
			case CtxEncryption:
				v = &EncryptionCaps{}
			case CtxSigning:
				v = &SigningCaps{}
			default:
				continue
			}
			if v.Decode(c.Data) != nil {
				continue
			}
			w := reflect.New(reflect.TypeOf(v).Elem()).Interface().(interface{ Decode([]byte) error })
			if err := w.Decode(v.Append(nil)); err != nil || !reflect.DeepEqual(v, w) {
				t.Fatalf("context %d data round trip: %v", c.Type, err)
			}
		}
	})
}

func FuzzSMB1Negotiate(f *testing.F) {
	for _, cf := range loadCaptures(f) {
		if IsSMB1(cf.frame[4:]) {
			f.Add(cf.frame[4:])
		}
	}
	f.Add(smb1Negotiate(0, "SMB 2.002", "SMB 2.???"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		d, err := ParseSMB1Negotiate(msg)
		if err != nil {
			return
		}
		again, err := ParseSMB1Negotiate(smb1Negotiate(0, d...))
		if err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("round trip: %q, %v; want %q", again, err, d)
		}
	})
}

func FuzzCreateContexts(f *testing.F) {
	for _, m := range seedMessages(f) {
		var cr CreateRequest
		var cs CreateResponse
		if cr.Decode(m) == nil && len(cr.CreateContexts) > 0 {
			f.Add(cr.CreateContexts)
		}
		if cs.Decode(m) == nil && len(cs.CreateContexts) > 0 {
			f.Add(cs.CreateContexts)
		}
	}
	f.Fuzz(func(t *testing.T, chain []byte) {
		var ccs []CreateContext
		for rest := chain; len(rest) > 0; {
			cc, r, err := NextCreateContext(rest)
			if err != nil {
				return
			}
			ccs = append(ccs, cc)
			rest = r
		}
		var again []CreateContext
		for rest := AppendCreateContexts(nil, ccs...); len(rest) > 0; {
			cc, r, err := NextCreateContext(rest)
			if err != nil {
				t.Fatalf("re-encoded chain: %v", err)
			}
			again = append(again, cc)
			rest = r
		}
		if !reflect.DeepEqual(again, ccs) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", again, ccs)
		}
	})
}

func FuzzUTF16(f *testing.F) {
	f.Add(AppendUTF16(nil, `\\127.0.0.1\IPC$`))
	f.Add(AppendUTF16(nil, "ÉCOLE😀"))
	f.Add([]byte{0x3D, 0xD8})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := UTF16ToString(b)
		if err != nil {
			return
		}
		if got := AppendUTF16(nil, s); !bytes.Equal(got, b) {
			t.Fatalf("AppendUTF16(%q) = %x, want %x", s, got, b)
		}
	})
}

// FuzzTransformHeader: DecodeTransform never panics, accepts only frames
// whose OriginalMessageSize is the message's length and whose Flags is 1,
// and Put writes back the fields it decoded.
func FuzzTransformHeader(f *testing.F) {
	sample := make([]byte, TransformHeaderSize+70)
	(&TransformHeader{Flags: TransformFlagEncrypted, SessionID: 0x100000000025}).Put(sample)
	f.Add(sample)
	f.Add(sample[:TransformHeaderSize])
	f.Add(sample[:10])
	f.Fuzz(func(t *testing.T, frame []byte) {
		th, err := DecodeTransform(frame)
		if err != nil {
			return
		}
		if len(frame) <= TransformHeaderSize || int(th.OriginalMessageSize) != len(frame)-TransformHeaderSize || th.Flags != 1 {
			t.Fatalf("accepted %+v for a %d-byte frame", th, len(frame))
		}
		again := bytes.Clone(frame)
		th.Put(again)
		want := bytes.Clone(frame)
		want[40], want[41] = 0, 0 // Reserved
		if !bytes.Equal(again[:4], want[:4]) || !bytes.Equal(again[36:], want[36:]) {
			t.Fatalf("Put %x, decoded from %x", again[:TransformHeaderSize], frame[:TransformHeaderSize])
		}
		th2, err := DecodeTransform(again)
		if err != nil || th2 != th {
			t.Fatalf("re-decoded %+v, %v; want %+v", th2, err, th)
		}
	})
}
