package ntname

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// sambaUpcaseSHA256 is the SHA-256 of Samba's upcase_table
// (lib/util/charset/codepoints.c, 65536 entries, each as 2 bytes little
// endian), the NT upcase table Samba measured against a Windows server
// (source3/torture/utable.c, torture_casetable) and smbd uses for names.
// Computed from samba-team/samba 4614f04b06292dac1960cc4322ef29ae72431e4d;
// 636 of its entries change the unit.
const (
	sambaUpcaseSHA256 = "19442bdd7623101de9e217a943b103283406ff96d332f6e7ca4e1fe06e111a53"
	sambaUpcaseMapped = 636
)

func TestTableMatchesSamba(t *testing.T) {
	b := make([]byte, 0, 2<<16)
	mapped := 0
	for c := range 1 << 16 {
		u := UpcaseUnit(uint16(c))
		b = binary.LittleEndian.AppendUint16(b, u)
		if u != uint16(c) {
			mapped++
		}
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != sambaUpcaseSHA256 || mapped != sambaUpcaseMapped {
		t.Fatalf("table (Unicode %s) has hash %s and %d mappings; Samba's has %s and %d. "+
			"A regenerated table must keep NT's mappings: add the new pairs to notInNT in gen.go",
			unicodeVersion, got, mapped, sambaUpcaseSHA256, sambaUpcaseMapped)
	}
}

// TestUnits pins the units where NT's table and Go's case mapping or a
// naive reading of Unicode disagree (docs/SEMANTICS.md 1.3).
func TestUnits(t *testing.T) {
	for _, tc := range []struct {
		in, want uint16
		why      string
	}{
		{'k', 'K', "ASCII"},
		{'K', 'K', "ASCII upper"},
		{'i', 'I', "ASCII i"},
		{0x212A, 0x212A, "KELVIN SIGN is its own upper case, not K"},
		{0x0130, 0x0130, "İ stays İ"},
		{0x0131, 0x0131, "dotless ı does not become I (Go's ToUpper says I)"},
		{0x017F, 0x017F, "long s ſ does not become S (Go's ToUpper says S)"},
		{0x00DF, 0x00DF, "ß: no full case mapping to SS"},
		{0x1E9E, 0x1E9E, "ẞ is upper case; ß and ẞ stay different"},
		{0x03C2, 0x03A3, "final sigma ς upcases to Σ"},
		{0x03C3, 0x03A3, "σ upcases to Σ"},
		{0x00FF, 0x0178, "ÿ upcases to Ÿ outside Latin-1"},
		{0x00B5, 0x00B5, "micro sign µ does not become Greek Μ"},
		{0x01C4, 0x01C4, "Ǆ"},
		{0x01C5, 0x01C5, "title-case ǅ stays (Go's ToUpper says Ǆ)"},
		{0x01C6, 0x01C4, "ǆ upcases to Ǆ"},
		{0x03C0, 0x03A0, "π"},
		{0x03D6, 0x03D6, "ϖ (pi symbol) stays"},
		{0x1F80, 0x1F80, "ᾀ stays (its simple upper case is title case ᾈ)"},
		{0x0101, 0x0100, "ā"},
		{0x0451, 0x0401, "ё"},
		{0x0450, 0x0450, "ѐ: a pair newer than NT's table"},
		{0x10D0, 0x10D0, "Georgian ა: Mtavruli came with Unicode 11"},
		{0x2C30, 0x2C30, "Glagolitic ⰰ: Unicode 4.1"},
		{0x2170, 0x2160, "small roman numeral ⅰ"},
		{0x24D0, 0x24B6, "circled ⓐ"},
		{0xFF41, 0xFF21, "fullwidth ａ"},
		{0xD801, 0xD801, "high surrogate"},
		{0xDC28, 0xDC28, "low surrogate"},
		{0xFFFF, 0xFFFF, "last unit"},
		{0, 0, "NUL"},
	} {
		if got := UpcaseUnit(tc.in); got != tc.want {
			t.Errorf("UpcaseUnit(U+%04X) = U+%04X, want U+%04X: %s", tc.in, got, tc.want, tc.why)
		}
	}
}

func TestUpcaseAndEqual(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", ""},
		{"ECHO", "ECHO"},
		{"echo", "ECHO"},
		{"Info", "INFO"},
		{"\u0130nfo", "\u0130NFO"},
		{"\u212aiosk", "\u212aIOSK"},
		{"\u0131nfo", "\u0131NFO"},
		{"me\u017fsage", "ME\u017fSAGE"},
		{"stra\u00dfe", "STRA\u00dfE"},
		{"\u03c3\u03c2", "\u03a3\u03a3"},
		{"sql\\query", "SQL\\QUERY"},
		{"\U00010428x", "\U00010428X"}, // a surrogate pair is not upcased
		{"a\xffb", "A\xffB"},           // invalid UTF-8 is kept byte for byte
		{"\xc3a", "\xc3A"},
		{"\xed\xa0\x80z", "\xed\xa0\x80Z"}, // an encoded surrogate is invalid UTF-8
	} {
		if got := Upcase(tc.in); got != tc.want {
			t.Errorf("Upcase(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !Equal(tc.in, tc.want) || !Equal(tc.want, tc.in) {
			t.Errorf("Equal(%q, %q) = false", tc.in, tc.want)
		}
	}

	for _, tc := range []struct {
		a, b  string
		equal bool
	}{
		{"kiosk", "KIOSK", true},
		{"kiosk", "\u212aiosk", false}, // strings.EqualFold says true
		{"Kiosk", "\u212aiosk", false},
		{"info", "\u0130nfo", false},
		{"info", "\u0131nfo", false},
		{"\u0130nfo", "\u0131nfo", false},
		{"mess", "me\u017fs", false}, // strings.EqualFold says true
		{"strasse", "stra\u00dfe", false},
		{"stra\u00dfe", "stra\u1e9ee", false},
		{"\u03c3", "\u03c2", true},
		{"\u03a3", "\u03c2", true},
		{"\u00ff", "\u0178", true},
		{"\U00010428", "\U00010400", false}, // Deseret: Go folds them, NT does not
		{"echo", "echo2", false},
		{"echo2", "echo", false},
		{"a\xff", "A\xff", true},
		{"a\xff", "a\xfe", false},
		{"\ufffd", "\xff", false}, // U+FFFD is not an invalid byte
		{"", "", true},
	} {
		if got := Equal(tc.a, tc.b); got != tc.equal {
			t.Errorf("Equal(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.equal)
		}
		if got := Upcase(tc.a) == Upcase(tc.b); got != tc.equal {
			t.Errorf("Upcase(%q) == Upcase(%q) is %v, want %v", tc.a, tc.b, got, tc.equal)
		}
	}
	// The Go trap the package exists to avoid.
	if !strings.EqualFold("k", "\u212a") || !strings.EqualFold("s", "\u017f") {
		t.Fatal("strings.EqualFold changed; revisit the package doc")
	}
}

func TestAllocs(t *testing.T) {
	upper, lower, mixed := "SRVSVC", "srvsvc", "\u0130nfo"
	if n := testing.AllocsPerRun(100, func() { _ = Upcase(upper) }); n != 0 {
		t.Errorf("Upcase of an upper-case name: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Upcase(lower) }); n > 1 {
		t.Errorf("Upcase of a lower-case name: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Equal(lower, upper) || Equal(mixed, lower) }); n != 0 {
		t.Errorf("Equal: %v allocations", n)
	}
}

// FuzzUpcase checks that Upcase is the per-code-unit map of UTF-16, that
// Equal agrees with comparing Upcase results, and that Upcase is
// idempotent.
func FuzzUpcase(f *testing.F) {
	for _, s := range []string{"echo", "\u0130nfo", "\u212aiosk", "\u03c2\u03c3", "\U00010428", "a\xffb", "sql\\query", "\u00df\u1e9e"} {
		f.Add(s, strings.ToUpper(s))
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ua := Upcase(a)
		if Upcase(ua) != ua {
			t.Fatalf("Upcase(Upcase(%q)) = %q, not %q", a, Upcase(ua), ua)
		}
		if got, want := Equal(a, b), ua == Upcase(b); got != want {
			t.Fatalf("Equal(%q, %q) = %v, Upcase equal %v", a, b, got, want)
		}
		if !Equal(a, ua) {
			t.Fatalf("Equal(%q, Upcase) = false", a)
		}
		if utf8.ValidString(a) {
			units := utf16.Encode([]rune(a))
			for i, u := range units {
				units[i] = UpcaseUnit(u)
			}
			if want := string(utf16.Decode(units)); ua != want {
				t.Fatalf("Upcase(%q) = %q, per-unit upcase gives %q", a, ua, want)
			}
		}
	})
}

var keyNames = []string{"", "echo", "ECHO", `sql\query`, "İnfo", "Kiosk", "ſ", "ß", "ẞ", "ς", "ı", "ÿ", "ǅ",
	"\xff\xfe", "a\xc3", "😀x", "\uFFFD", "Ǆǅǆ", strings.Repeat("é", 200)}

// TestAppendUpcase: keys built in a buffer are Upcase's.
func TestAppendUpcase(t *testing.T) {
	for _, s := range keyNames {
		if got, want := string(AppendUpcase(nil, s)), Upcase(s); got != want {
			t.Errorf("AppendUpcase(%q) = %q, Upcase %q", s, got, want)
		}
	}
}

func FuzzAppendUpcase(f *testing.F) {
	for _, s := range keyNames {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(AppendUpcase(nil, s)), Upcase(s); got != want {
			t.Errorf("AppendUpcase(%q) = %q, Upcase %q", s, got, want)
		}
	})
}
