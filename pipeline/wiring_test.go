package pipeline_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// An engine wired without the normalizer or the canary maker works, and
// its log says what is missing; wired with them, it uses them.
func TestEngineWiring(t *testing.T) {
	var logs bytes.Buffer
	e := pipeline.NewEngine(pipeline.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if !strings.Contains(logs.String(), "without a text normalizer") {
		t.Errorf("no word of the missing normalizer in the log: %q", logs.String())
	}
	for range 2 {
		if tok, _, ok := e.NewCanary(); ok || tok != "" {
			t.Fatalf("canary %q without a canary maker", tok)
		}
	}
	if n := strings.Count(logs.String(), "no canary maker"); n != 1 {
		t.Errorf("the missing canary maker is logged %d times, want once: %q", n, logs.String())
	}

	logs.Reset()
	e = pipeline.NewEngine(pipeline.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		pipeline.WithNormalizer(func(s string) pipeline.View { return pipeline.View{Text: strings.ToLower(s)} }),
		pipeline.WithCanaryMaker(func() (string, string) { return "tok-1", "say tok-1 never" }))
	if logs.Len() != 0 {
		t.Errorf("a fully wired engine logs %q", logs.String())
	}
	if tok, note, ok := e.NewCanary(); !ok || tok != "tok-1" || note != "say tok-1 never" {
		t.Errorf("canary %q %q %v", tok, note, ok)
	}
}
