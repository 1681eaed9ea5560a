package backend_test

import (
	"context"
	"fmt"

	"github.com/smbpipe/smbpipe/backend"
	"github.com/smbpipe/smbpipe/pipe"
)

func ExampleFromSpec() {
	var ns pipe.Namespace
	l, _ := ns.Create("echo", pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex})
	h, err := backend.FromSpec("echo", nil)
	if err != nil {
		panic(err)
	}
	done := make(chan error)
	go func() { done <- backend.Serve(l, h) }()

	c, _ := ns.Open("echo", nil)
	out := make([]byte, 16)
	n, _, _ := c.Transceive(context.Background(), []byte("hello"), out)
	fmt.Println(string(out[:n]))

	c.Close()
	l.Close()
	fmt.Println(<-done)
	// Output:
	// hello
	// <nil>
}
