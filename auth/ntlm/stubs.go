package ntlm

// STUBS: replaced by the real implementation.

type serverState struct{}
type clientState struct{}

func (s *ServerHandshake) challenge(b []byte) ([]byte, error)     { return nil, ErrMalformed }
func (s *ServerHandshake) authenticate(b []byte) (*Result, error) { return nil, ErrMalformed }
func (s *ServerHandshake) mechListMIC(m []byte) []byte            { return nil }
func (s *ServerHandshake) verifyMechListMIC(m, mic []byte) bool   { return false }
func (c *Client) negotiate() ([]byte, error)                      { return nil, ErrMalformed }
func (c *Client) authenticate(b []byte) ([]byte, [16]byte, error) {
	return nil, [16]byte{}, ErrMalformed
}
func (c *Client) mechListMIC(m []byte) []byte          { return nil }
func (c *Client) verifyMechListMIC(m, mic []byte) bool { return false }
func ntHash(p string) [16]byte                         { return [16]byte{} }
