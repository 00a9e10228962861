package main

import (
	"bytes"
	"crypto/sha256"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// policyReloader checks the policy file (a task of the reload loop,
// internal/reload) and swaps in each new version that validates. It polls
// rather than using inotify: Kubernetes updates a
// mounted ConfigMap by swapping a symlink, which file watches miss, and a
// read of a small file every few seconds costs nothing.
type policyReloader struct {
	path  string
	apply func(*pipeline.PolicySet)
	log   *slog.Logger

	sum     [32]byte // of the bytes last loaded (good or bad)
	reloads *prometheus.CounterVec
	info    *prometheus.GaugeVec
	last    prometheus.Gauge
}

func newPolicyReloader(path string, first []byte, set *pipeline.PolicySet, apply func(*pipeline.PolicySet), log *slog.Logger, reg prometheus.Registerer) *policyReloader {
	r := &policyReloader{
		path: path, apply: apply, log: log, sum: sha256.Sum256(first),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmfw_policy_reloads_total",
			Help: "Policy file reloads by result: ok (swapped in) or rejected (invalid or unreadable; the running set stays).",
		}, []string{"result"}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "llmfw_policy_info",
			Help: "The policy set in force (value 1), by declared version and content digest.",
		}, []string{"version", "digest"}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "llmfw_policy_last_reload_success_timestamp_seconds",
			Help: "When the policy set in force was loaded.",
		}),
	}
	r.reloads.WithLabelValues("ok")
	r.reloads.WithLabelValues("rejected")
	reg.MustRegister(r.reloads, r.info, r.last)
	r.current(set)
	return r
}

func (r *policyReloader) current(set *pipeline.PolicySet) {
	r.info.Reset()
	r.info.WithLabelValues(set.Version, set.Digest).Set(1)
	r.last.SetToCurrentTime()
}

// check loads the file if its bytes changed. A file that cannot be read or
// does not validate is rejected once per distinct content: the running set
// stays, and the error is logged and counted.
func (r *policyReloader) check() {
	b, err := os.ReadFile(r.path)
	if err != nil {
		// Unreadable (mid-swap, deleted): keep serving; count each failure.
		r.reloads.WithLabelValues("rejected").Inc()
		r.log.Error("policy reload: cannot read the policy file; keeping the running policy set", "path", r.path, "err", err)
		return
	}
	sum := sha256.Sum256(b)
	if bytes.Equal(sum[:], r.sum[:]) {
		return
	}
	r.sum = sum
	set, err := parsePolicyFile(b, r.path)
	if err != nil {
		r.reloads.WithLabelValues("rejected").Inc()
		r.log.Error("policy reload rejected; keeping the running policy set", "path", r.path, "err", err)
		return
	}
	r.apply(set)
	r.current(set)
	r.reloads.WithLabelValues("ok").Inc()
	r.log.Info("policy reloaded", "path", r.path, "policy_version", set.Version, "digest", set.Digest, "policies", set.Names())
}
