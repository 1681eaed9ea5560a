package smb2

import (
	"bytes"
	"testing"
)

// TestAppendHead: AppendHead followed by the payload is what Append
// writes, and PutFrameLengthPlus counts the payload sent after it.
func TestAppendHead(t *testing.T) {
	for _, n := range []int{1, 68, 4096, 65536} {
		data := bytes.Repeat([]byte{0xA5}, n)
		ioctl := IoctlRequest{CtlCode: FsctlPipeTransceive, FileID: FileID{1, 2}, Input: data, MaxOutputResponse: 1024, Flags: IoctlIsFsctl}
		write := WriteRequest{FileID: FileID{3, 4}, Data: data, Offset: 9, RemainingBytes: 2}
		for _, m := range []struct {
			name       string
			head, full []byte
		}{
			{"ioctl", ioctl.AppendHead([]byte("pre")), ioctl.Append([]byte("pre"))},
			{"write", write.AppendHead([]byte("pre")), write.Append([]byte("pre"))},
		} {
			if got := append(m.head, data...); !bytes.Equal(got, m.full) {
				t.Errorf("%s, %d bytes: AppendHead+payload differs from Append", m.name, n)
			}
		}
		frame := make([]byte, 4, 4+len(ioctl.Append(nil)))
		frame = ioctl.AppendHead(frame)
		PutFrameLengthPlus(frame, n)
		whole := ioctl.Append(make([]byte, 4))
		PutFrameLength(whole)
		if !bytes.Equal(frame[:4], whole[:4]) {
			t.Errorf("%d bytes: transport header % x, want % x", n, frame[:4], whole[:4])
		}
	}
	for _, f := range []func(){
		func() { (&IoctlRequest{}).AppendHead(nil) },
		func() { (&IoctlRequest{Input: []byte{1}, Output: []byte{2}}).AppendHead(nil) },
		func() { (&WriteRequest{}).AppendHead(nil) },
		func() { (&WriteRequest{Data: []byte{1}, WriteChannelInfo: []byte{2}}).AppendHead(nil) },
		func() { PutFrameLengthPlus(make([]byte, 4), MaxFrameLength+1) },
		func() { PutFrameLengthPlus(make([]byte, 4), -1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic on a misuse")
				}
			}()
			f()
		}()
	}
}
