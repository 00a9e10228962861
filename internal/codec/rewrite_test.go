package codec

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

func TestRewriteKeepsOtherBytes(t *testing.T) {
	body := []byte(`{ "model" : "gpt",
  "messages": [ {"role":"system","content":"keep \u00e9 this"},
    {"role":"user","content":"my email is a@b.com and key \u0041KIA123 <tag> ok"} ],
  "extra":   "unchanged"  }`)
	d, err := DecodeRequest(OpenAIChat, body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	orig := bytes.Clone(body)
	seg := 1
	text := d.Segments()[seg].Text
	if text != "my email is a@b.com and key AKIA123 <tag> ok" {
		t.Fatalf("segment text %q", text)
	}
	email := strings.Index(text, "a@b.com")
	key := strings.Index(text, "AKIA123")
	out, err := d.Rewrite([]pipeline.Redaction{
		{Span: pipeline.Span{Segment: seg, Start: key, End: key + 7}, With: "[KEY]"},
		{Span: pipeline.Span{Segment: seg, Start: email, End: email + 7}, With: "[EMAIL]"},
		{Span: pipeline.Span{Segment: seg, Start: email + 2, End: email + 4}, With: "[overlap]"}, // inside the email span
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, orig) {
		t.Fatal("Rewrite mutated the input body")
	}
	loc := d.locs[seg]
	if !bytes.Equal(out[:loc.start], body[:loc.start]) {
		t.Errorf("prefix changed")
	}
	suffix := body[loc.end:]
	if !bytes.HasSuffix(out, suffix) {
		t.Errorf("suffix changed")
	}
	var v struct {
		Messages []struct{ Content string }
		Extra    string
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("rewritten body is not JSON: %v\n%s", err, out)
	}
	if got, want := v.Messages[1].Content, "my email is [EMAIL] and key [KEY] <tag> ok"; got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	if !strings.Contains(string(out), "<tag>") {
		t.Errorf("HTML was escaped: %s", out)
	}
}

func TestRewriteEscapesAndNonASCII(t *testing.T) {
	body := []byte(`{"messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00 \"secret\" line\nnext"}],"tail":1}`)
	d, err := DecodeRequest(OpenAIChat, body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	text := d.Segments()[0].Text
	i := strings.Index(text, `"secret"`)
	out, err := d.Rewrite([]pipeline.Redaction{{Span: pipeline.Span{Segment: 0, Start: i, End: i + len(`"secret"`)}, With: `«x»"\`}})
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Messages []struct{ Content string } }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got, want := v.Messages[0].Content, "café 😀 «x»\"\\ line\nnext"; got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	if !bytes.HasSuffix(out, []byte(`}],"tail":1}`)) {
		t.Errorf("suffix changed: %s", out)
	}
}

func TestRewriteNoRedactionsIsIdentity(t *testing.T) {
	body := readFixture(t, "anthropic_request.json")
	d, err := DecodeRequest(AnthropicMessages, body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.Rewrite(nil)
	if err != nil || !bytes.Equal(out, body) {
		t.Fatalf("Rewrite(nil) changed the body: %v", err)
	}
	out[0] = 'X'
	if body[0] == 'X' {
		t.Fatal("Rewrite returned the input slice")
	}
}

func TestRewriteManySegments(t *testing.T) {
	body := readFixture(t, "openai_chat_request.json")
	d, err := DecodeRequest(OpenAIChat, body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var reps []pipeline.Redaction
	for i, s := range d.Segments() {
		reps = append(reps, pipeline.Redaction{Span: pipeline.Span{Segment: i, Start: 0, End: len(s.Text)}, With: "RR"})
	}
	out, err := d.Rewrite(reps)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := DecodeRequest(OpenAIChat, out, Limits{})
	if err != nil {
		t.Fatalf("rewritten body does not decode: %v", err)
	}
	if len(d2.Segments()) != len(d.Segments()) {
		t.Fatalf("segments: %d, want %d", len(d2.Segments()), len(d.Segments()))
	}
	for _, s := range d2.Segments() {
		if s.Text != "RR" {
			t.Errorf("%s = %q, want RR", s.Field, s.Text)
		}
	}
}

func TestRewriteGenericKey(t *testing.T) {
	body := []byte(`{"secret_key":"v1"}`)
	d, err := DecodeRequest(GenericJSON, body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.Rewrite([]pipeline.Redaction{{Span: pipeline.Span{Segment: 0, Start: 0, End: 6}, With: "X"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"X_key":"v1"}` {
		t.Errorf("got %s", out)
	}
}

func TestRewritePlainText(t *testing.T) {
	tests := []struct {
		name, body string
		start, end int // in segment text
		with, want string
	}{
		{"valid", "call 555-1234 now", 5, 13, "[PHONE]", "call [PHONE] now"},
		{"invalid bytes outside the span are kept", "\xffcall 555\xfe now", 4, 13, "[X]", "\xffc[X] now"},
		{"span inside a replacement char takes the whole bad byte", "a\xffb", 2, 3, "", "ab"},
		{"span covering a bad byte", "a\xff\xfeb", 1, 7, "-", "a-b"},
	}
	t.Run("adjacent spans meeting inside a bad byte", func(t *testing.T) {
		d, err := DecodeRequest(PlainText, []byte("a\xffb"), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := d.Rewrite([]pipeline.Redaction{
			{Span: pipeline.Span{Segment: 0, Start: 0, End: 2}, With: "X"},
			{Span: pipeline.Span{Segment: 0, Start: 2, End: 5}, With: "Y"},
		})
		if err != nil || string(out) != "XY" {
			t.Fatalf("got %q, %v", out, err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DecodeRequest(PlainText, []byte(tt.body), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := d.Rewrite([]pipeline.Redaction{{Span: pipeline.Span{Segment: 0, Start: tt.start, End: tt.end}, With: tt.with}})
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got %q, want %q", out, tt.want)
			}
		})
	}
}

func TestRewriteErrors(t *testing.T) {
	d, err := DecodeRequest(OpenAIChat, []byte(`{"messages":[{"role":"user","content":"abc"}]}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range []pipeline.Span{{Segment: 1}, {Segment: -1}, {Start: -1, End: 1}, {Start: 2, End: 1}, {Start: 0, End: 4}} {
		if _, err := d.Rewrite([]pipeline.Redaction{{Span: sp, With: "x"}}); err == nil {
			t.Errorf("span %+v: want error", sp)
		}
	}
}
