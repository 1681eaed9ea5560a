package smbpipe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/smbpipe/smbpipe"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/ntstatus"
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

// A program that must know when clients can connect makes the listener
// itself: from the moment net.Listen returns, connections queue until
// Serve accepts them, so the Dialer below needs no wait. The Config built
// in Go leaves allow_anonymous and RestrictNullSessAccess out, so, as in
// the TOML file, null sessions are accepted and open only the
// NullSessionPipes. QuietSessions keeps the log to the server's own
// records.
func ExampleServer_Serve() {
	srv := &smbpipe.Server{
		Config: &policy.Config{
			LanmanServer: policy.LanmanServer{NullSessionPipes: []string{"hello"}},
		},
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, nil)),
		QuietSessions: true,
	}
	l, err := srv.Listen("hello", &smbpipe.PipeConfig{
		SecurityDescriptor: "D:(A;;0x12019B;;;AN)(A;;FA;;;SY)", // anonymous read/write
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello, anonymous=%v", c.(*smbpipe.Conn).Caller().Anonymous)
			c.Close()
		}
	}()

	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tl) }() // ready: tl accepts already

	var d smbpipe.Dialer // anonymous
	p, err := d.DialContext(context.Background(), `\\`+tl.Addr().String()+`\pipe\hello`)
	if err != nil {
		fmt.Println(err)
		return
	}
	reply, _ := io.ReadAll(p)
	p.Close()
	fmt.Printf("%s\n", reply)

	srv.Shutdown(context.Background())
	fmt.Println(errors.Is(<-served, smbpipe.ErrServerClosed))
	// Output:
	// hello, anonymous=true
	// true
}

// An error from the server carries its NTSTATUS: errors.As finds the
// ntstatus.Status (and the client.Error around it names the operation),
// errors.Is compares with one. Here a null session asks for a pipe outside
// NullSessionPipes, which is STATUS_ACCESS_DENIED whether the pipe exists
// or not, as on Windows.
func ExampleDialer_errors() {
	srv := &smbpipe.Server{Logger: slog.New(slog.DiscardHandler)}
	defer srv.Close()
	tl, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(tl)

	var d smbpipe.Dialer
	_, err := d.DialContext(context.Background(), `\\`+tl.Addr().String()+`\pipe\nosuch`)

	var st ntstatus.Status
	if errors.As(err, &st) {
		fmt.Printf("%s (0x%08X)\n", st, uint32(st))
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		fmt.Println("operation:", ce.Op)
	}
	fmt.Println(errors.Is(err, ntstatus.AccessDenied))
	// Output:
	// STATUS_ACCESS_DENIED (0xC0000022)
	// operation: create
	// true
}
