package server_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/client"
	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/pipe"
	"github.com/smbpipe/smbpipe/policy"
	"github.com/smbpipe/smbpipe/security"
	"github.com/smbpipe/smbpipe/server"
)

// TestImpersonationLevel: Delegate (3) is refused with
// STATUS_BAD_IMPERSONATION_LEVEL; the levels below it open.
func TestImpersonationLevel(t *testing.T) {
	_, addr := newServer(t, snapshot(t, true, false, "enabled", ""))
	c, err := dial(t, addr, alice)
	if err != nil {
		t.Fatal(err)
	}
	for level, want := range map[uint32]ntstatus.Status{0: 0, 1: 0, 2: 0, 3: ntstatus.BadImpersonationLevel, 4: ntstatus.BadImpersonationLevel} {
		p, err := c.OpenPipeOptions(t.Context(), "echo", client.OpenOptions{ImpersonationLevel: &level})
		switch {
		case want == 0 && err != nil:
			t.Errorf("level %d: %v", level, err)
		case want != 0 && !errors.Is(err, want):
			t.Errorf("level %d: %v, want %v", level, err, want)
		}
		if err == nil {
			p.Close()
		}
	}
}

// TestGrantedAccessEnforced: the access granted at CREATE is kept on the
// handle: READ needs FILE_READ_DATA, WRITE FILE_WRITE_DATA or
// FILE_APPEND_DATA, TRANSCEIVE both, FLUSH write access. (FILE_APPEND_DATA
// alone cannot be tested: on a pipe open it is FILE_CREATE_PIPE_INSTANCE,
// which npfs strips, leaving nothing to grant.)
func TestGrantedAccessEnforced(t *testing.T) {
	_, addr := newServer(t, snapshot(t, true, false, "enabled", ""))
	c, err := dial(t, addr, alice)
	if err != nil {
		t.Fatal(err)
	}
	const denied = ntstatus.AccessDenied
	ctx := t.Context()
	tests := []struct {
		name                           string
		access                         uint32
		read, write, transact, flushSt ntstatus.Status
	}{
		{"read only", security.FileReadData, 0, denied, denied, denied},
		{"write only", security.FileWriteData, denied, 0, denied, 0},
		{"read and write", security.FileReadData | security.FileWriteData, 0, 0, 0, 0},
		{"generic read", security.GenericRead, 0, denied, denied, denied},
		{"read control only", security.ReadControl, denied, denied, denied, denied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.OpenPipeOptions(ctx, "echo", client.OpenOptions{DesiredAccess: tc.access})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			check := func(op string, err error, want ntstatus.Status) {
				t.Helper()
				if want == 0 && err != nil || want != 0 && !errors.Is(err, want) {
					t.Errorf("%s: %v, want %v", op, err, want)
				}
			}
			_, werr := p.WriteMsg(ctx, []byte("ping"))
			check("write", werr, tc.write)
			if tc.read == 0 && werr == nil {
				// The echo reply is queued: the read completes at once.
				_, _, err := p.ReadMsg(ctx, make([]byte, 16))
				check("read", err, 0)
			} else if tc.read != 0 {
				_, _, err := p.ReadMsg(ctx, make([]byte, 16))
				check("read", err, tc.read)
			}
			if tc.transact == 0 {
				_, _, err := p.Transact(ctx, []byte("x"), make([]byte, 16))
				check("transact", err, 0)
			} else {
				_, _, err := p.Transact(ctx, []byte("x"), make([]byte, 16))
				check("transact", err, tc.transact)
			}
			check("flush", p.Flush(ctx), tc.flushSt)
		})
	}
}

// TestQuerySecurity: QUERY_INFO SMB2_0_INFO_SECURITY returns the pipe's
// self-relative descriptor (config pipes and Go pipes), only the parts
// AdditionalInformation asks for, needs READ_CONTROL on the handle, and
// follows a reload of the pipe's sddl.
func TestQuerySecurity(t *testing.T) {
	const (
		owner = 0x1
		group = 0x2
		dacl  = 0x4
		sacl  = 0x8
	)
	ns := new(pipe.Namespace)
	snap := snapshot(t, true, false, "enabled", "")
	srv, _, addr := withGoPipe(t, server.Options{Snapshot: snap, Namespace: ns}, "gopipe", "O:BAG:BAD:P(A;;0x12019B;;;AU)")
	nodacl, err := ns.Create("nometa", pipe.Config{Mode: pipe.MessageMode, Direction: pipe.Duplex})
	if err != nil {
		t.Fatal(err)
	}
	defer nodacl.Close()
	c, err := dial(t, addr, alice)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	query := func(p *client.Pipe, info uint32) (*security.SecurityDescriptor, error) {
		t.Helper()
		out, err := p.QueryInfoSecurity(ctx, info, 4096)
		if err != nil {
			return nil, err
		}
		return security.DecodeSecurityDescriptor(out)
	}
	want := func(sddl string) *security.SecurityDescriptor {
		t.Helper()
		sd, err := snap.Descriptor(sddl)
		if err != nil {
			t.Fatal(err)
		}
		return sd
	}
	for _, tc := range []struct{ pipe, sddl string }{
		{"echo", testserver.EchoSDDL},
		{"gopipe", "O:BAG:BAD:P(A;;0x12019B;;;AU)"},
		{"nometa", ""}, // Windows' default named-pipe DACL
	} {
		p, err := c.OpenPipeOptions(ctx, tc.pipe, client.OpenOptions{DesiredAccess: security.FileGenericRead})
		if err != nil {
			t.Fatalf("%s: %v", tc.pipe, err)
		}
		w := want(tc.sddl)
		got, err := query(p, owner|group|dacl)
		if err != nil || !got.Equal(w) {
			t.Errorf("%s: %v\n got %+v\nwant %+v", tc.pipe, err, got, w)
		}
		got, err = query(p, dacl)
		if err != nil || got.Owner != nil || got.Group != nil || !got.DACLPresent || !got.Equal(&security.SecurityDescriptor{Control: w.Control, DACLPresent: true, DACL: w.DACL}) {
			t.Errorf("%s dacl only: %v %+v", tc.pipe, err, got)
		}
		got, err = query(p, owner)
		if err != nil || got.Owner == nil || *got.Owner != *w.Owner || got.Group != nil || got.DACLPresent {
			t.Errorf("%s owner only: %v %+v", tc.pipe, err, got)
		}
		if _, err := query(p, owner|group|dacl|sacl); !errors.Is(err, ntstatus.AccessDenied) {
			t.Errorf("%s with SACL: %v, want STATUS_ACCESS_DENIED", tc.pipe, err)
		}
		if _, err := p.QueryInfoSecurity(ctx, dacl, 8); !errors.Is(err, ntstatus.BufferTooSmall) {
			t.Errorf("%s short buffer: %v, want STATUS_BUFFER_TOO_SMALL", tc.pipe, err)
		}
		p.Close()
	}

	// Without READ_CONTROL on the handle (impacket's 0x3): denied.
	p, err := c.OpenPipeOptions(ctx, "echo", client.OpenOptions{DesiredAccess: 0x3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := query(p, dacl); !errors.Is(err, ntstatus.AccessDenied) {
		t.Errorf("without READ_CONTROL: %v", err)
	}
	p.Close()

	// A reload that changes the sddl shows on a handle already open.
	p, err = c.OpenPipe(ctx, "echo")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const changed = "D:(A;;0x12019B;;;AU)(A;;FA;;;BA)"
	cfg, err := policy.Parse([]byte(strings.Replace(config(true, false, "enabled"), testserver.EchoSDDL, changed, 1)), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	next, err := policy.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetPolicy(next); err != nil {
		t.Fatal(err)
	}
	w, _ := next.Descriptor(changed)
	if got, err := query(p, dacl); err != nil || !got.Equal(&security.SecurityDescriptor{DACLPresent: true, DACL: w.DACL}) {
		t.Errorf("after reload: %v %+v", err, got)
	}
}
