package smb2

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

var fid = FileID{Persistent: 0x0102030405060708, Volatile: 0x1112131415161718}

func mustContexts(ccs ...CreateContext) []byte { return AppendCreateContexts(nil, ccs...) }

// sampleBodies has one or more filled-in values of every body type, with
// and without their variable parts.
func sampleBodies() []Body {
	preauth := (&PreauthIntegrityCaps{HashAlgorithms: []uint16{HashSHA512}, Salt: bytes.Repeat([]byte{0x5A}, 32)}).Append(nil)
	enc := (&EncryptionCaps{Ciphers: []uint16{CipherAES128GCM, CipherAES128CCM}}).Append(nil)
	sign := (&SigningCaps{SigningAlgorithms: []uint16{SigningAESCMAC}}).Append(nil)
	ctxs := []NegotiateContext{{CtxPreauthIntegrity, preauth}, {CtxEncryption, enc}, {CtxSigning, sign}, {CtxNetname, AppendUTF16(nil, "srv")}}
	return []Body{
		&NegotiateRequest{SecurityMode: SigningEnabled, Capabilities: CapLargeMTU, ClientGUID: [16]byte{1, 2, 3}, Dialects: []Dialect{Dialect202, Dialect210}},
		&NegotiateRequest{Dialects: []Dialect{Dialect202, Dialect210, Dialect300, Dialect302, Dialect311}, Contexts: ctxs},
		&NegotiateRequest{Dialects: []Dialect{Dialect311}},
		&NegotiateResponse{SecurityMode: SigningEnabled, DialectRevision: DialectWildcard, ServerGUID: [16]byte{9}, MaxTransactSize: 65536, MaxReadSize: 65536, MaxWriteSize: 65536, SystemTime: 1, SecurityBuffer: []byte{0x60, 0x01, 0x00}},
		&NegotiateResponse{DialectRevision: Dialect311, SecurityBuffer: []byte{1, 2, 3, 4, 5}, Contexts: ctxs[:3]},
		&NegotiateResponse{DialectRevision: Dialect311},
		&SessionSetupRequest{Flags: SessionSetupBinding, SecurityMode: 1, Capabilities: 1, PreviousSessionID: 5, SecurityBuffer: []byte("NTLMSSP\x00")},
		&SessionSetupRequest{},
		&SessionSetupResponse{SessionFlags: SessionFlagIsNull, SecurityBuffer: []byte{0xA1, 0x07}},
		&SessionSetupResponse{},
		&LogoffRequest{}, &LogoffResponse{},
		&TreeConnectRequest{Path: AppendUTF16(nil, `\\127.0.0.1\IPC$`)},
		&TreeConnectResponse{ShareType: ShareTypePipe, ShareFlags: ShareFlagNoCaching, MaximalAccess: 0x1F01FF},
		&TreeDisconnectRequest{}, &TreeDisconnectResponse{},
		&CreateRequest{ImpersonationLevel: ImpersonationImpersonation, DesiredAccess: 0x12019F, ShareAccess: 3, CreateDisposition: 1, Name: AppendUTF16(nil, "srvsvc")},
		&CreateRequest{Name: AppendUTF16(nil, "lsarpc"), CreateContexts: mustContexts(CreateContext{Name: []byte("MxAc")}, CreateContext{Name: []byte("QFid")})},
		&CreateRequest{CreateContexts: mustContexts(CreateContext{Name: []byte("DHnQ"), Data: make([]byte, 16)})},
		&CreateRequest{},
		&CreateResponse{CreateAction: FileOpened, FileAttributes: FileAttributeNormal, FileID: fid, AllocationSize: 4096},
		&CreateResponse{FileID: fid, CreateContexts: mustContexts(CreateContext{Name: []byte("MxAc"), Data: make([]byte, 8)})},
		&CloseRequest{Flags: CloseFlagPostQueryAttrib, FileID: fid},
		&CloseResponse{Flags: CloseFlagPostQueryAttrib, CreationTime: 1, LastAccessTime: 2, LastWriteTime: 3, ChangeTime: 4, AllocationSize: 5, EndOfFile: 6, FileAttributes: 7},
		&FlushRequest{FileID: fid}, &FlushResponse{},
		&ReadRequest{Padding: 0x50, Length: 4280, FileID: fid, MinimumCount: 1},
		&ReadRequest{Length: 1, ReadChannelInfo: []byte{1, 2, 3}},
		&ReadResponse{Data: []byte("data"), DataRemaining: 3},
		&ReadResponse{},
		&WriteRequest{Offset: 0, FileID: fid, Data: []byte("hello"), Flags: WriteFlagWriteThrough},
		&WriteRequest{Data: []byte("x"), WriteChannelInfo: []byte{1, 2}},
		&WriteRequest{},
		&WriteResponse{Count: 72, Remaining: 1},
		&EchoRequest{}, &EchoResponse{}, &CancelRequest{},
		&IoctlRequest{CtlCode: FsctlPipeTransceive, FileID: fid, Input: []byte("bind"), MaxOutputResponse: 4280, Flags: IoctlIsFsctl},
		&IoctlRequest{CtlCode: FsctlPipeWait, FileID: WildcardFileID, Input: []byte("abc"), Output: []byte("out"), Flags: IoctlIsFsctl},
		&IoctlRequest{CtlCode: FsctlPipePeek, FileID: fid, MaxOutputResponse: 24, Flags: IoctlIsFsctl},
		&IoctlResponse{CtlCode: FsctlPipeTransceive, FileID: fid, Output: []byte("bind_ack"), Flags: 0},
		&IoctlResponse{CtlCode: FsctlValidateNegotiate, FileID: WildcardFileID, Input: []byte("12345"), Output: []byte("out")},
		&IoctlResponse{},
		&QueryInfoRequest{InfoType: InfoFile, FileInfoClass: FilePipeLocalInformation, OutputBufferLength: 40, FileID: fid},
		&QueryInfoRequest{InfoType: InfoQuota, Input: []byte{1, 2, 3, 4}, AdditionalInformation: 7, Flags: 1, FileID: fid},
		&QueryInfoResponse{Output: make([]byte, 40)},
		&QueryInfoResponse{},
		&SetInfoRequest{InfoType: InfoSecurity, Buffer: []byte{1, 0, 4, 0x80}, AdditionalInformation: 4, FileID: fid},
		&SetInfoRequest{},
		&SetInfoResponse{},
		&ErrorResponse{},
		&ErrorResponse{ErrorContextCount: 1, ErrorData: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
	}
}

func TestBodyRoundTrip(t *testing.T) {
	for _, b := range sampleBodies() {
		msg := message(testHeader(0, 0), b)
		got := reflect.New(reflect.TypeOf(b).Elem()).Interface().(Body)
		if err := got.Decode(msg); err != nil {
			t.Errorf("%T %+v: %v\n%x", b, b, err, msg)
			continue
		}
		if !reflect.DeepEqual(normalize(b), got) {
			t.Errorf("%T:\n got %+v\nwant %+v", b, got, b)
		}
		// The body appends after whatever dst holds, and the result is
		// also valid as the non-first element of a compound.
		frame := compound(message(testHeader(CmdEcho, 0), &EchoRequest{}), msg)
		_, second, err := NextMessage(frame)
		if err != nil {
			t.Fatal(err)
		}
		if err := got.Decode(second); err != nil || !reflect.DeepEqual(normalize(b), got) {
			t.Errorf("%T in a compound: %v", b, err)
		}
	}
}

// normalize returns what decoding the encoding of b gives: empty slices
// become nil, and negotiate contexts exist only for 3.1.1.
func normalize(b Body) Body {
	v := reflect.New(reflect.TypeOf(b).Elem())
	v.Elem().Set(reflect.ValueOf(b).Elem())
	e := v.Elem()
	for i := 0; i < e.NumField(); i++ {
		f := e.Field(i)
		if f.Kind() == reflect.Slice && f.Len() == 0 {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return v.Interface().(Body)
}

// TestBodyLayout pins the wire layout choices MS-SMB2 and Windows make.
func TestBodyLayout(t *testing.T) {
	enc := func(b Body) []byte { return message(testHeader(0, 0), b) }

	t.Run("error response has one zero byte", func(t *testing.T) {
		msg := enc(&ErrorResponse{})
		if want := []byte{9, 0, 0, 0, 0, 0, 0, 0, 0}; !bytes.Equal(msg[HeaderSize:], want) {
			t.Fatalf("body %x, want %x", msg[HeaderSize:], want)
		}
	})
	t.Run("read response data at 0x50", func(t *testing.T) {
		msg := enc(&ReadResponse{Data: []byte("abc")})
		if msg[HeaderSize+2] != 0x50 || string(msg[0x50:]) != "abc" {
			t.Fatalf("body %x", msg[HeaderSize:])
		}
		if msg := enc(&ReadResponse{}); msg[HeaderSize+2] != 0x50 || len(msg) != 0x50 {
			t.Fatalf("empty read response %x", msg[HeaderSize:])
		}
	})
	t.Run("ioctl response output offset", func(t *testing.T) {
		for _, in := range []int{0, 1, 7, 8, 9} {
			msg := enc(&IoctlResponse{Input: make([]byte, in), Output: []byte("out")})
			inOff, outOff := le32(msg, HeaderSize+24), le32(msg, HeaderSize+32)
			if inOff != 0x70 || outOff != uint32(align8(0x70+in)) || string(msg[outOff:]) != "out" {
				t.Errorf("input %d: InputOffset %#x OutputOffset %#x", in, inOff, outOff)
			}
		}
	})
	t.Run("requests keep one byte of buffer", func(t *testing.T) {
		for _, b := range []Body{&CreateRequest{}, &ReadRequest{}, &WriteRequest{}, &IoctlRequest{}, &SessionSetupRequest{}, &TreeConnectRequest{}, &QueryInfoRequest{}, &SetInfoRequest{}} {
			msg := enc(b)
			if size := le16(msg, HeaderSize); len(msg)-HeaderSize != int(size) {
				t.Errorf("%T: body %d bytes, StructureSize %d", b, len(msg)-HeaderSize, size)
			}
		}
	})
	t.Run("negotiate contexts 8-aligned", func(t *testing.T) {
		for _, b := range sampleBodies() {
			var ctxOff uint32
			var n int
			var msg []byte
			switch m := b.(type) {
			case *NegotiateRequest:
				msg, n = enc(m), len(m.Contexts)
				ctxOff = le32(msg, HeaderSize+28)
			case *NegotiateResponse:
				msg, n = enc(m), len(m.Contexts)
				ctxOff = le32(msg, HeaderSize+60)
			default:
				continue
			}
			if n == 0 {
				continue
			}
			pos := int(ctxOff)
			for i := 0; i < n; i++ {
				if pos%8 != 0 {
					t.Errorf("%T: context %d at %#x", b, i, pos)
				}
				pos = align8(pos + 8 + int(le16(msg, pos+2)))
			}
		}
	})
	t.Run("create contexts", func(t *testing.T) {
		chain := mustContexts(CreateContext{Name: []byte("MxAc")}, CreateContext{Name: []byte("DHnQ"), Data: make([]byte, 16)}, CreateContext{Name: []byte("abcdefghij"), Data: []byte{1}})
		var names []string
		for rest := chain; len(rest) > 0; {
			start := len(chain) - len(rest)
			if start%8 != 0 {
				t.Errorf("context at %d", start)
			}
			cc, r, err := NextCreateContext(rest)
			if err != nil {
				t.Fatal(err)
			}
			if off := le16(rest, 10); len(cc.Data) > 0 && off%8 != 0 {
				t.Errorf("%s: DataOffset %d", cc.Name, off)
			}
			names = append(names, string(cc.Name))
			rest = r
		}
		if want := []string{"MxAc", "DHnQ", "abcdefghij"}; !reflect.DeepEqual(names, want) {
			t.Fatalf("names %q", names)
		}
		msg := enc(&CreateRequest{Name: AppendUTF16(nil, "abc"), CreateContexts: chain})
		if off := le32(msg, HeaderSize+48); off%8 != 0 || off < 0x78+6 {
			t.Fatalf("CreateContextsOffset %#x", off)
		}
	})
}

// TestMalformedBodies mutates valid messages into invalid ones.
func TestMalformedBodies(t *testing.T) {
	h := testHeader(0, 0)
	create := message(h, &CreateRequest{Name: AppendUTF16(nil, "srvsvc"), CreateContexts: mustContexts(CreateContext{Name: []byte("MxAc")})})
	read := message(h, &ReadRequest{Length: 10})
	write := message(h, &WriteRequest{Data: []byte("hello")})
	ioctl := message(h, &IoctlRequest{Input: []byte("in"), Output: []byte("out")})
	negReq := message(h, &NegotiateRequest{Dialects: []Dialect{Dialect311}, Contexts: []NegotiateContext{{CtxPreauthIntegrity, []byte{1, 0, 0, 0, 1, 0}}}})
	negResp := message(h, &NegotiateResponse{DialectRevision: Dialect311, SecurityBuffer: []byte{1}, Contexts: []NegotiateContext{{CtxEncryption, []byte{1, 0, 2, 0}}}})
	errResp := message(h, &ErrorResponse{ErrorData: []byte{1, 2, 3, 4}})
	sess := message(h, &SessionSetupRequest{SecurityBuffer: []byte("x")})
	tree := message(h, &TreeConnectRequest{Path: AppendUTF16(nil, "x")})
	query := message(h, &QueryInfoRequest{Input: []byte{1}})
	setinfo := message(h, &SetInfoRequest{Buffer: []byte{1}})
	createResp := message(h, &CreateResponse{CreateContexts: mustContexts(CreateContext{Name: []byte("MxAc"), Data: make([]byte, 8)})})
	const b = HeaderSize

	tests := []struct {
		name  string
		body  Body
		msg   []byte
		field string
	}{
		{"header only", &ReadRequest{}, read[:b], ""},
		{"short fixed part", &ReadRequest{}, read[:b+47], ""},
		{"structure size", &ReadRequest{}, patch16(read, b, 48), "StructureSize"},
		{"structure size of other command", &CreateRequest{}, read, "StructureSize"},
		{"read channel info out of range", &ReadRequest{}, patch16(patch16(read, b+44, 0x70), b+46, 2), "ReadChannelInfoOffset"},
		{"write data past end", &WriteRequest{}, patch32(write, b+4, 6), "DataOffset"},
		{"write data offset into header", &WriteRequest{}, patch16(write, b+2, 0x10), "DataOffset"},
		{"write data offset into fixed part", &WriteRequest{}, patch16(write, b+2, 0x6F), "DataOffset"},
		{"write length overflow", &WriteRequest{}, patch32(write, b+4, 0xFFFFFFFF), "DataOffset"},
		{"ioctl input overflow", &IoctlRequest{}, patch32(patch32(ioctl, b+24, 0xFFFFFFF0), b+28, 0x20), "InputOffset"},
		{"ioctl output past end", &IoctlRequest{}, patch32(ioctl, b+40, 100), "OutputOffset"},
		{"create odd name", &CreateRequest{}, patch16(create, b+46, 11), "NameLength"},
		{"create name past end", &CreateRequest{}, patch16(create, b+44, 0xFFFF), "NameOffset"},
		{"create contexts misaligned", &CreateRequest{}, patch32(create, b+48, le32(create, b+48)-4), "CreateContextsOffset"},
		{"create contexts past end", &CreateRequest{}, patch32(create, b+52, 1000), "CreateContextsOffset"},
		{"create context bad name", &CreateRequest{}, patch16(create, int(le32(create, b+48))+6, 200), "NameOffset"},
		{"create response context bad data", &CreateResponse{}, patch32(createResp, 0x98+12, 200), "DataOffset"},
		{"negotiate dialects past end", &NegotiateRequest{}, patch16(negReq, b+2, 200), "DialectCount"},
		{"negotiate context offset misaligned", &NegotiateRequest{}, patch32(negReq, b+28, le32(negReq, b+28)+2), "NegotiateContextOffset"},
		{"negotiate context offset into dialects", &NegotiateRequest{}, patch32(negReq, b+28, 96), "NegotiateContextOffset"},
		{"negotiate context count", &NegotiateRequest{}, patch16(negReq, b+32, 2), ""},
		{"negotiate context data length", &NegotiateRequest{}, patch16(negReq, int(le32(negReq, b+28))+2, 100), "DataLength"},
		{"negotiate response security buffer", &NegotiateResponse{}, patch16(negResp, b+58, 500), "SecurityBufferOffset"},
		{"negotiate response security offset low", &NegotiateResponse{}, patch16(negResp, b+56, 0x40), "SecurityBufferOffset"},
		{"negotiate response context offset", &NegotiateResponse{}, patch32(negResp, b+60, 0x1000), "NegotiateContextOffset"},
		{"session setup buffer", &SessionSetupRequest{}, patch16(sess, b+14, 2), "SecurityBufferOffset"},
		{"tree connect odd path", &TreeConnectRequest{}, patch16(tree, b+6, 1), "PathLength"},
		{"tree connect path", &TreeConnectRequest{}, patch16(tree, b+4, 0x100), "PathOffset"},
		{"query info input", &QueryInfoRequest{}, patch32(query, b+12, 2), "InputBufferOffset"},
		{"set info buffer", &SetInfoRequest{}, patch32(setinfo, b+4, 2), "BufferOffset"},
		{"error byte count", &ErrorResponse{}, patch32(errResp, b+4, 5), "ByteCount"},
		{"error byte count huge", &ErrorResponse{}, patch32(errResp, b+4, 0xFFFFFFFF), "ByteCount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.body.Decode(tt.msg)
			var de *DecodeError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &de) {
				t.Fatalf("err = %v, want a DecodeError", err)
			}
			if tt.field != "" && de.Field != tt.field {
				t.Fatalf("field %q (%v), want %q", de.Field, err, tt.field)
			}
		})
	}
}

func TestCreateContextErrors(t *testing.T) {
	good := mustContexts(CreateContext{Name: []byte("MxAc")}, CreateContext{Name: []byte("QFid"), Data: []byte{1, 2}})
	tests := map[string][]byte{
		"short":           good[:15],
		"next misaligned": patch32(good, 0, 20),
		"next too small":  patch32(good, 0, 8),
		"next at end":     patch32(good, 0, uint32(len(good))),
		"next beyond":     patch32(good, 0, 0xFFFFFFF8),
		"no name":         patch16(good, 6, 0),
		"name in header":  patch16(good, 4, 2),
		"name past next":  patch16(good, 6, 20),
		"data past end":   patch32(good[24:], 12, 100),
		"data offset low": patch16(good[24:], 10, 8),
	}
	for name, chain := range tests {
		if _, _, err := NextCreateContext(chain); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestNegotiateContextData(t *testing.T) {
	p := PreauthIntegrityCaps{HashAlgorithms: []uint16{HashSHA512, 2}, Salt: []byte("salt")}
	var p2 PreauthIntegrityCaps
	if err := p2.Decode(p.Append(nil)); err != nil || !reflect.DeepEqual(p, p2) {
		t.Fatalf("preauth: %+v, %v", p2, err)
	}
	e := EncryptionCaps{Ciphers: []uint16{CipherAES256GCM}}
	var e2 EncryptionCaps
	if err := e2.Decode(e.Append(nil)); err != nil || !reflect.DeepEqual(e, e2) {
		t.Fatalf("encryption: %+v, %v", e2, err)
	}
	s := SigningCaps{SigningAlgorithms: []uint16{SigningAESGMAC, SigningAESCMAC}}
	var s2 SigningCaps
	if err := s2.Decode(s.Append(nil)); err != nil || !reflect.DeepEqual(s, s2) {
		t.Fatalf("signing: %+v, %v", s2, err)
	}
	for name, d := range map[string]func() error{
		"preauth short":      func() error { return p2.Decode([]byte{1, 0}) },
		"preauth algs":       func() error { return p2.Decode([]byte{2, 0, 0, 0, 1, 0}) },
		"preauth salt":       func() error { return p2.Decode([]byte{1, 0, 4, 0, 1, 0, 1}) },
		"encryption short":   func() error { return e2.Decode([]byte{1}) },
		"encryption ciphers": func() error { return e2.Decode([]byte{2, 0, 1, 0}) },
		"signing algs":       func() error { return s2.Decode([]byte{1, 0, 1}) },
	} {
		if err := d(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	req := NegotiateRequest{Dialects: []Dialect{Dialect311}, Contexts: []NegotiateContext{{CtxSigning, s.Append(nil)}}}
	if d, ok := req.Context(CtxSigning); !ok || !bytes.Equal(d, req.Contexts[0].Data) {
		t.Fatal("Context(CtxSigning) not found")
	}
	if _, ok := req.Context(CtxEncryption); ok {
		t.Fatal("Context(CtxEncryption) found")
	}
}

// TestTruncatedCaptures decodes every prefix of every captured message:
// nothing may panic, and decoded buffers stay inside the prefix.
func TestTruncatedCaptures(t *testing.T) {
	for _, msg := range capturedMessages(t) {
		for i := 0; i <= len(msg); i++ {
			p := bytes.Clone(msg[:i])
			var h Header
			_ = h.Decode(p)
			if b := bodyFor(msg); b != nil {
				_ = b.Decode(p)
			}
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	h := testHeader(0, 0)
	read := message(h, &ReadRequest{Length: 4280, FileID: fid})
	write := message(h, &WriteRequest{FileID: fid, Data: bytes.Repeat([]byte("x"), 100)})
	ioctl := message(h, &IoctlRequest{CtlCode: FsctlPipeTransceive, FileID: fid, Input: []byte("in"), MaxOutputResponse: 4280})
	frame := compound(read, write, ioctl)
	chain := mustContexts(CreateContext{Name: []byte("MxAc")}, CreateContext{Name: []byte("QFid")})
	var (
		hdr Header
		rr  ReadRequest
		wr  WriteRequest
		ir  IoctlRequest
	)
	tests := map[string]func(){
		"Header":        func() { _ = hdr.Decode(read) },
		"ReadRequest":   func() { _ = rr.Decode(read) },
		"WriteRequest":  func() { _ = wr.Decode(write) },
		"IoctlRequest":  func() { _ = ir.Decode(ioctl) },
		"NextMessage":   func() { m, r, _ := NextMessage(frame); m, r, _ = NextMessage(r); _, _, _ = NextMessage(r); _ = m },
		"NextCreateCtx": func() { _, r, _ := NextCreateContext(chain); _, _, _ = NextCreateContext(r) },
		"Peek":          func() { _ = PeekCommand(read) + Command(PeekMessageID(read)) + Command(PeekFlags(read)) },
	}
	for name, f := range tests {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
	if rr.Length != 4280 || len(wr.Data) != 100 || string(ir.Input) != "in" {
		t.Fatal("decodes did not run")
	}
}

// TestAppendIoctlResponseHeader: the fixed part plus the output appended
// after it is byte for byte what IoctlResponse.Append writes.
func TestAppendIoctlResponseHeader(t *testing.T) {
	fid := FileID{Persistent: 7, Volatile: 9}
	for _, n := range []int{0, 1, 7, 8, 4096} {
		out := bytes.Repeat([]byte{0xAB}, n)
		want := (&IoctlResponse{CtlCode: FsctlPipeTransceive, FileID: fid, Output: out}).Append(nil)
		got := AppendIoctlResponseHeader(nil, FsctlPipeTransceive, fid, n, 0)
		if len(got) != IoctlResponseFixedSize {
			t.Fatalf("n=%d: fixed part of %d bytes, want %d", n, len(got), IoctlResponseFixedSize)
		}
		got = append(got, out...)
		if !bytes.Equal(got, want) {
			t.Errorf("n=%d:\n got % x\nwant % x", n, got, want)
		}
	}
}
