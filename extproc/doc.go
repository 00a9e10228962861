// Package extproc is the Envoy adapter: a gRPC ExternalProcessor server in
// which one Process stream is one HTTP transaction. It translates Envoy's
// messages into calls of the one scan step (internal/scan, shared with the
// guard API) and its results back into Envoy replies — exactly one reply
// per message, of the matching kind. It keeps only Envoy's concerns: body
// modes, held chunks, mode overrides, header and body mutations, immediate
// responses, dynamic metadata.
//
// It owns every fail-closed path at the transport: a body it cannot read,
// a budget that runs out, overload, or a body mode that would hide the body
// from the scan always ends in an explicit ImmediateResponse, never in a
// clean stream close (which Envoy treats as "continue unprocessed").
// It must not hold detection logic: that lives in pipeline and detectors.
package extproc
