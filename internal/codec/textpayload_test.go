package codec

import (
	"testing"
	"unicode/utf8"
)

func TestTextPayload(t *testing.T) {
	for _, tc := range []struct {
		in        string
		textMedia bool
		want      string
		ok        bool
	}{
		{"data:text/plain;base64,aGVsbG8gd29ybGQ=", false, "hello world", true},
		{"data:,hello%20world", false, "hello world", true},
		{"data:application/json;charset=utf-8;base64,eyJhIjoxfQ", false, `{"a":1}`, true},
		{"data:text/markdown;base64,IyB0aXRsZQ==\n", false, "# title", true},
		{"aGVsbG8=", true, "hello", true},
		// Not text: images, binary bytes, no comma, bad base64.
		{"data:image/png;base64,iVBORw0KGgo=", false, "", false},
		{"data:text/plain;base64,/w==", false, "", false},
		{"data:text/plain;base64", false, "", false},
		{"data:text/plain;base64,@@@", false, "", false},
		{"aGVsbG8=", false, "", false},
		{"https://example.com/a.txt", true, "", false},
	} {
		got, ok := textPayload(tc.in, tc.textMedia)
		if got != tc.want || ok != tc.ok {
			t.Errorf("textPayload(%q, %v) = %q, %v; want %q, %v", tc.in, tc.textMedia, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzTextPayload: no panic; a payload is valid UTF-8 and never longer
// than what it was decoded from (the size bound of the body holds).
func FuzzTextPayload(f *testing.F) {
	f.Add("data:text/plain;base64,aGVsbG8=", false)
	f.Add("data:,a%2", false)
	f.Add("aGk", true)
	f.Fuzz(func(t *testing.T, s string, textMedia bool) {
		out, ok := textPayload(s, textMedia)
		if !ok {
			return
		}
		if !utf8.ValidString(out) || len(out) > len(s) || out == "" {
			t.Fatalf("%q → %q", s, out)
		}
	})
}
