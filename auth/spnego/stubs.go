package spnego

// STUBS: replaced by the real implementation.

func decodeInit(b []byte) (*Init, error)    { return nil, ErrMalformed }
func decodeResp(b []byte) (*Resp, error)    { return nil, ErrMalformed }
func decode(b []byte) (*Init, *Resp, error) { return nil, nil, ErrMalformed }
func encodeInit(t *Init) []byte             { return nil }
func encodeResp(t *Resp) []byte             { return nil }
func encodeMechTypes(oids []string) []byte  { return nil }
