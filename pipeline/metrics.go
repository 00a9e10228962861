package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	decisions   *prometheus.CounterVec
	failClosedC *prometheus.CounterVec
	panics      *prometheus.CounterVec
	evalTime    *prometheus.HistogramVec
	corrupt     prometheus.Counter
	candidate   *prometheus.CounterVec
	unscanned   *prometheus.CounterVec
	toolPins    *prometheus.CounterVec
}

// NewMetrics registers the pipeline series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_decisions_total",
			Help: "Decisions by action (allow, redact, block, shadow_redact, shadow_block), rule, policy and direction.",
		}, []string{"action", "rule", "policy", "direction"}),
		failClosedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_fail_closed_total",
			Help: "Messages refused because they could not be scanned, by cause.",
		}, []string{"cause"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_detector_panics_total",
			Help: "Detector panics recovered (each failed its transaction closed), by family.",
		}, []string{"family"}),
		evalTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "llmfw_evaluation_duration_seconds",
			Help:    "Time to evaluate one message through the detectors, by direction.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}, []string{"direction"}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmfw_cache_corrupt_entries_total",
			Help: "Cached decisions that could not be decoded and were treated as misses.",
		}),
		unscanned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_unscanned_content_total",
			Help: "Content the firewall cannot scan, by kind (tokens, media: in the body but unreadable; hosted_tool, remote_mcp, stored_state, websocket: added by the provider or the protocol, never seen) and result: refused; allowed or flagged by the policy and passed unscanned; shadow (a shadow policy would refuse it).",
		}, []string{"kind", "result", "policy"}),
		toolPins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_tool_definitions_total",
			Help: "Tool definitions checked against their pins (policy tool_pin), by policy and result: pinned (first seen), same, changed (flagged or blocked), unpinned (the pin store is full).",
		}, []string{"policy", "result"}),
		candidate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_candidate_differences_total",
			Help: "Messages where a policy's shadow candidate would act differently, by policy, candidate, rule and change (would_block, would_redact: the candidate acts where the policy does not; would_allow: the policy acts where the candidate does not; candidate_failed: the candidate could not finish).",
		}, []string{"policy", "candidate", "rule", "change"}),
	}
	if reg != nil {
		reg.MustRegister(m.decisions, m.failClosedC, m.panics, m.evalTime, m.corrupt, m.candidate, m.unscanned, m.toolPins)
	}
	return m
}

func (m *Metrics) decision(dir Direction, v *Verdict) {
	if m == nil {
		return
	}
	action := v.Action.String()
	if v.Shadow {
		action = "shadow_" + v.WouldBe.String()
	}
	rules := v.Rules()
	if v.Cause != CauseNone {
		rules = []string{"fail_closed." + string(v.Cause)}
	}
	if len(rules) == 0 {
		rules = []string{"none"}
	}
	for _, r := range rules {
		m.decisions.WithLabelValues(action, r, v.Policy, dir.String()).Inc()
	}
}

func (m *Metrics) failClosed(c Cause) {
	if m != nil {
		m.failClosedC.WithLabelValues(string(c)).Inc()
	}
}

func (m *Metrics) panicked(family string) {
	if m != nil {
		m.panics.WithLabelValues(family).Inc()
	}
}

func (m *Metrics) evaluated(dir Direction, d time.Duration) {
	if m != nil {
		m.evalTime.WithLabelValues(dir.String()).Observe(d.Seconds())
	}
}

func (m *Metrics) cacheCorrupt() {
	if m != nil {
		m.corrupt.Inc()
	}
}

func (m *Metrics) candidateDiff(policy, candidate, rule, change string) {
	if m != nil {
		m.candidate.WithLabelValues(policy, candidate, rule, change).Inc()
	}
}

func (m *Metrics) unscannedContent(kind, result, policy string) {
	if m != nil {
		m.unscanned.WithLabelValues(kind, result, policy).Inc()
	}
}

// ToolDefinition counts one tool definition checked against its pin.
func (e *Engine) ToolDefinition(p *Policy, result string) {
	if e.metrics != nil {
		e.metrics.toolPins.WithLabelValues(p.Name, result).Inc()
	}
}
