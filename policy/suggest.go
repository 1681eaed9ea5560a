package policy

import (
	"reflect"
	"strings"
)

// The config errors a person reads: "did you mean" for an unknown key, and
// TOML type errors in TOML's words rather than Go's.

// knownKeys lists the keys of a table of rawConfig by path ("" the top
// level, "lsa", "pipe"), lower-cased.
func knownKeys(table []string) []string {
	t := reflect.TypeOf(rawConfig{})
	for _, part := range table {
		found := false
		for i := 0; i < t.NumField(); i++ {
			if strings.EqualFold(t.Field(i).Tag.Get("toml"), part) {
				t = t.Field(i).Type
				found = true
				break
			}
		}
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if !found || t.Kind() != reflect.Struct {
			return nil
		}
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if k := t.Field(i).Tag.Get("toml"); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// suggestKey returns the known key closest to the unknown key path (its
// last element), or "" when none is close.
func suggestKey(path []string) string {
	if len(path) == 0 {
		return ""
	}
	// Array tables ("pipe.0.nmae" has no index in go-toml's path, but be safe).
	var table []string
	for _, p := range path[:len(path)-1] {
		if p != "" && (p[0] < '0' || p[0] > '9') {
			table = append(table, p)
		}
	}
	name := path[len(path)-1]
	best, bestD := "", 0
	for _, k := range knownKeys(table) {
		if strings.EqualFold(k, name) {
			return k
		}
		d := editDistance(strings.ToLower(k), strings.ToLower(name))
		if best == "" || d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" || bestD > 2+len(name)/4 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (bytes; keys are
// ASCII, and a key too long to be one is far from every key anyway).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unknownKeyMsg is the message of an unknown key, with the closest known
// key when there is one.
func unknownKeyMsg(path []string) string {
	if s := suggestKey(path); s != "" {
		return "unknown key (did you mean " + s + "?)"
	}
	return "unknown key"
}

// plainTOMLError rewrites go-toml's decode messages, which name Go types
// ("cannot decode TOML string into struct field policy.rawConfig.Listen of
// type *int"), in TOML's terms ("want an integer, got a string").
func plainTOMLError(msg string) string {
	msg = strings.TrimPrefix(msg, "toml: ")
	from, into, ok := strings.Cut(strings.TrimPrefix(msg, "cannot decode TOML "), " into ")
	if !ok || !strings.HasPrefix(msg, "cannot decode TOML ") {
		if i := strings.Index(msg, " of type "); i >= 0 {
			return msg[:i]
		}
		return msg
	}
	want := "another type"
	typ := into[strings.LastIndex(into, " ")+1:]
	switch strings.TrimLeft(typ, "*[]") {
	case "string":
		want = "a string"
	case "int", "int64", "uint32":
		want = "an integer"
	case "bool":
		want = "true or false"
	}
	if strings.Contains(typ, "[]") {
		want = "an array"
	} else if strings.Contains(into, "struct") && !strings.Contains(into, "field") {
		want = "a table"
	}
	return "want " + want + ", got a TOML " + from
}
