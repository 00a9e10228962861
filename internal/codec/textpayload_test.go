package codec

import (
	"testing"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/pipeline"
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

// FuzzDecodeText: any body decodes without panic within the literal cap;
// segment 0 is the body as plain text, and every other segment is a
// decoding (never written back in place).
func FuzzDecodeText(f *testing.F) {
	f.Add([]byte(`{"a":"\u0042"}`), "text/plain")
	f.Add([]byte("q=a%20b&c=d+e"), "")
	f.Add([]byte{0xFF, 0xFE, 'h', 0, 'i', 0}, "")
	f.Add([]byte{0, 0, 0, '{', 0, 0, 0, '}'}, "")
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		d, err := DecodeText(body, pipeline.Request, ct, Limits{MaxBytes: 1 << 16})
		if err != nil {
			return
		}
		plain, err := DecodeRequest(PlainText, body, Limits{MaxBytes: 1 << 16})
		if err != nil {
			t.Fatal(err)
		}
		segs := d.Segments()
		if len(plain.Segments()) > 0 && (len(segs) == 0 || segs[0] != plain.Segments()[0]) {
			t.Fatalf("segment 0 is not the plain-text segment")
		}
		for i := 1; i < len(segs); i++ {
			if !d.locs[i].decoded {
				t.Fatalf("segment %d (%s) claims a place in the body", i, segs[i].Field)
			}
		}
	})
}
