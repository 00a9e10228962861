package pipeline_test

import (
	"context"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/llm-firewall/llm-firewall/cache"
	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// transient reports a state-dependent finding (or a score-0 skip mark).
type transient struct{ score float64 }

func (transient) Family() string { return "kw_transient" }
func (d transient) Detect(context.Context, *pipeline.Input) ([]pipeline.Finding, error) {
	return []pipeline.Finding{{Rule: "kw_transient.failure", Family: "kw_transient", Score: d.score, Transient: true}}, nil
}

var transientScore = 1.0

func init() {
	pipeline.Register("kw_transient", func(*yaml.Node) (pipeline.Detector, error) { return transient{transientScore}, nil })
}

// TestTransientFindingsAreNotCached: a verdict resting on a detector's
// state (a failing rule) is recomputed every time, and a score-0 transient
// mark never acts.
func TestTransientFindingsAreNotCached(t *testing.T) {
	store, err := cache.New(cache.Config{MaxMB: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	e := pipeline.NewEngine(all.EngineOptions(pipeline.WithCache(store))...)
	for _, tc := range []struct {
		score float64
		want  pipeline.Action
	}{{1, pipeline.Block}, {0, pipeline.Allow}} {
		transientScore = tc.score
		ps, err := pipeline.ParsePolicySet([]byte("version: t\ndefault: p\npolicies:\n  p: {detectors: {kw_transient: {action: block}}}\n"), "test")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			in := &pipeline.Input{Direction: pipeline.Request, Segments: []pipeline.Segment{{Text: "same text"}}}
			v := e.Evaluate(context.Background(), ps.Default, in)
			if v.Cached || v.Action != tc.want {
				t.Fatalf("score %v, call %d: action %v cached %v; want %v, never cached", tc.score, i, v.Action, v.Cached, tc.want)
			}
		}
	}
}
