package server

import (
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

// handler runs one command whose preconditions hold: it appends the
// response body to buf and returns the status. An error status makes the
// dispatcher replace the body with an ERROR response; a non-nil error drops
// the connection.
type handler func(c *conn, r *request, buf []byte) ([]byte, ntstatus.Status, error)

// cmdSpec declares a command's handler and its preconditions.
type cmdSpec struct {
	fn      handler
	session bool // needs a valid session (else USER_SESSION_DELETED)
	tree    bool // needs a tree of that session (else NETWORK_NAME_DELETED)
	// fileIDAt is the body offset of the FileId naming an open the command
	// needs (else FILE_CLOSED); 0 when the command names none or resolves
	// it itself (IOCTL, where it depends on the control code).
	fileIDAt int
}

// commands is the dispatch table, indexed by command. It is never written.
var commands = [smb2.NumCommands]cmdSpec{
	smb2.CmdNegotiate:      {fn: (*conn).negotiate},
	smb2.CmdSessionSetup:   {fn: (*conn).sessionSetup},
	smb2.CmdLogoff:         {fn: (*conn).logoff, session: true},
	smb2.CmdTreeConnect:    {fn: (*conn).treeConnect, session: true},
	smb2.CmdTreeDisconnect: {fn: (*conn).treeDisconnect, session: true, tree: true},
	smb2.CmdCreate:         {fn: (*conn).create, session: true, tree: true},
	smb2.CmdClose:          {fn: (*conn).closeFile, session: true, tree: true, fileIDAt: 8},
	smb2.CmdFlush:          {fn: (*conn).flush, session: true, tree: true, fileIDAt: 8},
	smb2.CmdRead:           {fn: (*conn).read, session: true, tree: true, fileIDAt: 16},
	smb2.CmdWrite:          {fn: (*conn).write, session: true, tree: true, fileIDAt: 16},
	smb2.CmdLock:           {fn: notSupported, session: true, tree: true},
	smb2.CmdIoctl:          {fn: (*conn).ioctl, session: true, tree: true},
	smb2.CmdCancel:         {}, // handled before dispatch (handleCancel)
	smb2.CmdEcho:           {fn: (*conn).echo},
	smb2.CmdQueryDirectory: {fn: notSupported, session: true, tree: true},
	smb2.CmdChangeNotify:   {fn: notSupported, session: true, tree: true},
	smb2.CmdQueryInfo:      {fn: (*conn).queryInfo, session: true, tree: true, fileIDAt: 24},
	smb2.CmdSetInfo:        {fn: (*conn).setInfo, session: true, tree: true, fileIDAt: 16},
	smb2.CmdOplockBreak:    {fn: notSupported, session: true, tree: true},
}

func notSupported(c *conn, r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	return buf, ntstatus.NotSupported, nil
}

// echo handles ECHO.
func (c *conn) echo(r *request, buf []byte) ([]byte, ntstatus.Status, error) {
	return (&smb2.EchoResponse{}).Append(buf), ntstatus.Success, nil
}
