package smb2_test

import (
	"fmt"

	"github.com/smbpipe/smbpipe/smb2"
)

// Building a compound request frame and splitting it again.
func ExampleNextMessage() {
	frame := make([]byte, 4) // room for the transport header

	start := len(frame)
	h := smb2.Header{Command: smb2.CmdCreate, MessageID: 5, TreeID: 1, SessionID: 9}
	frame = h.Append(frame)
	frame = (&smb2.CreateRequest{
		ImpersonationLevel: smb2.ImpersonationImpersonation,
		DesiredAccess:      0x0012019F,
		ShareAccess:        3,
		CreateDisposition:  1,
		Name:               smb2.AppendUTF16(nil, "srvsvc"),
	}).Append(frame)
	frame = smb2.Pad8(frame, start)
	smb2.PutNextCommand(frame[start:], uint32(len(frame)-start))

	h = smb2.Header{Command: smb2.CmdIoctl, Flags: smb2.FlagRelatedOperations, MessageID: 6}
	frame = h.Append(frame)
	frame = (&smb2.IoctlRequest{
		CtlCode:           smb2.FsctlPipeTransceive,
		FileID:            smb2.WildcardFileID,
		Input:             []byte("request"),
		MaxOutputResponse: 4280,
		Flags:             smb2.IoctlIsFsctl,
	}).Append(frame)
	smb2.PutFrameLength(frame)

	n, _ := smb2.FrameLength([4]byte(frame[:4]))
	fmt.Println("payload", n, "bytes")
	for rest := frame[4:]; rest != nil; {
		msg, r, err := smb2.NextMessage(rest)
		if err != nil {
			fmt.Println(err)
			return
		}
		rest = r
		var hdr smb2.Header
		if err := hdr.Decode(msg); err != nil {
			fmt.Println(err)
			return
		}
		switch hdr.Command {
		case smb2.CmdCreate:
			var req smb2.CreateRequest
			if err := req.Decode(msg); err != nil {
				fmt.Println(err)
				return
			}
			name, _ := smb2.UTF16ToString(req.Name)
			fmt.Println(hdr.MessageID, hdr.Command, name)
		case smb2.CmdIoctl:
			var req smb2.IoctlRequest
			if err := req.Decode(msg); err != nil {
				fmt.Println(err)
				return
			}
			fmt.Printf("%d %v %#x %q\n", hdr.MessageID, hdr.Command, req.CtlCode, req.Input)
		}
	}
	// Output:
	// payload 263 bytes
	// 5 CREATE srvsvc
	// 6 IOCTL 0x11c017 "request"
}
