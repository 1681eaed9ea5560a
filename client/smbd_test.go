package client

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testsmbd"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/smb2"
)

const (
	testUser     = testsmbd.User
	testPassword = testsmbd.Password
)

// startSmbd runs Samba's smbd as the reference peer (internal/testsmbd)
// and returns its address.
func startSmbd(t *testing.T) string { return testsmbd.Start(t, "") }

// dceBind returns a DCE/RPC bind PDU for srvsvc v3.0 over NDR.
func dceBind() []byte {
	uuid := func(s string) []byte {
		var u [16]byte
		p := strings.Split(s, "-")
		a, _ := strconv.ParseUint(p[0], 16, 32)
		b, _ := strconv.ParseUint(p[1], 16, 16)
		c, _ := strconv.ParseUint(p[2], 16, 16)
		binary.LittleEndian.PutUint32(u[0:], uint32(a))
		binary.LittleEndian.PutUint16(u[4:], uint16(b))
		binary.LittleEndian.PutUint16(u[6:], uint16(c))
		rest := p[3] + p[4]
		for i := 0; i < 8; i++ {
			v, _ := strconv.ParseUint(rest[2*i:2*i+2], 16, 8)
			u[8+i] = byte(v)
		}
		return u[:]
	}
	b := []byte{5, 0, 11, 0x03, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}
	b = binary.LittleEndian.AppendUint16(b, 4280) // max xmit
	b = binary.LittleEndian.AppendUint16(b, 4280) // max recv
	b = binary.LittleEndian.AppendUint32(b, 0)    // assoc group
	b = append(b, 1, 0, 0, 0)                     // one context item
	b = append(b, 0, 0, 1, 0)                     // context id 0, one transfer syntax
	b = append(b, uuid("4b324fc8-1670-01d3-1278-5a47bf6ee188")...)
	b = binary.LittleEndian.AppendUint32(b, 3) // srvsvc v3.0
	b = append(b, uuid("8a885d04-1ceb-11c9-9fe8-08002b104860")...)
	b = binary.LittleEndian.AppendUint32(b, 2) // NDR v2
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// checkBindAck checks a bind_ack: version 5, packet type 12.
func checkBindAck(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 24 || b[0] != 5 || b[2] != 12 {
		t.Fatalf("not a DCE/RPC bind_ack: % x", b[:min(len(b), 24)])
	}
	if fl := int(binary.LittleEndian.Uint16(b[8:])); fl != len(b) {
		t.Fatalf("bind_ack frag length %d, got %d bytes", fl, len(b))
	}
}

var testDialects = []smb2.Dialect{smb2.Dialect202, smb2.Dialect210, smb2.Dialect300, smb2.Dialect302, smb2.Dialect311}

func TestSmbdInterop(t *testing.T) {
	addr := startSmbd(t)
	users := []namedConfig{
		{"anonymous", Config{}},
		{"alice-signed", Config{User: testUser, Password: testPassword, Domain: "WORKGROUP", RequireSigning: true}},
		{"alice-nthash", Config{User: testUser, NTHash: ntHashOf(testPassword)}},
	}
	eachDialect(t, testDialects, users, func(t *testing.T, ctx context.Context, cfg Config) {
		d := cfg.MinDialect
		c, err := Dial(ctx, addr, &cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.Dialect() != d {
			t.Fatalf("dialect %s", DialectString(c.Dialect()))
		}
		anon := cfg.anonymous()
		if got := c.SessionFlags()&smb2.SessionFlagIsGuest != 0; got {
			t.Errorf("guest session (flags %#x)", c.SessionFlags())
		}
		if c.Signed() != cfg.RequireSigning {
			t.Errorf("signed = %v", c.Signed())
		}
		if anon && c.SessionFlags()&smb2.SessionFlagIsNull == 0 {
			t.Logf("anonymous session without IS_NULL (flags %#x)", c.SessionFlags())
		}
		if err := c.Echo(ctx); err != nil {
			t.Fatal(err)
		}
		p, err := c.OpenPipe(ctx, "srvsvc")
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 4280)
		n, more, err := p.Transact(ctx, dceBind(), out)
		if err != nil {
			t.Fatal(err)
		}
		if more {
			t.Fatalf("bind_ack longer than %d", len(out))
		}
		checkBindAck(t, out[:n])
		if err := p.CloseContext(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.OpenPipe(ctx, "nosuchpipe"); !errors.Is(err, ntstatus.ObjectNameNotFound) {
			t.Errorf("open of a missing pipe: %v", err)
		}
		if err := c.Logoff(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		_, err := Dial(t.Context(), addr, &Config{User: testUser, Password: "nope"})
		if !errors.Is(err, ntstatus.LogonFailure) {
			t.Fatalf("got %v, want STATUS_LOGON_FAILURE", err)
		}
	})

	t.Run("dialer write-read", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(addr)
		for _, cfg := range []Config{{}, {User: testUser, Password: testPassword}} {
			d := Dialer{Config: cfg}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			p, err := d.DialContext(ctx, `\\127.0.0.1:`+port+`\pipe\srvsvc`)
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			if _, err := p.Write(dceBind()); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4280)
			n, err := p.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			checkBindAck(t, buf[:n])
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			cancel()
		}
	})
}
