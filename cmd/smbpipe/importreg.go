package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/smbpipe/smbpipe/policy"
)

const importRegUsage = `usage: smbpipe import-reg [--merge CONFIG] FILE.reg...

Reads regedit exports of a Windows server's
  HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters
  HKLM\SYSTEM\CurrentControlSet\Control\Lsa
(regedit /e FILE.reg "HKEY_LOCAL_MACHINE\SYSTEM\...", in the UTF-16 that
regedit writes, or REGEDIT4 ANSI) and prints the TOML of the settings
smbpipe has, with a comment for every value it ignores:

  LanmanServer\Parameters  RestrictNullSessAccess, NullSessionPipes
                           (REG_MULTI_SZ), RequireSecuritySignature (signing),
                           EncryptData (encryption), EncryptionCiphers,
                           Smb2CreditsMax ([limits] max_credits),
                           AutoDisconnect ([limits] idle_timeout, minutes)
  Lsa                      EveryoneIncludesAnonymous, RestrictAnonymous,
                           RestrictAnonymousSAM, TurnOffAnonymousBlock,
                           RestrictRemoteSAM

Later files win over earlier ones. The result is checked as serve would
load it. Malformed input is an error naming FILE:LINE.

flags:
  --merge CONFIG  update CONFIG in place instead of printing: each setting
                  replaces its key (or is added to its table), everything
                  else in the file, comments included, stays; the ignored
                  values are listed on stderr. The result must pass
                  "smbpipe check" or the file is left as it was.
Exit status: 0, 1 on bad input or a config that would not load, 2 bad usage.
`

func init() {
	register(command{"import-reg", "convert regedit exports (LanmanServer, Lsa) to TOML", importRegUsage, runImportReg})
}

func runImportReg(args []string) int { return importReg(args, os.Stdout, os.Stderr) }

// importReg is runImportReg with its output streams injected (for tests).
func importReg(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("import-reg")
	merge := fs.String("merge", "", "config file to update")
	// Flags may follow the files.
	var files []string
	for rest := args; ; {
		if c := parseFlags(fs, rest, importRegUsage, stdout, stderr); c >= 0 {
			return c
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) == 0 {
		return usageError(stderr, "import-reg", "missing FILE.reg (at least one regedit export)", importRegUsage)
	}
	var imp regImport
	for _, f := range files {
		data, err := readLimited(f, maxRegFile)
		if err != nil {
			fmt.Fprintf(stderr, "smbpipe import-reg: %v\n", err)
			return 1
		}
		vals, err := parseRegFile(data, f)
		if err != nil {
			fmt.Fprintf(stderr, "smbpipe import-reg: %v\n", err)
			return 1
		}
		if err := imp.add(vals); err != nil {
			fmt.Fprintf(stderr, "smbpipe import-reg: %v\n", err)
			return 1
		}
	}
	if *merge != "" {
		return imp.mergeInto(*merge, stderr)
	}
	out := imp.toml(files)
	if err := checkTOML(out, "(import-reg output)"); err != nil {
		fmt.Fprintf(stderr, "smbpipe import-reg: the imported settings would not load:\n")
		for _, l := range problemLines(err) {
			fmt.Fprintf(stderr, "  %s\n", l)
		}
		return 1
	}
	io.WriteString(stdout, out)
	return 0
}

// maxRegFile bounds a .reg file (an export of the two keys is a few KiB).
const maxRegFile = 16 << 20

func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return data, nil
}

// Registry value types as regedit writes them.
const (
	regSZ       = 1
	regExpandSZ = 2
	regBinary   = 3
	regDWORD    = 4
	regMultiSZ  = 7
	regQWORD    = 11
)

func regTypeName(t int) string {
	switch t {
	case regSZ:
		return "REG_SZ"
	case regExpandSZ:
		return "REG_EXPAND_SZ"
	case regBinary:
		return "REG_BINARY"
	case regDWORD:
		return "REG_DWORD"
	case regMultiSZ:
		return "REG_MULTI_SZ"
	case regQWORD:
		return "REG_QWORD"
	case -1:
		return "deletion"
	}
	return fmt.Sprintf("REG type %d", t)
}

// regValue is one value line of a .reg file.
type regValue struct {
	file    string
	line    int
	key     string // as written, without brackets
	name    string // "" for the default value (@)
	typ     int    // regSZ ...; -1 for a deletion ("name"=-)
	str     string // REG_SZ, REG_EXPAND_SZ
	strs    []string
	after   []string // REG_MULTI_SZ: the strings after an empty one
	num     uint64   // REG_DWORD, REG_QWORD
	raw     []byte   // the hex data of other types
	deleted bool     // [-KEY]: every value of the key
}

func (v regValue) where() string { return fmt.Sprintf("%s:%d", v.file, v.line) }

// describe renders the value as regedit shows it, shortened.
func (v regValue) describe() string {
	switch v.typ {
	case regSZ, regExpandSZ:
		return fmt.Sprintf("%q", clip(v.str))
	case regDWORD, regQWORD:
		return fmt.Sprintf("%d (0x%X)", v.num, v.num)
	case regMultiSZ:
		return fmt.Sprintf("%q", v.strs)
	case -1:
		return "-"
	}
	return fmt.Sprintf("%d bytes", len(v.raw))
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// regError is a problem at a line of a .reg file.
func regError(file string, line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
}

// decodeRegText returns the text of a .reg file and whether it is a
// version 5 (Unicode) export: UTF-16LE after the BOM regedit writes
// (FF FE), UTF-8 after its BOM, or else ANSI (bytes that are not UTF-8
// read as Latin-1).
func decodeRegText(data []byte, file string) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		data = data[2:]
		if len(data)%2 != 0 {
			return "", fmt.Errorf("%s: UTF-16 text of odd length %d", file, len(data))
		}
		u := make([]uint16, len(data)/2)
		for i := range u {
			u[i] = uint16(data[2*i]) | uint16(data[2*i+1])<<8
		}
		return string(utf16.Decode(u)), nil
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return "", fmt.Errorf("%s: UTF-16 big-endian; regedit writes little-endian (FF FE)", file)
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return string(data[3:]), nil
	case utf8.Valid(data):
		return string(data), nil
	}
	r := make([]rune, len(data))
	for i, b := range data {
		r[i] = rune(b)
	}
	return string(r), nil
}

// parseRegFile parses a regedit export: the header line, [KEY] lines,
// "name"=value lines (values continued over lines ending in a
// backslash), comments (;) and blank lines.
func parseRegFile(data []byte, file string) ([]regValue, error) {
	text, err := decodeRegText(data, file)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(text, "\n")
	i := 0
	next := func() (string, int) { // the next logical line and its first line number
		start := i + 1
		var b strings.Builder
		for i < len(lines) {
			l := strings.TrimRight(lines[i], "\r")
			i++
			if b.Len() > 0 {
				l = strings.TrimLeft(l, " \t")
			}
			if t := strings.TrimRight(l, " \t"); strings.HasSuffix(t, `\`) && !strings.HasPrefix(strings.TrimSpace(b.String()+t), ";") && continues(b.String()+t) {
				b.WriteString(t[:len(t)-1])
				continue
			}
			b.WriteString(l)
			break
		}
		return b.String(), start
	}
	// The header: the first non-blank line.
	unicode, header := false, false
	for !header && i < len(lines) {
		l, n := next()
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		switch l {
		case "Windows Registry Editor Version 5.00":
			unicode = true
		case "REGEDIT4":
		default:
			return nil, regError(file, n, "not a regedit export: the first line is %q, want \"Windows Registry Editor Version 5.00\" or \"REGEDIT4\"", clip(l))
		}
		header = true
	}
	if !header {
		return nil, fmt.Errorf("%s: empty, not a regedit export", file)
	}
	var (
		out []regValue
		key string
	)
	for i < len(lines) {
		l, n := next()
		t := strings.TrimSpace(l)
		switch {
		case t == "" || strings.HasPrefix(t, ";"):
			continue
		case strings.HasPrefix(t, "["):
			if !strings.HasSuffix(t, "]") {
				return nil, regError(file, n, "a key line without its closing ]: %q", clip(t))
			}
			key = t[1 : len(t)-1]
			if strings.HasPrefix(key, "-") {
				out = append(out, regValue{file: file, line: n, key: key[1:], typ: -1, deleted: true})
				key = ""
			}
			continue
		}
		if key == "" {
			return nil, regError(file, n, "a value outside a [KEY] section: %q", clip(t))
		}
		v, err := parseRegValue(t, unicode)
		if err != nil {
			return nil, regError(file, n, "%v", err)
		}
		v.file, v.line, v.key = file, n, key
		out = append(out, v)
	}
	return out, nil
}

// continues reports whether a line ending in a backslash continues on the
// next line: true for hex data (regedit wraps only those), false for a
// string value or key name that ends in a backslash.
func continues(l string) bool {
	_, val, ok := cutValue(l)
	return ok && strings.HasPrefix(val, "hex")
}

// cutValue splits `"name"=value` or `@=value` at the = after the name.
func cutValue(l string) (name, value string, ok bool) {
	if strings.HasPrefix(l, "@=") {
		return "", l[2:], true
	}
	if !strings.HasPrefix(l, `"`) {
		return "", "", false
	}
	for j := 1; j < len(l); j++ {
		switch l[j] {
		case '\\':
			j++
		case '"':
			rest := strings.TrimLeft(l[j+1:], " \t")
			if !strings.HasPrefix(rest, "=") {
				return "", "", false
			}
			n, err := unquoteReg(l[:j+1])
			if err != nil {
				return "", "", false
			}
			return n, strings.TrimLeft(rest[1:], " \t"), true
		}
	}
	return "", "", false
}

// unquoteReg decodes a regedit string: "..." with \\ and \" escapes.
func unquoteReg(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", errors.New("want a quoted string")
	}
	var b strings.Builder
	for j := 1; j < len(s)-1; j++ {
		c := s[j]
		if c == '\\' {
			if j+1 >= len(s)-1 {
				return "", errors.New("a string ending in a lone backslash")
			}
			j++
			c = s[j]
		} else if c == '"' {
			return "", errors.New("an unescaped \" inside a string")
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func parseRegValue(l string, unicode bool) (regValue, error) {
	name, val, ok := cutValue(l)
	if !ok {
		return regValue{}, fmt.Errorf("want \"NAME\"=VALUE or @=VALUE, got %q", clip(l))
	}
	v := regValue{name: name}
	switch {
	case val == "-":
		v.typ = -1
	case strings.HasPrefix(val, `"`):
		s, err := unquoteReg(val)
		if err != nil {
			return v, fmt.Errorf("value %q: %v", name, err)
		}
		v.typ, v.str = regSZ, s
	case strings.HasPrefix(strings.ToLower(val), "dword:"):
		h := val[len("dword:"):]
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil || len(h) == 0 || len(h) > 8 {
			return v, fmt.Errorf("value %q: dword:%s is not up to 8 hex digits", name, clip(h))
		}
		v.typ, v.num = regDWORD, n
	case strings.HasPrefix(strings.ToLower(val), "hex"):
		typ := regBinary
		rest := val[3:]
		if strings.HasPrefix(rest, "(") {
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return v, fmt.Errorf("value %q: hex( without )", name)
			}
			t, err := strconv.ParseUint(rest[1:end], 16, 32)
			if err != nil {
				return v, fmt.Errorf("value %q: bad type hex(%s)", name, rest[1:end])
			}
			typ, rest = int(t), rest[end+1:]
		}
		if !strings.HasPrefix(rest, ":") {
			return v, fmt.Errorf("value %q: want hex:BYTES or hex(T):BYTES", name)
		}
		raw, err := parseHexBytes(rest[1:])
		if err != nil {
			return v, fmt.Errorf("value %q: %v", name, err)
		}
		v.typ, v.raw = typ, raw
		switch typ {
		case regMultiSZ:
			v.strs, v.after = splitMultiSZ(decodeRegString(raw, unicode))
		case regExpandSZ, regSZ:
			s := decodeRegString(raw, unicode)
			v.str, _, _ = strings.Cut(s, "\x00")
		case regDWORD:
			if len(raw) != 4 {
				return v, fmt.Errorf("value %q: a REG_DWORD of %d bytes", name, len(raw))
			}
			v.num = uint64(raw[0]) | uint64(raw[1])<<8 | uint64(raw[2])<<16 | uint64(raw[3])<<24
		case regQWORD:
			if len(raw) != 8 {
				return v, fmt.Errorf("value %q: a REG_QWORD of %d bytes", name, len(raw))
			}
			for k := 7; k >= 0; k-- {
				v.num = v.num<<8 | uint64(raw[k])
			}
		}
	default:
		return v, fmt.Errorf("value %q: unknown value syntax %q (want \"string\", dword:, hex: or hex(T):)", name, clip(val))
	}
	return v, nil
}

// parseHexBytes decodes "41,00,42,00" (spaces allowed, empty allowed).
func parseHexBytes(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]byte, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		b, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) == 0 || len(p) > 2 {
			return nil, fmt.Errorf("bad hex byte %q", clip(p))
		}
		out = append(out, byte(b))
	}
	return out, nil
}

// decodeRegString decodes the bytes of a string value: UTF-16LE in a
// version 5 export, ANSI (Latin-1) in REGEDIT4.
func decodeRegString(raw []byte, unicode bool) string {
	if !unicode {
		r := make([]rune, len(raw))
		for i, b := range raw {
			r[i] = rune(b)
		}
		return string(r)
	}
	u := make([]uint16, len(raw)/2)
	for i := range u {
		u[i] = uint16(raw[2*i]) | uint16(raw[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// splitMultiSZ splits REG_MULTI_SZ text at its NULs, up to the empty
// string that ends it, as Windows reads it; after are the non-empty
// strings behind that end (data regedit would not write).
func splitMultiSZ(s string) (strs, after []string) {
	parts := strings.Split(s, "\x00")
	for i, p := range parts {
		if p == "" {
			for _, q := range parts[i+1:] {
				if q != "" {
					after = append(after, q)
				}
			}
			break
		}
		strs = append(strs, p)
	}
	return strs, after
}

// The registry keys import-reg reads.
const (
	keyLanman = `Services\LanmanServer\Parameters`
	keyLsa    = `Control\Lsa`
)

// knownKey names the key (keyLanman, keyLsa) a .reg key path is, or "".
// It accepts HKEY_LOCAL_MACHINE or HKLM, CurrentControlSet or
// ControlSetNNN, in any case.
func knownKey(path string) string {
	p := strings.ToUpper(strings.TrimSpace(path))
	for _, root := range []string{`HKEY_LOCAL_MACHINE\`, `HKLM\`} {
		p = strings.TrimPrefix(p, root)
	}
	rest, ok := strings.CutPrefix(p, `SYSTEM\`)
	if !ok {
		return ""
	}
	cs, rest, ok := strings.Cut(rest, `\`)
	if !ok || (cs != "CURRENTCONTROLSET" && !(strings.HasPrefix(cs, "CONTROLSET") && len(cs) == 13)) {
		return ""
	}
	switch rest {
	case strings.ToUpper(keyLanman):
		return keyLanman
	case strings.ToUpper(keyLsa):
		return keyLsa
	}
	return ""
}

// A regSetting maps one registry value to one TOML key.
type regSetting struct {
	key, value  string // registry key (keyLanman, keyLsa) and value name
	table, toml string // TOML table ("" top level) and key
	conv        func(regValue) (literal, note string, err error)
}

var regSettings = []regSetting{
	{keyLanman, "RestrictNullSessAccess", "LanmanServer", "RestrictNullSessAccess", dwordFlag},
	{keyLanman, "NullSessionPipes", "LanmanServer", "NullSessionPipes", multiSZ},
	{keyLanman, "RequireSecuritySignature", "", "signing", func(v regValue) (string, string, error) {
		n, err := dword(v)
		if n != 0 {
			return `"required"`, "", err
		}
		return `"enabled"`, "", err
	}},
	{keyLanman, "EncryptData", "", "encryption", func(v regValue) (string, string, error) {
		n, err := dword(v)
		if n != 0 {
			return `"required"`, "EncryptData 1: smbpipe then also refuses unencrypted access (RejectUnencryptedAccess)", err
		}
		return `"enabled"`, "", err
	}},
	{keyLanman, "EncryptionCiphers", "", "encryption_ciphers", func(v regValue) (string, string, error) {
		if v.typ != regSZ {
			return "", "", fmt.Errorf("want REG_SZ, got %s", regTypeName(v.typ))
		}
		var names []string
		for _, c := range strings.Split(v.str, ",") {
			if c = strings.TrimSpace(c); c != "" {
				names = append(names, strings.ReplaceAll(strings.ToUpper(c), "_", "-"))
			}
		}
		return tomlStrings(names), "", nil
	}},
	{keyLanman, "Smb2CreditsMax", "limits", "max_credits", func(v regValue) (string, string, error) {
		n, err := dword(v)
		return strconv.FormatUint(n, 10), "", err
	}},
	{keyLanman, "AutoDisconnect", "limits", "idle_timeout", func(v regValue) (string, string, error) {
		n, err := dword(v)
		if err == nil && (n == 0 || n == 0xFFFFFFFF) {
			return "", "", errSkip(fmt.Sprintf("AutoDisconnect %d (never or at once) has no idle_timeout equivalent", int32(n)))
		}
		return tomlString(fmt.Sprintf("%dm", n)), "", err
	}},
	{keyLsa, "EveryoneIncludesAnonymous", "Lsa", "EveryoneIncludesAnonymous", dwordFlag},
	{keyLsa, "RestrictAnonymous", "Lsa", "RestrictAnonymous", func(v regValue) (string, string, error) {
		n, err := dword(v)
		if err == nil && n > 2 {
			return "", "", fmt.Errorf("RestrictAnonymous %d: want 0, 1 or 2", n)
		}
		return strconv.FormatUint(n, 10), "", err
	}},
	{keyLsa, "RestrictAnonymousSAM", "Lsa", "RestrictAnonymousSAM", dwordFlag},
	{keyLsa, "TurnOffAnonymousBlock", "Lsa", "TurnOffAnonymousBlock", dwordFlag},
	{keyLsa, "RestrictRemoteSAM", "Lsa", "RestrictRemoteSAM", func(v regValue) (string, string, error) {
		if v.typ != regSZ {
			return "", "", fmt.Errorf("want REG_SZ, got %s", regTypeName(v.typ))
		}
		return tomlString(v.str), "", nil
	}},
}

// errSkip is a known value that is ignored with a reason.
type errSkip string

func (e errSkip) Error() string { return string(e) }

// ignoredWhy explains values of the two keys that smbpipe deliberately
// has no setting for; any other value is "no smbpipe setting".
var ignoredWhy = map[string]string{
	"NULLSESSIONSHARES":             "smbpipe serves IPC$ only",
	"SMB1":                          "smbpipe speaks SMB2 and SMB3 only",
	"SMB2":                          "smbpipe always speaks SMB2 and SMB3",
	"ENABLESECURITYSIGNATURE":       "smbpipe always offers signing (signing = \"enabled\")",
	"REJECTUNENCRYPTEDACCESS":       "smbpipe's encryption = \"required\" (EncryptData 1) always rejects it",
	"LMCOMPATIBILITYLEVEL":          "smbpipe accepts NTLMv2 only (level 5)",
	"NOLMHASH":                      "smbpipe stores no LM hash",
	"SRVCOMMENT":                    "smbpipe has no server comment",
	"SIZE":                          "smbpipe sizes its buffers by [limits]",
	"ENABLEFORCEDLOGOFF":            "smbpipe has no logon hours",
	"ENABLEAUTHENTICATEUSERSHARING": "smbpipe serves IPC$ only",
}

func dword(v regValue) (uint64, error) {
	if v.typ != regDWORD {
		return 0, fmt.Errorf("want REG_DWORD, got %s", regTypeName(v.typ))
	}
	return v.num, nil
}

// dwordFlag is a 0/1 setting; Windows reads any non-zero value as 1.
func dwordFlag(v regValue) (string, string, error) {
	n, err := dword(v)
	if n > 1 {
		return "1", fmt.Sprintf("%d read as 1, as Windows does", n), err
	}
	return strconv.FormatUint(n, 10), "", err
}

func multiSZ(v regValue) (string, string, error) {
	if v.typ != regMultiSZ {
		return "", "", fmt.Errorf("want REG_MULTI_SZ (hex(7):), got %s", regTypeName(v.typ))
	}
	note := ""
	if len(v.after) > 0 {
		note = fmt.Sprintf("%q after an empty string not imported: Windows stops reading a REG_MULTI_SZ there", v.after)
	}
	return tomlStrings(v.strs), note, nil
}

// tomlString is s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7F:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func tomlStrings(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = tomlString(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// imported is one setting taken from a .reg file.
type imported struct {
	table, key, literal string
	from                string // FILE:LINE
	note                string
}

// regImport collects the settings and the ignored values of the files.
type regImport struct {
	set     []imported // in regSettings order once sorted
	ignored []string   // "FILE:LINE: KEY\NAME = VALUE (TYPE): why"
}

func (imp *regImport) add(vals []regValue) error {
	for _, v := range vals {
		k := knownKey(v.key)
		if v.deleted {
			imp.ignored = append(imp.ignored, fmt.Sprintf("%s: [-%s] (a key deletion): ignored", v.where(), v.key))
			continue
		}
		name := v.name
		if name == "" {
			name = "@"
		}
		if k == "" {
			imp.ignored = append(imp.ignored, fmt.Sprintf("%s: %s\\%s = %s (%s): ignored, not a key smbpipe imports", v.where(), shortKey(v.key), name, v.describe(), regTypeName(v.typ)))
			continue
		}
		var s *regSetting
		for i := range regSettings {
			if regSettings[i].key == k && strings.EqualFold(regSettings[i].value, v.name) {
				s = &regSettings[i]
			}
		}
		if s == nil {
			why := ignoredWhy[strings.ToUpper(v.name)]
			if why == "" {
				why = "no smbpipe setting"
			}
			imp.ignored = append(imp.ignored, fmt.Sprintf("%s: %s\\%s = %s (%s): ignored, %s", v.where(), k, name, v.describe(), regTypeName(v.typ), why))
			continue
		}
		if v.typ == -1 {
			imp.ignored = append(imp.ignored, fmt.Sprintf("%s: %s\\%s = - (a deletion): ignored, the TOML default applies when the key is absent", v.where(), k, name))
			continue
		}
		lit, note, err := s.conv(v)
		var skip errSkip
		if errors.As(err, &skip) {
			imp.ignored = append(imp.ignored, fmt.Sprintf("%s: %s\\%s = %s: ignored, %s", v.where(), k, name, v.describe(), skip))
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %s\\%s: %v", v.where(), k, s.value, err)
		}
		imp.put(imported{table: s.table, key: s.toml, literal: lit, from: v.where(), note: note})
	}
	return nil
}

// put records a setting; a later file's value replaces an earlier one.
func (imp *regImport) put(x imported) {
	for i := range imp.set {
		if imp.set[i].table == x.table && imp.set[i].key == x.key {
			imp.set[i] = x
			return
		}
	}
	imp.set = append(imp.set, x)
}

// shortKey drops HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\ from a
// key path for the comments.
func shortKey(k string) string {
	if len(k) > 80 {
		return "..." + k[len(k)-77:]
	}
	return k
}

// tables is the order of the tables in the output: top-level keys first,
// as TOML requires.
var tables = []string{"", "LanmanServer", "Lsa", "limits"}

// toml renders the settings as a config file.
func (imp *regImport) toml(files []string) string {
	var b strings.Builder
	bases := make([]string, len(files))
	for i, f := range files {
		bases[i] = filepath.Base(f)
	}
	fmt.Fprintf(&b, "# Imported by smbpipe import-reg from %s.\n", strings.Join(bases, ", "))
	if len(imp.ignored) > 0 {
		fmt.Fprintf(&b, "#\n# Values not imported:\n")
		for _, l := range imp.ignored {
			fmt.Fprintf(&b, "#   %s\n", l)
		}
	}
	if len(imp.set) == 0 {
		b.WriteString("#\n# No setting smbpipe has was found.\n")
	}
	for _, t := range tables {
		first := true
		for _, x := range imp.set {
			if x.table != t {
				continue
			}
			if first {
				b.WriteByte('\n')
				if t != "" {
					fmt.Fprintf(&b, "[%s]\n", t)
				}
				first = false
			}
			fmt.Fprintf(&b, "%s = %s %s\n", x.key, x.literal, x.comment())
		}
	}
	return b.String()
}

func (x imported) comment() string {
	if x.note != "" {
		return "# " + x.from + "; " + x.note
	}
	return "# " + x.from
}

// checkTOML loads text as serve would.
func checkTOML(text, name string) error {
	cfg, err := policy.Parse([]byte(text), name)
	if err != nil {
		return err
	}
	_, err = policy.Compile(cfg)
	return err
}

// mergeInto updates the config at path with the settings, keeping the
// rest of the file, and lists the ignored values on stderr.
func (imp *regImport) mergeInto(path string, stderr io.Writer) int {
	fi, err := os.Stat(path)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe import-reg: --merge: %v\n", err)
		return 1
	}
	old, err := readLimited(path, 16<<20)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe import-reg: --merge: %v\n", err)
		return 1
	}
	merged := mergeTOML(string(old), imp.set)
	if err := checkTOML(merged, path); err != nil {
		fmt.Fprintf(stderr, "smbpipe import-reg: %s left unchanged; with the imported settings it would not load:\n", path)
		for _, l := range problemLines(err) {
			fmt.Fprintf(stderr, "  %s\n", l)
		}
		return 1
	}
	for _, l := range imp.ignored {
		fmt.Fprintf(stderr, "%s\n", l)
	}
	if merged == string(old) {
		fmt.Fprintf(stderr, "%s: unchanged\n", path)
		return 0
	}
	// Replace the file a symbolic link points to, not the link, and keep
	// its owner, group and mode.
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe import-reg: --merge: %v\n", err)
		return 1
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".import-reg-*")
	if err == nil {
		_, err = tmp.WriteString(merged)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = keepOwner(tmp.Name(), fi)
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), fi.Mode().Perm())
		}
		if err == nil {
			err = os.Rename(tmp.Name(), target)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "smbpipe import-reg: --merge: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "%s: %d settings imported\n", path, len(imp.set))
	return 0
}

// mergeTOML sets each setting in the TOML text: a key already in its
// table has its value replaced (a trailing comment kept, a multi-line
// array's lines replaced); a missing key is added after the last key of
// its table (top-level keys before the first table), a missing table at
// the end. Every other line stays as it was. The lines it writes end as
// the file's first line does (CRLF in a file edited on Windows).
func mergeTOML(text string, set []imported) string {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	eol := "\n"
	if len(lines) > 0 && strings.HasSuffix(lines[0], "\r\n") {
		eol = "\r\n"
	}
	if len(lines) > 0 && !strings.HasSuffix(lines[len(lines)-1], "\n") {
		lines[len(lines)-1] += eol
	}
	for _, x := range set {
		lines = mergeOne(lines, x, eol)
	}
	return strings.Join(lines, "")
}

// tomlTable is the table a header line opens ("[[pipe]]" for an array of
// tables), and whether the line is a header.
func tomlTable(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "[") {
		return "", false
	}
	if i := strings.Index(t, "#"); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	if strings.HasPrefix(t, "[[") {
		return t, true
	}
	return strings.TrimSpace(strings.Trim(t, "[]")), true
}

// keyOf is the bare key a "key = value" line sets, or "".
func keyOf(line string) string {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' || t[0] == '[' {
		return ""
	}
	k, _, ok := strings.Cut(t, "=")
	if !ok {
		return ""
	}
	return strings.Trim(strings.TrimSpace(k), `"`)
}

func mergeOne(lines []string, x imported, eol string) []string {
	newLine := fmt.Sprintf("%s = %s # import-reg: %s%s", x.key, x.literal, x.from, eol)
	table := ""
	lastKey := -1     // last key line of x.table
	tableStart := -1  // its header line (-1: top level or absent)
	firstHeader := -1 // the first header of the file
	for i := 0; i < len(lines); i++ {
		if t, ok := tomlTable(lines[i]); ok {
			table = t
			if firstHeader < 0 {
				firstHeader = i
			}
			if strings.EqualFold(t, x.table) {
				tableStart = i
			}
			continue
		}
		if !strings.EqualFold(table, x.table) {
			continue
		}
		k := keyOf(lines[i])
		if k == "" {
			continue
		}
		end := valueEnd(lines, i)
		if !strings.EqualFold(k, x.key) {
			lastKey = end
			i = end
			continue
		}
		// Keep the administrator's comment, not an earlier import's note.
		c := trailingComment(lines[end])
		if j := strings.Index(c, "# import-reg:"); j >= 0 {
			c = c[:j]
		}
		c = strings.TrimSpace(c) // as a second merge will find it
		if c != "" {
			newLine = fmt.Sprintf("%s = %s %s # import-reg: %s%s", x.key, x.literal, c, x.from, eol)
		}
		indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
		out := append([]string{}, lines[:i]...)
		out = append(out, indent+newLine)
		return append(out, lines[end+1:]...)
	}
	insertAt := -1
	switch {
	case lastKey >= 0:
		insertAt = lastKey + 1
	case x.table == "" && firstHeader >= 0:
		// Before the first table and the comment lines right above it.
		insertAt = firstHeader
		for insertAt > 0 && strings.HasPrefix(strings.TrimSpace(lines[insertAt-1]), "#") {
			insertAt--
		}
		out := append([]string{}, lines[:insertAt]...)
		out = append(out, newLine)
		if insertAt == 0 || strings.TrimSpace(lines[insertAt]) != "" {
			out = append(out, eol)
		}
		return append(out, lines[insertAt:]...)
	case x.table == "":
		insertAt = len(lines)
	case tableStart >= 0:
		insertAt = tableStart + 1
	default:
		return append(lines, eol, "["+x.table+"]"+eol, newLine)
	}
	out := append([]string{}, lines[:insertAt]...)
	out = append(out, newLine)
	return append(out, lines[insertAt:]...)
}

// valueEnd is the last line of the value that starts at line i: the same
// line, or for an array opened and not closed there, the line that
// closes it (strings and comments skipped).
func valueEnd(lines []string, i int) int {
	depth := 0
	for j := i; j < len(lines); j++ {
		l := lines[j]
		if j == i {
			_, l, _ = strings.Cut(l, "=")
		}
		scanCode(l, func(c byte) {
			switch c {
			case '[':
				depth++
			case ']':
				depth--
			}
		})
		if depth <= 0 {
			return j
		}
	}
	return len(lines) - 1
}

// trailingComment is the "# ..." after a value on its line, or "".
func trailingComment(line string) string {
	if k := scanCode(line, nil); k < len(line) {
		return strings.TrimRight(line[k:], "\r\n")
	}
	return ""
}

// scanCode calls code (when not nil) with each byte of a TOML line outside
// its strings (quotes excluded), up to its comment, and returns where the
// comment starts (len(line) without one).
func scanCode(line string, code func(c byte)) int {
	inStr := byte(0)
	for k := 0; k < len(line); k++ {
		c := line[k]
		switch {
		case inStr != 0:
			if c == '\\' && inStr == '"' {
				k++
			} else if c == inStr {
				inStr = 0
			}
		case c == '"' || c == '\'':
			inStr = c
		case c == '#':
			return k
		case code != nil:
			code(c)
		}
	}
	return len(line)
}
