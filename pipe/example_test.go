package pipe_test

import (
	"context"
	"fmt"

	"github.com/smbpipe/smbpipe/pipe"
)

// A message-mode pipe keeps message boundaries; a short read says the
// message continues.
func Example() {
	var ns pipe.Namespace
	l, _ := ns.Create("demo", pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex})
	defer l.Close()

	client, _ := ns.Open(`DEMO`, pipe.Caller{User: "alice", Domain: "WORKGROUP"})
	defer client.Close()
	server, _ := l.AcceptEnd(context.Background())
	defer server.Close()

	who, _ := server.Caller()
	fmt.Println("opened by", who.Domain+`\`+who.User)

	client.Write([]byte("hello, pipe"))
	buf := make([]byte, 5)
	for {
		n, more, _ := server.ReadMsg(context.Background(), buf)
		fmt.Printf("%q more=%v\n", buf[:n], more)
		if !more {
			break
		}
	}
	// Output:
	// opened by WORKGROUP\alice
	// "hello" more=true
	// ", pip" more=true
	// "e" more=false
}

// Transceive writes a request and reads the reply in one call.
func ExampleEnd_Transceive() {
	var ns pipe.Namespace
	l, _ := ns.Create("upper", pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex})
	defer l.Close()
	client, _ := ns.Open("upper", nil)
	defer client.Close()

	go func() {
		server, _ := l.AcceptEnd(context.Background())
		defer server.Close()
		msg, _ := server.AppendMessage(context.Background(), nil)
		server.Write(append([]byte("re: "), msg...))
	}()

	out := make([]byte, 64)
	n, _, err := client.Transceive(context.Background(), []byte("ping"), out)
	fmt.Println(string(out[:n]), err)
	// Output: re: ping <nil>
}
