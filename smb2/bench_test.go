package smb2

import (
	"bytes"
	"testing"
)

func benchDecode(b *testing.B, body Body, into Body) {
	msg := message(testHeader(0, 0), body)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := into.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncode(b *testing.B, body Body) {
	h := testHeader(0, 0)
	buf := make([]byte, 0, 128<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = body.Append(h.Append(buf[:0]))
	}
	b.SetBytes(int64(len(buf)))
}

var (
	benchData    = bytes.Repeat([]byte{0xAB}, 4096)
	benchName    = AppendUTF16(nil, "srvsvc")
	benchCtxs    = AppendCreateContexts(nil, CreateContext{Name: []byte("MxAc")}, CreateContext{Name: []byte("QFid")})
	benchRead    = &ReadRequest{Length: 4280, FileID: fid, MinimumCount: 1}
	benchReadR   = &ReadResponse{Data: benchData}
	benchWrite   = &WriteRequest{FileID: fid, Data: benchData}
	benchWriteR  = &WriteResponse{Count: 4096}
	benchIoctl   = &IoctlRequest{CtlCode: FsctlPipeTransceive, FileID: fid, Input: benchData, MaxOutputResponse: 4280, Flags: IoctlIsFsctl}
	benchIoctlR  = &IoctlResponse{CtlCode: FsctlPipeTransceive, FileID: fid, Output: benchData, Flags: IoctlIsFsctl}
	benchCreate  = &CreateRequest{ImpersonationLevel: ImpersonationImpersonation, DesiredAccess: 0x12019F, ShareAccess: 3, CreateDisposition: 1, Name: benchName, CreateContexts: benchCtxs}
	benchCreateR = &CreateResponse{CreateAction: FileOpened, FileAttributes: FileAttributeNormal, FileID: fid}
)

func BenchmarkDecodeHeader(b *testing.B) {
	msg := message(testHeader(CmdRead, 0), benchRead)
	var h Header
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeReadRequest(b *testing.B)    { benchDecode(b, benchRead, &ReadRequest{}) }
func BenchmarkDecodeReadResponse(b *testing.B)   { benchDecode(b, benchReadR, &ReadResponse{}) }
func BenchmarkDecodeWriteRequest(b *testing.B)   { benchDecode(b, benchWrite, &WriteRequest{}) }
func BenchmarkDecodeWriteResponse(b *testing.B)  { benchDecode(b, benchWriteR, &WriteResponse{}) }
func BenchmarkDecodeIoctlRequest(b *testing.B)   { benchDecode(b, benchIoctl, &IoctlRequest{}) }
func BenchmarkDecodeIoctlResponse(b *testing.B)  { benchDecode(b, benchIoctlR, &IoctlResponse{}) }
func BenchmarkDecodeCreateRequest(b *testing.B)  { benchDecode(b, benchCreate, &CreateRequest{}) }
func BenchmarkDecodeCreateResponse(b *testing.B) { benchDecode(b, benchCreateR, &CreateResponse{}) }

func BenchmarkEncodeReadRequest(b *testing.B)    { benchEncode(b, benchRead) }
func BenchmarkEncodeReadResponse(b *testing.B)   { benchEncode(b, benchReadR) }
func BenchmarkEncodeWriteRequest(b *testing.B)   { benchEncode(b, benchWrite) }
func BenchmarkEncodeWriteResponse(b *testing.B)  { benchEncode(b, benchWriteR) }
func BenchmarkEncodeIoctlRequest(b *testing.B)   { benchEncode(b, benchIoctl) }
func BenchmarkEncodeIoctlResponse(b *testing.B)  { benchEncode(b, benchIoctlR) }
func BenchmarkEncodeCreateRequest(b *testing.B)  { benchEncode(b, benchCreate) }
func BenchmarkEncodeCreateResponse(b *testing.B) { benchEncode(b, benchCreateR) }

// TestEncodeAllocs pins encoding into a buffer with room at zero
// allocations.
func TestEncodeAllocs(t *testing.T) {
	h := testHeader(0, 0)
	buf := make([]byte, 0, 64<<10)
	for _, body := range []Body{benchRead, benchReadR, benchWrite, benchWriteR, benchIoctl, benchIoctlR, benchCreate, benchCreateR, &ErrorResponse{}} {
		if n := testing.AllocsPerRun(50, func() { buf = body.Append(h.Append(buf[:0])) }); n != 0 {
			t.Errorf("%T: %v allocations", body, n)
		}
	}
}
