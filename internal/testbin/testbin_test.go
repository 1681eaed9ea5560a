package testbin

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRSS(t *testing.T) {
	n, err := RSS(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if n < 1<<20 {
		t.Errorf("this test binary's RSS is %d bytes, want at least 1 MiB", n)
	}
	if _, err := RSS(-1); err == nil {
		t.Error("RSS of pid -1: no error")
	}
}

func TestFreePort(t *testing.T) {
	p := FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d from FreePort: %v", p, err)
	}
	l.Close()
}

func TestNeed(t *testing.T) {
	if got := Need(t, "/bin/sh", "-c", "exit 0"); got != "/bin/sh" {
		t.Errorf("Need(/bin/sh) = %q", got)
	}
}

func TestProcess(t *testing.T) {
	var lines []string
	p := Start(t, "sh", exec.Command("/bin/sh", "-c", "echo one >&2; echo two >&2; exit 3"), func(l string) { lines = append(lines, l) })
	p.MayFail = true
	<-p.Exited()
	if p.Log() != "one\ntwo\n" || strings.Join(lines, ",") != "one,two" {
		t.Errorf("log %q, lines %q", p.Log(), lines)
	}
	if p.Cmd.ProcessState.ExitCode() != 3 {
		t.Errorf("exit %v, want 3", p.Cmd.ProcessState)
	}

	sleeper := Start(t, "sleep", exec.Command("/bin/sleep", "60"), nil)
	start := time.Now()
	sleeper.MayFail = true // SIGTERM kills sleep: a signal status
	sleeper.Stop(t)
	if time.Since(start) > 10*time.Second {
		t.Errorf("sleep stopped after %v", time.Since(start))
	}
	if ws, ok := sleeper.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGTERM {
		t.Errorf("sleep ended with %v, want SIGTERM", sleeper.Cmd.ProcessState)
	}
}

func TestLines(t *testing.T) {
	in, lines := Lines(t, exec.Command("/bin/cat"), 1, 5*time.Second)
	for _, want := range []string{"one", "two"} {
		if _, err := in.Write([]byte(want + "\n")); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("cat: %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("cat did not echo %q", want)
		}
	}
	in.Close()
	if l, ok := <-lines; ok {
		t.Errorf("after the input's end: %q, want the channel closed", l)
	}
}
