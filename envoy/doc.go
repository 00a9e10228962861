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
// its fail-closed invariants. Then the pinned real Envoy (LLMFW_ENVOY, set
// by `make test` from .envoy-version) loads each with `envoy --mode
// validate`: envoy.yaml as shipped; the Istio EnvoyFilter, ours and the one
// the Helm chart renders (LLMFW_HELM), applied to a minimal gateway listener
// the way istiod applies it (a patch that matches nothing is an error); and
// the ext_proc filter Envoy Gateway's translator builds from the
// EnvoyExtensionPolicy, compared field by field with envoy.yaml's. istiod
// and Envoy Gateway themselves cannot run here (no container images): what
// they would hand Envoy is rebuilt from their documented translation. The
// e2e suite serves real traffic through envoy.yaml. The configs target
// Envoy >= 1.35.
package envoy
