// Package limits is the request-limits detector family (OWASP LLM10,
// unbounded consumption): it flags bodies, message counts, estimated prompt
// tokens and requested completion tokens above the policy's limits, and
// bounds raw body sizes before decoding through pipeline.BodySizeChecker.
//
// It owns only its rule IDs and their configuration. Like every detector it
// imports pipeline for the shared types and must not import extproc, codecs,
// Envoy, gRPC or other detector families.
package limits
