package extproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// AttributesKey is where Envoy puts request/response attributes.
const AttributesKey = "envoy.filters.http.ext_proc"

// Attribute names the server reads (configure them in request_attributes).
const (
	AttrRouteName     = "xds.route_name"
	AttrRouteMetadata = "xds.route_metadata.filter_metadata['llmfw']['policy']"
)

// bodyMode is a direction's body send mode as Envoy announced it.
type bodyMode struct {
	known bool // protocol_config was present
	mode  filterv3.ProcessingMode_BodySendMode
}

func (m bodyMode) is(x filterv3.ProcessingMode_BodySendMode) bool { return m.known && m.mode == x }

// direction holds one half of the transaction.
type direction struct {
	dir         pipeline.Direction
	mode        bodyMode
	contentType string
	encoding    string // content-encoding (repeated headers joined, as HTTP defines)
	hasLength   bool   // content-length header present
	held        []byte // STREAMED chunks held back until the whole body is scanned
	verdict     *pipeline.Verdict
	segs        []pipeline.Segment // what was scanned, for the audit record's evidence hashes
	started     time.Time          // when the direction's final body (or its first streamed chunk) arrived
}

// transaction is the per-stream state: one HTTP request and its response.
type transaction struct {
	s     *Server
	ctx   context.Context
	start time.Time
	id    string // the decision ID of this transaction, stamped on every verdict

	policy   *pipeline.Policy
	api      codec.API
	selector pipeline.Selector
	path     string
	status   int   // response :status
	first    bool  // the next message is the stream's first
	charged  int64 // bytes of the server's in-flight budget held by this transaction
	aborted  bool  // the stream broke before Envoy finished it

	req, resp direction
	outcome   string

	// exchange carries the request's system prompt and planted canary to
	// the response's checks; vault holds the request's pseudonyms. Both
	// live and die with the stream: never logged, never cached.
	exchange *pipeline.Exchange
	vault    pipeline.Vault

	reqStream bool      // the request asked for a streamed answer (stream: true)
	guard     *sseGuard // scans a text/event-stream answer as it arrives
}

func newTransaction(s *Server, ctx context.Context) *transaction {
	tx := &transaction{s: s, ctx: ctx, start: time.Now(), id: pipeline.NewDecisionID(), api: codec.PlainText, first: true}
	tx.req.dir, tx.resp.dir = pipeline.Request, pipeline.Response
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(HeaderPolicy); len(v) > 0 {
			tx.selector.InitialMetadata = v[0]
		}
	}
	return tx
}

// finish runs in a defer: it frees the held bodies and their budget and
// records the transaction, whatever path ended it.
func (tx *transaction) finish() {
	tx.req.held, tx.resp.held = nil, nil
	tx.exchange, tx.vault, tx.guard = nil, pipeline.Vault{}, nil
	tx.s.releaseBytes(tx.charged)
	outcome := tx.outcome
	switch {
	case outcome != "":
	case tx.aborted:
		outcome = "aborted"
	default:
		outcome = "allowed"
		for _, d := range []*direction{&tx.req, &tx.resp} {
			if d.verdict != nil && d.verdict.Action == pipeline.Redact {
				outcome = "redacted"
			}
		}
	}
	tx.s.metrics.streamEnded(outcome, time.Since(tx.start))
}

// handle answers one message. A panic anywhere in handling (codec, rewrite,
// decompression) becomes a fail-closed reply, never a crashed process.
func (tx *transaction) handle(req *extprocv3.ProcessingRequest) (resp *extprocv3.ProcessingResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			tx.s.metrics.panicked()
			tx.s.log.Error("panic while handling a message", "decision_id", tx.id, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			v := tx.s.engine.FailClosed(tx.policy, pipeline.Request, pipeline.CauseError, 500, "internal error")
			resp, err = tx.refuse(&tx.req, &v), nil
		}
	}()
	return tx.dispatch(req)
}

func (tx *transaction) dispatch(req *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, error) {
	start := time.Now()
	first := tx.first
	tx.first = false
	tx.captureRequestContext(req)
	if req.GetObservabilityMode() {
		tx.s.metrics.observability()
	}
	if tx.policy == nil {
		if rh := req.GetRequestHeaders(); rh != nil {
			for _, hv := range rh.GetHeaders().GetHeaders() {
				switch strings.ToLower(hv.GetKey()) {
				case ":authority", "host":
					if tx.selector.Host == "" {
						tx.selector.Host = headerValue(hv)
					}
				case ":path":
					tx.selector.Path = headerValue(hv)
				}
			}
		}
		// Chosen on the first message of any kind: Envoy may skip request
		// headers, and no message may pass without a policy.
		if tx.policy = tx.selectPolicy(); tx.policy == nil {
			v := tx.s.engine.FailClosed(nil, pipeline.Request, pipeline.CauseError, 503, "no policy loaded")
			return tx.refuse(&tx.req, &v), nil
		}
	}
	if first && req.GetProtocolConfig() == nil && !req.GetObservabilityMode() && tx.s.cfg.RequireProtocolConfig {
		// Without the announced body modes a partial body could not be told
		// from a whole one.
		v := tx.s.engine.FailClosed(tx.policy, pipeline.Request, pipeline.CauseUnscanned, 0,
			"the proxy did not announce its body modes (ext_proc protocol_config)")
		return tx.refuse(&tx.req, &v), nil
	}
	var (
		resp *extprocv3.ProcessingResponse
		ph   phase
		err  error
	)
	switch r := req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		ph = phaseRequestHeaders
		resp = tx.requestHeaders(r.RequestHeaders)
	case *extprocv3.ProcessingRequest_RequestBody:
		ph = phaseRequestBody
		resp = tx.body(&tx.req, phaseRequestBody, r.RequestBody)
	case *extprocv3.ProcessingRequest_RequestTrailers:
		ph = phaseRequestTrailers
		resp, err = tx.trailers(&tx.req, ph)
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		ph = phaseResponseHeaders
		resp = tx.responseHeaders(r.ResponseHeaders)
	case *extprocv3.ProcessingRequest_ResponseBody:
		ph = phaseResponseBody
		resp = tx.body(&tx.resp, phaseResponseBody, r.ResponseBody)
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		ph = phaseResponseTrailers
		resp, err = tx.trailers(&tx.resp, ph)
	default:
		tx.s.metrics.message("unknown", "error", time.Since(start))
		return nil, status.Errorf(codes.InvalidArgument, "ext_proc message with no request oneof")
	}
	if err != nil {
		tx.s.metrics.message(string(ph), "error", time.Since(start))
		return nil, err
	}
	outcome := "continue"
	switch r := resp.Response.(type) {
	case *extprocv3.ProcessingResponse_ImmediateResponse:
		outcome = "immediate"
	case *extprocv3.ProcessingResponse_RequestBody:
		if r.RequestBody.GetResponse().GetBodyMutation() != nil {
			outcome = "mutate"
		}
	case *extprocv3.ProcessingResponse_ResponseBody:
		if r.ResponseBody.GetResponse().GetBodyMutation() != nil {
			outcome = "mutate"
		}
	}
	tx.s.metrics.message(string(ph), outcome, time.Since(start))
	return resp, nil
}

// trailers answers a trailers message. A STREAMED body still held back at
// the trailers can no longer be released (a trailers reply carries no body),
// so the stream fails with a gRPC error, which Envoy turns into a local reply
// under failure_mode_allow: false.
func (tx *transaction) trailers(d *direction, ph phase) (*extprocv3.ProcessingResponse, error) {
	if len(d.held) > 0 || (d.dir == pipeline.Response && tx.guard != nil && tx.guard.final == nil) {
		v := tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseUnscanned, 0, "body held for scanning ended in trailers")
		v.DecisionID = tx.id
		tx.outcome = "fail_closed"
		tx.audit(d.dir, &v)
		return nil, status.Error(codes.FailedPrecondition, "llm-firewall: a streamed body followed by trailers cannot be scanned whole; use BUFFERED body mode on this route")
	}
	return continueReply(ph, nil, nil, nil), nil
}

// overloaded answers any first message with a fail-closed 503.
func (tx *transaction) overloaded(req *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, error) {
	tx.captureRequestContext(req)
	if tx.policy == nil {
		tx.policy = tx.selectPolicy()
	}
	v := tx.s.engine.FailClosed(tx.policy, pipeline.Request, pipeline.CauseOverload, 0, "firewall overloaded")
	return tx.refuse(&tx.req, &v), nil
}

// captureRequestContext reads what Envoy sends once per direction: the body
// modes and the attributes.
func (tx *transaction) captureRequestContext(req *extprocv3.ProcessingRequest) {
	if pc := req.GetProtocolConfig(); pc != nil {
		tx.req.mode = bodyMode{known: true, mode: pc.GetRequestBodyMode()}
		tx.resp.mode = bodyMode{known: true, mode: pc.GetResponseBodyMode()}
	}
	attrs := req.GetAttributes()[AttributesKey]
	for k, v := range attrs.GetFields() {
		switch {
		case k == AttrRouteName:
			if s := v.GetStringValue(); s != "" {
				tx.selector.RouteName = s
			}
		case strings.HasPrefix(k, "xds.route_metadata"):
			if s := routePolicy(v); s != "" {
				tx.selector.RouteMetadata = s
			}
		}
	}
}

// routePolicy accepts the route-metadata attribute either as the policy name
// itself or as the metadata struct that contains llmfw.policy.
func routePolicy(v *structpb.Value) string {
	if s := v.GetStringValue(); s != "" {
		return s
	}
	st := v.GetStructValue()
	for _, path := range [][]string{{"filter_metadata", "llmfw", "policy"}, {"llmfw", "policy"}, {"policy"}} {
		cur := st
		for i, key := range path {
			f, ok := cur.GetFields()[key]
			if !ok {
				break
			}
			if i == len(path)-1 {
				if s := f.GetStringValue(); s != "" {
					return s
				}
				break
			}
			cur = f.GetStructValue()
		}
	}
	return ""
}

func (tx *transaction) selectPolicy() *pipeline.Policy {
	ps := tx.s.Policies()
	if ps == nil {
		return nil
	}
	p, unknown := ps.Select(tx.selector)
	if unknown {
		tx.s.metrics.unknownPolicy()
		if tx.s.warnUnknownPolicy.allow() {
			tx.s.log.Warn("policy selector names no policy; using the default (logged at most every 10s; see llmfw_policy_selector_unknown_total)",
				"initial_metadata", tx.selector.InitialMetadata, "route_metadata", tx.selector.RouteMetadata, "default", p.Name)
		}
	}
	return p
}

func headerValue(h *corev3.HeaderValue) string {
	if len(h.GetRawValue()) > 0 {
		return string(h.GetRawValue())
	}
	return h.GetValue()
}

func (tx *transaction) requestHeaders(h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	contentLength := -1
	hs := &headerSet{}
	for _, hv := range h.GetHeaders().GetHeaders() {
		k := strings.ToLower(hv.GetKey())
		v := headerValue(hv)
		switch k {
		case ":path":
			tx.path = v
		case "content-type":
			tx.req.contentType = joinHeader(tx.req.contentType, v)
		case "content-encoding":
			tx.req.encoding = joinHeader(tx.req.encoding, v)
		case "content-length":
			tx.req.hasLength = true
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				contentLength = max(contentLength, n)
			}
		default:
			// A client must not be able to forge our decision headers upstream.
			if strings.HasPrefix(k, "x-llmfw-") {
				hs.Remove(k)
			}
		}
	}
	tx.api = codec.ForRequest(tx.path, tx.req.contentType)

	if h.GetEndOfStream() || tx.policy.Mode == pipeline.Off {
		return continueReply(phaseRequestHeaders, hs, nil, nil)
	}
	if v, refused := tx.checkBodyMode(&tx.req); refused {
		return tx.refuse(&tx.req, v)
	}
	if contentLength >= 0 {
		if v, ok := tx.s.engine.CheckBodySize(tx.policy, pipeline.Request, contentLength); !ok {
			return tx.refuse(&tx.req, &v)
		}
	}
	// BUFFERED: Envoy holds these headers until the body reply, which
	// carries the decision headers.
	return continueReply(phaseRequestHeaders, hs, nil, nil)
}

// joinHeader combines repeated header fields the way HTTP does (RFC 9110
// 5.3), so a second content-encoding line cannot hide the first.
func joinHeader(prev, v string) string {
	if prev == "" {
		return v
	}
	return prev + ", " + v
}

// checkBodyMode refuses a body that Envoy will not show us whole.
func (tx *transaction) checkBodyMode(d *direction) (*pipeline.Verdict, bool) {
	if !d.mode.known {
		return nil, false
	}
	switch d.mode.mode {
	case filterv3.ProcessingMode_BUFFERED, filterv3.ProcessingMode_STREAMED, filterv3.ProcessingMode_BUFFERED_PARTIAL:
		return nil, false
	case filterv3.ProcessingMode_NONE:
		if !tx.policy.RejectUnscanned {
			return nil, false
		}
		v := tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseUnscanned, 0,
			d.dir.String()+" body is not sent for scanning (ext_proc "+d.dir.String()+"_body_mode is NONE)")
		return &v, true
	default:
		v := tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseUnscanned, 0,
			d.dir.String()+" body mode "+d.mode.mode.String()+" is not supported")
		return &v, true
	}
}

func (tx *transaction) responseHeaders(h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	hs := &headerSet{}
	for _, hv := range h.GetHeaders().GetHeaders() {
		k := strings.ToLower(hv.GetKey())
		v := headerValue(hv)
		switch k {
		case ":status":
			tx.status, _ = strconv.Atoi(v)
		case "content-type":
			tx.resp.contentType = joinHeader(tx.resp.contentType, v)
		case "content-encoding":
			tx.resp.encoding = joinHeader(tx.resp.encoding, v)
		case "content-length":
			tx.resp.hasLength = true
		default:
			// Nobody upstream may speak for the firewall either.
			if strings.HasPrefix(k, "x-llmfw-") {
				hs.Remove(k)
			}
		}
	}
	if tx.policy.Mode == pipeline.Off {
		return continueReply(phaseResponseHeaders, hs, nil, nil)
	}
	// A stream that begins here (an earlier filter answered locally, or
	// request phases are skipped on this route) has no request context:
	// its body is still scanned, with the generic codecs.
	if v := tx.req.verdict; v != nil {
		hs.Set(HeaderDecisionID, v.DecisionID)
		hs.Set(HeaderDecision, decisionLabel(v))
	}
	if !h.GetEndOfStream() {
		if v, refused := tx.checkBodyMode(&tx.resp); refused {
			return tx.refuse(&tx.resp, v)
		}
		if tx.streamOverride() {
			// Stream the answer through the guard instead of buffering it
			// whole: Envoy applies this only with allow_mode_override, and
			// takes both body modes from it, so the request's is repeated.
			// Without content-length the client reads a chunked stream.
			hs.Remove("content-length")
			r := continueReply(phaseResponseHeaders, hs, nil, nil)
			r.ModeOverride = &filterv3.ProcessingMode{
				RequestBodyMode:  tx.req.mode.mode,
				ResponseBodyMode: filterv3.ProcessingMode_STREAMED,
			}
			// Whether Envoy honours it cannot be known: treat the answer as
			// streamed either way (a BUFFERED body then arrives as one
			// final chunk, which the guard handles the same).
			tx.resp.mode.mode = filterv3.ProcessingMode_STREAMED
			tx.s.metrics.modeOverride()
			return r
		}
	}
	return continueReply(phaseResponseHeaders, hs, nil, nil)
}

// streamOverride says whether to switch a buffered answer to STREAMED: the
// request asked for a stream, the upstream answered 200 with an
// uncompressed text/event-stream, and the route buffers responses.
func (tx *transaction) streamOverride() bool {
	d := &tx.resp
	return tx.reqStream && tx.status == 200 && d.mode.is(filterv3.ProcessingMode_BUFFERED) &&
		tx.req.mode.known && isEventStream(d.contentType) && (d.encoding == "" || equalFoldTrim(d.encoding, "identity"))
}

// body handles a request or response body message.
func (tx *transaction) body(d *direction, ph phase, b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	if tx.policy.Mode == pipeline.Off {
		return continueReply(ph, nil, nil, nil)
	}
	chunk := b.GetBody()
	if d.dir == pipeline.Response && tx.guardsStream(d) {
		return tx.streamChunk(d, ph, chunk, b.GetEndOfStream())
	}
	if !b.GetEndOfStream() {
		switch {
		case d.mode.is(filterv3.ProcessingMode_BUFFERED):
			// Envoy answers an oversize BUFFERED body with 413 itself; a
			// BUFFERED body without end_of_stream is whole and trailers
			// follow (Envoy's onTrailers).
			return tx.finalBody(d, ph, chunk)
		case d.mode.is(filterv3.ProcessingMode_BUFFERED_PARTIAL):
			// Envoy hit its buffer limit: the tail would bypass the scan.
			v := tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseTooLarge, tooLargeStatus(d.dir),
				d.dir.String()+" body exceeds the proxy buffer and cannot be scanned whole")
			return tx.refuse(d, &v)
		}
		// STREAMED (or an Envoy that did not announce its mode, when that is
		// allowed): hold every chunk back until the whole body is scanned.
		n := len(d.held) + len(chunk)
		if n > tx.s.cfg.MaxBodyBytes {
			v := tx.tooLarge(d, n)
			return tx.refuse(d, &v)
		}
		if v, ok := tx.s.engine.CheckBodySize(tx.policy, d.dir, n); !ok {
			return tx.refuse(d, &v)
		}
		if !tx.charge(int64(len(chunk))) {
			return tx.overBudget(d)
		}
		d.held = append(d.held, chunk...)
		return continueReply(ph, nil, clearBody(), nil)
	}
	return tx.finalBody(d, ph, chunk)
}

// finalBody scans a whole body and answers with the verdict.
func (tx *transaction) finalBody(d *direction, ph phase, chunk []byte) *extprocv3.ProcessingResponse {
	d.started = time.Now()
	raw := chunk
	held := len(d.held) > 0
	if held {
		raw = append(d.held, chunk...)
		// The held chunks' budget moves into this message's work charge.
		tx.releaseCharge(int64(len(d.held)))
		d.held = nil
	}
	// Headers are still paused only in BUFFERED modes; in STREAMED they
	// have left, so no header mutation can go with the body.
	headersGone := held || d.mode.is(filterv3.ProcessingMode_STREAMED)

	// Decoding and parsing cost several times the body; bound it globally.
	work := decodeCost * int64(len(raw))
	if !tx.charge(work) {
		return tx.overBudget(d)
	}
	if !tx.s.acquireScan(tx.ctx) {
		tx.releaseCharge(work)
		return tx.scanOverload(d)
	}
	defer tx.s.releaseScan()
	ctx, cancel := tx.s.budgetCtx(tx.ctx)
	v, doc, decoded := tx.evaluate(ctx, d, raw)
	cancel()
	v.DecisionID = tx.id
	d.verdict = &v

	// Besides redactions, a body may change for two reasons of the
	// transaction's own: a canary planted in the request's system prompt,
	// and the request's pseudonyms restored in the answer.
	var (
		note     string
		restores []pipeline.Redaction
	)
	if d.dir == pipeline.Request && doc != nil {
		tx.reqStream = doc.Meta().Stream
	}
	if v.Action != pipeline.Block && doc != nil {
		if d.dir == pipeline.Request {
			note = tx.plantCanary(doc, decoded && headersGone)
		} else {
			restores = tx.vault.Restorations(doc.Segments())
		}
	}

	var resp *extprocv3.ProcessingResponse
	switch {
	case v.Action == pipeline.Block:
		resp = tx.refuse(d, &v)
	case v.Action == pipeline.Redact || note != "" || len(restores) > 0:
		resp = tx.rewrite(d, ph, &v, doc, decoded, headersGone, note, restores, raw, held)
	default:
		tx.audit(d.dir, &v)
		md := decisionMetadata(d.dir, &v)
		if held {
			// The earlier chunks were cleared: release them all now.
			resp = continueReply(ph, nil, replaceBody(raw), md)
		} else if headersGone {
			resp = continueReply(ph, nil, nil, md)
		} else {
			hs := &headerSet{}
			tx.decisionHeaders(hs, d, &v)
			resp = continueReply(ph, hs, nil, md)
		}
	}
	tx.releaseCharge(work)
	return resp
}

// plantCanary records the request's system prompt for the response's
// checks and, when the policy asks for a canary and the body has a system
// prompt to carry it, makes one and returns the note to plant. A body that
// would go out decoded under its old content-encoding gets no canary.
func (tx *transaction) plantCanary(doc *codec.Document, cannotRewrite bool) string {
	tx.exchange = pipeline.ExchangeFor(doc.Segments())
	if !tx.policy.Canary || tx.policy.Mode != pipeline.Enforce || !doc.CanPlantSystem() || cannotRewrite {
		return ""
	}
	token, note, ok := pipeline.NewCanary()
	if !ok {
		return ""
	}
	tx.exchange.Canary = token
	return note
}

// rewrite writes the body back with the verdict's redactions (request
// pseudonyms made reversible), the canary note and the pseudonym
// restorations. Redactions that cannot be written back faithfully block;
// a note or restorations that cannot be written are dropped, and the body
// goes on as the verdict allows.
func (tx *transaction) rewrite(d *direction, ph phase, v *pipeline.Verdict, doc *codec.Document, decoded, headersGone bool, note string, restores []pipeline.Redaction, raw []byte, held bool) *extprocv3.ProcessingResponse {
	// What cannot be cut out in place is blocked: the findings stand, only
	// the remedy changes.
	fail := func(why string) *extprocv3.ProcessingResponse {
		bv := *v
		bv.Action, bv.WouldBe, bv.Status, bv.Redactions = pipeline.Block, pipeline.Block, tx.policy.BlockStatus, nil
		if rules := v.Rules(); len(rules) > 0 {
			bv.Reason = "blocked: " + rules[0] + " (" + why + ")"
		}
		return tx.refuse(d, &bv)
	}
	mustRedact := v.Action == pipeline.Redact
	if doc == nil {
		return fail("nothing to redact in")
	}
	reps := v.Redactions
	if d.dir == pipeline.Request && mustRedact {
		tx.vault.Pseudonymize(reps, doc.Segments())
	}
	if len(restores) > 0 {
		reps = append(slices.Clone(reps), restores...)
	}
	var (
		out []byte
		err error
	)
	switch {
	case headersGone && decoded:
		// The body would go out decoded under its old content-encoding.
		err = errors.New("a compressed streamed body cannot be rewritten in place")
	default:
		out, err = doc.RewriteWithNote(reps, note)
	}
	if err != nil {
		if mustRedact {
			tx.s.log.Info("redaction cannot be written back in place; blocking", "decision_id", tx.id, "api", string(doc.API()), "err", err)
			return fail("cannot be redacted in place")
		}
		// Only our own additions failed: the body is allowed as it is.
		if note != "" && tx.exchange != nil {
			tx.exchange.Canary = ""
		}
		if len(restores) > 0 {
			tx.s.metrics.unrestored(len(restores))
		}
		tx.audit(d.dir, v)
		md := decisionMetadata(d.dir, v)
		switch {
		case held:
			return continueReply(ph, nil, replaceBody(raw), md)
		case headersGone:
			return continueReply(ph, nil, nil, md)
		}
		hs := &headerSet{}
		tx.decisionHeaders(hs, d, v)
		return continueReply(ph, hs, nil, md)
	}
	if len(restores) > 0 {
		tx.s.metrics.restored(len(restores))
	}
	if headersGone {
		// STREAMED: Envoy drops content-length itself when the body changes.
		tx.audit(d.dir, v)
		return continueReply(ph, nil, replaceBody(out), decisionMetadata(d.dir, v))
	}
	hs := &headerSet{}
	if decoded {
		hs.Remove("content-encoding")
	}
	hs.Set("content-length", itoa(len(out)))
	tx.decisionHeaders(hs, d, v)
	tx.audit(d.dir, v)
	return continueReply(ph, hs, replaceBody(out), decisionMetadata(d.dir, v))
}

// decodeCost is how many bytes of the in-flight budget a body of one byte
// costs while it is decoded, parsed and scanned.
const decodeCost = 8

func (tx *transaction) charge(n int64) bool {
	if !tx.s.acquireBytes(n) {
		return false
	}
	tx.charged += n
	return true
}

func (tx *transaction) releaseCharge(n int64) {
	tx.s.releaseBytes(n)
	tx.charged -= n
}

func (tx *transaction) overBudget(d *direction) *extprocv3.ProcessingResponse {
	tx.s.metrics.overloaded("memory")
	v := tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseOverload, 0, "firewall memory budget exhausted")
	return tx.refuse(d, &v)
}

func (tx *transaction) scanOverload(d *direction) *extprocv3.ProcessingResponse {
	v := tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseOverload, 0, "firewall overloaded: too many messages being scanned")
	return tx.refuse(d, &v)
}

func (tx *transaction) decisionHeaders(hs *headerSet, d *direction, v *pipeline.Verdict) {
	hs.Set(HeaderDecisionID, v.DecisionID)
	label := decisionLabel(v)
	if d.dir == pipeline.Response && tx.req.verdict != nil {
		// The client sees one header for the whole exchange: the strongest.
		if rv := tx.req.verdict; rv.Action > v.Action || (rv.Shadow && v.Action == pipeline.Allow) {
			label = decisionLabel(rv)
		}
	}
	hs.Set(HeaderDecision, label)
}

// evaluate decodes the body and runs the pipeline. decoded reports that the
// scanned document is the content-decoded body (a rewrite must then drop
// content-encoding).
func (tx *transaction) evaluate(ctx context.Context, d *direction, raw []byte) (v pipeline.Verdict, doc *codec.Document, decoded bool) {
	if v, ok := tx.s.engine.CheckBodySize(tx.policy, d.dir, len(raw)); !ok {
		return v, nil, false
	}
	body := raw
	if enc := strings.TrimSpace(d.encoding); enc != "" && !strings.EqualFold(enc, "identity") {
		out, err := codec.Decompress(enc, raw, tx.s.cfg.MaxBodyBytes)
		switch {
		case errors.Is(err, codec.ErrTooLarge):
			return tx.tooLarge(d, tx.s.cfg.MaxBodyBytes+1), nil, false
		case errors.Is(err, codec.ErrUnsupportedEncoding):
			return tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseEncoding, encodingStatus(d.dir),
				"content-encoding is not supported (gzip, deflate, br and zstd are)"), nil, false
		case err != nil:
			return tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseMalformed, malformedStatus(d.dir),
				"body could not be decoded from its content-encoding"), nil, false
		}
		body, decoded = out, true
		if v, ok := tx.s.engine.CheckBodySize(tx.policy, d.dir, len(body)); !ok {
			return v, nil, false
		}
	}
	if ctx.Err() != nil {
		return tx.s.engine.Evaluate(ctx, tx.policy, &pipeline.Input{Direction: d.dir}), nil, decoded
	}

	doc, err := tx.decode(d, body)
	if err != nil {
		if errors.Is(err, codec.ErrTooLarge) {
			return tx.tooLarge(d, len(body)), nil, false
		}
		return tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseMalformed, malformedStatus(d.dir),
			"malformed "+string(tx.api)+" body: "+err.Error()), nil, false
	}
	d.segs = doc.Segments()
	in := pipeline.Input{Direction: d.dir, Meta: doc.Meta(), Segments: doc.Segments(), Route: tx.selector.RouteName}
	if d.dir == pipeline.Response {
		in.Exchange = tx.exchange
	}
	return tx.s.engine.Evaluate(ctx, tx.policy, &in), doc, decoded
}

// decode picks the codec for the body. On an LLM route a malformed request
// is refused (unless the policy relaxes it); whatever is scanned as text
// goes through the lenient decoder, which also decodes every string literal
// so escapes cannot hide words. A response that is not what the API
// promises is scanned as JSON or text, never skipped.
func (tx *transaction) decode(d *direction, body []byte) (*codec.Document, error) {
	lim := codec.Limits{MaxBytes: tx.s.cfg.MaxBodyBytes}
	if d.dir == pipeline.Request {
		doc, err := codec.DecodeRequest(tx.api, body, lim)
		if err == nil || errors.Is(err, codec.ErrTooLarge) {
			return doc, err
		}
		if tx.api.IsLLM() && tx.policy.RejectMalformed {
			return nil, err
		}
		return codec.DecodeLenient(body, d.dir, lim)
	}
	if isEventStream(d.contentType) {
		return codec.DecodeSSE(tx.api, body, lim)
	}
	api := tx.api
	if tx.status < 200 || tx.status > 299 || !api.IsLLM() {
		api = codec.GenericJSON
	}
	if !isJSON(d.contentType) {
		return codec.DecodeLenient(body, d.dir, lim)
	}
	doc, err := codec.DecodeResponse(api, body, lim)
	if err == nil || errors.Is(err, codec.ErrTooLarge) {
		return doc, err
	}
	if api != codec.GenericJSON {
		if doc, err := codec.DecodeResponse(codec.GenericJSON, body, lim); err == nil {
			return doc, nil
		}
	}
	return codec.DecodeLenient(body, d.dir, lim)
}

func isEventStream(ct string) bool {
	return mediaType(ct) == "text/event-stream"
}

func mediaType(ct string) string {
	ct = strings.ToLower(ct)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.TrimSpace(ct)
}

func isJSON(ct string) bool {
	mt := mediaType(ct)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func (tx *transaction) tooLarge(d *direction, n int) pipeline.Verdict {
	if v, ok := tx.s.engine.CheckBodySize(tx.policy, d.dir, n); !ok {
		return v
	}
	return tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseTooLarge, tooLargeStatus(d.dir),
		fmt.Sprintf("%s body exceeds the firewall's %d-byte bound", d.dir, tx.s.cfg.MaxBodyBytes))
}

// refuse ends the transaction with a local reply, and records it.
func (tx *transaction) refuse(d *direction, v *pipeline.Verdict) *extprocv3.ProcessingResponse {
	v.DecisionID = tx.id
	d.verdict = v
	tx.outcome = "blocked"
	if v.Cause != pipeline.CauseNone {
		tx.outcome = "fail_closed"
	}
	tx.audit(d.dir, v)
	return immediateReply(tx.api, v, decisionMetadata(d.dir, v))
}

// audit records a decision without any of the scanned text: a record in
// the audit log (evidence as keyed hashes of the matched text), then a log
// line.
func (tx *transaction) audit(dir pipeline.Direction, v *pipeline.Verdict) {
	d := &tx.req
	if dir == pipeline.Response {
		d = &tx.resp
	}
	r := tx.s.cfg.Audit.FromVerdict(v, dir, "ext_proc", tx.selector.RouteName, d.segs, time.Since(d.started))
	r.API = string(tx.api)
	tx.s.cfg.Audit.Write(r)
	level := slog.LevelDebug
	if v.Action != pipeline.Allow || v.Shadow || v.Cause != pipeline.CauseNone {
		level = slog.LevelInfo
	}
	if !tx.s.log.Enabled(tx.ctx, level) {
		return
	}
	tx.s.log.LogAttrs(context.WithoutCancel(tx.ctx), level, "decision",
		slog.String("decision_id", v.DecisionID),
		slog.String("direction", dir.String()),
		slog.String("action", decisionLabel(v)),
		slog.String("would_be", v.WouldBe.String()),
		slog.String("cause", string(v.Cause)),
		slog.Int("status", v.Status),
		slog.Any("rules", v.Rules()),
		slog.String("policy", v.Policy),
		slog.String("policy_version", v.PolicyVersion),
		slog.String("api", string(tx.api)),
		slog.String("route", tx.selector.RouteName),
		slog.Bool("cached", v.Cached),
	)
}

func tooLargeStatus(dir pipeline.Direction) int {
	if dir == pipeline.Response {
		return 502
	}
	return 413
}

func encodingStatus(dir pipeline.Direction) int {
	if dir == pipeline.Response {
		return 502
	}
	return 415
}

func malformedStatus(dir pipeline.Direction) int {
	if dir == pipeline.Response {
		return 502
	}
	return 400
}
