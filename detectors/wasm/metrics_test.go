package wasm

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRegisterMetricsAndLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if err := RegisterMetrics(reg); err != nil {
		t.Fatalf("RegisterMetrics: %v", err)
	}
	if err := RegisterMetrics(reg); err == nil {
		t.Fatal("registering twice on one registry succeeded")
	}
	// Make every series appear so the linter sees them all.
	metrics.calls.WithLabelValues("wasm.lint", "allow").Add(0)
	metrics.failures.WithLabelValues("wasm.lint", kindTrap).Add(0)
	metrics.skipped.WithLabelValues("wasm.lint", "failure").Add(0)
	metrics.breaker.WithLabelValues("wasm.lint").Set(0)
	metrics.breakerOpen.WithLabelValues("wasm.lint").Add(0)
	metrics.instances.WithLabelValues("wasm.lint").Add(0)
	metrics.seconds.WithLabelValues("wasm.lint").Observe(0)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// Failure and skip lines name the rule and the kind, are rate-limited, and
// never carry the message's text.
func TestFailureLogIsRateLimitedAndHasNoInput(t *testing.T) {
	var buf bytes.Buffer
	SetLogger(slog.New(slog.NewJSONHandler(&buf, nil)))
	defer SetLogger(nil)
	d := newDetector(t, "rules:\n  - {name: log-trap, module: trap.wasm, timeout: 2s, breaker: off}\n")
	const secret = "boom sk-live-4242-do-not-log"
	for range 5 {
		if fs := detect(t, d, request(secret)); len(fs) != 1 {
			t.Fatalf("findings %v", rules(fs))
		}
	}
	out := buf.String()
	if strings.Contains(out, "sk-live") || strings.Contains(out, "boom ") {
		t.Fatalf("log carries input text: %s", out)
	}
	if n := strings.Count(out, `"rule":"wasm.log-trap"`); n != 1 {
		t.Fatalf("%d log lines for 5 failures within %v, want 1:\n%s", n, alertEvery, out)
	}
	if !strings.Contains(out, `"kind":"trap"`) {
		t.Fatalf("log line does not name the failure kind: %s", out)
	}
}
