// Package helm holds the Helm chart of llm-firewall (helm/llm-firewall), not
// Go code. The tests in this directory render the chart with a real helm
// binary (LLMFW_HELM, or helm on PATH; skipped when neither exists), lint it,
// check the rendered Kubernetes objects, run `llm-firewall policy check` on a
// rendered policy and validate the optional Istio EnvoyFilter against Envoy's
// protobuf schemas (go-control-plane).
package helm
