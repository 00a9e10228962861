package scan_test

import (
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/detectors/output"
	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Log probabilities streamed with an answer are scanned like the buffered
// ones (issue "Nothing unscanned", item 7, the streamed part): chosen
// tokens and alternatives of chat chunks and Responses text deltas. A
// token in an alternative is cut out of the event before it is released;
// a canary spelt by the chosen tokens cuts the stream; ordinary logprobs
// pass byte for byte.
func TestStreamedLogprobs(t *testing.T) {
	set, step := defaultStep(t)
	token := "ghp_" + strings.Repeat("Q7w8E9r0T1", 3) + "y2U3i4"
	canary := output.NewCanary()
	chat := func(text string, chosen []string, alts [][]string) string {
		var lp []any
		for i, c := range chosen {
			var top []any
			if i < len(alts) {
				for _, a := range alts[i] {
					top = append(top, map[string]any{"token": a, "logprob": -2.5})
				}
			}
			lp = append(lp, map[string]any{"token": c, "logprob": -0.1, "top_logprobs": top})
		}
		return "data: " + mustJSON(map[string]any{"id": "c1", "object": "chat.completion.chunk",
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": text}, "logprobs": map[string]any{"content": lp}}}}) + "\n\n"
	}
	responses := func(text string, alts []string) string {
		var top []any
		for _, a := range alts {
			top = append(top, map[string]any{"token": a, "logprob": -2.5})
		}
		return "event: response.output_text.delta\ndata: " + mustJSON(map[string]any{"type": "response.output_text.delta", "item_id": "msg_1",
			"output_index": 0, "content_index": 0, "delta": text, "logprobs": []any{map[string]any{"token": text, "logprob": -0.1, "top_logprobs": top}}}) + "\n\n"
	}
	filler := make([]string, 30)
	for i := range filler {
		filler[i] = chat(" word", []string{" word"}, [][]string{{" term", " thing"}})
	}
	cases := []struct {
		name   string
		api    codec.API
		events []string
		want   pipeline.Action // of the final verdict
		gone   string          // must not appear in what was released
	}{
		{"token among a chat chunk's alternatives", codec.OpenAIChat,
			append(append([]string{chat("Hi", []string{"Hi"}, [][]string{{"Hello", token}})}, filler...), "data: [DONE]\n\n"), pipeline.Redact, token},
		{"canary spelt by the chosen tokens", codec.OpenAIChat,
			append(append([]string{chat("Hi", []string{canary[:6], canary[6:]}, nil)}, filler...), "data: [DONE]\n\n"), pipeline.Block, canary[6:]},
		{"token among a Responses delta's alternatives", codec.OpenAIResponses,
			[]string{responses("Hi", []string{"Hello", token}), responses(" there", []string{" you"}), "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r1\",\"status\":\"completed\"}}\n\n"}, pipeline.Redact, token},
		{"ordinary logprobs", codec.OpenAIChat,
			append(append([]string{chat("Hi", []string{"Hi"}, [][]string{{"Hello", "Hey"}})}, filler...), "data: [DONE]\n\n"), pipeline.Allow, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := step.NewStream(set.Default, tc.api, "", &scan.Conversation{Exchange: &pipeline.Exchange{Canary: canary}},
				noDeadline)
			var released strings.Builder
			for i, e := range tc.events {
				out, err := st.Feed([]byte(e), i == len(tc.events)-1)
				if err != nil {
					break
				}
				released.Write(out)
			}
			f := st.Final()
			if f == nil || f.WouldBe != tc.want {
				t.Fatalf("final verdict %+v, want %s", f, tc.want)
			}
			got := released.String()
			if tc.gone != "" && strings.Contains(got, tc.gone) {
				t.Fatalf("%q went out:\n%s", tc.gone, got)
			}
			if tc.want == pipeline.Allow && got != strings.Join(tc.events, "") {
				t.Fatalf("ordinary logprobs were changed:\n%s", got)
			}
		})
	}
}
