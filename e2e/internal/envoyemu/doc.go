// Package envoyemu plays the part of Envoy's HTTP ext_proc filter in front of
// an ext_proc gRPC server, so the e2e suite can drive the real llm-firewall
// binary with real HTTP clients without an Envoy binary.
//
// It is our model of Envoy, written from reading Envoy's filter source
// (source/extensions/filters/http/ext_proc/{ext_proc.cc,processor_state.cc,
// mutation_utils.cc}). Every rule in the code cites the source it mirrors
// with "per Envoy source ..., not run"; since then every e2e scenario also
// runs through the pinned real Envoy (1.40.0), and where the two differed the
// emulator was changed to agree (docs/architecture.md, "What real Envoy
// taught us"; such rules cite the test that shows them on Envoy 1.40).
//
// The emulated filter configuration is fixed:
//
//	processing_mode: {request_header_mode: SEND, request_body_mode: BUFFERED,
//	                  response_header_mode: SEND, response_body_mode: BUFFERED,
//	                  request_trailer_mode: SKIP, response_trailer_mode: SKIP}
//	failure_mode_allow: false
//	message_timeout: Config.MessageTimeout (2s by default)
//	status_on_error: Config.StatusOnError (500 by default)
//	metadata_options.receiving_namespaces.untyped: Config.ReceivingNamespaces (["llmfw"])
//	request_attributes: ["xds.route_name"]
//	grpc_service.initial_metadata: per Route
//	allow_mode_override: Config.AllowModeOverride (false by default), with
//	  allowed_override_modes: [{request BUFFERED, response STREAMED}]
//	max_message_timeout: 0, mutation_rules: default
//
// What it models: one Process stream per HTTP request, opened lazily, over
// one shared HTTP/2 connection; the message order request_headers →
// request_body → response_headers → response_body; protocol_config on the
// first message and the xds.route_name attribute on the first request
// message only; lower-cased headers with pseudo-headers, values in raw_value
// only; end_of_stream on headers from the framing (a chunked body that turns
// out empty still gets an empty body message); the HCM's generated
// x-request-id and x-forwarded-proto; headers held until the body reply
// (BUFFERED); exactly one reply per message matched by oneof (a wrong or
// missing oneof is spurious and fails closed, as with runtime flag
// ext_proc_fail_close_spurious_resp); CONTINUE and CONTINUE_AND_REPLACE;
// header mutations under the default mutation rules (routing headers,
// x-envoy-* and removal of pseudo-headers/host silently ignored and counted;
// value+raw_value, invalid names/values or a bad append_action fail with
// status_on_error); the content-length versus mutated-body check;
// ImmediateResponse as a local reply (status below 200 becomes 200,
// text/plain unless the reply sets a content-type, details with whitespace
// turned into '_'); per-message timeout 504; a stream that cannot open or ends
// with a non-OK status → status_on_error; a clean (OK) close before the last
// reply → the rest continues unprocessed (counted as FailOpen);
// override_message_timeout ignored (max_message_timeout unset); dynamic
// metadata filtered by receiving namespace, merged by key and recorded per
// request; the router's 503 for an unreachable upstream, which still passes
// through the response phase; half-close and a bounded wait for the server at
// the end of a stream (ext_proc_graceful_grpc_close).
//
// What it does not model: the HTTP/1 and HTTP/2 codecs (header
// normalisation, chunked re-encoding: the emulator always forwards upstream
// with a content-length, and a declared content-length that disagrees with
// the body without a body mutation, which Envoy does not check, shows up here
// as an upstream error 503), the per-connection buffer limit and its 413 /
// 500 (response_payload_too_large), trailers, STREAMED other than by the
// admitted mode_override (a text/event-stream response switched to
// STREAMED on its headers reply: each upstream read is one chunk, its
// reply's body or clear_body goes downstream at once, the end is an empty
// end_of_stream chunk, and a failure after the headers resets the stream),
// BUFFERED_PARTIAL, FULL_DUPLEX_STREAMED, per-route ExtProcPerRoute merging,
// route re-selection after a :path change or clear_route_cache, mutation
// rules other than the default, HCM header count/size limits, typed dynamic
// metadata, observability mode, gRPC retries, response-direction attributes,
// and headers Envoy adds itself (server, x-envoy-upstream-service-time,
// x-envoy-expected-rq-timeout-ms). Envoy handles a reply the moment it
// arrives; the emulator looks at replies only while it awaits one, so an
// unsolicited extra reply is judged against the next message instead. It
// reads the whole downstream body before opening the stream, so it cannot
// show the timing of a header reply that arrives while the body is still
// being received.
package envoyemu
