package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

const selectPolicy = `
version: s1
default: base
policies:
  base: {detectors: {kw_block: {action: block}}}
  chat: {detectors: {kw_block: {action: block}}}
  anthropic: {detectors: {kw_block: {action: block}}}
  wild: {detectors: {kw_block: {action: block}}}
  named: {detectors: {kw_block: {action: block}}}
routes:
  - {host: api.openai.com, path_prefix: /v1/chat/, policy: chat}
  - {host: api.anthropic.com, policy: anthropic}
  - {host: "*.internal.example", policy: wild}
  - {path_prefix: /legacy/, policy: named}
`

// TestSelectionOrder proves each selector, and their order: initial
// metadata, route metadata, route name, then host and path rules, then the
// default.
func TestSelectionOrder(t *testing.T) {
	ps, err := pipeline.ParsePolicySet([]byte(selectPolicy), "test")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		sel     pipeline.Selector
		want    string
		unknown bool
	}{
		{"initial metadata wins", pipeline.Selector{InitialMetadata: "named", RouteMetadata: "chat", RouteName: "wild", Host: "api.anthropic.com"}, "named", false},
		{"route metadata next", pipeline.Selector{RouteMetadata: "chat", RouteName: "wild"}, "chat", false},
		{"route name next", pipeline.Selector{RouteName: "wild", Host: "api.anthropic.com"}, "wild", false},
		{"route name that is no policy falls through", pipeline.Selector{RouteName: "route-7", Host: "api.anthropic.com"}, "anthropic", false},
		{"unknown explicit name is flagged and falls through", pipeline.Selector{InitialMetadata: "nope", Host: "api.anthropic.com"}, "anthropic", true},
		{"host and path", pipeline.Selector{Host: "api.openai.com", Path: "/v1/chat/completions"}, "chat", false},
		{"host with port", pipeline.Selector{Host: "API.OpenAI.com:443", Path: "/v1/chat/completions"}, "chat", false},
		{"host without the path", pipeline.Selector{Host: "api.openai.com", Path: "/v1/embeddings"}, "base", false},
		{"wildcard subdomain", pipeline.Selector{Host: "llm.internal.example"}, "wild", false},
		{"wildcard needs a subdomain", pipeline.Selector{Host: "internal.example"}, "base", false},
		{"path only", pipeline.Selector{Host: "x", Path: "/legacy/v1"}, "named", false},
		{"nothing matches", pipeline.Selector{Host: "x", Path: "/"}, "base", false},
	}
	for _, tc := range cases {
		p, unknown := ps.Select(tc.sel)
		if p.Name != tc.want || unknown != tc.unknown {
			t.Errorf("%s: got %s (unknown=%v), want %s (unknown=%v)", tc.name, p.Name, unknown, tc.want, tc.unknown)
		}
	}
}

func TestRouteRuleErrors(t *testing.T) {
	base := "version: s\ndefault: p\npolicies:\n  p: {detectors: {kw_block: {}}}\nroutes:\n"
	for _, tc := range []struct{ route, want string }{
		{"  - {host: a, policy: nope}", "not defined"},
		{"  - {policy: p}", "give host, path_prefix or both"},
		{"  - {host: a, policy: p, hots: b}", "line 6: unknown key \"hots\""},
		{"  - {path_prefix: v1, policy: p}", "must start with /"},
	} {
		_, err := pipeline.ParsePolicySet([]byte(base+tc.route+"\n"), "test")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.route, err, tc.want)
		}
	}
}

// TestRoleThresholds: a finding in a tool result meets a lower bar than the
// same finding in a user turn.
func TestRoleThresholds(t *testing.T) {
	src := `
version: r1
default: p
policies:
  p:
    detectors:
      kw_block:
        action: block
        threshold: 0.95
        role_thresholds: {tool: 0.5}
`
	ps, err := pipeline.ParsePolicySet([]byte(src), "test")
	if err != nil {
		t.Fatal(err)
	}
	e := pipeline.NewEngine(all.EngineOptions()...)
	eval := func(role pipeline.Role) pipeline.Action {
		in := &pipeline.Input{Direction: pipeline.Request, Segments: []pipeline.Segment{{Text: "BLOCKME", Role: role}}}
		return e.Evaluate(context.Background(), ps.Default, in).Action
	}
	// The test detector scores 0.9: under the user bar, over the tool bar.
	if got := eval(pipeline.RoleUser); got != pipeline.Allow {
		t.Errorf("user turn: %v, want allow", got)
	}
	if got := eval(pipeline.RoleTool); got != pipeline.Block {
		t.Errorf("tool result: %v, want block", got)
	}
	bad := strings.Replace(src, "{tool: 0.5}", "{robot: 0.5}", 1)
	if _, err := pipeline.ParsePolicySet([]byte(bad), "test"); err == nil || !strings.Contains(err.Error(), "robot") {
		t.Errorf("unknown role accepted: %v", err)
	}
}

// TestCandidateIsCountedNotApplied: a candidate that would block is
// counted per rule and never changes the verdict.
func TestCandidateIsCountedNotApplied(t *testing.T) {
	src := `
version: c1
default: live
policies:
  live:
    candidate: next
    detectors:
      kw_block: {action: log}
  next:
    detectors:
      kw_block: {action: block}
`
	ps, err := pipeline.ParsePolicySet([]byte(src), "test")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	e := pipeline.NewEngine(all.EngineOptions(pipeline.WithMetrics(pipeline.NewMetrics(reg)))...)
	in := &pipeline.Input{Direction: pipeline.Request, Segments: []pipeline.Segment{{Text: "BLOCKME", Role: pipeline.RoleUser}}}
	if v := e.Evaluate(context.Background(), ps.Default, in); v.Action != pipeline.Allow || len(v.Findings) != 1 {
		t.Fatalf("live verdict %v with %d findings; the candidate must not act", v.Action, len(v.Findings))
	}
	want := `
# HELP llmfw_candidate_differences_total Messages where a policy's shadow candidate would act differently, by policy, candidate, rule and change (would_block, would_redact: the candidate acts where the policy does not; would_allow: the policy acts where the candidate does not; candidate_failed: the candidate could not finish).
# TYPE llmfw_candidate_differences_total counter
llmfw_candidate_differences_total{candidate="next",change="would_block",policy="live",rule="kw_block.blockme"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "llmfw_candidate_differences_total"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"candidate: nope", "candidate: live"} {
		b := strings.Replace(src, "candidate: next", bad, 1)
		if _, err := pipeline.ParsePolicySet([]byte(b), "test"); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
