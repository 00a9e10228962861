// Package guard is the HTTP adapter of llm-firewall: a guard API that
// gateways call instead of sitting behind Envoy. It serves
//
//   - POST /v2/guard, compatible with Lakera Guard's v2 screening API, so the
//     gateways that already speak it (LiteLLM's lakera_v2 guardrail, Kong's
//     and APISIX's ai-lakera-guard plugins, Portkey's Lakera check) work by
//     changing only their base URL;
//   - POST /v1/scan, the native API: an LLM request or response body, or
//     plain text, in; the full verdict out.
//
// Like extproc it only translates: request bodies go through the same scan
// step (internal/scan) with the same Engine and policy set, and its results
// become answers. The same
// fail-closed rule holds: a verdict that could not be computed (budget,
// malformed body, detector fault) is answered as a block, never as an
// error a gateway might treat as "allow".
//
// It must not import Envoy or gRPC packages.
package guard
