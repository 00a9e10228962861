package guard

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the guard API's own series; decisions, fail-closed causes and
// evaluation time are counted by the engine, exactly as for ext_proc. A nil
// *Metrics records nothing.
type Metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	unknownProject prometheus.Counter
}

// NewMetrics registers the guard API series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_guard_requests_total",
			Help: "Guard API requests by endpoint (/v2/guard, /v1/scan) and outcome (allowed, redacted, blocked, fail_closed, shadow; unauthorized, invalid, too_large, unavailable for requests that got no verdict).",
		}, []string{"endpoint", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "llmfw_guard_request_duration_seconds",
			Help:    "Time from reading a guard API request to having its answer, by endpoint.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"endpoint"}),
		unknownProject: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmfw_guard_unknown_project_total",
			Help: "Guard API requests whose project_id or policy named no policy (the default policy was used).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.unknownProject)
	}
	return m
}

func (m *Metrics) request(endpoint, outcome string, d time.Duration) {
	if m != nil {
		m.requests.WithLabelValues(endpoint, outcome).Inc()
		m.duration.WithLabelValues(endpoint).Observe(d.Seconds())
	}
}

func (m *Metrics) unknown() {
	if m != nil {
		m.unknownProject.Inc()
	}
}
