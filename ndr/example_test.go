package ndr_test

import (
	"fmt"

	"github.com/smbpipe/smbpipe/ndr"
)

// shareInfo1 is MS-SRVS SHARE_INFO_1: two embedded string pointers.
type shareInfo1 struct {
	Name   string
	Type   uint32
	Remark string
}

func (s *shareInfo1) MarshalNDR(w *ndr.Writer) {
	w.DeferUnique(true, func(w *ndr.Writer) { w.WString(s.Name) })
	w.Uint32(s.Type)
	w.DeferUnique(true, func(w *ndr.Writer) { w.WString(s.Remark) })
}

func (s *shareInfo1) UnmarshalNDR(r *ndr.Reader) {
	r.DeferUnique(func(r *ndr.Reader) { s.Name = r.WString() })
	s.Type = r.Uint32()
	r.DeferUnique(func(r *ndr.Reader) { s.Remark = r.WString() })
}

// Two SHARE_INFO_1 in a conformant array: the array's scalars come first,
// then the strings of entry 0, then those of entry 1.
func Example() {
	shares := []shareInfo1{{"IPC$", 0x80000003, "Remote IPC"}, {"C$", 0x80000000, ""}}

	w := ndr.NewWriter(nil, ndr.LittleEndian)
	w.MaxCount(len(shares))
	for i := range shares {
		shares[i].MarshalNDR(w)
	}
	w.Flush() // end of the top-level array: its referents follow
	stub, err := w.Bytes()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(stub), "bytes")

	r := ndr.NewReader(stub, ndr.LittleEndian)
	got := make([]shareInfo1, r.Elements(r.MaxCount(), 12))
	for i := range got {
		got[i].UnmarshalNDR(r)
	}
	r.Flush()
	if err := r.Err(); err != nil {
		panic(err)
	}
	for _, s := range got {
		fmt.Printf("%q %#x %q\n", s.Name, s.Type, s.Remark)
	}
	// Output:
	// 122 bytes
	// "IPC$" 0x80000003 "Remote IPC"
	// "C$" 0x80000000 ""
}
