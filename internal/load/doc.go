// Package load is the load driver behind `llm-firewall bench`: it plays
// Envoy's side of many concurrent ext_proc transactions (buffered request
// and response, and streamed answers switched with mode_override) against
// any ext_proc address, and measures throughput, per-phase latency
// percentiles, blocks, errors and the server's resident memory. It also
// holds a no-op ext_proc server, the baseline the firewall is compared with.
//
// It lives under internal/ (not a supported Go API): `llm-firewall bench`
// and the e2e suite's benchmarks share it. It must not import the e2e suite
// or anything built with the e2e tag, nor the firewall's own packages (it
// measures any ext_proc server).
package load
