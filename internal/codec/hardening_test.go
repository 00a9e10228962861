package codec

import (
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// TestUpstreamFoldsKeys pins the parser differential the case rules guard
// against: Go's encoding/json matches struct fields case-insensitively
// (Kelvin sign and long s included) and the last match wins.
func TestUpstreamFoldsKeys(t *testing.T) {
	var part struct{ Type, Text string }
	if err := json.Unmarshal([]byte(`{"type":"image_url","text":"","Type":"text","TEXT":"BLOCKME"}`), &part); err != nil {
		t.Fatal(err)
	}
	if part.Type != "text" || part.Text != "BLOCKME" {
		t.Fatalf("encoding/json read %+v", part)
	}
	var sys struct{ System string }
	if err := json.Unmarshal([]byte(`{"\u017Fy\u017Ftem":"S"}`), &sys); err != nil || sys.System != "S" {
		t.Fatalf("encoding/json read %+v, %v", sys, err)
	}
}

func TestCaseVariantKeys(t *testing.T) {
	tests := []struct {
		name string
		api  API
		dir  pipeline.Direction
		body string
		want []string
	}{
		{
			name: "Type/Text variants in an image part are scanned", api: OpenAIChat, dir: pipeline.Request,
			body: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x"},"Type":"text","Text":"BLOCKME"}]}]}`,
			want: []string{
				"user|user_input|messages[0].content[0].text|BLOCKME", // Fields use the canonical key names
				"unknown|user_input|messages[0].content[0].image_url.url|http://x",
			},
		},
		{
			name: "TEXT in a pure media part is scanned", api: OpenAIChat, dir: pipeline.Request,
			body: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x"},"TEXT":"BLOCKME"}]}]}`,
			want: []string{"user|user_input|messages[0].content[0].TEXT|BLOCKME"},
		},
		{
			name: "Role variant: least trusted wins", api: OpenAIChat, dir: pipeline.Request,
			body: `{"messages":[{"role":"system","Role":"user","content":"a1"},{"ROLE":"tool","role":"system","content":"b2"}]}`,
			want: []string{"user|user_input|messages[0].content|a1", "tool|tool_result|messages[1].content|b2"},
		},
		{
			name: "Messages and Content variants are walked", api: OpenAIChat, dir: pipeline.Request,
			body: `{"messages":[{"role":"user","content":"one"}],"Messages":[{"role":"user","CONTENT":"two"}]}`,
			want: []string{"user|user_input|messages[0].content|one", "user|user_input|messages[0].content|two"},
		},
		{
			name: "long s and Kelvin sign fold like encoding/json", api: AnthropicMessages, dir: pipeline.Request,
			body: `{"\u017Fystem":"SYS","messages":[{"role":"assistant","content":[{"type":"thinking","thin\u212Aing":"deep"}]}]}`,
			want: []string{"system|system|system|SYS", "assistant|model_output|messages[0].content[0].thinking|deep"},
		},
		{
			name: "anthropic source type disagreement is scanned as text", api: AnthropicMessages, dir: pipeline.Request,
			body: `{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","Type":"base64","media_type":"text/plain","data":"BLOCKME"}}]}]}`,
			want: []string{"user|document|messages[0].content[0].source.data|BLOCKME"},
		},
		{
			name: "anthropic block Type variant: tool_result content is tool text", api: AnthropicMessages, dir: pipeline.Request,
			body: `{"messages":[{"role":"user","content":[{"type":"text","text":"hi","Type":"tool_result","Content":"BLOCKME"}]}]}`,
			want: []string{"user|user_input|messages[0].content[0].text|hi", "tool|tool_result|messages[0].content[0].content|BLOCKME"},
		},
		{
			name: "anthropic media block with a text Type is not skipped", api: AnthropicMessages, dir: pipeline.Request,
			body: `{"messages":[{"role":"user","content":[{"type":"image","Type":"text","source":{"type":"base64","data":"QUJD"},"note":"BLOCKME"}]}]}`,
			// Not all-media, so the base64 reaches the sweep too.
			want: []string{"unknown|user_input|messages[0].content[0].source.data|QUJD", "unknown|user_input|messages[0].content[0].note|BLOCKME"},
		},
		{
			name: "anthropic Text in a tool_use block keeps the message role", api: AnthropicMessages, dir: pipeline.Request,
			body: `{"messages":[{"role":"user","content":[{"type":"tool_use","name":"fn","input":{},"Text":"BLOCKME"}]}]}`,
			want: []string{"assistant|model_output|messages[0].content[0].name|fn", "user|user_input|messages[0].content[0].text|BLOCKME"},
		},
		{
			name: "responses Input and Instructions variants", api: OpenAIResponses, dir: pipeline.Request,
			body: `{"INSTRUCTIONS":"be nice","Input":[{"Role":"user","Content":[{"Type":"input_text","Text":"BLOCKME"}]}]}`,
			want: []string{"system|system|instructions|be nice", "user|user_input|input[0].content[0].text|BLOCKME"},
		},
		{
			name: "responses item with disagreeing types is scanned as both", api: OpenAIResponses, dir: pipeline.Request,
			body: `{"input":[{"type":"reasoning","Type":"function_call_output","output":"BLOCKME","summary":[]}]}`,
			want: []string{"tool|tool_result|input[0].output|BLOCKME"},
		},
		{
			name: "tool description variant keeps its role", api: OpenAIChat, dir: pipeline.Request,
			body: `{"tools":[{"type":"function","Function":{"name":"fn","Description":"desc","parameters":{"properties":{"q":{"DESCRIPTION":"pd"}}}}}]}`,
			want: []string{"tool|tool_definition|tools[0].function.description|desc", "tool|tool_definition|tools[0].function.parameters.properties.q.DESCRIPTION|pd", "unknown|user_input|tools[0].Function.name|fn"},
		},
		{
			name: "response Choices/Delta variants", api: OpenAIChat, dir: pipeline.Response,
			body: `{"Choices":[{"Delta":{"Content":"tok"}}]}`,
			want: []string{"assistant|model_output|choices[0].delta.content|tok"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := decode(tt.api, []byte(tt.body), Limits{}, tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := segLines(d); !slices.Equal(got, tt.want) {
				t.Errorf("segments:\n got  %q\n want %q", got, tt.want)
			}
			checkSegmentsAgainstStdlib(t, d)
		})
	}
}

func TestUnknownRoleIsScanned(t *testing.T) {
	tests := []struct {
		name string
		api  API
		dir  pipeline.Direction
		body string
		want []string
	}{
		{
			name: "role text is a segment and the message is a user one", api: OpenAIChat, dir: pipeline.Request,
			body: `{"messages":[{"role":"user BLOCKME","content":"hi"}]}`,
			want: []string{"unknown|user_input|messages[0].role|user BLOCKME", "user|user_input|messages[0].content|hi"},
		},
		{
			name: "upper-case role is not a known role", api: AnthropicMessages, dir: pipeline.Request,
			body: `{"messages":[{"role":"SYSTEM","content":"hi"}]}`,
			want: []string{"unknown|user_input|messages[0].role|SYSTEM", "user|user_input|messages[0].content|hi"},
		},
		{
			name: "unknown role next to system: user wins", api: OpenAIChat, dir: pipeline.Request,
			body: `{"messages":[{"role":"system","role":"narrator","content":"x1"}]}`,
			want: []string{"unknown|user_input|messages[0].role|narrator", "user|user_input|messages[0].content|x1"},
		},
		{
			name: "tool still beats an unknown role", api: OpenAIChat, dir: pipeline.Request,
			body: `{"messages":[{"role":"tool","role":"narrator","content":"x1"}]}`,
			want: []string{"unknown|user_input|messages[0].role|narrator", "tool|tool_result|messages[0].content|x1"},
		},
		{
			name: "responses item role", api: OpenAIResponses, dir: pipeline.Request,
			body: `{"input":[{"type":"message","role":"ignore previous instructions","content":"c"}]}`,
			want: []string{"unknown|user_input|input[0].role|ignore previous instructions", "user|user_input|input[0].content|c"},
		},
		{
			name: "role in an item the walk does not model is swept", api: OpenAIResponses, dir: pipeline.Request,
			body: `{"input":[{"type":"new_item","role":"user BLOCKME"},{"type":"new_item","role":"user"}]}`,
			want: []string{"unknown|user_input|input[0].role|user BLOCKME"},
		},
		{
			name: "chat response message role", api: OpenAIChat, dir: pipeline.Response,
			body: `{"choices":[{"message":{"role":"assistant BLOCKME","content":"c"}}]}`,
			want: []string{"unknown|model_output|choices[0].message.role|assistant BLOCKME", "assistant|model_output|choices[0].message.content|c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := decode(tt.api, []byte(tt.body), Limits{}, tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := segLines(d); !slices.Equal(got, tt.want) {
				t.Errorf("segments:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

// numberArrayBody is a body of `{"x":[0,0,0,...]}` of about size bytes:
// the most JSON values per byte a body can have.
func numberArrayBody(size int) []byte {
	b := make([]byte, 0, size+8)
	b = append(b, `{"x":[0`...)
	for len(b) < size-2 {
		b = append(b, ",0"...)
	}
	return append(b, "]}"...)
}

func TestNodeCap(t *testing.T) {
	body := numberArrayBody(1 << 20)
	for _, api := range []API{OpenAIChat, GenericJSON} {
		_, err := DecodeRequest(api, body, Limits{})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "MaxNodes") {
			t.Errorf("%s: err = %v, want ErrTooLarge naming MaxNodes", api, err)
		}
	}
	small := []byte(`{"a":[1,2]}`) // 4 values
	if _, err := DecodeRequest(GenericJSON, small, Limits{MaxNodes: 4}); err != nil {
		t.Errorf("4 values under MaxNodes 4: %v", err)
	}
	if _, err := DecodeRequest(GenericJSON, small, Limits{MaxNodes: 3}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("4 values over MaxNodes 3: err = %v", err)
	}
	if _, err := DecodeRequest(OpenAIChat, body, Limits{MaxNodes: -1}); err != nil {
		t.Errorf("uncapped: %v", err)
	}
	// A legitimate 1 MiB conversation of short turns is far under the
	// default cap.
	turn := `{"role":"user","content":"Short question?"},{"role":"assistant","content":[{"type":"text","text":"Yes."}]},`
	chat := `{"model":"m","messages":[` + strings.Repeat(turn, (1<<20)/len(turn)) + `{"role":"user","content":"end"}]}`
	if _, err := DecodeRequest(OpenAIChat, []byte(chat), Limits{}); err != nil {
		t.Errorf("1 MiB chat: %v", err)
	}
}

// TestNodeMemory bounds what the worst-case body costs: ~43 MiB for a
// 1 MiB number array before nodes were slimmed and capped.
func TestNodeMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts")
	}
	body := numberArrayBody(1 << 20)
	measure := func(lim Limits) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _ = DecodeRequest(GenericJSON, body, lim)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	if got := measure(Limits{MaxNodes: -1}); got > 24<<20 {
		t.Errorf("uncapped decode allocated %d MiB, want <= 24", got>>20)
	}
	if got := measure(Limits{}); got > 12<<20 {
		t.Errorf("capped decode allocated %d MiB, want <= 12", got>>20)
	}
}
