package scan_test

import (
	"context"
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

type toolDef struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Params      map[string]string `yaml:"params"`
}

type toolSuite struct {
	Benign   []toolDef `yaml:"benign"`
	Poisoned []toolDef `yaml:"poisoned"`
	// KnownMisses and KnownFalsePositives are open defects by tool name:
	// the test fails on a new one and on one that is fixed.
	KnownMisses         map[string]string `yaml:"known_misses"`
	KnownFalsePositives map[string]string `yaml:"known_false_positives"`
}

func (td toolDef) schema() map[string]any {
	props := map[string]any{}
	for k, d := range td.Params {
		props[k] = map[string]any{"type": "string", "description": d}
	}
	return map[string]any{"type": "object", "properties": props}
}

// toolBodies declares td in an OpenAI chat request and an Anthropic
// Messages request, beside an ordinary user turn.
func toolBodies(td toolDef) map[codec.API]string {
	return map[codec.API]string{
		codec.OpenAIChat: mustJSON(map[string]any{"model": "m",
			"messages": []any{map[string]any{"role": "user", "content": "Can you help me with my task?"}},
			"tools":    []any{map[string]any{"type": "function", "function": map[string]any{"name": td.Name, "description": td.Description, "parameters": td.schema()}}}}),
		codec.AnthropicMessages: mustJSON(map[string]any{"model": "c", "max_tokens": 64,
			"messages": []any{map[string]any{"role": "user", "content": "Can you help me with my task?"}},
			"tools":    []any{map[string]any{"name": td.Name, "description": td.Description, "input_schema": td.schema()}}}),
	}
}

// Tool declarations are untrusted input (issue "Nothing unscanned", item
// 3): their descriptions and schemas have provenance tool_definition and
// are scanned by default with the tool threshold; poisoned declarations
// (hidden instructions, exfiltration through a parameter, shadowing other
// tools) block, ordinary ones — many of which instruct the model — pass.
// tool_definitions: trusted reads them as system text again.
func TestToolDefinitions(t *testing.T) {
	b, err := os.ReadFile("testdata/tool_definitions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var s toolSuite
	if err := yaml.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	set, step := defaultStep(t)
	blocked := func(p *pipeline.Policy, api codec.API, body string) (bool, []string) {
		r := step.Scan(context.Background(), p, &scan.Message{Direction: pipeline.Request, API: api, Body: []byte(body)}, &scan.Conversation{})
		return r.Verdict.Action == pipeline.Block, r.Verdict.Rules()
	}
	caught, fps := 0, 0
	for _, td := range s.Poisoned {
		for api, body := range toolBodies(td) {
			got, rules := blocked(set.Default, api, body)
			_, known := s.KnownMisses[td.Name]
			switch {
			case got:
				caught++
				if known {
					t.Errorf("poisoned %s (%s) is now blocked: remove it from known_misses", td.Name, api)
				}
			case !known:
				t.Errorf("poisoned %s (%s) passed: %v", td.Name, api, rules)
			}
		}
	}
	for _, td := range s.Benign {
		for api, body := range toolBodies(td) {
			got, rules := blocked(set.Default, api, body)
			_, known := s.KnownFalsePositives[td.Name]
			switch {
			case got:
				fps++
				if !known {
					t.Errorf("benign %s (%s) blocked: %v", td.Name, api, rules)
				}
			case known:
				t.Errorf("benign %s (%s) now passes: remove it from known_false_positives", td.Name, api)
			}
		}
	}
	t.Logf("balanced: %d/%d poisoned declarations blocked, %d/%d ordinary ones blocked (two API shapes each)",
		caught, 2*len(s.Poisoned), fps, 2*len(s.Benign))

	// Trusted: the same poisoned descriptions read as system text pass
	// injection (which skips system text under balanced).
	trusted, err := pipeline.ParsePolicySet([]byte("version: t\ndefault: p\npolicies:\n  p:\n    tool_definitions: trusted\n    detectors:\n      injection: {action: block}\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if got, rules := blocked(trusted.Default, codec.OpenAIChat, toolBodies(s.Poisoned[2])[codec.OpenAIChat]); got {
		t.Errorf("tool_definitions: trusted still scans declarations as untrusted: %v", rules)
	}
	if _, err := pipeline.ParsePolicySet([]byte("version: t\ndefault: p\npolicies:\n  p:\n    tool_definitions: sometimes\n"), "t"); err == nil {
		t.Error("tool_definitions: sometimes accepted")
	}
}
