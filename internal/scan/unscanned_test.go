package scan_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Prompts we cannot read are refused, not passed: token-ID prompts always
// (unless a policy allows them), media where the policy says so; both
// counted. Benign uses of the same fields pass.
func TestUnreadableContent(t *testing.T) {
	set, err := pipeline.LoadDefaultPolicySet()
	if err != nil {
		t.Fatal(err)
	}
	allowTokens, err := pipeline.ParsePolicySet([]byte("version: t1\ndefault: tokens\npolicies:\n  tokens:\n    allow_token_prompts: true\n    detectors: {limits: {action: block}}\n"), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	step := &scan.Step{Engine: pipeline.NewEngine(all.EngineOptions(pipeline.WithMetrics(pipeline.NewMetrics(reg)))...), MaxBodyBytes: 1 << 20}
	policy := func(name string) *pipeline.Policy {
		if p, ok := set.Policy(name); ok {
			return p
		}
		return allowTokens.Default
	}
	const img = `{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}`
	cases := []struct {
		name, policy string
		api          codec.API
		body         string
		wantRule     string // "" for a pass
		wantField    string
	}{
		{"completions prompt as token IDs", "balanced", codec.OpenAICompletions, `{"model":"m","prompt":[1639,2134,345]}`, pipeline.RuleUnscannedTokens, "prompt[0]"},
		{"completions prompt as a list of token lists", "balanced", codec.OpenAICompletions, `{"model":"m","prompt":[[1639,2134],[345]]}`, pipeline.RuleUnscannedTokens, "prompt[0]"},
		{"token IDs after a text prompt", "balanced", codec.OpenAICompletions, `{"model":"m","prompt":["Say hello",[40,1]]}`, pipeline.RuleUnscannedTokens, "prompt[1]"},
		{"embeddings input as token IDs", "balanced", codec.OpenAIEmbeddings, `{"model":"e","input":[[9906,1917]]}`, pipeline.RuleUnscannedTokens, "input[0]"},
		{"token IDs under a policy that allows them", "tokens", codec.OpenAICompletions, `{"model":"m","prompt":[1639,2134,345]}`, "", ""},
		{"image under strict", "strict", codec.OpenAIChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},` + img + `]}]}`, pipeline.RuleUnscannedMedia, "messages[0].content[1]"},
		{"audio under kids", "kids", codec.OpenAIChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]}`, pipeline.RuleUnscannedMedia, "messages[0].content[0]"},
		{"anthropic base64 PDF under strict", "strict", codec.AnthropicMessages, `{"model":"c","max_tokens":9,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]}`, pipeline.RuleUnscannedMedia, "messages[0].content[0].source"},
		// Hard negatives.
		{"text prompt", "balanced", codec.OpenAICompletions, `{"model":"m","prompt":["Say hello in French"]}`, "", ""},
		{"image under balanced (allowed, counted)", "balanced", codec.OpenAIChat, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},` + img + `]}]}`, "", ""},
		{"anthropic plain-text document under strict", "strict", codec.AnthropicMessages, `{"model":"c","max_tokens":9,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Quarterly report: sales rose."}}]}]}`, "", ""},
		{"redacted thinking echoed back under strict", "strict", codec.AnthropicMessages, `{"model":"c","max_tokens":9,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"redacted_thinking","data":"EmwKAhgB"},{"type":"text","text":"Hello."}]},{"role":"user","content":"How are you?"}]}`, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := step.Scan(context.Background(), policy(tc.policy), &scan.Message{Direction: pipeline.Request, API: tc.api, Body: []byte(tc.body)}, &scan.Conversation{})
			v := r.Verdict
			if tc.wantRule == "" {
				// Only this check is under test: other detectors may act on
				// the readable text (strict's classifier flags short
				// documents at 0.35, the detection issue's business).
				for _, r := range v.Rules() {
					if strings.HasPrefix(r, "unscanned.") {
						t.Fatalf("refused as unreadable: %s", v.Reason)
					}
				}
				return
			}
			if v.Action != pipeline.Block || v.Status != 400 || !slices.Contains(v.Rules(), tc.wantRule) || v.Cause != pipeline.CauseNone {
				t.Fatalf("verdict %+v, want a 400 block by %s", v, tc.wantRule)
			}
			if !strings.Contains(v.Reason, tc.wantField) {
				t.Fatalf("reason %q does not name the field %s", v.Reason, tc.wantField)
			}
		})
	}
	for _, c := range []struct {
		kind, result, policy string
		want                 float64
	}{
		{"tokens", "refused", "balanced", 4}, {"tokens", "allowed", "tokens", 1},
		{"media", "refused", "strict", 2}, {"media", "refused", "kids", 1}, {"media", "allowed", "balanced", 1},
	} {
		got := counter(t, reg, c.kind, c.result, c.policy)
		if got != c.want {
			t.Errorf("llmfw_unscanned_content_total{kind=%s,result=%s,policy=%s} = %v, want %v", c.kind, c.result, c.policy, got, c.want)
		}
	}
}

// counter is the value of one series of llmfw_unscanned_content_total (0
// when it does not exist).
func counter(t *testing.T, reg *prometheus.Registry, kind, result, policy string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "llmfw_unscanned_content_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["kind"] == kind && l["result"] == result && l["policy"] == policy {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
