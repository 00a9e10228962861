package codec

import (
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// TestSegmentKinds checks that tool-call names and arguments are marked, so
// output checks (tool allowlists) can tell them from prose, in every API
// and in streams.
func TestSegmentKinds(t *testing.T) {
	cases := []struct {
		name string
		api  API
		sse  bool
		body string
		want map[string]pipeline.SegmentKind // segment text → kind
	}{
		{
			name: "openai chat response",
			api:  OpenAIChat,
			body: `{"choices":[{"index":0,"message":{"role":"assistant","content":"Calling.","tool_calls":[{"id":"c","type":"function","function":{"name":"send_mail","arguments":"{\"to\":\"x\"}"}}]}}]}`,
			want: map[string]pipeline.SegmentKind{"Calling.": pipeline.KindText, "send_mail": pipeline.KindToolName, `{"to":"x"}`: pipeline.KindToolArgs},
		},
		{
			name: "openai responses response",
			api:  OpenAIResponses,
			body: `{"object":"response","output":[{"type":"function_call","call_id":"c","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Done."}]}]}`,
			want: map[string]pipeline.SegmentKind{"Done.": pipeline.KindText, "get_weather": pipeline.KindToolName, `{"city":"Paris"}`: pipeline.KindToolArgs},
		},
		{
			name: "anthropic response",
			api:  AnthropicMessages,
			body: `{"type":"message","role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"t","name":"calc","input":{"expr":"1+1"}}]}`,
			want: map[string]pipeline.SegmentKind{"Let me check.": pipeline.KindText, "calc": pipeline.KindToolName, "1+1": pipeline.KindToolArgs},
		},
		{
			name: "openai chat stream",
			api:  OpenAIChat,
			sse:  true,
			body: "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"send_\",\"arguments\":\"{\\\"to\"}}]}}]}\n\n" +
				"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"mail\",\"arguments\":\"\\\":1}\"}}]}}]}\n\ndata: [DONE]\n\n",
			want: map[string]pipeline.SegmentKind{"send_mail": pipeline.KindToolName, `{"to":1}`: pipeline.KindToolArgs},
		},
		{
			name: "anthropic stream",
			api:  AnthropicMessages,
			sse:  true,
			body: "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"lookup\",\"input\":{}}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"x\\\"}\"}}\n\n",
			want: map[string]pipeline.SegmentKind{"lookup": pipeline.KindToolName, `{"q":"x"}`: pipeline.KindToolArgs},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var (
				d   *Document
				err error
			)
			if tc.sse {
				d, err = DecodeSSE(tc.api, []byte(tc.body), Limits{})
			} else {
				d, err = DecodeResponse(tc.api, []byte(tc.body), Limits{})
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]pipeline.SegmentKind{}
			for _, s := range d.Segments() {
				got[s.Text] = s.Kind
			}
			for text, kind := range tc.want {
				k, ok := got[text]
				if !ok {
					t.Errorf("no segment %q; have %v", text, got)
					continue
				}
				if k != kind {
					t.Errorf("segment %q: kind %v, want %v", text, k, kind)
				}
			}
		})
	}
}
