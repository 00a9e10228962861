package wasm

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// wasmMetrics are the family's series. They exist from package init so rules
// can count before the server registers them; RegisterMetrics exposes them.
type wasmMetrics struct {
	calls       *prometheus.CounterVec
	failures    *prometheus.CounterVec
	skipped     *prometheus.CounterVec
	breaker     *prometheus.GaugeVec
	breakerOpen *prometheus.CounterVec
	instances   *prometheus.GaugeVec
	seconds     *prometheus.HistogramVec
}

var metrics = newMetrics()

func newMetrics() *wasmMetrics {
	return &wasmMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_wasm_calls_total",
			Help: "WASM rule evaluations of one message, by rule and result (allow, finding, failure, open: refused by an open breaker).",
		}, []string{"rule", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_wasm_failures_total",
			Help: "WASM rule failures by rule and kind (trap, timeout, memory, abi, instantiate); each applied the rule's on_failure action.",
		}, []string{"rule", "kind"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_wasm_skipped_total",
			Help: "Messages a WASM rule did not check because it failed (on_failure: skip) or its breaker was open (when_open: skip), by rule and reason.",
		}, []string{"rule", "reason"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "llmfw_wasm_breaker_state",
			Help: "Circuit breaker state of a WASM rule: 0 closed, 1 half-open, 2 open.",
		}, []string{"rule"}),
		breakerOpen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_wasm_breaker_opened_total",
			Help: "Times a WASM rule's circuit breaker opened.",
		}, []string{"rule"}),
		instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "llmfw_wasm_instances",
			Help: "Live WASM rule instances (idle in a pool or serving a call), by rule.",
		}, []string{"rule"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "llmfw_wasm_call_seconds",
			Help:    "Time for a WASM rule to evaluate one message (all its segments), by rule.",
			Buckets: []float64{.000005, .00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
		}, []string{"rule"}),
	}
}

func (m *wasmMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.calls, m.failures, m.skipped, m.breaker, m.breakerOpen, m.instances, m.seconds}
}

// RegisterMetrics registers the family's series on reg (the server's
// registry). Call it once; the series count from process start either way.
func RegisterMetrics(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range metrics.collectors() {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
