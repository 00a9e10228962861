package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// TestEntityActions: per-entity (or per-rule) actions override the
// detector's, and "log" records findings without acting.
func TestEntityActions(t *testing.T) {
	const src = `
version: e1
default: byrule
policies:
  byrule:
    detectors:
      kw_redact:
        action: log
        entities: {kw_redact.secret: pseudonymize}
  byentity:
    detectors:
      kw_redact:
        action: redact
        entities: {WORD: block, kw_redact.secret: log}
`
	ps, err := pipeline.ParsePolicySet([]byte(src), "test")
	if err != nil {
		t.Fatal(err)
	}
	e := pipeline.NewEngine(all.EngineOptions()...)
	in := &pipeline.Input{Direction: pipeline.Request, Segments: []pipeline.Segment{{Text: "BLOCKME and secret"}}}

	v := e.Evaluate(context.Background(), ps.Default, in)
	if v.Action != pipeline.Redact || len(v.Findings) != 2 {
		t.Fatalf("byrule: action %v with %d findings, want redact with both recorded", v.Action, len(v.Findings))
	}
	if len(v.Redactions) != 1 || !v.Redactions[0].Pseudonym || v.Redactions[0].Span.Start != 12 {
		t.Fatalf("byrule: redactions %+v, want one pseudonym over \"secret\"", v.Redactions)
	}

	p, _ := ps.Policy("byentity")
	if v := e.Evaluate(context.Background(), p, in); v.Action != pipeline.Block {
		t.Fatalf("byentity: action %v, want block (the entity's action wins over the rule's)", v.Action)
	}
}

func TestEntityActionErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"entities: {EMAIL: shred}", "line 8"},
		{"entities: [EMAIL]", "want a mapping"},
		{"entities: {EMAIL: redact, EMAIL: block}", "listed twice"},
		{"action: pseudonymise", "want block, redact, pseudonymize or log"},
	} {
		src := "version: e\ndefault: p\npolicies:\n  p:\n    detectors:\n      kw_redact:\n        action: log\n        " + tc.yaml + "\n"
		_, err := pipeline.ParsePolicySet([]byte(src), "test")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.yaml, err, tc.want)
		}
	}
}
