package server

import (
	"errors"
	"strings"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/smb2"
)

// tree is a tree connect to IPC$.
type tree struct {
	id    uint32
	sess  *session
	opens map[uint64]*open
}

// maximalAccess of IPC$ reported in TREE_CONNECT (MS-SMB2 4.x examples).
const maximalAccess = 0x001F01FF

// treeConnect handles TREE_CONNECT: IPC$ only, any other share is
// STATUS_BAD_NETWORK_NAME.
//
// On 3.1.1, an unsigned TREE_CONNECT on a session of a user (neither
// anonymous nor guest) drops the connection (MS-SMB2 3.3.5.7): a
// man in the middle cannot strip signing after the preauth-protected
// SESSION_SETUP.
func (c *conn) treeConnect(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	if c.dialect == smb2.Dialect311 && r.sess.ident.Kind == policy.User && !r.signed {
		return buf, 0, errors.New("server: unsigned TREE_CONNECT on an authenticated 3.1.1 session")
	}
	var req smb2.TreeConnectRequest
	if err := req.Decode(r.msg); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	path, err := smb2.UTF16ToString(req.Path)
	if err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	share := path
	if i := strings.LastIndexByte(path, '\\'); i >= 0 {
		share = path[i+1:]
	}
	if !strings.EqualFold(share, "IPC$") {
		return buf, ntstatus.BadNetworkName, nil
	}
	t := &tree{id: c.nextTree, sess: r.sess, opens: make(map[uint64]*open)}
	c.nextTree++
	r.sess.trees[t.id] = t
	r.tree = t
	r.respTree = t.id
	resp := smb2.TreeConnectResponse{
		ShareType:     smb2.ShareTypePipe,
		ShareFlags:    smb2.ShareFlagNoCaching,
		MaximalAccess: maximalAccess,
	}
	return resp.Append(buf), ntstatus.Success, nil
}

// treeDisconnect handles TREE_DISCONNECT: the tree's opens are closed.
func (c *conn) treeDisconnect(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	c.endTree(r.tree)
	return (&smb2.TreeDisconnectResponse{}).Append(buf), ntstatus.Success, nil
}

// endTree closes every open of t and forgets t.
func (c *conn) endTree(t *tree) {
	for _, o := range t.opens {
		c.closeOpen(o)
	}
	delete(t.sess.trees, t.id)
}
