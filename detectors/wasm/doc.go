// Package wasm is the custom-rule detector family: operators' own rules,
// compiled to WebAssembly and run sandboxed in the request path on wazero,
// with a memory limit, a per-call deadline, a failure action (fail closed by
// default) and a circuit breaker per rule. The ABI is in subpackage abi and
// documented in docs/wasm-rules.md; subpackage guest turns a Go program into
// a rule; examples holds example rules.
//
// It owns the rules' runtimes, compiled modules, instance pools, breakers and
// the llmfw_wasm_* metrics. Like every detector it imports pipeline for the
// shared types and must not import extproc, codecs, Envoy, gRPC or other
// detector families.
package wasm
