package smbpipe_test

import (
	"errors"
	"io"
	"testing"

	"github.com/smbpipe/smbpipe"
	"github.com/smbpipe/smbpipe/ntstatus"
)

// TestSessionsOpensClose: the root Server lists a client's session and
// open, and CloseOpen ends the instance on both sides.
func TestSessionsOpensClose(t *testing.T) {
	srv := &smbpipe.Server{Config: testConfig()}
	if got := srv.Sessions(); len(got) != 0 {
		t.Fatalf("Sessions of an unused Server = %+v", got)
	}
	ended := make(chan error, 1)
	listen(t, srv, "upper", &smbpipe.PipeConfig{MessageMode: true, SecurityDescriptor: rw}, func(c *smbpipe.Conn) {
		_, err := io.Copy(io.Discard, c)
		ended <- err
	})
	addr := start(t, srv)
	c := dialConn(t, addr, alice)
	p := open(t, c, "upper")
	if _, err := p.WriteMsg(ctxT(t), []byte("abc")); err != nil {
		t.Fatal(err)
	}
	sessions, opens := srv.Sessions(), srv.Opens()
	if len(sessions) != 1 || sessions[0].User != "alice" || sessions[0].Opens != 1 {
		t.Fatalf("Sessions() = %+v", sessions)
	}
	if len(opens) != 1 || opens[0].Pipe != "upper" || opens[0].Session != sessions[0].ID || opens[0].BytesIn != 3 {
		t.Fatalf("Opens() = %+v", opens)
	}
	if err := srv.CloseOpen(opens[0].ID, "TestSessionsOpensClose"); err != nil {
		t.Fatal(err)
	}
	if err := <-ended; err != nil {
		t.Errorf("server end after CloseOpen: %v, want io.EOF (nil from io.Copy)", err)
	}
	if _, err := p.WriteMsg(ctxT(t), []byte("x")); !errors.Is(err, ntstatus.FileClosed) {
		t.Errorf("write after CloseOpen: %v, want STATUS_FILE_CLOSED", err)
	}
	if err := srv.CloseOpen(opens[0].ID, "again"); !errors.Is(err, smbpipe.ErrNotFound) {
		t.Errorf("second CloseOpen: %v", err)
	}
	if err := srv.CloseSession(sessions[0].ID, "TestSessionsOpensClose"); err != nil {
		t.Fatal(err)
	}
	if err := c.Echo(ctxT(t)); err == nil {
		t.Error("connection still answers after CloseSession")
	}
}
