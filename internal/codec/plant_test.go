package codec

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// TestRewriteWithNote plants a note in each API's system slot and checks the
// result with encoding/json: valid, with the note where the provider reads
// system instructions, and everything else unchanged.
func TestRewriteWithNote(t *testing.T) {
	const note = "Marker: \"X1\" <keep>"
	cases := []struct {
		name string
		api  API
		body string
		want string // the JSON the result must equal
	}{
		{"chat prepends a system message", OpenAIChat,
			`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
			`{"model":"m","messages":[{"role":"system","content":"Marker: \"X1\" <keep>"},{"role":"user","content":"hi"}]}`},
		{"chat after the leading system messages", OpenAIChat,
			`{"messages":[{"role":"system","content":"A"},{"role":"developer","content":"B"},{"role":"user","content":"hi"}]}`,
			`{"messages":[{"role":"system","content":"A"},{"role":"developer","content":"B"},{"role":"system","content":"Marker: \"X1\" <keep>"},{"role":"user","content":"hi"}]}`},
		{"chat with an empty array", OpenAIChat,
			`{"messages":[]}`,
			`{"messages":[{"role":"system","content":"Marker: \"X1\" <keep>"}]}`},
		{"responses appends to instructions", OpenAIResponses,
			`{"model":"m","instructions":"Be brief.","input":"hi"}`,
			`{"model":"m","instructions":"Be brief.\n\nMarker: \"X1\" <keep>","input":"hi"}`},
		{"responses without instructions", OpenAIResponses,
			`{"model":"m","input":"hi"}`,
			`{"instructions":"Marker: \"X1\" <keep>","model":"m","input":"hi"}`},
		{"responses with null instructions", OpenAIResponses,
			`{"instructions":null,"input":"hi"}`,
			`{"instructions":"Marker: \"X1\" <keep>","input":"hi"}`},
		{"anthropic string system", AnthropicMessages,
			`{"model":"c","system":"You help.","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`,
			`{"model":"c","system":"You help.\n\nMarker: \"X1\" <keep>","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`},
		{"anthropic empty string system", AnthropicMessages,
			`{"system":"","messages":[]}`,
			`{"system":"Marker: \"X1\" <keep>","messages":[]}`},
		{"anthropic block system", AnthropicMessages,
			`{"system":[{"type":"text","text":"You help."}],"messages":[]}`,
			`{"system":[{"type":"text","text":"You help."},{"type":"text","text":"Marker: \"X1\" <keep>"}],"messages":[]}`},
		{"anthropic without system", AnthropicMessages,
			`{"messages":[{"role":"user","content":"hi"}]}`,
			`{"system":"Marker: \"X1\" <keep>","messages":[{"role":"user","content":"hi"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := DecodeRequest(tc.api, []byte(tc.body), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !d.CanPlantSystem() {
				t.Fatal("CanPlantSystem = false")
			}
			out, err := d.RewriteWithNote(nil, note)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("result is not JSON: %v\n%s", err, out)
			}
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %s\nwant %s", out, tc.want)
			}
		})
	}
}

// TestRewriteWithNoteAndRedaction redacts inside the very literal the note
// is appended to: both must land.
func TestRewriteWithNoteAndRedaction(t *testing.T) {
	body := `{"system":"Key sk-123 here.","messages":[{"role":"user","content":"mail a@b.io"}]}`
	d, err := DecodeRequest(AnthropicMessages, []byte(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var reps []pipeline.Redaction
	for i, s := range d.Segments() {
		switch s.Text {
		case "Key sk-123 here.":
			reps = append(reps, pipeline.Redaction{Span: pipeline.Span{Segment: i, Start: 4, End: 10}, With: "[K]"})
		case "mail a@b.io":
			reps = append(reps, pipeline.Redaction{Span: pipeline.Span{Segment: i, Start: 5, End: 11}, With: "<EMAIL_1>"})
		}
	}
	if len(reps) != 2 {
		t.Fatalf("segments: %+v", d.Segments())
	}
	out, err := d.RewriteWithNote(reps, "N")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"system":"Key [K] here.\n\nN","messages":[{"role":"user","content":"mail <EMAIL_1>"}]}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

// TestNoSystemSlot: APIs without system instructions refuse a note rather
// than inventing a field the upstream would reject.
func TestNoSystemSlot(t *testing.T) {
	for api, body := range map[API]string{
		OpenAIEmbeddings:  `{"input":"x","model":"e"}`,
		OpenAICompletions: `{"prompt":"x","model":"m"}`,
		PlainText:         `hello`,
	} {
		d, err := DecodeRequest(api, []byte(body), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if d.CanPlantSystem() {
			t.Errorf("%s: CanPlantSystem = true", api)
		}
		if _, err := d.RewriteWithNote(nil, "N"); err == nil {
			t.Errorf("%s: RewriteWithNote succeeded", api)
		}
	}
	d, err := DecodeResponse(OpenAIChat, []byte(`{"choices":[]}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d.CanPlantSystem() {
		t.Error("a response offers a system slot")
	}
}
