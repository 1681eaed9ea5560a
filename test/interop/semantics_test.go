package interop

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// semantics runs testdata/impacket_semantics.py and returns its step
// lines ("OK ..." and "FAIL ...").
func semantics(t *testing.T, s *server, user, pass, mode, pipe string, input ...string) []string {
	t.Helper()
	return impacketScript(t, "impacket_semantics.py", append([]string{s.port, user, pass, mode, pipe}, input...)...)
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("impacket steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// semanticsConfig serves an echo pipe and a single-instance echo pipe.
const semanticsConfig = `
listen = "127.0.0.1:4450"
allow_anonymous = true

[LanmanServer]
NullSessionPipes = ["echo", "one"]

[[account]]
name = "alice"
password = "Passw0rd!"

[[pipe]]
name = "echo"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)"

[[pipe]]
name = "one"
backend = "echo"
mode = "message"
max_instances = 1
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)"
`

// TestImpacketPipeSemantics: impacket against `smbpipe serve` sees
// BUFFER_OVERFLOW on a short READ and on a TRANSCEIVE with a short reply
// limit, PEEK's header, max_instances (PIPE_NOT_AVAILABLE) and
// FSCTL_PIPE_WAIT (timeout, unknown name, freed during the wait).
func TestImpacketPipeSemantics(t *testing.T) {
	need(t, python, "-c", "import impacket")
	s := startServer(t, semanticsConfig)
	// overflow: the same steps for an anonymous and an alice session.
	overflow := []string{
		"OK connect",
		"OK read-short STATUS_BUFFER_OVERFLOW",
		"OK read-parts 01234567|89abcdefghij",
		"OK transceive-short STATUS_BUFFER_OVERFLOW",
		"OK transceive-parts 01234567|89abcdefghij",
		"OK transceive-full 0123456789abcdefghij",
		"OK done",
	}
	cases := []struct {
		name, user, pass, mode, pipe string
		want                         []string
	}{
		{"overflow/anonymous", "", "", "overflow", "echo", overflow},
		{"overflow/alice", "alice", "Passw0rd!", "overflow", "echo", overflow},
		{"peek", "alice", "Passw0rd!", "peek", "echo", []string{
			"OK connect",
			"OK peek-empty state=3 avail=0 msgs=0 first=0 data=",
			"OK peek-data state=3 avail=8 msgs=1 first=8 data=peekaboo",
			"OK peek-short STATUS_BUFFER_OVERFLOW",
			"OK peek-short-data state=3 avail=8 msgs=1 first=8 data=peek",
			"OK read-after-peek peekaboo",
			"OK done",
		}},
		{"wait", "alice", "Passw0rd!", "wait", "one", []string{
			"OK connect",
			"OK open-first",
			"OK open-second STATUS_PIPE_NOT_AVAILABLE",
			"OK wait-busy STATUS_IO_TIMEOUT",
			"OK wait-unknown STATUS_OBJECT_NAME_NOT_FOUND",
			"OK wait-freed in-time",
			"OK open-after-wait",
			"OK done",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkLines(t, semantics(t, s, tc.user, tc.pass, tc.mode, tc.pipe), tc.want)
		})
	}
}

// startUpper runs a TCP service on loopback that answers each line it
// reads with the line in upper case, until the test ends.
func startUpper(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := fmt.Fprintf(c, "%s\n", bytes.ToUpper(sc.Bytes())); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// TestImpacketBackends: pipes served by backends from the config, used
// by impacket: a tcp: backend to a TCP service the test runs, exec:cat,
// and exec of a script that prints its SMBPIPE_* environment (as
// anonymous and as alice). Each backend read is one message.
func TestImpacketBackends(t *testing.T) {
	need(t, python, "-c", "import impacket")
	need(t, "/bin/cat")
	upper := startUpper(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "env.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nenv | grep '^SMBPIPE_' | sort\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const sddl = `"D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)"`
	s := startServer(t, fmt.Sprintf(`
listen = "127.0.0.1:4450"
allow_anonymous = true

[LanmanServer]
NullSessionPipes = ["upper", "cat", "env"]

[[account]]
name = "alice"
password = "Passw0rd!"

[[pipe]]
name = "upper"
backend = "tcp:%s"
mode = "message"
sddl = %s

[[pipe]]
name = "cat"
backend = "exec:/bin/cat"
mode = "message"
sddl = %s

[[pipe]]
name = "env"
backend = "exec:%s"
mode = "message"
sddl = %s
`, upper, sddl, sddl, script, sddl))

	t.Run("tcp", func(t *testing.T) {
		checkLines(t, semantics(t, s, "", "", "rw", "upper", "hello tcp\n"),
			[]string{"OK connect", "OK rw HELLO TCP", "OK done"})
	})
	t.Run("exec cat", func(t *testing.T) {
		checkLines(t, semantics(t, s, "alice", "Passw0rd!", "rw", "cat", "meow"),
			[]string{"OK connect", "OK rw meow", "OK done"})
	})
	for _, tc := range []struct {
		name, user, pass string
		want             map[string]string // variable: value prefix
	}{
		{"exec env/anonymous", "", "", map[string]string{
			"SMBPIPE_USER": "", "SMBPIPE_ANONYMOUS": "1", "SMBPIPE_GUEST": "0",
			"SMBPIPE_SIDS": "S-1-5-7,S-1-5-2", "SMBPIPE_CLIENT_ADDR": "127.0.0.1:", "SMBPIPE_PIPE": "env",
		}},
		{"exec env/alice", "alice", "Passw0rd!", map[string]string{
			"SMBPIPE_USER": "alice", "SMBPIPE_DOMAIN": "WORKGROUP", "SMBPIPE_ANONYMOUS": "0",
			"SMBPIPE_GUEST": "0", "SMBPIPE_SIDS": "S-1-5-21-", "SMBPIPE_CLIENT_ADDR": "127.0.0.1:",
			"SMBPIPE_PIPE": "env",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := semantics(t, s, tc.user, tc.pass, "readall", "env")
			env := map[string]string{}
			for _, l := range lines {
				if v, ok := strings.CutPrefix(l, "OK data "); ok {
					k, val, _ := strings.Cut(v, "=")
					env[k] = val
				}
			}
			if n := len(lines); n < 3 || lines[n-2] != "OK end STATUS_PIPE_BROKEN" || lines[n-1] != "OK done" {
				t.Fatalf("steps:\n%s", strings.Join(lines, "\n"))
			}
			for k, prefix := range tc.want {
				v, ok := env[k]
				if !ok || !strings.HasPrefix(v, prefix) || prefix == "" && v != "" {
					t.Errorf("%s=%q, want %q...\nall:\n%s", k, v, prefix, strings.Join(lines, "\n"))
				}
			}
			if sids := env["SMBPIPE_SIDS"]; tc.user != "" && !strings.Contains(sids, "S-1-5-11") {
				t.Errorf("alice's SIDs %q lack Authenticated Users", sids)
			}
		})
	}
}
