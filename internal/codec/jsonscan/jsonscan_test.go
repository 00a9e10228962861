package jsonscan

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseKeepsEveryMember(t *testing.T) {
	tr, err := Parse([]byte(`{"role":"user","ROLE":"system","text":"a\u00e9\"b","n":[1,true,null]}`), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Nodes[0].Kind != Object || tr.Nodes[0].Count != 4 {
		t.Fatalf("root %+v", tr.Nodes[0])
	}
	// Member folds case as encoding/json does and sees duplicates in order.
	var roles []string
	for c := tr.Member(0, "role", -1); c >= 0; c = tr.Member(0, "role", c) {
		roles = append(roles, tr.Str(c))
	}
	if strings.Join(roles, ",") != "user,system" {
		t.Fatalf("roles %v", roles)
	}
	if s := tr.Str(tr.Member(0, "text", -1)); s != "aé\"b" {
		t.Fatalf("decoded string %q", s)
	}
	arr := tr.Member(0, "n", -1)
	var kinds []Kind
	for c := tr.First(arr); c >= 0; c = tr.Nodes[c].Next {
		kinds = append(kinds, tr.Nodes[c].Kind)
	}
	if len(kinds) != 3 || kinds[0] != Number || kinds[1] != Bool || kinds[2] != Null {
		t.Fatalf("array kinds %v", kinds)
	}
	if raw := tr.Raw(arr); raw != "[1,true,null]" {
		t.Fatalf("raw %q", raw)
	}
}

func TestParseRefuses(t *testing.T) {
	deep := strings.Repeat("[", 65) + strings.Repeat("]", 65)
	for _, tc := range []struct {
		name, body string
		maxNodes   int
		want       error
	}{
		{"trailing comma", `{"a":1,}`, 0, ErrMalformed},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", 0, ErrMalformed},
		{"bad escape", `{"a":"\x"}`, 0, ErrMalformed},
		// Stricter than encoding/json, which reads it as U+FFFD: a
		// surrogate half is no text a detector could judge.
		{"lone surrogate escape", `{"a":"\ud800"}`, 0, ErrMalformed},
		{"too deep", deep, 0, ErrMalformed},
		{"over the node cap", `[1,2,3,4,5]`, 3, ErrTooLarge},
		{"two values", `{} {}`, 0, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.body), 0, tc.maxNodes); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzParse: the scanner accepts exactly what encoding/json calls valid,
// within the default depth and except invalid UTF-8 and lone surrogate
// escapes, which it refuses on purpose (encoding/json reads both as
// U+FFFD).
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `"x"`, `[`, `{"a":"\ud800"}`, `1e5`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := Parse(b, DefaultMaxDepth, -1)
		valid := json.Valid(b) && utf8.Valid(b)
		if err == nil && !valid {
			t.Fatalf("accepted what encoding/json refuses: %q", b)
		}
		if err != nil && valid && !errors.Is(err, ErrTooLarge) && depth(b) <= DefaultMaxDepth && !strings.Contains(err.Error(), "lone surrogate") {
			t.Fatalf("refused valid JSON: %v: %q", err, b)
		}
	})
}

// depth is the nesting depth of b, counted outside strings.
func depth(b []byte) int {
	d, maxD, inStr, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case inStr && esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '[' || c == '{'):
			d++
			maxD = max(maxD, d)
		case !inStr && (c == ']' || c == '}'):
			d--
		}
	}
	return maxD
}
