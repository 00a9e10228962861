package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/internal/codec/jsonscan"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

var fuzzAPIs = []API{OpenAIChat, OpenAIResponses, OpenAICompletions, OpenAIEmbeddings, AnthropicMessages, GenericJSON, PlainText}

func addFixtureSeeds(f *testing.F, add func(body []byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"a","content":"b"}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"\u0069gnore \ud83d\ude00"}]}]}`,
		`{"input":[{"role":"user","content":"x"},{"type":"function_call_output","output":"y"}],"instructions":"z"}`,
		`{"prompt":["a",[1,2]],"suffix":"s"}`,
		`{"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"tool_result","content":"r"}]}]}`,
		`{"choices":[{"message":{"content":"c"}}],"content":[{"type":"text","text":"t"}],"output":[]}`,
		`{"model":"\ud800"}`, "[[[[[[[[[[[[]]]]]]]]]]]]", "\"\\u0000\"", "{\"a\":\"\xff\"}", "",
	} {
		add([]byte(s))
	}
}

// FuzzDecodeRequest: no panic; a decoded body rewrites to itself with no
// redactions; every segment is exactly what encoding/json reads at its
// location; and a strict-JSON body we accept is one encoding/json accepts.
func FuzzDecodeRequest(f *testing.F) {
	addFixtureSeeds(f, func(b []byte) {
		for i := range fuzzAPIs {
			f.Add(uint8(i), false, b)
		}
	})
	f.Fuzz(func(t *testing.T, apiIdx uint8, response bool, body []byte) {
		api := fuzzAPIs[int(apiIdx)%len(fuzzAPIs)]
		dir := pipeline.Request
		if response {
			dir = pipeline.Response
		}
		d, err := decode(api, body, Limits{MaxDepth: 32}, dir)
		if errors.Is(err, ErrTooLarge) {
			return // over the node cap (TestNodeCap)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error class: %v", err)
			}
			if api.IsLLM() && json.Valid(body) && utf8.Valid(body) && !bytes.Contains(body, []byte(`\u`)) {
				// Valid JSON may still be refused for its shape or depth,
				// never for its syntax.
				if _, perr := jsonscan.Parse(body, 32, -1); perr != nil && depthOf(body) <= 32 {
					t.Fatalf("encoding/json accepts what the scanner refuses: %v", perr)
				}
			}
			return
		}
		out, err := d.Rewrite(nil)
		if err != nil || !bytes.Equal(out, body) {
			t.Fatalf("identity rewrite changed the body (err %v)", err)
		}
		if d.API() != PlainText && len(body) > 0 {
			if !json.Valid(body) {
				t.Fatalf("scanner accepted JSON that encoding/json refuses")
			}
			checkSegmentsAgainstStdlib(t, d)
		}
		if d.API() == GenericJSON && len(body) > 0 {
			checkNoHiddenStrings(t, body, d)
		}
		if len(d.Segments()) != len(d.locs) {
			t.Fatalf("%d segments, %d locations", len(d.Segments()), len(d.locs))
		}
	})
}

// depthOf is the bracket nesting depth of a valid JSON body.
func depthOf(b []byte) int {
	depth, most, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '[' || c == '{'):
			depth++
			most = max(most, depth)
		case !inStr && (c == ']' || c == '}'):
			depth--
		}
	}
	return most
}

// FuzzRewrite redacts a chosen span of every segment and checks the
// result still decodes with the same number of segments and shows the
// replacement text.
func FuzzRewrite(f *testing.F) {
	addFixtureSeeds(f, func(b []byte) {
		f.Add(uint8(0), uint16(0), uint16(3), "[X]", b)
		f.Add(uint8(4), uint16(1), uint16(100), "", b)
	})
	f.Fuzz(func(t *testing.T, apiIdx uint8, start, end uint16, with string, body []byte) {
		api := fuzzAPIs[int(apiIdx)%len(fuzzAPIs)]
		d, err := DecodeRequest(api, body, Limits{})
		if err != nil {
			return
		}
		var reps []pipeline.Redaction
		for i, s := range d.Segments() {
			if d.locs[i].decoded {
				continue // DecodeLenient literals refuse redaction (TestDecodeLenient)
			}
			a, b := int(start)%(len(s.Text)+1), int(end)%(len(s.Text)+1)
			if a > b {
				a, b = b, a
			}
			reps = append(reps, pipeline.Redaction{Span: pipeline.Span{Segment: i, Start: a, End: b}, With: with})
		}
		out, err := d.Rewrite(reps)
		if err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		if d.API() == PlainText || len(body) == 0 {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("rewritten body is not valid JSON")
		}
		// Every segment rewritten: the new literals must decode to the
		// expected texts, which the second scan sees at the same fields.
		d2, err := decode(d.API(), out, Limits{}, pipeline.Request)
		if err != nil {
			t.Fatalf("rewritten body does not decode: %v", err)
		}
		checkSegmentsAgainstStdlib(t, d2)
	})
}

// checkNoHiddenStrings checks every string encoding/json sees (keys and
// values of 2+ bytes) is among the segments: duplicate keys, escapes and
// nesting must not hide text from the scan.
func checkNoHiddenStrings(t *testing.T, body []byte, d *Document) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("encoding/json refuses an accepted body: %v", err)
	}
	have := map[string]int{}
	for _, s := range d.Segments() {
		have[s.Text]++
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if len(v) >= 2 && have[v] == 0 {
				t.Fatalf("string of %d bytes seen by encoding/json is not a segment", len(v))
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				walk(k)
				walk(e)
			}
		}
	}
	walk(v)
}
