package spnego

// HintNotDefined is the negHints hintName Windows and Samba put in the
// server's NEGOTIATE response token.
const HintNotDefined = "not_defined_in_RFC4178@please_ignore"

func decode(b []byte) (*Init, *Resp, error) {
	if len(b) == 0 {
		return nil, nil, ErrMalformed
	}
	switch b[0] {
	case tagApplication0, tagContext0:
		t, err := decodeInit(b)
		return t, nil, err
	case tagContext0 + 1:
		t, err := decodeResp(b)
		return nil, t, err
	}
	return nil, nil, ErrMalformed
}

// decodeInit accepts the GSS-API framed form ([APPLICATION 0] with the
// SPNEGO OID) and, leniently, a bare negTokenInit ([0]).
func decodeInit(b []byte) (*Init, error) {
	r := reader(b)
	if r.peekTag() == tagApplication0 {
		body, ok := r.read(tagApplication0)
		if !ok || !r.empty() {
			return nil, ErrMalformed
		}
		r = reader(body)
		oid, ok := r.read(tagOID)
		if !ok {
			return nil, ErrMalformed
		}
		if s, ok := parseOID(oid); !ok || s != OIDSPNEGO {
			return nil, ErrMalformed
		}
	}
	t := &Init{}
	fields, ok := negToken(r, tagContext0, 4, func(n int, f *reader) bool {
		switch n {
		case 0: // mechTypes: SEQUENCE OF OID
			whole, list, ok := f.readElement(tagSequence)
			if !ok {
				return false
			}
			t.RawMechTypes = whole
			l := reader(list)
			for !l.empty() {
				body, ok := l.read(tagOID)
				if !ok {
					return false
				}
				s, ok := parseOID(body)
				if !ok {
					return false
				}
				t.MechTypes = append(t.MechTypes, s)
			}
		case 1: // reqFlags: BIT STRING, ignored
			if _, ok := f.read(tagBitString); !ok {
				return false
			}
		case 2:
			body, ok := f.read(tagOctetString)
			if !ok {
				return false
			}
			t.MechToken = body
		case 3: // RFC 4178 mechListMIC, or NegTokenInit2 negHints
			switch f.peekTag() {
			case tagOctetString:
				t.MechListMIC, _ = f.read(tagOctetString)
			case tagSequence:
				hints, _ := f.read(tagSequence)
				h := reader(hints)
				if h.peekTag() == tagContext0 {
					name, _ := h.read(tagContext0)
					nr := reader(name)
					s, ok := nr.read(tagGeneralStr)
					if !ok || !nr.empty() {
						return false
					}
					t.HintName = string(s)
				}
				// hintAddress [1] is ignored.
			default:
				return false
			}
		case 4: // NegTokenInit2 mechListMIC
			body, ok := f.read(tagOctetString)
			if !ok {
				return false
			}
			t.MechListMIC = body
		}
		return true
	})
	if !ok || fields == 0 {
		return nil, ErrMalformed
	}
	return t, nil
}

func decodeResp(b []byte) (*Resp, error) {
	t := &Resp{NegState: NoState}
	_, ok := negToken(reader(b), tagContext0+1, 3, func(n int, f *reader) bool {
		var ok bool
		switch n {
		case 0:
			body, ok := f.read(tagEnumerated)
			if !ok || len(body) != 1 || body[0] > RequestMIC {
				return false
			}
			t.NegState = int(body[0])
		case 1:
			body, ok := f.read(tagOID)
			if !ok {
				return false
			}
			if t.SupportedMech, ok = parseOID(body); !ok {
				return false
			}
		case 2:
			if t.ResponseToken, ok = f.read(tagOctetString); !ok {
				return false
			}
		case 3:
			if t.MechListMIC, ok = f.read(tagOctetString); !ok {
				return false
			}
		}
		return true
	})
	if !ok {
		return nil, ErrMalformed
	}
	return t, nil
}

// negToken reads a NegotiationToken's [choice] SEQUENCE from all of r and
// calls field for each of its context-tagged fields [0] to [max], which
// must come in increasing order, with a reader of the field's content.
// field reports false where the content is malformed, and content it
// leaves unread is malformed too. negToken returns how many fields there
// were and whether the token was well formed.
func negToken(r reader, choice byte, max int, field func(n int, f *reader) bool) (int, bool) {
	body, ok := r.read(choice)
	if !ok || !r.empty() {
		return 0, false
	}
	r = reader(body)
	seq, ok := r.read(tagSequence)
	if !ok || !r.empty() {
		return 0, false
	}
	r = reader(seq)
	fields, last := 0, -1
	for !r.empty() {
		tag, content, ok := r.readTLV()
		n := int(tag) - tagContext0
		if !ok || n < 0 || n > max || n <= last {
			return fields, false
		}
		last = n
		f := reader(content)
		if !field(n, &f) || !f.empty() {
			return fields, false
		}
		fields++
	}
	return fields, true
}

func encodeInit(t *Init) []byte { return AppendInit(nil, t) }
func encodeResp(t *Resp) []byte { return AppendResp(nil, t) }

func encodeMechTypes(oids []string) []byte { return appendMechTypes(nil, oids) }

// appendMechTypes appends the DER MechTypeList; invalid OIDs are skipped.
func appendMechTypes(dst []byte, oids []string) []byte {
	b := builder{dst}
	start := len(b.buf)
	for _, oid := range oids {
		s := len(b.buf)
		var ok bool
		if b.buf, ok = appendOIDBody(b.buf, oid); !ok {
			b.buf = b.buf[:s]
			continue
		}
		b.wrap(s, tagOID)
	}
	b.wrap(start, tagSequence)
	return b.buf
}

// AppendInit appends the GSS-API wrapped NegTokenInit to dst and returns
// the extended buffer. It sets t.RawMechTypes to the MechTypeList it
// encoded. With a HintName the NegTokenInit2 layout is used (negHints [3],
// mechListMIC [4]). MechTypes that are not valid dotted OIDs are left out.
func AppendInit(dst []byte, t *Init) []byte {
	t.RawMechTypes = appendMechTypes(nil, t.MechTypes)
	b := builder{dst}
	outer := len(b.buf)
	b.buf = append(b.buf, tagOID, 6)
	b.buf, _ = appendOIDBody(b.buf, OIDSPNEGO)
	seq := len(b.buf)
	b.buf = appendTLV(b.buf, tagContext0, t.RawMechTypes)
	if t.MechToken != nil {
		f := len(b.buf)
		b.buf = appendTLV(b.buf, tagOctetString, t.MechToken)
		b.wrap(f, tagContext0+2)
	}
	micTag := byte(tagContext0 + 3)
	if t.HintName != "" {
		f := len(b.buf)
		b.buf = appendTLV(b.buf, tagGeneralStr, []byte(t.HintName))
		b.wrap(f, tagContext0)
		b.wrap(f, tagSequence)
		b.wrap(f, tagContext0+3)
		micTag = tagContext0 + 4
	}
	if t.MechListMIC != nil {
		f := len(b.buf)
		b.buf = appendTLV(b.buf, tagOctetString, t.MechListMIC)
		b.wrap(f, micTag)
	}
	b.wrap(seq, tagSequence)
	b.wrap(seq, tagContext0)
	b.wrap(outer, tagApplication0)
	return b.buf
}

// AppendResp appends the NegTokenResp to dst and returns the extended
// buffer. NegState NoState (or any negative value) omits the field, as do
// an empty SupportedMech and nil ResponseToken / MechListMIC.
func AppendResp(dst []byte, t *Resp) []byte {
	b := builder{dst}
	start := len(b.buf)
	if t.NegState >= 0 {
		b.buf = append(b.buf, tagContext0, 3, tagEnumerated, 1, byte(t.NegState))
	}
	if t.SupportedMech != "" {
		f := len(b.buf)
		var ok bool
		if b.buf, ok = appendOIDBody(b.buf, t.SupportedMech); ok {
			b.wrap(f, tagOID)
			b.wrap(f, tagContext0+1)
		} else {
			b.buf = b.buf[:f]
		}
	}
	if t.ResponseToken != nil {
		f := len(b.buf)
		b.buf = appendTLV(b.buf, tagOctetString, t.ResponseToken)
		b.wrap(f, tagContext0+2)
	}
	if t.MechListMIC != nil {
		f := len(b.buf)
		b.buf = appendTLV(b.buf, tagOctetString, t.MechListMIC)
		b.wrap(f, tagContext0+3)
	}
	b.wrap(start, tagSequence)
	b.wrap(start, tagContext0+1)
	return b.buf
}
