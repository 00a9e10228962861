package extproc

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the transport's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	inflight        prometheus.Gauge
	streams         *prometheus.CounterVec
	streamTime      prometheus.Histogram
	messages        *prometheus.CounterVec
	phaseTime       *prometheus.HistogramVec
	unknownPolicies prometheus.Counter
	panics          prometheus.Counter
	observed        prometheus.Counter
	pseudonyms      *prometheus.CounterVec
	overrides       prometheus.Counter
	overloads       *prometheus.CounterVec
}

// NewMetrics registers the transport series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}
	m := &Metrics{
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "llmfw_streams_in_flight",
			Help: "ext_proc streams (HTTP transactions) being processed.",
		}),
		streams: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_transactions_total",
			Help: "Finished transactions by outcome (allowed, redacted, blocked, fail_closed, passthrough, aborted).",
		}, []string{"outcome"}),
		streamTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "llmfw_transaction_duration_seconds",
			Help:    "Wall time of a whole ext_proc stream, including time waiting for Envoy and the upstream.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_messages_total",
			Help: "ext_proc messages answered, by phase and outcome (continue, mutate, immediate, error).",
		}, []string{"phase", "outcome"}),
		phaseTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "llmfw_phase_duration_seconds",
			Help:    "Time from receiving an ext_proc message to having its reply, by phase.",
			Buckets: buckets,
		}, []string{"phase"}),
		unknownPolicies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmfw_policy_selector_unknown_total",
			Help: "Transactions whose selector named a policy that does not exist (the default policy was used).",
		}),
	}
	m.panics = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "llmfw_internal_panics_total",
		Help: "Panics recovered while handling a message outside detectors (each failed its transaction closed).",
	})
	m.observed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "llmfw_observability_messages_total",
		Help: "Messages received in Envoy observability mode, where replies are ignored and nothing can be blocked.",
	})
	m.pseudonyms = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmfw_pseudonyms_restored_total",
		Help: "Pseudonym tokens found in answers, by result: restored to the original value, or left as tokens because the body could not be rewritten (a streamed answer).",
	}, []string{"result"})
	m.overrides = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "llmfw_stream_mode_overrides_total",
		Help: "Streamed (text/event-stream) answers switched from BUFFERED to STREAMED with mode_override, to be scanned as they arrive.",
	})
	m.overloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "llmfw_overload_rejections_total",
		Help: "Messages refused fast with 503 and retry-after because a limit was reached after the queue wait, by limit (streams: LLMFW_MAX_STREAMS, scans: LLMFW_MAX_CONCURRENT_SCANS, memory: LLMFW_MAX_INFLIGHT_MB).",
	}, []string{"limit"})
	for _, l := range []string{"streams", "scans", "memory"} {
		m.overloads.WithLabelValues(l)
	}
	if reg != nil {
		reg.MustRegister(m.inflight, m.streams, m.streamTime, m.messages, m.phaseTime, m.unknownPolicies, m.panics, m.observed, m.pseudonyms, m.overrides, m.overloads)
	}
	return m
}

func (m *Metrics) streamStarted() {
	if m != nil {
		m.inflight.Inc()
	}
}

func (m *Metrics) streamEnded(outcome string, d time.Duration) {
	if m != nil {
		m.inflight.Dec()
		m.streams.WithLabelValues(outcome).Inc()
		m.streamTime.Observe(d.Seconds())
	}
}

func (m *Metrics) message(phase, outcome string, d time.Duration) {
	if m != nil {
		m.messages.WithLabelValues(phase, outcome).Inc()
		m.phaseTime.WithLabelValues(phase).Observe(d.Seconds())
	}
}

func (m *Metrics) unknownPolicy() {
	if m != nil {
		m.unknownPolicies.Inc()
	}
}

func (m *Metrics) panicked() {
	if m != nil {
		m.panics.Inc()
	}
}

func (m *Metrics) observability() {
	if m != nil {
		m.observed.Inc()
	}
}

func (m *Metrics) restored(n int) {
	if m != nil {
		m.pseudonyms.WithLabelValues("restored").Add(float64(n))
	}
}

func (m *Metrics) unrestored(n int) {
	if m != nil {
		m.pseudonyms.WithLabelValues("unrestored").Add(float64(n))
	}
}

func (m *Metrics) modeOverride() {
	if m != nil {
		m.overrides.Inc()
	}
}

func (m *Metrics) overloaded(limit string) {
	if m != nil {
		m.overloads.WithLabelValues(limit).Inc()
	}
}
