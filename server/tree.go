package server

import (
	"errors"
	"strings"

	"github.com/smbpipe/smbpipe/internal/ntname"
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

// treeConnect handles TREE_CONNECT: IPC$ only (see treePathStatus).
//
// On 3.1.1, a TREE_CONNECT neither signed nor encrypted on a session of a
// user (neither anonymous nor guest) drops the connection (MS-SMB2
// 3.3.5.7): a man in the middle cannot strip signing after the
// preauth-protected SESSION_SETUP.
func (c *conn) treeConnect(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	if c.dialect == smb2.Dialect311 && r.sess.ident.Kind == policy.User && !r.signed && !c.encrypted {
		return buf, 0, errors.New("server: TREE_CONNECT neither signed nor encrypted on an authenticated 3.1.1 session")
	}
	var req smb2.TreeConnectRequest
	if err := req.Decode(r.msg); err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	path, err := smb2.UTF16ToString(req.Path)
	if err != nil {
		return buf, ntstatus.InvalidParameter, nil
	}
	if st := treePathStatus(path); st != ntstatus.Success {
		return buf, st, nil
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

// treePathStatus decides a TREE_CONNECT path: STATUS_SUCCESS for
// \\server\IPC$, the only share this server has (docs/SEMANTICS.md 2.3):
//
//   - a path that is not \\server\share is STATUS_INVALID_PARAMETER
//     (MS-SMB2 3.3.5.7): no leading \\ (a bare "IPC$" or "\IPC$"), an empty
//     server component or an empty share;
//   - the share is everything after the server's \; unless it is IPC$ it is
//     STATUS_BAD_NETWORK_NAME, so a share with \, / or .. in it
//     (\\h\foo\IPC$, \\h\C$\..\IPC$, \\h\IPC$\) never reaches IPC$: no
//     component is dropped and dot-dot is never resolved;
//   - the share compares as Windows compares names (internal/ntname): ipc$
//     is IPC$, ıpc$ (dotless ı) is not;
//   - any server component is accepted (NetBIOS name, FQDN, IP literal,
//     "*"): clients send the name they dialled;
//   - a NUL anywhere is STATUS_BAD_NETWORK_NAME, as in Samba.
func treePathStatus(path string) ntstatus.Status {
	rest, ok := strings.CutPrefix(path, `\\`)
	if !ok {
		return ntstatus.InvalidParameter
	}
	server, share, ok := strings.Cut(rest, `\`)
	switch {
	case !ok || server == "" || share == "":
		return ntstatus.InvalidParameter
	case strings.IndexByte(path, 0) >= 0 || ntname.Upcase(share) != "IPC$":
		return ntstatus.BadNetworkName
	}
	return ntstatus.Success
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
