package scan_test

import (
	"context"
	"testing"

	"github.com/llm-firewall/llm-firewall/detectors/all"
	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// defaultStep is the embedded policy set and a scan step with every real
// detector family, as the binary builds them.
func defaultStep(t testing.TB) (*pipeline.PolicySet, *scan.Step) {
	t.Helper()
	set, err := pipeline.LoadDefaultPolicySet()
	if err != nil {
		t.Fatal(err)
	}
	return set, &scan.Step{Engine: pipeline.NewEngine(all.EngineOptions()...), MaxBodyBytes: 1 << 20}
}

// noDeadline is a stream's per-window budget without a deadline.
func noDeadline() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
