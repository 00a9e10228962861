package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

func TestDecodeLenient(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // literal segments, after the whole-body one
	}{
		{"escaped word in truncated JSON", `{"messages":[{"role":"user","content":"\u0042LOCKME`, []string{"messages", "role", "user", "content", "BLOCKME"}},
		{"escapes of every kind", `x "a\"b\\c\/d\b\f\n\r\t\ud83d\ude00" y`, []string{"a\"b\\c/d\b\f\n\r\t😀"}},
		{"lone surrogates and bad escapes become U+FFFD, letters kept", `"\ud800A \udc00 \qB \u12G4 \`, []string{"\uFFFDA \uFFFD \uFFFDqB \uFFFDu12G4 \uFFFD"}},
		{"single quotes and \\x, \\U escapes", `{'k': '\x42LOCK\U0000004dE', "it's": 1}`, []string{"k", "\x42LOCKME", "it's"}},
		{"invalid UTF-8 in a literal", "\"a\xffb\"", []string{"a\uFFFDb"}},
		{"empty literals are not segments", `"" ''`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			d, err := DecodeLenient(body, pipeline.Request, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := DecodeRequest(PlainText, body, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			segs := d.Segments()
			if len(segs) == 0 || segs[0] != plain.Segments()[0] {
				t.Fatalf("segment 0 is not the PlainText segment: %q", segLines(d))
			}
			var got []string
			for i, s := range segs[1:] {
				if s.Role != pipeline.RoleUnknown || s.Provenance != pipeline.FromUser || !strings.HasPrefix(s.Field, "body.literal[") {
					t.Errorf("literal %d: %+v", i, s)
				}
				got = append(got, s.Text)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("literals:\n got  %q\n want %q", got, tt.want)
			}
			if d.API() != PlainText || d.Meta().API != string(PlainText) {
				t.Errorf("api %q", d.API())
			}
		})
	}
}

func TestDecodeLenientRewrite(t *testing.T) {
	body := []byte(`{"content":"my key \u0041KIA123", broken`)
	d, err := DecodeLenient(body, pipeline.Request, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := d.Rewrite(nil); err != nil || !bytes.Equal(out, body) {
		t.Fatalf("identity rewrite: %v", err)
	}
	// The raw text is written back byte for byte, as for PlainText.
	i := strings.Index(d.Segments()[0].Text, "broken")
	out, err := d.Rewrite([]pipeline.Redaction{{Span: pipeline.Span{Segment: 0, Start: i, End: i + 6}, With: "[X]"}})
	if err != nil || string(out) != `{"content":"my key \u0041KIA123", [X]` {
		t.Fatalf("got %s, %v", out, err)
	}
	// A decoded literal has no place to write to: Rewrite refuses and the
	// transport blocks.
	lit := len(d.Segments()) - 1
	if d.Segments()[lit].Text != "my key AKIA123" {
		t.Fatalf("literal %q", d.Segments()[lit].Text)
	}
	if _, err := d.Rewrite([]pipeline.Redaction{{Span: pipeline.Span{Segment: lit, Start: 7, End: 14}, With: "[KEY]"}}); err == nil {
		t.Fatal("rewrite of a decoded literal: want an error")
	}
}

func TestDecodeLenientLimits(t *testing.T) {
	if _, err := DecodeLenient([]byte("hello"), pipeline.Request, Limits{MaxBytes: 4}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over MaxBytes: %v", err)
	}
	many := []byte(strings.Repeat(`"a",`, 10))
	if _, err := DecodeLenient(many, pipeline.Request, Limits{MaxNodes: 9}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over MaxNodes: %v", err)
	}
	if d, err := DecodeLenient(many, pipeline.Response, Limits{MaxNodes: 10}); err != nil || len(d.Segments()) != 11 || d.Segments()[1].Provenance != pipeline.FromModel {
		t.Errorf("at MaxNodes: %v", err)
	}
	d, err := DecodeLenient(nil, pipeline.Request, Limits{})
	if err != nil || len(d.Segments()) != 0 {
		t.Errorf("empty body: %v, %d segments", err, len(d.Segments()))
	}
}

// TestPlainTextUnchanged: DecodeRequest/DecodeResponse(PlainText) still
// make one segment; only DecodeLenient adds literals.
func TestPlainTextUnchanged(t *testing.T) {
	d, err := DecodeResponse(PlainText, []byte(`{"a":"\u0042"`), Limits{})
	if err != nil || !slices.Equal(segLines(d), []string{`unknown|model_output|body|{"a":"\u0042"`}) {
		t.Fatalf("got %q, %v", segLines(d), err)
	}
}

// FuzzDecodeLenient: no panic; texts are valid UTF-8; segment 0 is the
// PlainText segment and rewrites like it; a literal encoding/json reads
// decodes to what encoding/json reads.
func FuzzDecodeLenient(f *testing.F) {
	addFixtureSeeds(f, func(b []byte) { f.Add(b) })
	for _, s := range []string{`{"a":"\u0042LOCKME`, `'\x41\U0001F600' "\ud800"`, "\"\\", `"\"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeLenient(body, pipeline.Request, Limits{})
		if err != nil {
			if !errors.Is(err, ErrTooLarge) { // over the literal cap
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if out, err := d.Rewrite(nil); err != nil || !bytes.Equal(out, body) {
			t.Fatalf("identity rewrite changed the body (err %v)", err)
		}
		for i, s := range d.Segments() {
			if !utf8.ValidString(s.Text) {
				t.Fatalf("segment %d is not valid UTF-8", i)
			}
			if i == 0 {
				continue
			}
			loc := d.locs[i]
			lit := body[loc.start:loc.end]
			var v string
			if lit[0] == '"' && json.Unmarshal(lit, &v) == nil && v != s.Text {
				t.Fatalf("literal %d: %q, encoding/json reads %q", i, s.Text, v)
			}
		}
		if len(d.Segments()) > 0 {
			seg := d.Segments()[0].Text
			if _, err := d.Rewrite([]pipeline.Redaction{{Span: pipeline.Span{Segment: 0, Start: 0, End: len(seg)}, With: "x"}}); err != nil {
				t.Fatalf("rewrite of the raw segment: %v", err)
			}
		}
	})
}
