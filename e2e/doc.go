// Package e2e is the end-to-end suite of llm-firewall. It builds the real
// binary once, runs it as a process on loopback ports, and drives it with the
// real OpenAI and Anthropic Go SDKs through internal/envoyemu (our model of
// Envoy's ext_proc filter, "per Envoy source, not run") to internal/fakellm
// (a recording fake LLM upstream). When an `envoy` binary is on PATH, one
// test also runs through real Envoy with a generated bootstrap.
//
// The tests carry the build tag e2e:
//
//	go test -race -tags e2e -count=1 ./e2e/...
//
// Without the tag only the helper packages' unit tests run.
package e2e
