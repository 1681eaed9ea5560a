package smbcrypto

// STUBS: replaced by the real implementation.

func (h *PreauthHash) update(msg []byte)                 {}
func kdf(key, label, context []byte, lBits int) []byte   { return nil }
func deriveKeys(d uint16, k []byte, p *PreauthHash) Keys { return Keys{} }
func newSigner(d uint16, alg uint16, key []byte) Signer  { return nil }
