package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/pelletier/go-toml/v2"

	"github.com/smbpipe/smbpipe/internal/testserver"
	"github.com/smbpipe/smbpipe/policy"
)

const regDir = "testdata/importreg"

func importRegT(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = importReg(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestImportRegFixturesAreRegedit: the fixtures are what regedit writes,
// UTF-16LE after the FF FE byte order mark, CRLF lines, or REGEDIT4 ANSI.
func TestImportRegFixturesAreRegedit(t *testing.T) {
	for _, f := range []string{"lanmanserver.reg", "lsa.reg", "malformed.reg", "wrongtype.reg"} {
		data, err := os.ReadFile(filepath.Join(regDir, f))
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte{0xFF, 0xFE}, []byte("W\x00i\x00n\x00d\x00o\x00w\x00s\x00")...)
		if !bytes.HasPrefix(data, want) || !bytes.Contains(data, []byte("\r\x00\n\x00")) {
			t.Errorf("%s is not UTF-16LE with a BOM and CRLF", f)
		}
	}
	data, _ := os.ReadFile(filepath.Join(regDir, "regedit4.reg"))
	if !bytes.HasPrefix(data, []byte("REGEDIT4\r\n")) || !bytes.Contains(data, []byte("caf\xe9")) {
		t.Error("regedit4.reg is not REGEDIT4 in Latin-1")
	}
}

// TestImportReg: the settings of a Windows Server export become the TOML
// serve loads, and every value line of the exports is either a setting
// (with its FILE:LINE) or a comment.
func TestImportReg(t *testing.T) {
	t.Chdir(regDir) // the comments name the files as given
	lan, lsa := "lanmanserver.reg", "lsa.reg"
	code, out, errs := importRegT(t, lan, lsa)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	cfg, err := policy.Parse([]byte(out), "imported.toml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if cfg.LanmanServer.RestrictNullSessAccess != 1 || !slices.Equal(cfg.LanmanServer.NullSessionPipes, []string{"netlogon", "samr", "lsarpc", "echo", "spoolss"}) {
		t.Errorf("LanmanServer: %+v", cfg.LanmanServer)
	}
	if cfg.Signing != "required" || cfg.Encryption != "enabled" {
		t.Errorf("signing %q encryption %q", cfg.Signing, cfg.Encryption)
	}
	if l := cfg.Lsa; l.RestrictAnonymous != 1 || l.RestrictAnonymousSAM != 1 || l.EveryoneIncludesAnonymous != 0 || l.RestrictRemoteSAM != "O:BAG:BAD:(A;;RC;;;BA)(A;;RC;;;S-1-5-32-562)" {
		t.Errorf("Lsa: %+v", l)
	}
	if cfg.Limits.MaxCredits != 4096 || cfg.Limits.IdleTimeout != 15*time.Minute {
		t.Errorf("limits: max_credits %d idle_timeout %v", cfg.Limits.MaxCredits, cfg.Limits.IdleTimeout)
	}
	for _, want := range []string{
		`NullSessionPipes = ["netlogon", "samr", "lsarpc", "echo", "spoolss"] # lanmanserver.reg:14`,
		`signing = "required" # lanmanserver.reg:11`,
		`#   lanmanserver.reg:22: Services\LanmanServer\Parameters\SMB1 = 0 (0x0) (REG_DWORD): ignored, smbpipe speaks SMB2 and SMB3 only`,
		`#   lsa.reg:24: Control\Lsa\LmCompatibilityLevel = 5 (0x5) (REG_DWORD): ignored`,
		`MSV1_0\NTLMMinServerSec = 537395200 (0x20080000) (REG_DWORD): ignored, not a key smbpipe imports`,
		`ServiceDll = "%SystemRoot%\\system32\\srvsvc.dll" (REG_EXPAND_SZ): ignored`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Every value line is accounted for.
	values := 0
	for _, f := range []string{lan, lsa} {
		data, _ := os.ReadFile(f)
		text, _ := decodeRegText(data, f)
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, `"`) {
				values++
			}
		}
	}
	settings, comments := 0, 0
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(l, ".reg:") && strings.HasPrefix(l, "#   "):
			comments++
		case strings.Contains(l, " # lanmanserver.reg:") || strings.Contains(l, " # lsa.reg:"):
			settings++
		}
	}
	if settings+comments != values || settings != 10 {
		t.Errorf("%d settings and %d comments for %d values:\n%s", settings, comments, values, out)
	}
}

func TestImportRegREGEDIT4(t *testing.T) {
	code, out, errs := importRegT(t, filepath.Join(regDir, "regedit4.reg"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	cfg, err := policy.Parse([]byte(out), "imported.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LanmanServer.RestrictNullSessAccess != 0 || !slices.Equal(cfg.LanmanServer.NullSessionPipes, []string{"COMNAP", "COMNODE", `SQL\QUERY`, "SPOOLSS", "LLSRPC", "browser"}) {
		t.Errorf("LanmanServer: %+v", cfg.LanmanServer)
	}
	if cfg.Lsa.TurnOffAnonymousBlock != 1 || !strings.Contains(out, `srvcomment = "café server"`) {
		t.Errorf("Lsa %+v or the Latin-1 comment:\n%s", cfg.Lsa, out)
	}
}

// TestImportRegLaterWins: a later file's value replaces an earlier one's.
func TestImportRegLaterWins(t *testing.T) {
	code, out, _ := importRegT(t, filepath.Join(regDir, "lanmanserver.reg"), filepath.Join(regDir, "regedit4.reg"))
	cfg, err := policy.Parse([]byte(out), "x")
	if code != 0 || err != nil || cfg.LanmanServer.RestrictNullSessAccess != 0 || cfg.LanmanServer.NullSessionPipes[0] != "COMNAP" {
		t.Errorf("exit %d, %v:\n%s", code, err, out)
	}
}

func TestImportRegErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		return p
	}
	utf16 := func(s string) []byte {
		b := []byte{0xFF, 0xFE}
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return b
	}
	hdr := "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa]\r\n"
	for _, c := range []struct {
		file string
		code int
		want string
	}{
		{filepath.Join(regDir, "malformed.reg"), 1, `malformed.reg:6: value "Size": dword:1234567890 is not up to 8 hex digits`},
		{filepath.Join(regDir, "wrongtype.reg"), 1, `wrongtype.reg:4: Services\LanmanServer\Parameters\NullSessionPipes: want REG_MULTI_SZ (hex(7):), got REG_SZ`},
		{filepath.Join(regDir, "notreg.reg"), 1, `notreg.reg:1: not a regedit export`},
		{filepath.Join(dir, "absent.reg"), 1, "no such file"},
		{write("empty.reg", nil), 1, "empty.reg: empty, not a regedit export"},
		{write("odd.reg", append(utf16(hdr), 'x')), 1, "odd.reg: UTF-16 text of odd length"},
		{write("be.reg", []byte{0xFE, 0xFF, 0, 'W'}), 1, "big-endian"},
		{write("badhex.reg", utf16(hdr+"\"Bounds\"=hex:00,3g\r\n")), 1, `badhex.reg:4: value "Bounds": bad hex byte "3g"`},
		{write("cont.reg", utf16(hdr+"\"RestrictAnonymous\"=dword:00000001\r\n\"Bounds\"=hex:00,\\\r\n  zz\r\n")), 1, `cont.reg:5: value "Bounds": bad hex byte "zz"`},
		{write("nokey.reg", utf16("Windows Registry Editor Version 5.00\r\n\"a\"=dword:1\r\n")), 1, "nokey.reg:2: a value outside a [KEY] section"},
		{write("unclosed.reg", utf16(hdr+"[HKEY_LOCAL_MACHINE\\SYSTEM\r\n")), 1, "unclosed.reg:4: a key line without its closing ]"},
		{write("syntax.reg", utf16(hdr+"RestrictAnonymous=1\r\n")), 1, `syntax.reg:4: want "NAME"=VALUE or @=VALUE`},
		{write("range.reg", utf16(hdr+"\"RestrictAnonymous\"=dword:00000003\r\n")), 1, `range.reg:4: Control\Lsa\RestrictAnonymous: RestrictAnonymous 3: want 0, 1 or 2`},
		{write("badsddl.reg", utf16(hdr+"\"RestrictRemoteSAM\"=\"not an sddl\"\r\n")), 1, "would not load"},
		{write("big.reg", bytes.Repeat([]byte{'x'}, maxRegFile+1)), 1, "larger than"},
	} {
		code, out, errs := importRegT(t, c.file)
		if code != c.code || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("%s: exit %d, stderr %q, stdout %q; want exit %d and %q", filepath.Base(c.file), code, errs, out, c.code, c.want)
		}
	}
	if code, _, errs := importRegT(t); code != 2 || !strings.Contains(errs, "missing FILE.reg") {
		t.Errorf("no file: exit %d, %q", code, errs)
	}
}

// mergeBase is a config an administrator wrote: comments, a multi-line
// array, tables after the top-level keys.
const mergeBase = `# Our pipe server. Keep this comment.
listen = "127.0.0.1:0" # loopback for now
server_name = "PIPES"

# Set by hand last year.
[LanmanServer]
RestrictNullSessAccess = 0   # was open
NullSessionPipes = [
  "old",  # a comment inside
  "older",
]

`

// TestImportRegMerge: --merge replaces the settings' keys, adds the
// missing ones to their tables, keeps every other line and comment, and a
// second run changes nothing.
func TestImportRegMerge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smbpipe.toml")
	base := mergeBase + testserver.AliceEcho[strings.Index(testserver.AliceEcho, "[[account]]"):]
	if err := os.WriteFile(path, []byte(base), 0o640); err != nil {
		t.Fatal(err)
	}
	code, out, errs := importRegT(t, "--merge", path, filepath.Join(regDir, "lanmanserver.reg"), filepath.Join(regDir, "lsa.reg"))
	if code != 0 || out != "" || !strings.Contains(errs, "10 settings imported") || !strings.Contains(errs, `SMB1 = 0 (0x0) (REG_DWORD): ignored`) {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	data, _ := os.ReadFile(path)
	got := string(data)
	for _, keep := range []string{"# Our pipe server. Keep this comment.\n", `listen = "127.0.0.1:0" # loopback for now`, "# Set by hand last year.\n[LanmanServer]\n",
		"[[pipe]]\nname = \"echo\"", "[[account]]\nname = \"alice\""} {
		if !strings.Contains(got, keep) {
			t.Errorf("merged file lost %q:\n%s", keep, got)
		}
	}
	for _, want := range []string{
		"RestrictNullSessAccess = 1 # was open # import-reg: " + filepath.Join(regDir, "lanmanserver.reg") + ":12\n",
		`NullSessionPipes = ["netlogon", "samr", "lsarpc", "echo", "spoolss"] # import-reg: `,
		"server_name = \"PIPES\"\nsigning = \"required\" # import-reg: ",
		"\n[Lsa]\nEveryoneIncludesAnonymous = 0 # import-reg: ",
		"\n[limits]\nidle_timeout = \"15m\" # import-reg: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("merged file lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"older"`) || strings.Contains(got, "a comment inside") {
		t.Errorf("the old multi-line array is still there:\n%s", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %04o, want the file's 0640", fi.Mode().Perm())
	}
	cfg, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "PIPES" || cfg.Signing != "required" || len(cfg.Pipes) != 1 || len(cfg.Accounts) != 1 || cfg.Lsa.RestrictAnonymous != 1 || cfg.Limits.MaxCredits != 4096 {
		t.Errorf("merged config: %+v", cfg)
	}
	if code, _, errs := importRegT(t, "--merge", path, filepath.Join(regDir, "lanmanserver.reg"), filepath.Join(regDir, "lsa.reg")); code != 0 || !strings.Contains(errs, "unchanged") {
		t.Errorf("second merge: exit %d, %s", code, errs)
	}
	if again, _ := os.ReadFile(path); string(again) != got {
		t.Errorf("the second merge changed the file:\n%s", again)
	}

	// A merge that would not load leaves the file alone.
	bad := filepath.Join(t.TempDir(), "bad.reg")
	os.WriteFile(bad, []byte("REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa]\r\n\"RestrictRemoteSAM\"=\"nonsense\"\r\n"), 0o644)
	if code, _, errs := importRegT(t, "--merge", path, bad); code != 1 || !strings.Contains(errs, "left unchanged") {
		t.Errorf("bad merge: exit %d, %s", code, errs)
	}
	if again, _ := os.ReadFile(path); string(again) != got {
		t.Error("a failed merge changed the file")
	}
}

// TestMergeTOMLPlaces: where mergeTOML puts what the file does not have.
func TestMergeTOMLPlaces(t *testing.T) {
	set := []imported{{table: "", key: "signing", literal: `"required"`, from: "a.reg:3"}, {table: "Lsa", key: "RestrictAnonymous", literal: "1", from: "a.reg:4"}}
	for _, c := range []struct{ in, want string }{
		{"", "signing = \"required\" # import-reg: a.reg:3\n\n[Lsa]\nRestrictAnonymous = 1 # import-reg: a.reg:4\n"},
		{"listen = \"x\"", "listen = \"x\"\nsigning = \"required\" # import-reg: a.reg:3\n\n[Lsa]\nRestrictAnonymous = 1 # import-reg: a.reg:4\n"},
		{"# head\n\n[Lsa]\n# keep\n", "# head\n\nsigning = \"required\" # import-reg: a.reg:3\n\n[Lsa]\nRestrictAnonymous = 1 # import-reg: a.reg:4\n# keep\n"},
		{"[Lsa]\nRESTRICTANONYMOUS = 2\n[[pipe]]\nsigning = 1\n", "signing = \"required\" # import-reg: a.reg:3\n\n[Lsa]\nRestrictAnonymous = 1 # import-reg: a.reg:4\n[[pipe]]\nsigning = 1\n"},
	} {
		if got := mergeTOML(c.in, set); got != c.want {
			t.Errorf("mergeTOML(%q) =\n%s\nwant\n%s", c.in, got, c.want)
		}
	}
}

func FuzzParseRegFile(f *testing.F) {
	for _, n := range []string{"lanmanserver.reg", "lsa.reg", "regedit4.reg", "malformed.reg"} {
		data, err := os.ReadFile(filepath.Join(regDir, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := parseRegFile(data, "fuzz.reg")
		if err != nil {
			return
		}
		var imp regImport
		if imp.add(vals) == nil {
			out := imp.toml([]string{"fuzz.reg"})
			mergeTOML(out, imp.set)
		}
	})
}

// TestImportRegServes: a config merged from the Windows exports loads in a
// real server, which then behaves as the exports say: anonymous callers may
// open echo (in the imported NullSessionPipes) and not a pipe outside it.
func TestImportRegServes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smbpipe.toml")
	base := testserver.AliceEcho + `
[[pipe]]
name = "other"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)"
`
	if err := os.WriteFile(path, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := importRegT(t, "--merge", path, filepath.Join(regDir, "lanmanserver.reg"), filepath.Join(regDir, "lsa.reg")); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	var out, errb bytes.Buffer
	if code := check([]string{"--config", path}, &out, &errb); code != 0 {
		t.Fatalf("check: exit %d: %s", code, errb.String())
	}
	data, _ := os.ReadFile(path)
	addr := testserver.Start(t, string(data))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--idle", "300ms", "//" + addr + "/pipe/echo"}, 0, ""},
		{[]string{"//" + addr + "/pipe/other"}, 1, "STATUS_ACCESS_DENIED"},
		{[]string{"-U", "alice%Passw0rd!", "--idle", "300ms", "//" + addr + "/pipe/other"}, 0, ""},
	} {
		code, stdout, errs := dialOnce(t, t.Context(), c.args, strings.NewReader("ping"))
		if code != c.code || !strings.Contains(errs, c.want) || (code == 0 && stdout != "ping") {
			t.Errorf("dial %v: exit %d, stdout %q, stderr %q", c.args, code, stdout, errs)
		}
	}
}

// FuzzMergeTOML: merging into any text does not panic; into valid TOML it
// sets every key, and a second merge changes nothing.
func FuzzMergeTOML(f *testing.F) {
	f.Add(mergeBase)
	f.Add(testserver.AliceEcho)
	f.Add("[Lsa]\nRestrictAnonymous = [\n1,\n# ]\n\"x]\" ]\n")
	set := []imported{{table: "", key: "signing", literal: `"required"`, from: "a.reg:1"},
		{table: "LanmanServer", key: "NullSessionPipes", literal: `["a"]`, from: "a.reg:2"},
		{table: "Lsa", key: "RestrictAnonymous", literal: "1", from: "a.reg:3"}}
	f.Fuzz(func(t *testing.T, text string) {
		var doc map[string]any
		if toml.Unmarshal([]byte(text), &doc) != nil {
			mergeTOML(text, set) // must not panic; serve would refuse the result
			return
		}
		out := mergeTOML(text, set)
		for _, x := range set {
			if !strings.Contains(out, x.key+" = "+x.literal) {
				t.Fatalf("%s not set in\n%s", x.key, out)
			}
		}
		if again := mergeTOML(out, set); again != out {
			t.Fatalf("a second merge changed\n%s\ninto\n%s", out, again)
		}
	})
}

// TestImportRegMergeKeepsOwnerAndLink: the packaged config is
// root:smbpipe 0640 and may be a symbolic link (configuration management);
// a merge run as root must leave the service's group able to read it and
// the link a link.
func TestImportRegMergeKeepsOwnerAndLink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file another owner")
	}
	dir := t.TempDir()
	real := filepath.Join(dir, "real.toml")
	if err := os.WriteFile(real, []byte("# mine\nlisten = \"127.0.0.1:0\"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 4321, 8765
	if err := os.Chown(real, uid, gid); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "smbpipe.toml")
	if err := os.Symlink("real.toml", link); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := importRegT(t, "--merge", link, filepath.Join(regDir, "lsa.reg")); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symbolic link: %v %v", link, fi.Mode(), err)
	}
	data, _ := os.ReadFile(real)
	if !strings.Contains(string(data), "# mine\n") || !strings.Contains(string(data), "[Lsa]") {
		t.Errorf("the link's target was not merged:\n%s", data)
	}
	fi, err := os.Stat(real)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != uid || st.Gid != gid || fi.Mode().Perm() != 0o640 {
		t.Errorf("after the merge: %d:%d %04o, want %d:%d 0640", st.Uid, st.Gid, fi.Mode().Perm(), uid, gid)
	}
}

// TestImportRegMultiSZEmptyString: a REG_MULTI_SZ with an empty string in
// the middle (hand-made data regedit would not write) is read up to it, as
// Windows reads it, and the strings behind it are named in the output, not
// dropped in silence.
func TestImportRegMultiSZEmptyString(t *testing.T) {
	var multi []byte
	for _, r := range "netlogon\x00\x00samr\x00\x00" {
		multi = append(multi, byte(r), 0)
	}
	hex := make([]string, len(multi))
	for i, b := range multi {
		hex[i] = fmt.Sprintf("%02x", b)
	}
	text := "Windows Registry Editor Version 5.00\r\n\r\n" +
		"[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters]\r\n" +
		"\"NullSessionPipes\"=hex(7):" + strings.Join(hex, ",") + "\r\n"
	data := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(text)) {
		data = append(data, byte(u), byte(u>>8))
	}
	path := filepath.Join(t.TempDir(), "gap.reg")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := importRegT(t, path)
	if code != 0 || !strings.Contains(out, `NullSessionPipes = ["netlogon"] # `+path+`:4; ["samr"] after an empty string not imported`) {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errs, out)
	}
}

// TestImportRegMergeCRLF: a config edited on Windows (CRLF lines) keeps
// CRLF on every line a merge writes, and a second merge changes nothing.
func TestImportRegMergeCRLF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smbpipe.toml")
	base := "# copied from the Windows box\r\nlisten = \"127.0.0.1:0\"\r\n\r\n[LanmanServer]\r\nRestrictNullSessAccess = 0 # open\r\n\r\n" +
		"[[pipe]]\r\nname = \"echo\"\r\nbackend = \"echo\"\r\n"
	if err := os.WriteFile(path, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := importRegT(t, "--merge", path, filepath.Join(regDir, "lanmanserver.reg"), filepath.Join(regDir, "lsa.reg")); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	data, _ := os.ReadFile(path)
	got := string(data)
	if n, crlf := strings.Count(got, "\n"), strings.Count(got, "\r\n"); n != crlf || !strings.HasSuffix(got, "\r\n") {
		t.Errorf("%d of %d lines end in CRLF:\n%q", crlf, n, got)
	}
	if !strings.Contains(got, "[Lsa]\r\n") || !strings.Contains(got, "RestrictNullSessAccess = 1 # open # import-reg: ") {
		t.Errorf("merged file:\n%s", got)
	}
	if code, _, errs := importRegT(t, "--merge", path, filepath.Join(regDir, "lanmanserver.reg"), filepath.Join(regDir, "lsa.reg")); code != 0 || !strings.Contains(errs, "unchanged") {
		t.Errorf("second merge: exit %d, %s", code, errs)
	}
}
