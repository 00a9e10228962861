// Package pipeline is the transport-free core of llm-firewall: it resolves the
// policy for a transaction, runs the detectors over the segments a codec
// extracted (budgeted and panic-safe, behind the decision cache) and turns
// their findings into one Verdict.
//
// It must not import Envoy, gRPC or any codec package: everything it needs
// arrives as plain values (Input, Segment, Policy), so it is unit-testable
// with plain strings.
package pipeline
