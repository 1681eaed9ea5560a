package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/bench"
	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/smb2"
)

func TestParseBenchArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o *benchOptions)
	}{
		{name: "defaults", check: func(t *testing.T, o *benchOptions) {
			r := o.run
			if r.Workload != bench.Transact || r.Addr != "127.0.0.1:4450" || r.Pipe != "echo" || r.Concurrency != 1 ||
				r.Size != 64 || r.Client.User != "" || r.Client.RequireSigning || r.Progress != nil || o.format != "text" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "tcp has no default address", args: []string{"-w", "tcp"}, check: func(t *testing.T, o *benchOptions) {
			if o.run.Addr != "" {
				t.Errorf("addr %q", o.run.Addr)
			}
		}},
		{name: "all flags", args: []string{"-w", "sessions", "--addr", "127.0.0.1:1", "--pipe", "srvsvc", "-c", "100", "-d", "30s",
			"--size", "4KiB", "--rpc", "-U", `WORKGROUP\alice%Passw0rd!`, "--dialect", "3.1.1", "--server-pid", "42", "--format", "json"},
			check: func(t *testing.T, o *benchOptions) {
				r := o.run
				if r.Workload != bench.Sessions || r.Addr != "127.0.0.1:1" || r.Pipe != "srvsvc" || r.Concurrency != 100 ||
					r.Duration != 30*time.Second || r.Size != 4096 || !r.RPC || r.ServerPID != 42 || o.format != "json" {
					t.Errorf("got %+v", r)
				}
				c := r.Client
				if c.User != "alice" || c.Password != "Passw0rd!" || c.Domain != "WORKGROUP" || !c.RequireSigning ||
					c.MinDialect != smb2.Dialect311 || c.MaxDialect != smb2.Dialect311 {
					t.Errorf("client config %+v", c)
				}
				if r.Progress == nil || r.ProgressEvery != time.Second {
					t.Error("no progress on a long sessions run")
				}
			}},
		{name: "anonymous -U%", args: []string{"-U", "%"}, check: func(t *testing.T, o *benchOptions) {
			if o.run.Client.User != "" || o.run.Client.RequireSigning {
				t.Errorf("got %+v", o.run.Client)
			}
		}},
		{name: "count", args: []string{"-n", "1000", "--size", "64k"}, check: func(t *testing.T, o *benchOptions) {
			if o.run.Count != 1000 || o.run.Size != 64<<10 {
				t.Errorf("got %+v", o.run)
			}
		}},
		{name: "echo server", args: []string{"--tcp-echo-server", "127.0.0.1:0"}, check: func(t *testing.T, o *benchOptions) {
			if o.echoServer != "127.0.0.1:0" {
				t.Errorf("got %q", o.echoServer)
			}
		}},
		{name: "unknown workload", args: []string{"-w", "fly"}, wantErr: "unknown workload"},
		{name: "size too big", args: []string{"--size", "65537"}, wantErr: "1 B to 64 KiB"},
		{name: "size junk", args: []string{"--size", "12x"}, wantErr: "byte count"},
		{name: "size zero", args: []string{"--size", "0"}, wantErr: "1 B to 64 KiB"},
		{name: "zero concurrency", args: []string{"-c", "0"}, wantErr: "-c"},
		{name: "both -n and -d", args: []string{"-n", "5", "-d", "1s"}, wantErr: "not both"},
		{name: "signing algorithm", args: []string{"--signing", "cmac"}, check: func(t *testing.T, o *benchOptions) {
			if a := o.run.Client.SigningAlgorithms; len(a) != 1 || a[0] != smb2.SigningAESCMAC {
				t.Errorf("offered %v", a)
			}
		}},
		{name: "bad dialect", args: []string{"--dialect", "4.0"}, wantErr: "dialect"},
		{name: "bad signing algorithm", args: []string{"--signing", "sha1"}, wantErr: "--signing"},
		{name: "encrypt", args: []string{"-U", "alice%x", "--encrypt", "aes-256-gcm"}, check: func(t *testing.T, o *benchOptions) {
			if c := o.run.Client; c.Encryption != client.EncryptionRequired || len(c.Ciphers) != 1 || c.Ciphers[0] != smb2.CipherAES256GCM {
				t.Errorf("encryption %v ciphers %v", c.Encryption, c.Ciphers)
			}
		}},
		{name: "encrypt anonymous", args: []string{"--encrypt", "AES-128-GCM"}, wantErr: "needs -U"},
		{name: "encrypt unknown cipher", args: []string{"-U", "alice%x", "--encrypt", "AES-128-XTS"}, wantErr: "--encrypt"},
		{name: "bad format", args: []string{"--format", "xml"}, wantErr: "--format"},
		{name: "empty user", args: []string{"-U", "%pw"}, wantErr: "empty user"},
		{name: "positional", args: []string{"extra"}, wantErr: "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseBenchArgs(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

func TestBenchMainTCP(t *testing.T) {
	for _, format := range []string{"text", "json", "tsv"} {
		t.Run(format, func(t *testing.T) {
			o, err := parseBenchArgs([]string{"-w", "tcp", "-n", "200", "--format", format, "--tsv-header"})
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := benchMain(t.Context(), o, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			out := stdout.String()
			switch format {
			case "text":
				if !strings.Contains(out, "200 ops") || !strings.Contains(out, "p99") {
					t.Errorf("text output %q", out)
				}
			case "json":
				var r bench.Result
				if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.Ops != 200 {
					t.Errorf("json output %q: %v", out, err)
				}
			case "tsv":
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if len(lines) != 2 || lines[0] != bench.TSVHeader || !strings.HasPrefix(lines[1], "tcp\t") {
					t.Errorf("tsv output %q", out)
				}
			}
		})
	}
}

func TestBenchMainFailure(t *testing.T) {
	o, err := parseBenchArgs([]string{"--addr", "127.0.0.1:1", "-n", "1"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := benchMain(t.Context(), o, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.HasPrefix(stderr.String(), "smbpipe bench: transact setup") {
		t.Errorf("stderr %q", stderr.String())
	}
}
