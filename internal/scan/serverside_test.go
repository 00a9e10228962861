package scan_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Server-side content — what the provider adds to the model's context
// that no firewall in front of it sees — is allowed, flagged or refused
// per kind, by policy, with a documented default for every kind.
func TestServerSideContent(t *testing.T) {
	set, err := pipeline.ParsePolicySet([]byte(`version: ss1
default: defaults
policies:
  defaults:
    detectors: {limits: {action: block}}
  locked:
    server_side: {hosted_tool: refuse, stored_state: refuse}
    detectors: {limits: {action: block}}
  open:
    server_side: {hosted_tool: allow, remote_mcp: allow, stored_state: allow}
    detectors: {limits: {action: block}}
`), "server side")
	if err != nil {
		t.Fatal(err)
	}
	step := &scan.Step{Engine: pipeline.NewEngine(all.EngineOptions()...), MaxBodyBytes: 1 << 20}
	const (
		hosted   = `{"model":"m","input":"What happened today?","tools":[{"type":"web_search_preview"}]}`
		mcp      = `{"model":"m","input":"List my tickets","tools":[{"type":"mcp","server_label":"jira","server_url":"https://mcp.example/sse"}]}`
		anthMCP  = `{"model":"c","max_tokens":9,"messages":[{"role":"user","content":"Hi"}],"mcp_servers":[{"type":"url","url":"https://mcp.example/sse","name":"x"}]}`
		anthWeb  = `{"model":"c","max_tokens":9,"messages":[{"role":"user","content":"News?"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`
		previous = `{"model":"m","input":"And then?","previous_response_id":"resp_123"}`
		stored   = `{"model":"m","prompt":{"id":"pmpt_123","variables":{"city":"Paris"}}}`
		function = `{"model":"m","input":"Weather?","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]}`
		client   = `{"model":"c","max_tokens":9,"messages":[{"role":"user","content":"Fix it"}],"tools":[{"type":"bash_20250124","name":"bash"},{"type":"text_editor_20250124","name":"str_replace_editor"}]}`
	)
	cases := []struct {
		name, policy string
		api          codec.API
		body         string
		want         string // "refuse", "flag" or "pass"
		rule         string
	}{
		{"hosted tool, default: flagged", "defaults", codec.OpenAIResponses, hosted, "flag", "server_side.hosted_tool"},
		{"anthropic server tool, default: flagged", "defaults", codec.AnthropicMessages, anthWeb, "flag", "server_side.hosted_tool"},
		{"remote MCP tool, default: refused", "defaults", codec.OpenAIResponses, mcp, "refuse", "server_side.remote_mcp"},
		{"anthropic mcp_servers, default: refused", "defaults", codec.AnthropicMessages, anthMCP, "refuse", "server_side.remote_mcp"},
		{"previous_response_id, default: flagged", "defaults", codec.OpenAIResponses, previous, "flag", "server_side.stored_state"},
		{"stored prompt, default: flagged", "defaults", codec.OpenAIResponses, stored, "flag", "server_side.stored_state"},
		{"hosted tool refused by policy", "locked", codec.OpenAIResponses, hosted, "refuse", "server_side.hosted_tool"},
		{"stored state refused by policy", "locked", codec.OpenAIResponses, previous, "refuse", "server_side.stored_state"},
		{"remote MCP allowed by policy", "open", codec.OpenAIResponses, mcp, "pass", ""},
		// Hard negatives: tools the client runs, and no stored state.
		{"function tool", "locked", codec.OpenAIResponses, function, "pass", ""},
		{"anthropic client tools (bash, editor)", "locked", codec.AnthropicMessages, client, "pass", ""},
		{"completions prompt string", "locked", codec.OpenAICompletions, `{"model":"m","prompt":"Say hi"}`, "pass", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := set.Policy(tc.policy)
			if !ok {
				t.Fatalf("no policy %s", tc.policy)
			}
			v := step.Scan(context.Background(), p, &scan.Message{Direction: pipeline.Request, API: tc.api, Body: []byte(tc.body)}, &scan.Conversation{}).Verdict
			rules := v.Rules()
			switch tc.want {
			case "refuse":
				if v.Action != pipeline.Block || v.Status != 400 || !slices.Contains(rules, tc.rule) || !strings.Contains(v.Reason, "firewall never sees") {
					t.Fatalf("verdict %+v, want a 400 refusal by %s", v, tc.rule)
				}
			case "flag":
				if v.Action != pipeline.Allow || !slices.Contains(rules, tc.rule) {
					t.Fatalf("verdict %+v, want allowed with %s in the decision", v, tc.rule)
				}
			default:
				for _, r := range rules {
					if strings.HasPrefix(r, "server_side.") {
						t.Fatalf("rules %v for content the provider does not add", rules)
					}
				}
				if v.Action == pipeline.Block {
					t.Fatalf("blocked: %s", v.Reason)
				}
			}
		})
	}
	if _, err := pipeline.ParsePolicySet([]byte("version: x\ndefault: a\npolicies:\n  a:\n    server_side: {hosted_tools: refuse}\n    detectors: {}\n"), "typo"); err == nil || !strings.Contains(err.Error(), "unknown kind") {
		t.Errorf("a misspelt kind: %v", err)
	}
	if _, err := pipeline.ParsePolicySet([]byte("version: x\ndefault: a\npolicies:\n  a:\n    server_side: {remote_mcp: block}\n    detectors: {}\n"), "bad action"); err == nil || !strings.Contains(err.Error(), "want allow, flag or refuse") {
		t.Errorf("a bad action: %v", err)
	}
}
