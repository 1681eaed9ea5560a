package smb2

const (
	ioctlRequestSize  = 57
	ioctlResponseSize = 49
	ioctlRequestBuf   = HeaderSize + 56
	ioctlResponseBuf  = HeaderSize + 48
)

// Decode parses an IOCTL request body. It does not allocate.
func (m *IoctlRequest) Decode(msg []byte) error {
	const what = "IOCTL request"
	b, err := fixedBody(msg, what, ioctlRequestSize)
	if err != nil {
		return err
	}
	in, ok := span(msg, uint64(le32(b, 24)), uint64(le32(b, 28)), ioctlRequestBuf)
	if !ok {
		return malformed(what, "InputOffset", "out of range")
	}
	out, ok := span(msg, uint64(le32(b, 36)), uint64(le32(b, 40)), ioctlRequestBuf)
	if !ok {
		return malformed(what, "OutputOffset", "out of range")
	}
	*m = IoctlRequest{
		CtlCode:           le32(b, 4),
		FileID:            fileID(b, 8),
		Input:             in,
		MaxInputResponse:  le32(b, 32),
		MaxOutputResponse: le32(b, 44),
		Flags:             le32(b, 48),
		Output:            out,
	}
	return nil
}

// Append appends an IOCTL request body: Input at 0x78, Output 8-aligned
// after it. An empty buffer gets offset 0 (as Windows, Samba and impacket
// send); a single zero byte fills the body when both are empty.
func (m *IoctlRequest) Append(dst []byte) []byte {
	b := len(dst)
	dst = m.appendFixed(dst)
	if len(m.Input) == 0 && len(m.Output) == 0 {
		return append(dst, 0)
	}
	dst = append(dst, m.Input...)
	if len(m.Output) > 0 {
		dst = padTo8(dst, b)
		dst = append(dst, m.Output...)
	}
	return dst
}

// AppendHead appends what Append appends before Input; the request is
// that followed by Input, sent from the caller's buffer without a copy
// (see PutFrameLengthPlus). Input must not be empty and Output must be.
func (m *IoctlRequest) AppendHead(dst []byte) []byte {
	if len(m.Input) == 0 || len(m.Output) > 0 {
		panic("smb2: IoctlRequest.AppendHead needs Input and no Output")
	}
	return m.appendFixed(dst)
}

// appendFixed appends the fixed part of an IOCTL request body.
func (m *IoctlRequest) appendFixed(dst []byte) []byte {
	inOff, outOff := 0, 0
	if len(m.Input) > 0 {
		inOff = ioctlRequestBuf
	}
	if len(m.Output) > 0 {
		outOff = align8(ioctlRequestBuf + len(m.Input))
	}
	dst = app16(dst, ioctlRequestSize)
	dst = app16(dst, 0)
	dst = app32(dst, m.CtlCode)
	dst = appFileID(dst, m.FileID)
	dst = app32(dst, uint32(inOff))
	dst = app32(dst, uint32(len(m.Input)))
	dst = app32(dst, m.MaxInputResponse)
	dst = app32(dst, uint32(outOff))
	dst = app32(dst, uint32(len(m.Output)))
	dst = app32(dst, m.MaxOutputResponse)
	dst = app32(dst, m.Flags)
	return app32(dst, 0)
}

// Decode parses an IOCTL response body.
func (m *IoctlResponse) Decode(msg []byte) error {
	const what = "IOCTL response"
	b, err := fixedBody(msg, what, ioctlResponseSize)
	if err != nil {
		return err
	}
	in, ok := span(msg, uint64(le32(b, 24)), uint64(le32(b, 28)), ioctlResponseBuf)
	if !ok {
		return malformed(what, "InputOffset", "out of range")
	}
	out, ok := span(msg, uint64(le32(b, 32)), uint64(le32(b, 36)), ioctlResponseBuf)
	if !ok {
		return malformed(what, "OutputOffset", "out of range")
	}
	*m = IoctlResponse{
		CtlCode: le32(b, 4),
		FileID:  fileID(b, 8),
		Input:   in,
		Output:  out,
		Flags:   le32(b, 40),
	}
	return nil
}

// IoctlResponseFixedSize is the fixed part of an IOCTL response body; with
// no Input, the Output follows it directly (AppendIoctlResponseHeader).
const IoctlResponseFixedSize = ioctlResponseBuf - HeaderSize

// AppendIoctlResponseHeader appends the 48-byte fixed part of an IOCTL
// response with no Input that announces n bytes of Output; the caller
// appends exactly n bytes of output next (for example by reading from a
// pipe into the spare capacity of dst). The result is what Append writes
// for the same response. n must fit in 32 bits.
func AppendIoctlResponseHeader(dst []byte, ctlCode uint32, fid FileID, n int, flags uint32) []byte {
	return appendIoctlResponseFixed(dst, ctlCode, fid, 0, n, flags)
}

// appendIoctlResponseFixed appends the 48-byte fixed part of an IOCTL
// response announcing inLen bytes of Input at 0x70 and outLen bytes of
// Output at InputOffset + inLen rounded up to 8 (both offsets also when the
// buffers are empty, as Windows sends).
func appendIoctlResponseFixed(dst []byte, ctlCode uint32, fid FileID, inLen, outLen int, flags uint32) []byte {
	dst = app16(dst, ioctlResponseSize)
	dst = app16(dst, 0)
	dst = app32(dst, ctlCode)
	dst = appFileID(dst, fid)
	dst = app32(dst, ioctlResponseBuf)
	dst = app32(dst, uint32(inLen))
	dst = app32(dst, uint32(align8(ioctlResponseBuf+inLen)))
	dst = app32(dst, uint32(outLen))
	dst = app32(dst, flags)
	return app32(dst, 0)
}

// Append appends an IOCTL response body: InputOffset 0x70, OutputOffset =
// InputOffset + InputCount rounded up to 8 (both also when the buffers are
// empty, as Windows sends), padding between Input and Output.
func (m *IoctlResponse) Append(dst []byte) []byte {
	b := len(dst)
	dst = appendIoctlResponseFixed(dst, m.CtlCode, m.FileID, len(m.Input), len(m.Output), m.Flags)
	dst = append(dst, m.Input...)
	if len(m.Output) > 0 {
		dst = padTo8(dst, b)
		dst = append(dst, m.Output...)
	}
	return dst
}
