package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestHashStdin: smbpipe hash reads the first line of a pipe and prints
// the NT hash (values from MS-NLMP's test vectors and well-known hashes).
func TestHashStdin(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"password\n", "8846f7eaee8fb117ad06bdd830b7586c"},
		{"Password", "a4f49c406510bdcab6824ee7c30fd852"}, // MS-NLMP 4.2.2.1.2, no newline
		{"password\r\nrest", "8846f7eaee8fb117ad06bdd830b7586c"},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString(c.in)
		w.Close()
		var out, errb bytes.Buffer
		code := hashCmd(nil, r, &out, &errb)
		r.Close()
		if code != 0 || strings.TrimSpace(out.String()) != c.want || errb.Len() != 0 {
			t.Errorf("hash %q: exit %d, out %q, err %q; want %s", c.in, code, out.String(), errb.String(), c.want)
		}
	}
}

func TestHashErrors(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	var out, errb bytes.Buffer
	if code := hashCmd(nil, r, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no password given") || out.Len() != 0 {
		t.Errorf("empty stdin: exit %d, out %q, err %q", code, out.String(), errb.String())
	}
	r.Close()
	errb.Reset()
	if code := hashCmd([]string{"secret"}, os.Stdin, &out, &errb); code != 2 || !strings.Contains(errb.String(), "not the command line") {
		t.Errorf("password argument: exit %d, err %q", code, errb.String())
	}
	r, w, _ = os.Pipe()
	w.WriteString(strings.Repeat("x", maxPasswordLine+10))
	w.Close()
	errb.Reset()
	if code := hashCmd(nil, r, &out, &errb); code != 1 || !strings.Contains(errb.String(), "longer than") {
		t.Errorf("long line: exit %d, err %q", code, errb.String())
	}
	r.Close()
}
