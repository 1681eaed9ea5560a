package interop

import (
	"fmt"
	"strings"
	"testing"

	"github.com/smbpipe/smbpipe/policy/policytest"
)

// matrixPipe is the name of a cell's pipe in the combined config: one pipe
// per (listed or not) × DACL, e.g. "listed-null", "unlisted-alice-only";
// nonexistent cells open "missing-<dacl>", which no config creates.
func matrixPipe(c policytest.Cell) string { return c.Pipe.Name() + "-" + c.DACL.String() }

// stripPipe has the DACL of lsarpc and other real pipes, 0x12019B for
// ANONYMOUS LOGON, Everyone and Authenticated Users: an open with Windows'
// 0x12019F is granted only because npfs strips FILE_CREATE_PIPE_INSTANCE
// (0x4) from the check (SEMANTICS 3.5 vector 7).
const stripPipe = "rpc"

// matrixConfig is policytest.ConfigTOML for every DACL of the matrix at
// once: for one (RestrictNullSessAccess, EveryoneIncludesAnonymous), the
// accounts and guest = true of the matrix, a listed and an unlisted pipe
// per DACL, and stripPipe (listed).
func matrixConfig(restrict, eia int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "server_name = \"MATRIX\"\nmachine_sid = %q\nallow_anonymous = true\nguest = true\nsigning = \"enabled\"\n\n", policytest.MachineSID)
	var listed []string
	for d := policytest.NullDACL; d <= policytest.AliceOnly; d++ {
		listed = append(listed, fmt.Sprintf("%q", matrixPipe(policytest.Cell{Pipe: policytest.Listed, DACL: d})))
	}
	listed = append(listed, fmt.Sprintf("%q", stripPipe))
	fmt.Fprintf(&b, "[LanmanServer]\nRestrictNullSessAccess = %d\nNullSessionPipes = [%s]\n\n", restrict, strings.Join(listed, ", "))
	fmt.Fprintf(&b, "[Lsa]\nEveryoneIncludesAnonymous = %d\n\n", eia)
	fmt.Fprintf(&b, "[[account]]\nname = \"alice\"\npassword = %q\nrid = 1001\n\n", policytest.Password)
	fmt.Fprintf(&b, "[[account]]\nname = \"bob\"\npassword = %q\nrid = 1002\ngroups = [\"Administrators\"]\n\n", policytest.Password)
	for _, p := range []policytest.PipeCase{policytest.Listed, policytest.Unlisted} {
		for d := policytest.NullDACL; d <= policytest.AliceOnly; d++ {
			fmt.Fprintf(&b, "[[pipe]]\nname = %q\nbackend = \"echo\"\nmode = \"message\"\n", matrixPipe(policytest.Cell{Pipe: p, DACL: d}))
			if s := d.SDDL(); s != "" {
				fmt.Fprintf(&b, "sddl = %q\n", s)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "[[pipe]]\nname = %q\nbackend = \"echo\"\nmode = \"message\"\nsddl = \"D:(A;;0x12019B;;;AN)(A;;0x12019B;;;WD)(A;;0x12019B;;;AU)\"\n", stripPipe)
	return b.String()
}

// TestAccessMatrix runs every cell of policytest's matrix with impacket
// against `smbpipe serve`: {anonymous, guest, alice, bob in Administrators}
// × {listed, unlisted, nonexistent} × {NULL DACL, default DACL, a DACL
// denying NETWORK, a DACL naming alice only} × RestrictNullSessAccess
// {0, 1} × EveryoneIncludesAnonymous {0, 1} × DesiredAccess {0x12019F
// (Windows), 0x3 (impacket's usual), GENERIC_READ}, each asserting the
// NTSTATUS of policytest.Expect (written from SEMANTICS.md, not from
// Decide). One server and one Python process per (RestrictNullSessAccess,
// EveryoneIncludesAnonymous); each session is one connection that opens all
// its cells. Each session also opens stripPipe with 0x12019F (granted
// thanks to the 0x4 strip).
func TestAccessMatrix(t *testing.T) {
	need(t, python, "-c", "import impacket")
	logins := map[policytest.Session][2]string{
		policytest.Anonymous: {"-", "-"},
		policytest.Guest:     {policytest.GuestName, "whatever"},
		policytest.Alice:     {"alice", policytest.Password},
		policytest.Bob:       {"bob", policytest.Password},
	}
	cells := policytest.Cells()
	for r := 0; r <= 1; r++ {
		for e := 0; e <= 1; e++ {
			t.Run(fmt.Sprintf("restrict=%d/eia=%d", r, e), func(t *testing.T) {
				t.Parallel()
				s := startServer(t, matrixConfig(r, e))
				o := startOpener(t, s)
				want := map[string]string{}
				var cmds []string
				for sess := policytest.Anonymous; sess <= policytest.Bob; sess++ {
					l := logins[sess]
					cmds = append(cmds, fmt.Sprintf("login %v %s %s", sess, l[0], l[1]))
					for _, c := range cells {
						if c.Session != sess || c.RestrictNullSessAccess != r || c.EveryoneIncludesAnonymous != e {
							continue
						}
						cmds = append(cmds, fmt.Sprintf("open %v %v %s %x", sess, c, matrixPipe(c), c.Access.Mask()))
						want[c.String()] = policytest.Expect(c).String()
					}
					label := fmt.Sprintf("strip/%v", sess)
					cmds = append(cmds, fmt.Sprintf("open %v %s %s 12019f", sess, label, stripPipe))
					want[label] = "STATUS_SUCCESS"
				}
				o.send(t, cmds...)
				got := map[string]string{}
				for range cmds {
					line := o.next(t)
					f := strings.Fields(line)
					switch {
					case len(f) >= 3 && f[1] == "login":
						if f[2] != "OK" {
							t.Fatalf("%s", line)
						}
						if isGuest := f[0] == policytest.Guest.String(); f[3] != fmt.Sprintf("guest=%v", map[bool]string{true: "True", false: "False"}[isGuest]) {
							t.Errorf("%s: want guest=%v", line, isGuest)
						}
					case len(f) == 2:
						got[f[0]] = f[1]
					default:
						t.Fatalf("unexpected line %q", line)
					}
				}
				bad := 0
				for label, w := range want {
					if got[label] != w {
						bad++
						if bad <= 20 {
							t.Errorf("%s: got %s, want %s", label, got[label], w)
						}
					}
				}
				if bad > 0 {
					t.Errorf("%d of %d cells wrong", bad, len(want))
				}
				t.Logf("%d cells checked", len(want))
			})
		}
	}
}
