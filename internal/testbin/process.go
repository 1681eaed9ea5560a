package testbin

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a program a test runs: what it writes to standard error is
// kept as its log, and it is stopped by its process id.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	// MayFail: the process is expected to exit with an error status by
	// itself (Stop does not report it).
	MayFail bool

	exited  chan struct{}
	stopped sync.Once // Stop's checks run once
	mu      sync.Mutex
	log     bytes.Buffer
}

// Start starts cmd (whose Stderr must be unset) as name. Each line it
// writes to standard error is added to its log and then handed to onLine
// (nil: none), in order, from one goroutine. The test's cleanup stops it
// (Stop) and prints its log if the test failed.
func Start(t testing.TB, name string, cmd *exec.Cmd, onLine func(line string)) *Process {
	t.Helper()
	p := &Process{Name: name, Cmd: cmd, exited: make(chan struct{})}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if onLine != nil {
				onLine(line)
			}
		}
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.Log())
		}
	})
	return p
}

// Log returns what the process wrote to standard error so far.
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Exited is closed when the process has exited and its log is complete.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop stops the process by its PID: SIGTERM, then SIGKILL after 15 s,
// and waits for it. It reports an error status (unless MayFail) and a
// process that needed SIGKILL as test errors. A process that has exited
// is not signalled; a second Stop does nothing.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	p.stopped.Do(func() { p.stop(t) })
}

func (p *Process) stop(t testing.TB) {
	t.Helper()
	pid := p.Cmd.Process.Pid
	select {
	case <-p.exited:
	default:
		syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			syscall.Kill(pid, syscall.SIGKILL)
			<-p.exited
			t.Errorf("%s (pid %d) did not stop on SIGTERM", p.Name, pid)
			return
		}
	}
	if !p.MayFail && !p.Cmd.ProcessState.Success() {
		t.Errorf("%s (pid %d) exited with %v", p.Name, pid, p.Cmd.ProcessState)
	}
}

// StopGroup stops the process group pgid (a process started with
// Setpgid, whose id it is): SIGTERM, then SIGKILL after grace, and waits
// until exited is closed (the caller's Wait returned).
func StopGroup(pgid int, exited <-chan struct{}, grace time.Duration) {
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
}

// Lines starts cmd (its Stdin and Stdout unset) and returns a pipe to its
// standard input and its standard output's lines, sent on a channel of
// buffer size n as they come and closed at the output's end. At the end
// of the test its input is closed, the ending of its input it is meant to
// exit on, and it is killed by PID if it has not exited within wait.
func Lines(t testing.TB, cmd *exec.Cmd, n int, wait time.Duration) (io.WriteCloser, <-chan string) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, n)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(wait):
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	return stdin, lines
}
