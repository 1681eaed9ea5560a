package smb2

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/ntstatus"
)

func testHeader(cmd Command, flags uint32) Header {
	return Header{
		CreditCharge: 1, Status: 0, Command: cmd, Credit: 31, Flags: flags,
		MessageID: 7, ProcessID: 0xFEFF, TreeID: 5, SessionID: 0x1122334455667788,
	}
}

// message builds header + body.
func message(h Header, b Body) []byte {
	return b.Append(h.Append(nil))
}

func TestHeaderRoundTrip(t *testing.T) {
	sig := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	tests := []struct {
		name string
		h    Header
	}{
		{"sync request", Header{CreditCharge: 1, Command: CmdRead, Credit: 10, MessageID: 99, ProcessID: 0xFEFF, TreeID: 3, SessionID: 42, Signature: sig}},
		{"sync response", Header{Status: ntstatus.AccessDenied, Command: CmdCreate, Flags: FlagServerToRedir | FlagSigned, NextCommand: 128, MessageID: 1, TreeID: 1}},
		{"async response", Header{Status: ntstatus.Pending, Command: CmdRead, Flags: FlagServerToRedir | FlagAsyncCommand, MessageID: 5, AsyncID: 0xABCDEF, SessionID: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.h.Append([]byte("prefix"))
			if len(b) != 6+HeaderSize || string(b[:6]) != "prefix" {
				t.Fatalf("Append wrote %d bytes", len(b))
			}
			var got Header
			if err := got.Decode(b[6:]); err != nil {
				t.Fatal(err)
			}
			if got != tt.h {
				t.Fatalf("got %+v\nwant %+v", got, tt.h)
			}
		})
	}
}

func TestHeaderDecodeErrors(t *testing.T) {
	good := testHeader(CmdEcho, 0)
	valid := good.Append(nil)
	tests := []struct {
		name  string
		msg   []byte
		field string
	}{
		{"empty", nil, ""},
		{"short", valid[:63], ""},
		{"smb1", append([]byte{0xFF, 'S', 'M', 'B'}, valid[4:]...), "ProtocolId"},
		{"transform", append([]byte{0xFD, 'S', 'M', 'B'}, valid[4:]...), "ProtocolId"},
		{"structure size", patch16(valid, 4, 65), "StructureSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Header
			err := h.Decode(tt.msg)
			var de *DecodeError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &de) || de.Field != tt.field {
				t.Fatalf("err = %v, want malformed %q", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), "smb2: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func patch16(b []byte, off int, v uint16) []byte {
	b = bytes.Clone(b)
	put16(b, off, v)
	return b
}

func patch32(b []byte, off int, v uint32) []byte {
	b = bytes.Clone(b)
	put32(b, off, v)
	return b
}

// compound joins messages, padding each but the last to 8 bytes and
// setting NextCommand.
func compound(msgs ...[]byte) []byte {
	var frame []byte
	for i, m := range msgs {
		start := len(frame)
		frame = append(frame, m...)
		if i < len(msgs)-1 {
			frame = padTo8(frame, start)
			PutNextCommand(frame[start:], uint32(len(frame)-start))
		}
	}
	return frame
}

func TestNextMessage(t *testing.T) {
	h := testHeader(CmdCreate, 0)
	create := message(h, &CreateRequest{Name: AppendUTF16(nil, "srvsvc")})
	h.Command, h.Flags = CmdIoctl, FlagRelatedOperations
	ioctl := message(h, &IoctlRequest{CtlCode: FsctlPipeTransceive, FileID: WildcardFileID, Input: []byte("hello")})
	h.Command = CmdClose
	closeMsg := message(h, &CloseRequest{FileID: WildcardFileID})

	frame := compound(create, ioctl, closeMsg)
	var got []Command
	for rest := frame; rest != nil; {
		msg, r, err := NextMessage(rest)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg)%8 != 0 && r != nil {
			t.Errorf("message of %d bytes is not padded", len(msg))
		}
		if b := bodyFor(msg); b == nil || b.Decode(msg) != nil {
			t.Errorf("%v: body does not decode", PeekCommand(msg))
		}
		got = append(got, PeekCommand(msg))
		rest = r
	}
	if want := []Command{CmdCreate, CmdIoctl, CmdClose}; !reflect.DeepEqual(got, want) {
		t.Fatalf("commands %v, want %v", got, want)
	}

	bad := []struct {
		name  string
		frame []byte
	}{
		{"empty", nil},
		{"short", create[:40]},
		{"not smb2", append([]byte{0xFF, 'S', 'M', 'B'}, create[4:]...)},
		{"misaligned", patch32(frame, offNextCommand, 68)},
		{"into header", patch32(frame, offNextCommand, 8)},
		{"self loop", patch32(frame, offNextCommand, 0)[:0]},
		{"at end", patch32(padTo8(bytes.Clone(create), 0), offNextCommand, uint32(align8(len(create))))},
		{"beyond end", patch32(frame, offNextCommand, uint32(len(frame)+8))},
		{"huge", patch32(frame, offNextCommand, 0xFFFFFFF8)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := NextMessage(tt.frame); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	// A truncated last element splits fine; its header decode then fails.
	first := int(le32(frame, offNextCommand))
	_, rest, err := NextMessage(frame[:first+10])
	if err != nil || len(rest) != 10 {
		t.Fatalf("rest = %d bytes, err %v", len(rest), err)
	}
	if _, _, err := NextMessage(rest); err == nil {
		t.Fatal("10-byte message accepted")
	}
}

func TestFrameLength(t *testing.T) {
	n, err := FrameLength([4]byte{0, 0x01, 0x02, 0x03})
	if err != nil || n != 0x010203 {
		t.Fatalf("got %d, %v", n, err)
	}
	if _, err := FrameLength([4]byte{0x85, 0, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("keep-alive accepted: %v", err)
	}
	f := make([]byte, 4+0x123456)
	PutFrameLength(f)
	if !bytes.Equal(f[:4], []byte{0, 0x12, 0x34, 0x56}) {
		t.Fatalf("PutFrameLength wrote %x", f[:4])
	}
}

func TestPeekPutShort(t *testing.T) {
	for _, msg := range [][]byte{nil, make([]byte, 10), make([]byte, HeaderSize-1)} {
		if PeekCommand(msg) != CmdInvalid || PeekMessageID(msg) != 0 || PeekFlags(msg) != 0 || PeekStatus(msg) != 0 {
			t.Errorf("Peek on %d bytes returned data", len(msg))
		}
		before := bytes.Clone(msg)
		PutNextCommand(msg, 1)
		PutFlags(msg, 1)
		if !bytes.Equal(before, msg) {
			t.Errorf("Put on %d bytes wrote", len(msg))
		}
		if HasErrorBody(msg) {
			t.Errorf("HasErrorBody on %d bytes", len(msg))
		}
	}
}

func TestPeekPut(t *testing.T) {
	h := testHeader(CmdRead, 0)
	h.Status = ntstatus.Pending
	msg := h.Append(nil)
	PutNextCommand(msg, 136)
	PutFlags(msg, FlagServerToRedir|FlagRelatedOperations)
	want := h
	want.NextCommand, want.Flags = 136, FlagServerToRedir|FlagRelatedOperations
	var got Header
	if err := got.Decode(msg); err != nil || got != want {
		t.Fatalf("got %+v, %v\nwant %+v", got, err, want)
	}
	if PeekCommand(msg) != CmdRead || PeekMessageID(msg) != want.MessageID || PeekFlags(msg) != want.Flags || PeekStatus(msg) != ntstatus.Pending {
		t.Fatal("Peek disagrees with Decode")
	}
}

func TestHasErrorBody(t *testing.T) {
	resp := FlagServerToRedir
	tests := []struct {
		cmd    Command
		flags  uint32
		status Status
		body   Body
		want   bool
	}{
		{CmdCreate, resp, ntstatus.Success, &CreateResponse{}, false},
		{CmdCreate, 0, ntstatus.AccessDenied, &CreateRequest{}, false}, // a request
		{CmdCreate, resp, ntstatus.AccessDenied, &ErrorResponse{}, true},
		{CmdSessionSetup, resp, ntstatus.MoreProcessingRequired, &SessionSetupResponse{}, false},
		{CmdTreeConnect, resp, ntstatus.MoreProcessingRequired, &ErrorResponse{}, true},
		{CmdRead, resp, ntstatus.BufferOverflow, &ReadResponse{}, false},
		{CmdIoctl, resp, ntstatus.BufferOverflow, &IoctlResponse{}, false},
		{CmdQueryInfo, resp, ntstatus.BufferOverflow, &QueryInfoResponse{}, false},
		{CmdWrite, resp, ntstatus.BufferOverflow, &ErrorResponse{}, true},
		{CmdRead, resp | FlagAsyncCommand, ntstatus.Pending, &ErrorResponse{}, true},
		{CmdIoctl, resp, ntstatus.InvalidParameter, &IoctlResponse{}, false},
		{CmdIoctl, resp, ntstatus.InvalidParameter, &ErrorResponse{}, true},
		{CmdChangeNotify, resp, ntstatus.NotifyEnumDir, &EchoResponse{}, false},
	}
	for _, tt := range tests {
		h := testHeader(tt.cmd, tt.flags)
		h.Status = tt.status
		if got := HasErrorBody(message(h, tt.body)); got != tt.want {
			t.Errorf("%v %v %T: HasErrorBody = %v", tt.cmd, tt.status, tt.body, got)
		}
	}
}

func TestCommandString(t *testing.T) {
	if CmdRead.String() != "READ" || CmdOplockBreak.String() != "OPLOCK_BREAK" || Command(0x1234).String() != "Command(0x1234)" {
		t.Fatal(CmdRead.String(), CmdOplockBreak.String(), Command(0x1234).String())
	}
}

func smb1Negotiate(byteCountDelta int, dialects ...string) []byte {
	var bytesBuf []byte
	for _, d := range dialects {
		bytesBuf = append(append(append(bytesBuf, 0x02), d...), 0)
	}
	msg := []byte{0xFF, 'S', 'M', 'B', smb1ComNegotiate}
	msg = append(msg, make([]byte, smb1HeaderSize-len(msg))...)
	msg = append(msg, 0)
	msg = app16(msg, uint16(len(bytesBuf)+byteCountDelta))
	return append(msg, bytesBuf...)
}

func TestParseSMB1Negotiate(t *testing.T) {
	want := []string{"PC NETWORK PROGRAM 1.0", "NT LM 0.12", "SMB 2.002", "SMB 2.???"}
	got, err := ParseSMB1Negotiate(smb1Negotiate(0, want...))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, err := ParseSMB1Negotiate(smb1Negotiate(0)); err != nil || got != nil {
		t.Fatalf("empty list: %q, %v", got, err)
	}
	good := smb1Negotiate(0, "SMB 2.002")
	bad := map[string][]byte{
		"short":            good[:34],
		"not smb1":         append([]byte{0xFE}, good[1:]...),
		"not negotiate":    append(append(bytes.Clone(good[:4]), 0x73), good[5:]...),
		"word count":       append(append(bytes.Clone(good[:32]), 1), good[33:]...),
		"byte count long":  smb1Negotiate(1, "SMB 2.002"),
		"no terminator":    smb1Negotiate(-1, "SMB 2.002"),
		"buffer format":    append(bytes.Clone(good[:35]), append([]byte{0x03}, good[36:]...)...),
		"byte count 65535": patch16(good, 33, 0xFFFF),
	}
	for name, msg := range bad {
		if _, err := ParseSMB1Negotiate(msg); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestUTF16(t *testing.T) {
	tests := []struct {
		s    string
		wire []byte
	}{
		{"", nil},
		{"srvsvc", []byte("s\x00r\x00v\x00s\x00v\x00c\x00")},
		{"é€", []byte{0xE9, 0x00, 0xAC, 0x20}},
		{"a😀", []byte{'a', 0, 0x3D, 0xD8, 0x00, 0xDE}},
	}
	for _, tt := range tests {
		if got := AppendUTF16(nil, tt.s); !bytes.Equal(got, tt.wire) {
			t.Errorf("AppendUTF16(%q) = %x, want %x", tt.s, got, tt.wire)
		}
		if got, err := UTF16ToString(tt.wire); err != nil || got != tt.s {
			t.Errorf("UTF16ToString(%x) = %q, %v", tt.wire, got, err)
		}
	}
	for name, b := range map[string][]byte{
		"odd":           {'a', 0, 'b'},
		"lone high":     {0x3D, 0xD8, 'a', 0},
		"lone high end": {'a', 0, 0x3D, 0xD8},
		"lone low":      {0x00, 0xDE, 'a', 0},
	} {
		if _, err := UTF16ToString(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if got := AppendUTF16(nil, "\xff"); !bytes.Equal(got, []byte{0xFD, 0xFF}) {
		t.Errorf("invalid UTF-8 encodes as %x, want U+FFFD", got)
	}
}

func TestDialectString(t *testing.T) {
	for d, want := range map[Dialect]string{
		0: "none", Dialect202: "2.0.2", Dialect210: "2.1", Dialect300: "3.0", Dialect302: "3.0.2",
		Dialect311: "3.1.1", DialectWildcard: "2.???", 0x0400: "0x0400",
	} {
		if got := d.String(); got != want {
			t.Errorf("Dialect(%#x).String() = %q, want %q", uint16(d), got, want)
		}
	}
}
