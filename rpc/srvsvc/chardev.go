package srvsvc

import (
	"github.com/smbpipe/smbpipe/dcerpc"
	"github.com/smbpipe/smbpipe/ndr"
	"github.com/smbpipe/smbpipe/rpc/svc"
)

// The character-device calls: a Windows server has no shared serial
// devices or device queues and answers ERROR_NOT_SUPPORTED (to
// administrators; others get ERROR_ACCESS_DENIED first).
const (
	OpNetrCharDevEnum  = 0
	OpNetrCharDevQEnum = 3
)

// readCharDev reads one CHARDEV_INFO_0/1 (device) or CHARDEVQ_INFO_0/1
// (queue) of a request's container and drops it.
func readCharDev(queue bool) func(r *ndr.Reader, level uint32, _ *struct{}) {
	return func(r *ndr.Reader, level uint32, _ *struct{}) {
		var s string
		readString(r, &s) // ch0_dev, cq0_dev
		if level == 0 {
			return
		}
		if queue {
			r.Uint32()        // cq1_priority
			readString(r, &s) // cq1_devs
			r.Uint32()        // cq1_numusers
			r.Uint32()        // cq1_numahead
			return
		}
		r.Uint32()        // ch1_status
		readString(r, &s) // ch1_username
		r.Uint32()        // ch1_time
	}
}

// NET_API_STATUS NetrCharDevEnum(ServerName, [in,out]
// LPCHARDEV_ENUM_STRUCT InfoStruct, PreferedMaximumLength, [out]
// TotalEntries, [in,out,unique] ResumeHandle); NetrCharDevQEnum has
// [in,string,unique] UserName after ServerName and a
// LPCHARDEVQ_ENUM_STRUCT.
func (s *service) charDevEnum(c *dcerpc.Call, r *ndr.Reader, w *ndr.Writer) error {
	queue := c.Opnum() == OpNetrCharDevQEnum
	svc.ServerName(r)
	if queue {
		svc.UniqueWString(r)
	}
	var xs []struct{}
	level := readEnum(r, func(l uint32) bool { return l == 0 || l == 1 }, &xs, "character device", readCharDev(queue))
	r.Uint32() // PreferedMaximumLength
	resume := r.UniquePtr()
	if resume {
		r.Uint32()
	}
	if r.Err() != nil {
		return nil
	}
	result := svc.ErrNotSupported
	if ok, _ := s.check(c, svc.OpName(c), level); !ok {
		result = svc.ErrAccessDenied
	}
	writeEnum(w, level, xs, false, true, func(*ndr.Writer, *struct{}) {})
	w.Uint32(0) // TotalEntries
	if w.UniquePtr(resume) {
		w.Uint32(0)
	}
	w.Uint32(result)
	return nil
}
