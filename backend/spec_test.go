package backend

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestFromSpec(t *testing.T) {
	tests := []struct {
		spec string
		want string // the handler's String(), "echo" for echo, "" for an error
	}{
		{"echo", "echo"},
		{"tcp:127.0.0.1:9000", "tcp:127.0.0.1:9000"},
		{"tcp:[::1]:9000", "tcp:[::1]:9000"},
		{"tcp:localhost:http", "tcp:localhost:http"},
		{"unix:/run/x.sock", "unix:/run/x.sock"},
		{"exec:cat", "exec:cat"},
		{`exec:  sh  -c 'echo "$X"'  `, `exec:sh -c echo "$X"`},
		{"echo:x", ""},
		{"tcp:127.0.0.1", ""},
		{"tcp:", ""},
		{"unix:", ""},
		{"exec:", ""},
		{"exec:   ", ""},
		{`exec:sh -c 'unterminated`, ""},
		{"ftp:host", ""},
		{"", ""},
		{"ECHO", ""},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			h, err := FromSpec(tt.spec, nil)
			if tt.want == "" {
				if !errors.Is(err, ErrBadSpec) {
					t.Fatalf("FromSpec = %v, %v; want ErrBadSpec", h, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := "echo"
			if s, ok := h.(interface{ String() string }); ok {
				got = s.String()
			}
			if got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"  a  b\tc\n", []string{"a", "b", "c"}, false},
		{`a 'b c' "d e"`, []string{"a", "b c", "d e"}, false},
		{`'' ""`, []string{"", ""}, false},
		{`a\ b`, []string{"a b"}, false},
		{`"a\"b" 'a\b'`, []string{`a"b`, `a\b`}, false},
		{`x'y'"z"`, []string{"xyz"}, false},
		{`a\`, nil, true},
		{`'a`, nil, true},
		{`"a`, nil, true},
	}
	for _, tt := range tests {
		got, err := SplitArgs(tt.in)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// FuzzSplitArgs checks that SplitArgs never panics and that quoting every
// word it returns with single quotes reads back the same words.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"", "cat", `sh -c 'echo "$X"'`, `a\ b "c\"d"`, `'`, `\`, "a\tb\nc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := SplitArgs(s)
		if err != nil {
			return
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		again, err := SplitArgs(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(again, args) {
			t.Fatalf("round trip of %q: %q -> %q, %v", s, args, again, err)
		}
	})
}

// FuzzFromSpec checks that FromSpec never panics and either fails with
// ErrBadSpec or returns a handler.
func FuzzFromSpec(f *testing.F) {
	for _, s := range []string{"echo", "tcp:127.0.0.1:1", "unix:/x", "exec:cat -u", "exec:'", "tcp:[::1", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := FromSpec(s, nil)
		if (err == nil) == (h == nil) || (err != nil && !errors.Is(err, ErrBadSpec)) {
			t.Fatalf("FromSpec(%q) = %v, %v", s, h, err)
		}
	})
}
