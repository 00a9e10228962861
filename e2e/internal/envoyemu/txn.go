package envoyemu

// One HTTP transaction through the filter: request phase, the upstream
// call, response phase.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	extprocfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// txn is one HTTP transaction and its (lazily opened) Process stream: the
// emulated Filter plus its two ProcessorStates.
type txn struct {
	e     *Emulator
	rec   *Record
	route Route
	dctx  context.Context // downstream request context

	stream      extprocv3.ExternalProcessor_ProcessClient
	cancel      context.CancelFunc
	recvCh      chan recvResult
	done        chan struct{}
	wg          sync.WaitGroup
	sentFirst   bool // protocol_config goes on the first message only
	complete    bool // processing_complete_: no more messages to the server
	streamEnded bool // the server's side of the stream has ended
	replied     bool // the server has sent a message: its response has started
}

type recvResult struct {
	msg *extprocv3.ProcessingResponse
	err error
}

type callKind int

const (
	callMatched   callKind = iota // the reply of the expected oneof
	callImmediate                 // immediate_response
	callLocal                     // an error local reply is to be sent
	callSkip                      // processing is complete: continue unprocessed
	callAbort                     // the downstream went away
)

type callResult struct {
	kind      callKind
	common    *extprocv3.CommonResponse
	immediate *extprocv3.ImmediateResponse
	local     *httpResponse
	override  *extprocfilterv3.ProcessingMode // mode_override on a matched headers reply
}

func (t *txn) run(r *http.Request) *httpResponse {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.rec.Outcome = OutcomeDownstreamReset
		return nil
	}
	// HTTP/1 codec: Host becomes :authority; HCM adds :scheme,
	// x-forwarded-proto and a generated x-request-id (per Envoy source
	// connection_manager_utility.cc mutateRequestHeaders, not run).
	reqH := headerMap{{":authority", r.Host}, {":path", r.URL.RequestURI()}, {":method", r.Method}, {":scheme", "http"}}
	reqH = append(reqH, fromHTTP(r.Header)...)
	if !reqH.has("x-forwarded-proto") {
		reqH.add("x-forwarded-proto", "http")
	}
	if !reqH.has("x-request-id") {
		reqH.add("x-request-id", newUUID())
	}

	// end_of_stream on headers comes from the codec: true when the request
	// declares no body (content-length 0 or absent without chunking). A
	// chunked body that turns out empty still gets an (empty) body message,
	// as Envoy's decodeData(end_stream) does.
	hasBody := r.ContentLength != 0
	var reqDone bool // CONTINUE_AND_REPLACE: body mode NONE for this direction
	hdrs := &extprocv3.ProcessingRequest{
		Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
			Headers: reqH.proto(), EndOfStream: !hasBody,
		}},
		// request_attributes are evaluated once per direction and sent on its
		// first message (per Envoy source processor_state.h attributes_sent_, not run).
		Attributes: map[string]*structpb.Struct{"envoy.filters.http.ext_proc": {
			Fields: map[string]*structpb.Value{"xds.route_name": structpb.NewStringValue(t.route.Name)},
		}},
	}
	res := t.call(hdrs, "request_headers")
	switch res.kind {
	case callAbort:
		return nil
	case callLocal:
		return res.local
	case callImmediate:
		return t.immediate(res.immediate, "request_headers")
	case callMatched:
		var lr *httpResponse
		if body, reqDone, lr = t.headersReply(res.common, &reqH, body); lr != nil {
			return lr
		}
	}

	if hasBody && !reqDone && !t.complete {
		// BUFFERED: the whole body in one message with end_of_stream, the
		// headers still paused (per Envoy source processor_state.cc, not run).
		msg := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
			RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true},
		}}
		res := t.call(msg, "request_body")
		switch res.kind {
		case callAbort:
			return nil
		case callLocal:
			return res.local
		case callImmediate:
			return t.immediate(res.immediate, "request_body")
		case callMatched:
			var lr *httpResponse
			body, lr = t.mutateBuffered(&reqH, body, res.common)
			if lr != nil {
				return lr
			}
		}
	}

	up, ok := t.forward(reqH, body)
	if !ok {
		return nil
	}
	return t.responsePhase(up)
}

// forward is the router: it sends the (mutated) request upstream. An upstream
// failure becomes the router's 503 local reply, which still runs through the
// encoder filters, ext_proc included.
func (t *txn) forward(reqH headerMap, body []byte) (*httpResponse, bool) {
	path, _ := reqH.get(":path")
	method, _ := reqH.get(":method")
	authority, _ := reqH.get(":authority")
	u := t.e.upstream.Scheme + "://" + t.e.upstream.Host + path
	req, err := http.NewRequestWithContext(t.dctx, method, u, bytes.NewReader(body))
	if err != nil {
		return localReply(http.StatusBadRequest, nil), true
	}
	req.Host = authority
	for _, kv := range reqH {
		if strings.HasPrefix(kv.key, ":") || kv.key == "host" || kv.key == "content-length" {
			continue
		}
		req.Header.Add(kv.key, kv.value)
	}
	if !reqH.has("user-agent") {
		req.Header["User-Agent"] = nil // net/http would add its own; Envoy adds none
	}
	req.ContentLength = int64(len(body))
	if cl, ok := reqH.get("content-length"); ok {
		// Forward the declared length as is: Envoy only checks it against a
		// body mutation. A disagreeing length fails here as an upstream error.
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
			req.ContentLength = n
		}
	}
	t.e.stats.upstreamRequests.Add(1)
	t.rec.UpstreamCalled = true
	resp, err := t.e.httpc.Do(req)
	if err != nil {
		if t.dctx.Err() != nil {
			t.rec.Outcome = OutcomeDownstreamReset
			return nil, false
		}
		t.rec.UpstreamError = err.Error()
		lr := localReply(http.StatusServiceUnavailable,
			[]byte("upstream connect error or disconnect/reset before headers. reset reason: connection failure"))
		return lr, true
	}
	h := headerMap{{":status", strconv.Itoa(resp.StatusCode)}}
	h = append(h, fromHTTP(resp.Header)...)
	noBody := method == http.MethodHead || resp.StatusCode == http.StatusNoContent ||
		resp.StatusCode == http.StatusNotModified || resp.ContentLength == 0
	if t.e.cfg.AllowModeOverride && !noBody && strings.HasPrefix(strings.ToLower(resp.Header.Get("Content-Type")), "text/event-stream") {
		// Read later: the response-headers reply may switch it to STREAMED.
		return &httpResponse{headers: h, hasBody: true, reader: resp.Body}, true
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		if t.dctx.Err() != nil {
			t.rec.Outcome = OutcomeDownstreamReset
			return nil, false
		}
		t.rec.UpstreamError = err.Error()
		return localReply(http.StatusServiceUnavailable, []byte("upstream reset")), true
	}
	return &httpResponse{headers: h, body: rb, hasBody: !noBody}, true
}

// readRest reads a body forward left open, as BUFFERED does.
func (t *txn) readRest(up *httpResponse) *httpResponse {
	if up.reader == nil {
		return nil
	}
	defer up.reader.Close()
	rb, err := io.ReadAll(up.reader)
	up.reader = nil
	if err != nil {
		if t.dctx.Err() != nil {
			t.rec.Outcome = OutcomeDownstreamReset
			return nil
		}
		t.rec.UpstreamError = err.Error()
		return localReply(http.StatusServiceUnavailable, []byte("upstream reset"))
	}
	up.body = rb
	return nil
}

func (t *txn) responsePhase(up *httpResponse) *httpResponse {
	if up.reader != nil {
		defer func() {
			if up.reader != nil {
				up.reader.Close()
			}
		}()
	}
	if t.complete {
		if lr := t.readRest(up); lr != nil || t.rec.Outcome == OutcomeDownstreamReset {
			return lr
		}
		t.rec.Outcome, t.rec.Details = OutcomeForwarded, DetailsViaUpstream
		if t.rec.FailOpen {
			t.rec.Outcome = OutcomeFailOpen
		}
		return up
	}
	respH := up.headers.clone()
	body := up.body
	msg := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
		ResponseHeaders: &extprocv3.HttpHeaders{Headers: respH.proto(), EndOfStream: !up.hasBody},
	}}
	res := t.call(msg, "response_headers")
	done, replaced := false, false
	switch res.kind {
	case callAbort:
		return nil
	case callLocal:
		return res.local
	case callImmediate:
		// Response headers are still held (BUFFERED), so the local reply
		// replaces the upstream response cleanly.
		return t.immediate(res.immediate, "response_headers")
	case callMatched:
		var lr *httpResponse
		if body, done, lr = t.headersReply(res.common, &respH, body); lr != nil {
			return lr
		}
		replaced = done && res.common.GetBodyMutation() != nil
		if up.reader != nil && !done && t.streamOverride(res.override) {
			// STREAMED: content-length is dropped and the body goes out as
			// it arrives (per Envoy source ext_proc.cc, mode_override and
			// shouldRemoveContentLength, not run).
			respH.remove("content-length")
			t.rec.Streamed = true
			out := &httpResponse{headers: respH, hasBody: true, reader: up.reader, streamed: true}
			up.reader = nil
			return out
		}
	}
	if lr := t.readRest(up); lr != nil || t.rec.Outcome == OutcomeDownstreamReset {
		return lr
	}
	if !replaced {
		body = up.body // a body left open by forward has been read now
	}
	if up.hasBody && !done && !t.complete {
		msg := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
			ResponseBody: &extprocv3.HttpBody{Body: body, EndOfStream: true},
		}}
		res := t.call(msg, "response_body")
		switch res.kind {
		case callAbort:
			return nil
		case callLocal:
			return res.local
		case callImmediate:
			return t.immediate(res.immediate, "response_body")
		case callMatched:
			var lr *httpResponse
			body, lr = t.mutateBuffered(&respH, body, res.common)
			if lr != nil {
				return lr
			}
		}
	}
	if st, _ := respH.get(":status"); !validStatus(st) {
		return t.errorReply(t.e.cfg.StatusOnError, "ext_proc_error_invalid_status_mutation")
	}
	t.rec.Outcome, t.rec.Details = OutcomeForwarded, DetailsViaUpstream
	if t.rec.FailOpen {
		t.rec.Outcome = OutcomeFailOpen
	}
	return &httpResponse{headers: respH, body: body}
}

func validStatus(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 100 && n <= 999
}
