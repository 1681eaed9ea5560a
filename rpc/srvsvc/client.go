package srvsvc

import (
	"context"

	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// The client's calls: each returns the reply, or an error (a transport
// error, a dcerpc.Fault, a reply that does not decode, or the call's
// result as a svc.Win32Error).

func result(code uint32) error {
	if code != 0 {
		return svc.Win32Error(code)
	}
	return nil
}

// GetServerInfo calls NetrServerGetInfo on server at level.
func GetServerInfo(ctx context.Context, c *dcerpc.Client, server string, level uint32) (*ServerInfo, error) {
	var p ServerInfoReply
	err := svc.Invoke(ctx, c, OpNetrServerGetInfo, func(w *ndr.Writer) {
		w.UniquePtr(true)
		w.WString(`\\` + server)
		w.Uint32(level)
	}, p.UnmarshalNDR)
	if err != nil {
		return nil, err
	}
	return p.Info, result(p.Result)
}

// EnumShares calls NetrShareEnum at level for every share.
func EnumShares(ctx context.Context, c *dcerpc.Client, server string, level uint32) ([]Share, error) {
	q := EnumRequest{ServerName: server, Level: level, PrefMaxLen: 0xFFFFFFFF}
	var p EnumReply
	if err := svc.Invoke(ctx, c, OpNetrShareEnum, q.MarshalNDR, p.UnmarshalNDR); err != nil {
		return nil, err
	}
	return p.Shares, result(p.Result)
}

// GetShareInfo calls NetrShareGetInfo for the share name at level.
func GetShareInfo(ctx context.Context, c *dcerpc.Client, server, name string, level uint32) (*Share, error) {
	q := GetInfoRequest{ServerName: server, NetName: name, Level: level}
	var p GetInfoReply
	if err := svc.Invoke(ctx, c, OpNetrShareGetInfo, q.MarshalNDR, p.UnmarshalNDR); err != nil {
		return nil, err
	}
	return p.Share, result(p.Result)
}

// EnumLive calls NetrSessionEnum, NetrConnectionEnum or NetrFileEnum (by
// q.Op) for every entry.
func EnumLive(ctx context.Context, c *dcerpc.Client, q LiveRequest) (*LiveReply, error) {
	q.PrefMaxLen = 0xFFFFFFFF
	p := LiveReply{Op: q.Op}
	if err := svc.Invoke(ctx, c, q.Op, q.MarshalNDR, p.UnmarshalNDR); err != nil {
		return nil, err
	}
	return &p, result(p.Result)
}

// RemoteTOD calls NetrRemoteTOD.
func RemoteTOD(ctx context.Context, c *dcerpc.Client, server string) (*TimeOfDay, error) {
	var tod *TimeOfDay
	var code uint32
	err := svc.Invoke(ctx, c, OpNetrRemoteTOD, func(w *ndr.Writer) {
		w.UniquePtr(true)
		w.WString(`\\` + server)
	}, func(r *ndr.Reader) {
		if r.UniquePtr() {
			tod = new(TimeOfDay)
			tod.UnmarshalNDR(r)
		}
		code = r.Uint32()
	})
	if err != nil {
		return nil, err
	}
	return tod, result(code)
}
