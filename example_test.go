package smbpipe_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/smbpipe/smbpipe"
	"github.com/smbpipe/smbpipe/policy"
)

// A Go program serves a message-mode pipe; each accepted connection knows
// who opened it. The client here is smbpipe's own Dialer over loopback.
func ExampleServer_Listen() {
	srv := &smbpipe.Server{
		Config: &policy.Config{Accounts: []policy.Account{{Name: "alice", Password: "Passw0rd!"}}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	defer srv.Close()
	l, err := srv.Listen("upper", &smbpipe.PipeConfig{
		MessageMode:        true,
		SecurityDescriptor: "D:(A;;0x12019B;;;AU)(A;;FA;;;SY)", // authenticated users read/write
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		conn := c.(*smbpipe.Conn)
		who := conn.Caller()
		msg, _ := smbpipe.ReadMessage(context.Background(), conn, nil)
		fmt.Fprintf(conn, "%s, %s\\%s", bytes.ToUpper(msg), who.Domain, who.User)
	}()

	tl, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(tl)

	d := smbpipe.Dialer{Config: smbpipe.ClientConfig{User: "alice", Password: "Passw0rd!", Domain: "WORKGROUP"}}
	p, err := d.DialContext(context.Background(), `\\`+tl.Addr().String()+`\pipe\upper`)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	p.Write([]byte("hello"))
	reply, err := smbpipe.ReadMessage(context.Background(), p, nil)
	fmt.Printf("%s %v\n", reply, err)
	<-served
	// Output: HELLO, WORKGROUP\alice <nil>
}

// A Dialer opens a pipe anonymously; a short buffer shows where a message
// continues. The server serves its pipe from the config's echo backend.
func ExampleDialer() {
	srv := &smbpipe.Server{
		Config: &policy.Config{
			AllowAnonymous: true,
			LanmanServer:   policy.LanmanServer{RestrictNullSessAccess: 1, NullSessionPipes: []string{"echo"}},
			Pipes: []policy.Pipe{{Name: "echo", Backend: "echo", Mode: "message",
				SDDL: "D:(A;;0x12019B;;;AN)(A;;FA;;;SY)"}},
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	defer srv.Close()
	tl, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(tl)

	var d smbpipe.Dialer // anonymous
	p, err := d.DialContext(context.Background(), "//"+tl.Addr().String()+"/pipe/echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	p.Write([]byte("one message"))
	buf := make([]byte, 4)
	for {
		n, more, err := p.ReadMsg(context.Background(), buf)
		fmt.Printf("%q more=%v err=%v\n", buf[:n], more, err)
		if !more || err != nil {
			break
		}
	}
	// Output:
	// "one " more=true err=<nil>
	// "mess" more=true err=<nil>
	// "age" more=false err=<nil>
}
