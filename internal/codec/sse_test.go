package codec

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// sse builds an event stream from data payloads (one event each).
func sse(payloads ...string) string {
	var b strings.Builder
	for _, p := range payloads {
		b.WriteString("data: " + p + "\n\n")
	}
	return b.String()
}

func TestDecodeSSE(t *testing.T) {
	tests := []struct {
		name string
		api  API
		body string
		want []string
		meta *pipeline.Meta // checked when set (API, Stream and BodyBytes filled in)
	}{
		{
			name: "chat deltas split mid-word and escaped", api: OpenAIChat,
			body: string(readFixture(t, "openai_chat_stream.sse")),
			want: []string{"assistant|model_output|choices[0].delta.content(stream)|Say BLOCKME !"},
			meta: &pipeline.Meta{Model: "gpt-4o", Messages: 1},
		},
		{
			name: "chat tool call arguments and name assembled per index", api: OpenAIChat,
			body: sse(
				`{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_","arguments":""}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"q\":\"BLO"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"other","arguments":"{}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"weather","arguments":"CKME\"}"}}]}}]}`,
				`[DONE]`),
			want: []string{
				"assistant|model_output|choices[0].delta.tool_calls[0].function.name(stream)|get_weather",
				`assistant|model_output|choices[0].delta.tool_calls[0].function.arguments(stream)|{"q":"BLOCKME"}`,
				"assistant|model_output|choices[0].delta.tool_calls[1].function.arguments(stream)|{}",
				"assistant|model_output|choices[0].delta.tool_calls[1].function.name(stream)|other",
			},
			meta: &pipeline.Meta{Messages: 4},
		},
		{
			name: "chat choices by index, refusal, legacy text and the in-order text", api: OpenAIChat,
			body: sse(
				`{"choices":[{"index":1,"delta":{"content":"B"}}]}`,
				`{"choices":[{"index":0,"delta":{"content":"x"}},{"index":1,"delta":{"refusal":"no"}}]}`,
				`{"choices":[{"index":1,"delta":{"content":"LOCKME"}}]}`,
				`{"choices":[{"index":2,"text":"legacy"}]}`),
			want: []string{
				"assistant|model_output|choices[1].delta.content(stream)|BLOCKME",
				"assistant|model_output|choices[0].delta.content(stream)|x",
				"assistant|model_output|choices[1].delta.refusal(stream)|no",
				"assistant|model_output|choices[2].text(stream)|legacy",
				"assistant|model_output|(stream, all text in arrival order)|BxnoLOCKMElegacy",
			},
			meta: &pipeline.Meta{Messages: 4},
		},
		{
			name: "unknown delta field is assembled as unknown text", api: OpenAIChat,
			body: sse(
				`{"choices":[{"index":0,"delta":{"reasoning_details":[{"index":0,"text":"BL"}],"new_field":"OCK"}}]}`,
				`{"choices":[{"index":0,"delta":{"reasoning_details":[{"index":0,"text":"OCKME"}],"new_field":"ME"}}]}`),
			want: []string{
				"unknown|model_output|choices[0].delta.reasoning_details[0].text|BLOCKME",
				"unknown|model_output|choices[0].delta.new_field|OCKME",
			},
		},
		{
			name: "unknown role in a delta is scanned", api: OpenAIChat,
			body: sse(`{"choices":[{"delta":{"role":"assistant BLOCKME","content":"hi"}}]}`),
			want: []string{
				"unknown|model_output|choices[0].delta.role|assistant BLOCKME",
				"assistant|model_output|choices[0].delta.content(stream)|hi",
			},
		},
		{
			name: "anthropic messages stream", api: AnthropicMessages,
			body: string(readFixture(t, "anthropic_stream.sse")),
			want: []string{
				"assistant|model_output|content[2].name|get_weather",
				"assistant|model_output|content[0].thinking(stream)|Let me BLOCKME think",
				"assistant|model_output|content[1].text(stream)|Hello BLOCKME",
				`assistant|model_output|content[2].input(stream)|{"location": "BLOCKME"}`,
			},
			meta: &pipeline.Meta{Model: "claude-sonnet-4-5", Messages: 3},
		},
		{
			name: "anthropic error event is scanned", api: AnthropicMessages,
			body: "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded BLOCKME\"}}\n\n",
			want: []string{"unknown|model_output|error:error.message|Overloaded BLOCKME"},
		},
		{
			name: "openai responses stream", api: OpenAIResponses,
			body: string(readFixture(t, "openai_responses_stream.sse")),
			want: []string{
				"system|system|response.instructions|Be brief.",
				"assistant|model_output|output[0](done).text|Hi BLOCKME",
				"assistant|model_output|output[1](item).name|lookup",
				"assistant|model_output|response.output[0].content[0].text|Hi BLOCKME!",
				`assistant|model_output|response.output[1].arguments|{"q":"BLOCKME"}`,
				"assistant|model_output|response.output[1].name|lookup",
				"assistant|model_output|output[0].content[0].text(stream)|Hi BLOCKME",
				`assistant|model_output|output[1].arguments(stream)|{"q":"BLOCKME"}`,
			},
			meta: &pipeline.Meta{Model: "gpt-5", Messages: 2},
		},
		{
			name: "malformed data payloads are scanned raw, in order", api: OpenAIChat,
			body: sse(`{"choices":[{"delta":{"content":"ok"}}]}`, `not json BLO`, `CKME {broken`),
			want: []string{
				"assistant|model_output|choices[0].delta.content(stream)|ok",
				"unknown|model_output|data(raw stream)|not json BLOCKME {broken",
			},
		},
		{
			name: "CRLF, CR, multi-line data, comments, no final blank line", api: OpenAIChat,
			body: ": hello\r\ndata: {\"choices\":[{\"delta\":\r\ndata: {\"content\":\"BLO\"}}]}\r\n\r\n" +
				"event: x\rdata: {\"choices\":[{\"delta\":{\"content\":\"CK\"}}]}\r\r" +
				"data:{\"choices\":[{\"delta\":{\"content\":\"ME\"}}]}",
			want: []string{"assistant|model_output|choices[0].delta.content(stream)|BLOCKME"},
		},
		{
			name: "invalid UTF-8 becomes U+FFFD", api: OpenAIChat,
			body: "data: {\"choices\":[{\"delta\":{\"content\":\"a\xffb\"}}]}\n\n",
			want: []string{"assistant|model_output|choices[0].delta.content(stream)|a\uFFFDb"},
		},
		{
			name: "bare JSON string payload", api: GenericJSON,
			body: sse(`"BLO"`, `"CKME"`),
			want: []string{"unknown|model_output|$|BLOCKME"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DecodeSSE(tt.api, []byte(tt.body), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := segLines(d); !slices.Equal(got, tt.want) {
				t.Errorf("segments:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
			if tt.meta != nil {
				want := *tt.meta
				want.API, want.Stream, want.BodyBytes = string(tt.api), true, len(tt.body)
				if !reflect.DeepEqual(d.Meta(), want) {
					t.Errorf("meta = %+v, want %+v", d.Meta(), want)
				}
			}
		})
	}
}

func TestDecodeSSELimits(t *testing.T) {
	body := []byte(sse(`{"choices":[{"delta":{"content":"hello"}}]}`, `{"x":[1,2,3,4,5,6,7,8]}`))
	if _, err := DecodeSSE(OpenAIChat, body, Limits{MaxBytes: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over MaxBytes: err = %v", err)
	}
	// 5 values in the first event, 10 in the second: the cap is for the
	// stream, not per event.
	if _, err := DecodeSSE(OpenAIChat, body, Limits{MaxNodes: 14}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over MaxNodes: err = %v", err)
	}
	if _, err := DecodeSSE(OpenAIChat, body, Limits{MaxNodes: 15}); err != nil {
		t.Errorf("at MaxNodes: %v", err)
	}
	// Too deep is not JSON we read: scanned raw, never skipped.
	deep := `{"a":` + strings.Repeat("[", 10) + `"BLOCKME"` + strings.Repeat("]", 10) + `}`
	d, err := DecodeSSE(OpenAIChat, []byte(sse(deep)), Limits{MaxDepth: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := segLines(d); !slices.Equal(got, []string{"unknown|model_output|data(raw stream)|" + deep}) {
		t.Errorf("got %q", got)
	}
	if _, err := DecodeSSE(API("nope"), body, Limits{}); err == nil {
		t.Error("unknown API: want an error")
	}
}

func TestDecodeSSERewriteRefuses(t *testing.T) {
	body := readFixture(t, "openai_chat_stream.sse")
	d, err := DecodeSSE(OpenAIChat, body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.Rewrite(nil)
	if err != nil || !bytes.Equal(out, body) {
		t.Fatalf("Rewrite(nil): %v", err)
	}
	if _, err := d.Rewrite([]pipeline.Redaction{{Span: pipeline.Span{Segment: 0, Start: 0, End: 1}, With: "x"}}); err == nil {
		t.Fatal("Rewrite of an SSE document: want an error")
	}
}

// FuzzDecodeSSE: no panic; only ErrTooLarge; every text valid UTF-8; one
// location per segment; identity rewrite; redactions refused.
func FuzzDecodeSSE(f *testing.F) {
	for _, name := range []string{"openai_chat_stream.sse", "anthropic_stream.sse", "openai_responses_stream.sse"} {
		f.Add(uint8(0), readFixture(f, name))
	}
	for _, s := range []string{
		sse(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"q\":\"BLO"}}]}}]}`, `[DONE]`),
		"data: a\r\ndata: b\r\r\n:c\n\nevent: e\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"text\":\"\\ud83d\\ude00\"}}",
		sse(`{"type":"response.output_text.delta","delta":"x","item_id":"i","output_index":0}`, `{"type":"response.completed","response":{"output":[{"type":"message","content":[{"type":"output_text","text":"t"}]}]}}`),
		"\ufeffdata: \xff\n\n", "data", "data:\n\n", "",
	} {
		f.Add(uint8(1), []byte(s))
	}
	apis := []API{OpenAIChat, OpenAIResponses, AnthropicMessages, OpenAICompletions, GenericJSON, PlainText}
	f.Fuzz(func(t *testing.T, apiIdx uint8, body []byte) {
		d, err := DecodeSSE(apis[int(apiIdx)%len(apis)], body, Limits{MaxDepth: 16})
		if err != nil {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if len(d.Segments()) != len(d.locs) {
			t.Fatalf("%d segments, %d locations", len(d.Segments()), len(d.locs))
		}
		for i, s := range d.Segments() {
			if !utf8.ValidString(s.Text) {
				t.Fatalf("segment %d (%s) is not valid UTF-8", i, s.Field)
			}
			if s.Text == "" {
				t.Fatalf("segment %d (%s) is empty", i, s.Field)
			}
		}
		if out, err := d.Rewrite(nil); err != nil || !bytes.Equal(out, body) {
			t.Fatalf("identity rewrite changed the body (err %v)", err)
		}
		if len(d.Segments()) > 0 {
			if _, err := d.Rewrite([]pipeline.Redaction{{Span: pipeline.Span{Segment: 0}}}); err == nil {
				t.Fatal("redaction of an SSE document accepted")
			}
		}
	})
}
