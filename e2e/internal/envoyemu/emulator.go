package envoyemu

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	extprocfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// Headers the emulator adds to downstream responses in TestMode only; Envoy
// adds neither.
const (
	HeaderRequestID = "x-emu-request-id"
	HeaderDetails   = "x-emu-response-code-details"
)

// Response code details the emulator records, spelled as Envoy's ext_proc
// filter spells them (per Envoy source ext_proc.cc ErrorPrefix, not run).
const (
	DetailsMessageTimeout = "ext_proc_error_per-message_timeout_exceeded"
	DetailsSpurious       = "ext_proc_error_spurious_message" // our spelling; Envoy logs "Spurious response message"
	// DetailsViaUpstream is what Envoy 1.40 records for an answer that came
	// from the upstream, including one forwarded after the side stream
	// closed cleanly (seen on the real Envoy, TestFactSideStreamFailsMidBody).
	DetailsViaUpstream = "via_upstream"
)

// Route selects the per-route values Envoy would send: the route name
// (request attribute xds.route_name) and the gRPC initial metadata
// (grpc_service.initial_metadata, merged per route by key in Envoy).
type Route struct {
	PathPrefix      string // first matching prefix wins; "" matches everything
	Name            string
	InitialMetadata map[string]string
}

// Config is the emulated filter and route configuration.
type Config struct {
	ExtProcAddr string // host:port of the ext_proc gRPC server
	UpstreamURL string // scheme://host:port of the upstream cluster; the request :path is appended

	MessageTimeout       time.Duration // default 2s (Envoy's own default is 200ms)
	StatusOnError        int           // default 500
	ReceivingNamespaces  []string      // default ["llmfw"]
	Routes               []Route       // default one route named "default"
	GracefulCloseTimeout time.Duration // default 1s, runtime key remote_close_timeout_milliseconds

	// TestMode adds HeaderRequestID (and HeaderDetails on local replies) to
	// downstream responses.
	TestMode bool

	// AllowModeOverride emulates allow_mode_override: true with
	// allowed_override_modes holding the one mode {request BUFFERED,
	// response STREAMED} (headers SEND, trailers SKIP): a response-headers
	// reply carrying that mode_override streams the response body chunk by
	// chunk; any other override is ignored.
	AllowModeOverride bool
}

func (c *Config) defaults() {
	if c.MessageTimeout == 0 {
		c.MessageTimeout = 2 * time.Second
	}
	if c.StatusOnError == 0 {
		c.StatusOnError = http.StatusInternalServerError
	}
	if c.ReceivingNamespaces == nil {
		c.ReceivingNamespaces = []string{"llmfw"}
	}
	if len(c.Routes) == 0 {
		c.Routes = []Route{{Name: "default"}}
	}
	if c.GracefulCloseTimeout == 0 {
		c.GracefulCloseTimeout = time.Second
	}
}

// Emulator is an http.Handler that fronts an upstream with an emulated
// ext_proc filter. Create it with New; Close it when done.
type Emulator struct {
	cfg      Config
	conn     *grpc.ClientConn
	client   extprocv3.ExternalProcessorClient
	upstream *url.URL
	httpc    *http.Client
	stats    counters

	mu      sync.Mutex
	nextID  uint64
	records map[string]*Record
	order   []string
}

// New connects (lazily) to cfg.ExtProcAddr. One HTTP/2 connection carries all
// streams, as Envoy's per-worker gRPC client does.
func New(cfg Config) (*Emulator, error) {
	cfg.defaults()
	up, err := url.Parse(cfg.UpstreamURL)
	if err != nil || up.Scheme == "" || up.Host == "" {
		return nil, fmt.Errorf("envoyemu: upstream URL %q must be scheme://host:port", cfg.UpstreamURL)
	}
	// envoy_grpc.max_receive_message_length 0 means unlimited on Envoy's side.
	conn, err := grpc.NewClient(cfg.ExtProcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		return nil, fmt.Errorf("envoyemu: dial ext_proc %q: %w", cfg.ExtProcAddr, err)
	}
	return &Emulator{
		cfg:      cfg,
		conn:     conn,
		client:   extprocv3.NewExternalProcessorClient(conn),
		upstream: up,
		httpc: &http.Client{
			Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
			// The router does not follow redirects.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		records: map[string]*Record{},
	}, nil
}

// Close releases the gRPC connection and idle upstream connections.
func (e *Emulator) Close() error {
	e.httpc.CloseIdleConnections()
	return e.conn.Close()
}

// Stats returns a snapshot of the counters.
func (e *Emulator) Stats() Stats { return e.stats.snapshot() }

// Record returns the record of the request with the given emulator ID.
func (e *Emulator) Record(id string) (Record, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.records[id]
	if !ok {
		return Record{}, false
	}
	return r.clone(), true
}

// Records returns every record, oldest first.
func (e *Emulator) Records() []Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Record, 0, len(e.order))
	for _, id := range e.order {
		out = append(out, e.records[id].clone())
	}
	return out
}

// LastRecord returns the most recent record.
func (e *Emulator) LastRecord() (Record, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.order) == 0 {
		return Record{}, false
	}
	return e.records[e.order[len(e.order)-1]].clone(), true
}

func (e *Emulator) newRecord(route string) *Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	return &Record{ID: strconv.FormatUint(e.nextID, 10), Route: route}
}

func (e *Emulator) store(r *Record) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.records[r.ID] = r
	e.order = append(e.order, r.ID)
}

func (e *Emulator) route(path string) Route {
	for _, r := range e.cfg.Routes {
		if strings.HasPrefix(path, r.PathPrefix) {
			return r
		}
	}
	return Route{Name: "default"}
}

// httpResponse is a response about to go downstream; headers include :status.
type httpResponse struct {
	headers headerMap
	body    []byte
	hasBody bool // the codec saw a body (possibly empty when chunked)
	// reader is the upstream body not read yet (an event stream that may
	// be switched to STREAMED); streamed says the body goes downstream
	// chunk by chunk through the server (see txn.streamBody).
	reader   io.ReadCloser
	streamed bool
}

func (r *httpResponse) status() int {
	v, _ := r.headers.get(":status")
	n, _ := strconv.Atoi(v)
	return n
}

// ServeHTTP runs one downstream request through the emulated filter chain
// (ext_proc, then router).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.stats.requests.Add(1)
	route := e.route(r.URL.Path)
	rec := e.newRecord(route.Name)
	t := &txn{e: e, rec: rec, route: route, dctx: r.Context()}
	resp := t.run(r)
	if resp != nil {
		t.rec.Status = resp.status()
	}
	if resp != nil && resp.streamed {
		// Headers go downstream now; the body follows chunk by chunk.
		e.write(w, resp, rec)
		ok := t.streamBody(w, resp)
		if !ok {
			e.store(rec) // a clean end was stored by streamBody
		}
		t.finish(ok)
		if !ok {
			// Headers are out: a failure can only reset the stream.
			panic(http.ErrAbortHandler)
		}
		return
	}
	e.store(rec) // before writing, so a client that got the response sees the record
	if resp == nil {
		t.finish(false)
		// The downstream went away: nothing to write; reset like a codec would.
		panic(http.ErrAbortHandler)
	}
	e.write(w, resp, rec)
	t.finish(rec.Outcome == OutcomeForwarded)
}

func (e *Emulator) write(w http.ResponseWriter, resp *httpResponse, rec *Record) {
	h := w.Header()
	for _, kv := range resp.headers {
		if strings.HasPrefix(kv.key, ":") || hopByHop[kv.key] {
			continue
		}
		h.Add(kv.key, kv.value)
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // no net/http content sniffing: Envoy adds no content-type
	}
	if e.cfg.TestMode {
		h.Set(HeaderRequestID, rec.ID)
		if rec.Details != "" && rec.Details != DetailsViaUpstream {
			h.Set(HeaderDetails, rec.Details)
		}
	}
	w.WriteHeader(resp.status())
	if resp.streamed {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return
	}
	_, _ = w.Write(resp.body)
}

// localReply builds a reply the way Http::Utility::sendLocalReply does: a
// text/plain content-type when there is a body, then the caller's header
// mutation (per Envoy source source/common/http/utility.cc, not run).
func localReply(code int, body []byte) *httpResponse {
	h := headerMap{{":status", strconv.Itoa(code)}}
	if len(body) > 0 {
		h.add("content-type", "text/plain")
	}
	h.add("content-length", strconv.Itoa(len(body)))
	return &httpResponse{headers: h, body: body, hasBody: len(body) > 0}
}

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

// mutateHeaders applies a header mutation; a rejected one fails the request
// with status_on_error (per Envoy source ext_proc.cc onReceiveMessage, "Any
// other error results in an immediate response", not run).
// headersReply applies a matched reply to a headers message. With
// CONTINUE_AND_REPLACE the body is replaced or kept, content-length dropped
// and no more messages follow in this direction (done); a body_mutation on a
// plain CONTINUE header reply is ignored (per Envoy source processor_state.cc
// handleHeadersResponse, not run). A non-nil local reply ends the request.
func (t *txn) headersReply(common *extprocv3.CommonResponse, h *headerMap, body []byte) ([]byte, bool, *httpResponse) {
	replacing := common.GetStatus() == extprocv3.CommonResponse_CONTINUE_AND_REPLACE
	if lr := t.mutateHeaders(h, common.GetHeaderMutation(), replacing); lr != nil {
		return body, false, lr
	}
	if !replacing {
		return body, false, nil
	}
	if bm := common.GetBodyMutation(); bm != nil {
		h.remove("content-length")
		body = applyBodyMutation(bm, body)
	}
	return body, true, nil
}

func (t *txn) mutateHeaders(h *headerMap, m *extprocv3.HeaderMutation, replacing bool) *httpResponse {
	ignored, err := applyHeaderMutation(h, m, replacing)
	t.e.stats.rejectedHeaderMutations.Add(int64(ignored))
	if err != nil {
		t.e.stats.rejectedHeaderMutations.Add(1)
		t.complete = true
		return t.errorReply(t.e.cfg.StatusOnError, err.Error())
	}
	return nil
}

// mutateBuffered applies a BUFFERED body reply: header mutations first (the
// headers are still held), then the body mutation, which is refused when a
// remaining content-length disagrees with the new body's size (per Envoy
// source processor_state.cc handleBodyResponse, not run). Note that Envoy
// compares with body_mutation.body(), which is empty for clear_body.
func (t *txn) mutateBuffered(h *headerMap, body []byte, cr *extprocv3.CommonResponse) ([]byte, *httpResponse) {
	if lr := t.mutateHeaders(h, cr.GetHeaderMutation(), false); lr != nil {
		return nil, lr
	}
	bm := cr.GetBodyMutation()
	if bm == nil {
		return body, nil
	}
	if cl, ok := h.get("content-length"); ok {
		if n, err := strconv.ParseUint(cl, 10, 64); err == nil && n != uint64(len(bm.GetBody())) {
			t.complete = true
			return nil, t.errorReply(t.e.cfg.StatusOnError, "mismatch between content length and the length of the mutated body")
		}
	}
	return applyBodyMutation(bm, body), nil
}

func applyBodyMutation(bm *extprocv3.BodyMutation, body []byte) []byte {
	switch m := bm.GetMutation().(type) {
	case *extprocv3.BodyMutation_Body:
		return m.Body
	case *extprocv3.BodyMutation_ClearBody:
		if m.ClearBody {
			return nil
		}
	}
	// streamed_response is for FULL_DUPLEX_STREAMED; Envoy applies nothing
	// here (per Envoy source mutation_utils.cc applyBodyMutations, not run).
	return body
}

// immediate turns an ImmediateResponse into the local reply Envoy sends: a
// missing or < 200 status becomes 200 (per Envoy source mutation_utils.cc
// isValidHttpStatus and ext_proc.cc sendImmediateResponse, not run).
func (t *txn) immediate(ir *extprocv3.ImmediateResponse, phase string) *httpResponse {
	code := int(ir.GetStatus().GetCode())
	if code < 200 {
		code = http.StatusOK
	}
	lr := localReply(code, ir.GetBody())
	ignored, err := applyHeaderMutation(&lr.headers, ir.GetHeaders(), false)
	t.e.stats.rejectedHeaderMutations.Add(int64(ignored))
	if err != nil {
		t.e.stats.rejectedHeaderMutations.Add(1)
		return t.errorReply(t.e.cfg.StatusOnError, err.Error())
	}
	lr.headers.set("content-length", strconv.Itoa(len(lr.body)))
	lr.headers.set(":status", strconv.Itoa(code))
	t.rec.Outcome = OutcomeImmediateResponse
	t.rec.Phase = phase
	// Whitespace in details becomes '_' in %RESPONSE_CODE_DETAILS%.
	t.rec.Details = strings.Join(strings.Fields(ir.GetDetails()), "_")
	return lr
}

// errorReply is a local reply for a filter error; the body is empty.
func (t *txn) errorReply(code int, details string) *httpResponse {
	t.e.stats.localErrorReplies.Add(1)
	t.rec.Outcome = OutcomeLocalReplyError
	if t.rec.Phase == "" && len(t.rec.Messages) > 0 {
		t.rec.Phase = t.rec.Messages[len(t.rec.Messages)-1]
	}
	t.rec.Details = strings.Join(strings.Fields(details), "_")
	return localReply(code, nil)
}

// open starts the Process stream with the route's initial metadata.
func (t *txn) open() error {
	ctx, cancel := context.WithCancel(context.Background())
	if len(t.route.InitialMetadata) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, metadata.New(t.route.InitialMetadata))
	}
	stream, err := t.e.client.Process(ctx)
	if err != nil {
		cancel()
		return err
	}
	t.e.stats.streamsStarted.Add(1)
	t.stream, t.cancel = stream, cancel
	t.recvCh = make(chan recvResult)
	t.done = make(chan struct{})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for {
			m, err := stream.Recv()
			select {
			case t.recvCh <- recvResult{m, err}:
			case <-t.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return nil
}

// call sends one message and waits for its reply under the message timer.
func (t *txn) call(req *extprocv3.ProcessingRequest, phase string) callResult {
	if t.complete {
		return callResult{kind: callSkip}
	}
	if t.stream == nil {
		if err := t.open(); err != nil {
			return t.grpcFailure(err)
		}
	}
	if !t.sentFirst {
		// protocol_config rides on the first message of the stream (per Envoy
		// source ext_proc.cc, "protocol_config_encoded_", not run).
		req.ProtocolConfig = &extprocv3.ProtocolConfiguration{ // the configured modes, before any override
			RequestBodyMode:  extprocfilterv3.ProcessingMode_BUFFERED,
			ResponseBodyMode: extprocfilterv3.ProcessingMode_BUFFERED,
		}
		t.sentFirst = true
	}
	// The timer starts when the message is handed to the stream: Envoy's
	// sends are asynchronous, while grpc-go's Send can block once the
	// stream's write quota is used up, so Send runs under the timer too.
	timer := time.NewTimer(t.e.cfg.MessageTimeout)
	defer timer.Stop()
	sent := make(chan error, 1)
	go func() { sent <- t.stream.Send(req) }()
	select {
	case err := <-sent:
		// A failed Send surfaces its real status through Recv (grpc-go
		// returns io.EOF from Send once the stream has ended).
		if err != nil && !errors.Is(err, io.EOF) {
			return t.grpcFailure(err)
		}
	case <-timer.C:
		t.cancel()
		<-sent
		t.e.stats.messageTimeouts.Add(1)
		t.complete = true
		t.rec.Messages = append(t.rec.Messages, phase)
		return callResult{kind: callLocal, local: t.errorReply(http.StatusGatewayTimeout, DetailsMessageTimeout)}
	case <-t.dctx.Done():
		t.cancel()
		<-sent
		t.complete = true
		t.rec.Outcome = OutcomeDownstreamReset
		return callResult{kind: callAbort}
	}
	t.e.stats.msgsSent.Add(1)
	t.rec.Messages = append(t.rec.Messages, phase)

	for {
		select {
		case rr := <-t.recvCh:
			if rr.err != nil {
				t.streamEnded = true
				t.complete = true
				if errors.Is(rr.err, io.EOF) {
					// A clean close means "stop consulting me": Envoy continues
					// unprocessed whatever failure_mode_allow says (per Envoy
					// source ext_proc.cc onGrpcClose, not run).
					t.e.stats.failOpen.Add(1)
					t.rec.FailOpen = true
					t.rec.FailOpenPhase = phase
					return callResult{kind: callSkip}
				}
				return t.grpcFailure(rr.err)
			}
			m := rr.msg
			t.replied = true
			if m.GetOverrideMessageTimeout() != nil {
				// max_message_timeout is 0, so the request is ignored and the
				// timer keeps running (per Envoy source ext_proc.cc
				// onNewTimeout, stat override_message_timeout_ignored, not run).
				t.e.stats.overrideMessageTimeoutIgnored.Add(1)
				continue
			}
			t.recordMetadata(m, phase)
			if cr, ok := matches(m, phase); ok {
				t.e.stats.msgsReceived.Add(1)
				return callResult{kind: callMatched, common: cr, override: m.GetModeOverride()}
			}
			if ir := m.GetImmediateResponse(); ir != nil {
				t.e.stats.msgsReceived.Add(1)
				t.e.stats.immediateResponses.Add(1)
				t.complete = true
				return callResult{kind: callImmediate, immediate: ir}
			}
			// Wrong oneof for this state, or none: spurious. With
			// ext_proc_fail_close_spurious_resp (envoy PR #39994) that fails
			// closed with status_on_error; older Envoy ignored the message.
			t.e.stats.spuriousMsgsReceived.Add(1)
			t.complete = true
			return callResult{kind: callLocal, local: t.errorReply(t.e.cfg.StatusOnError, DetailsSpurious)}
		case <-timer.C:
			// Hard-coded 504, not status_on_error (per Envoy source ext_proc.cc
			// onMessageTimeout, envoy PR #34856, not run).
			t.e.stats.messageTimeouts.Add(1)
			t.complete = true
			return callResult{kind: callLocal, local: t.errorReply(http.StatusGatewayTimeout, DetailsMessageTimeout)}
		case <-t.dctx.Done():
			t.complete = true
			t.rec.Outcome = OutcomeDownstreamReset
			return callResult{kind: callAbort}
		}
	}
}

// matches reports whether m answers the message of the given phase, and
// returns its CommonResponse (nil means CONTINUE with no mutation).
func matches(m *extprocv3.ProcessingResponse, phase string) (*extprocv3.CommonResponse, bool) {
	switch r := m.GetResponse().(type) {
	case *extprocv3.ProcessingResponse_RequestHeaders:
		return r.RequestHeaders.GetResponse(), phase == "request_headers"
	case *extprocv3.ProcessingResponse_RequestBody:
		return r.RequestBody.GetResponse(), phase == "request_body"
	case *extprocv3.ProcessingResponse_ResponseHeaders:
		return r.ResponseHeaders.GetResponse(), phase == "response_headers"
	case *extprocv3.ProcessingResponse_ResponseBody:
		return r.ResponseBody.GetResponse(), phase == "response_body"
	}
	return nil, false
}

// grpcFailure: a stream that cannot open or ends with a non-OK status fails
// closed with status_on_error (per Envoy source ext_proc.cc onGrpcError, not run).
func (t *txn) grpcFailure(err error) callResult {
	t.e.stats.streamsFailed.Add(1)
	t.complete = true
	st := status.Convert(err)
	if st.Code() == codes.Canceled && t.dctx.Err() != nil {
		t.rec.Outcome = OutcomeDownstreamReset
		return callResult{kind: callAbort}
	}
	code, msg := st.Code(), st.Message()
	if code == codes.Unavailable && t.replied && isTransportReset(msg) {
		// Envoy's gRPC client reports a connection lost after the server's
		// response started as INTERNAL with the stream-reset reason (seen on
		// Envoy 1.40, TestFactSideStreamFailsMidBody); grpc-go says
		// UNAVAILABLE. Before any reply both say UNAVAILABLE.
		code, msg = codes.Internal, "upstream_reset_after_response_started{connection_termination}"
	} else if !isTransportReset(msg) && !strings.HasPrefix(msg, "connection error") {
		// A status the server sent: Envoy appends where it came from.
		msg += "{via_upstream}"
	}
	t.rec.GRPCStatus = code.String()
	details := fmt.Sprintf("ext_proc_error_gRPC_error_%d{%s}", int(code), msg)
	return callResult{kind: callLocal, local: t.errorReply(t.e.cfg.StatusOnError, details)}
}

// isTransportReset reports whether a grpc-go UNAVAILABLE message is the
// connection going away rather than a status the server sent.
func isTransportReset(msg string) bool {
	for _, m := range []string{"error reading from server", "connection reset", "transport is closing", "EOF"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// recordMetadata keeps dynamic_metadata namespaces listed in
// receiving_namespaces, merging keys into earlier values (per Envoy source
// ext_proc.cc setDynamicMetadata, not run). Other namespaces are dropped.
func (t *txn) recordMetadata(m *extprocv3.ProcessingResponse, phase string) {
	dm := m.GetDynamicMetadata()
	if dm == nil {
		return
	}
	for ns, v := range dm.GetFields() {
		allowed := false
		for _, a := range t.e.cfg.ReceivingNamespaces {
			allowed = allowed || a == ns
		}
		sv := v.GetStructValue()
		if !allowed || sv == nil {
			t.e.stats.droppedMetadataNamespaces.Add(1)
			continue
		}
		if t.rec.DynamicMetadata == nil {
			t.rec.DynamicMetadata = map[string]map[string]any{}
		}
		if t.rec.DynamicMetadata[ns] == nil {
			t.rec.DynamicMetadata[ns] = map[string]any{}
		}
		values := sv.AsMap()
		for k, fv := range values {
			t.rec.DynamicMetadata[ns][k] = fv
		}
		t.rec.MetadataUpdates = append(t.rec.MetadataUpdates, MetadataUpdate{Phase: phase, Namespace: ns, Values: values})
	}
}

// finish closes the stream. After a normal end Envoy half-closes and gives
// the server a short while to finish (runtime flag
// ext_proc_graceful_grpc_close); on errors it resets the stream.
func (t *txn) finish(graceful bool) {
	if t.stream == nil {
		return
	}
	if graceful && !t.streamEnded {
		_ = t.stream.CloseSend()
		timer := time.NewTimer(t.e.cfg.GracefulCloseTimeout)
	wait:
		for {
			select {
			case rr := <-t.recvCh:
				if rr.err != nil {
					break wait
				}
				// A message after processing completed is ignored.
			case <-timer.C:
				break wait
			}
		}
		timer.Stop()
	}
	close(t.done)
	t.cancel()
	t.wg.Wait()
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Server is an Emulator listening on a loopback port.
type Server struct {
	*Emulator
	URL    string // http://127.0.0.1:port
	srv    *http.Server
	served chan struct{}
}

// Start runs a new Emulator on 127.0.0.1 with a free port.
func Start(cfg Config) (*Server, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = e.Close()
		return nil, fmt.Errorf("envoyemu: listen: %w", err)
	}
	s := &Server{
		Emulator: e,
		URL:      "http://" + ln.Addr().String(),
		srv:      &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second},
		served:   make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the listener, waits for in-flight requests, and closes the emulator.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.served
	return errors.Join(err, s.Emulator.Close())
}
