package interop

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smbpipe/smbpipe/internal/testsmbd"
)

// tortureConfig is testConfig plus the pipes smbtorture's credit tests
// open by name (on IPC$ a "file" is a pipe), listed for null sessions.
var tortureConfig = strings.Replace(testConfig, `NullSessionPipes = ["echo"]`,
	`NullSessionPipes = ["echo", "single_req_credits_granted.dat", "skipped_mid.dat"]`, 1) +
	messagePipe("single_req_credits_granted.dat", "echo", "D:(A;;FA;;;AU)(A;;FA;;;AN)") +
	messagePipe("skipped_mid.dat", "echo", "D:(A;;FA;;;AU)(A;;FA;;;AN)")

// TestSmbtortureConformance runs the smbtorture tests of issue 9's
// conformance findings against `smbpipe serve`, anonymously and as alice:
// the credit grants Windows makes (up to 8192, none beyond the charge
// before a session is set up, a window that survives a skipped
// MessageId), FILE_CLOSED before FS_DRIVER_REQUIRED for an IOCTL on a
// closed handle, and INVALID_PARAMETER for a malformed NTLMv2 response.
func TestSmbtortureConformance(t *testing.T) {
	need(t, smbtorturePath, "--version")
	s := startServer(t, tortureConfig)
	smbtortureSuccess(t, s, 120*time.Second,
		"smb2.credits.session_setup_credits_granted",
		"smb2.credits.single_req_credits_granted",
		"smb2.credits.skipped_mid",
		"smb2.compound.related5",
		"smb2.session.ntlmssp_bug14932",
	)
}

// tortureFailure finds the status of an smbtorture failure ("status was
// NT_STATUS_X", or "Unable to mkdir when setting up D - NT_STATUS_X") and
// then the source line it names ("session.c:243:").
var tortureFailure = regexp.MustCompile(`(?s)(?:status was |Unable to mkdir when setting up \S+ - )(NT_STATUS_\w+).*?(\w+\.c:\d+):|(\w+\.c:\d+): status was (NT_STATUS_\w+)`)

// failurePoint returns the source line and status of an smbtorture
// failure, or false.
func failurePoint(out string) (line, status string, ok bool) {
	m := tortureFailure.FindStringSubmatch(out)
	switch {
	case m == nil:
		return "", "", false
	case m[3] != "":
		return m[3], m[4], true
	}
	return m[2], m[1], true
}

// TestSmbtortureReauth runs smbtorture's smb2.session.reauth1-6 against
// Samba's smbd on a disk share (the reference: they pass, but for
// reauth5, a known failure of Samba's), against smbd's IPC$ and against
// `smbpipe serve`'s IPC$. The tests create a data file with a random name,
// which IPC$ cannot hold on any server (Windows included): there each
// stops at that first CREATE with STATUS_OBJECT_NAME_NOT_FOUND, at the
// same line against smbd and smbpipe. What they check after it (a handle
// kept across a re-authentication as the same user, as anonymous and back,
// its security descriptor read and written, new access checks as the new
// identity, a failed re-authentication ending the session) is checked on
// pipes by test/robust TestReauthChangesIdentity and client's
// TestE2EReauthenticate*.
func TestSmbtortureReauth(t *testing.T) {
	need(t, smbtorturePath, "--version")
	s := startServer(t, testConfig)
	smbd := testsmbd.Start(t, "[disk]\n\tpath = TEMPDIR\n\tread only = no\n")
	_, smbdPort, _ := strings.Cut(smbd, ":")
	for i := 1; i <= 6; i++ {
		test := "smb2.session.reauth" + string(rune('0'+i))
		t.Run(test, func(t *testing.T) {
			t.Parallel()
			last := test[strings.LastIndexByte(test, '.')+1:]
			torture := func(share, port string) (string, error) {
				return run(t, 120*time.Second, smbtorturePath, "//127.0.0.1/"+share, "-p", port, "-U", "alice%Passw0rd!", test)
			}
			out, err := torture("disk", smbdPort)
			switch passed := err == nil && strings.Contains(out, "success: "+last); {
			case test == "smb2.session.reauth4" || test == "smb2.session.reauth5":
				// Samba's own deviations from Windows, recorded, not
				// required: reauth5 is in its knownfail list ("some
				// special anonymous checks?"); reauth4's SET_INFO of
				// the security descriptor through the handle's
				// WRITE_DAC after a re-authentication as anonymous is
				// refused by the POSIX ACL mapping of a plain share.
				t.Logf("smbd disk share: %s passed=%v (a known deviation of Samba's from Windows)", last, passed)
			case !passed:
				t.Fatalf("smbd disk share: %v\n%s", err, tail(out, 30))
			}
			ref, _ := torture("IPC$", smbdPort)
			got, _ := torture("IPC$", s.port)
			rl, rs, rok := failurePoint(ref)
			gl, gs, gok := failurePoint(got)
			if !rok || !gok {
				t.Fatalf("no CREATE failure on IPC$:\nsmbd:\n%s\nsmbpipe:\n%s", tail(ref, 20), tail(got, 20))
			}
			if rl != gl || rs != gs || gs != "NT_STATUS_OBJECT_NAME_NOT_FOUND" {
				t.Fatalf("IPC$: smbd stops at %s with %s, smbpipe at %s with %s", rl, rs, gl, gs)
			}
			t.Logf("IPC$: smbd and smbpipe both stop at %s with %s", gl, gs)
		})
	}
}
