// Package envoy holds the deployable Envoy and Istio configuration for
// llm-firewall, not Go code:
//
//   - envoy.yaml: a runnable Envoy bootstrap (listener :10000, ext_proc filter
//     pointing at the firewall on 127.0.0.1:50051, routes to OpenAI and
//     Anthropic) with every fail-closed setting commented;
//   - istio/envoyfilter.yaml and istio/README.md: the same filter as an Istio
//     EnvoyFilter for the ingress gateway, and the wiring notes.
//   - gateway/envoyextensionpolicy.yaml and gateway/README.md: the same
//     settings as an Envoy Gateway EnvoyExtensionPolicy, and what Envoy
//     Gateway does not expose (buffer limit, max_message_timeout, ...).
//
// The tests in this directory validate the Envoy and Istio files against
// Envoy's own protobuf schemas (go-control-plane) and the firewall's
// fail-closed lint rules, decode the Envoy Gateway policy strictly and check
// its fail-closed invariants, and run `envoy --mode validate` when an envoy
// binary is on PATH. The configs target Envoy >= 1.35.
package envoy
