package extproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

	"github.com/llm-firewall/llm-firewall/extproc/codec"
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

// direction holds one half of the transaction.
type direction struct {
	dir         pipeline.Direction
	mode        bodyMode
	contentType string
	encoding    string // content-encoding
	hasLength   bool   // content-length header present
	held        []byte // STREAMED chunks held back until the whole body is scanned
	verdict     *pipeline.Verdict
}

// transaction is the per-stream state: one HTTP request and its response.
type transaction struct {
	s     *Server
	ctx   context.Context
	start time.Time
	id    string // the decision ID of this transaction, stamped on every verdict

	policy      *pipeline.Policy
	api         codec.API
	selector    pipeline.Selector
	path        string
	method      string
	status      int // response :status
	passthrough bool
	sawRequest  bool
	done        bool // an ImmediateResponse was sent
	aborted     bool // the stream broke before Envoy finished it

	req, resp direction
	outcome   string
}

func newTransaction(s *Server, ctx context.Context) *transaction {
	tx := &transaction{s: s, ctx: ctx, start: time.Now(), id: pipeline.NewDecisionID()}
	tx.req.dir, tx.resp.dir = pipeline.Request, pipeline.Response
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(HeaderPolicy); len(v) > 0 {
			tx.selector.InitialMetadata = v[0]
		}
	}
	return tx
}

// finish runs in a defer: it frees the held bodies and records the
// transaction, whatever path ended it.
func (tx *transaction) finish() {
	tx.req.held, tx.resp.held = nil, nil
	outcome := tx.outcome
	switch {
	case outcome != "":
	case tx.aborted:
		outcome = "aborted"
	case tx.passthrough:
		outcome = "passthrough"
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

// handle dispatches one message to its phase method.
func (tx *transaction) handle(req *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, error) {
	start := time.Now()
	tx.captureRequestContext(req)
	var (
		resp *extprocv3.ProcessingResponse
		ph   phase
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
		resp = continueReply(ph, nil, nil, nil)
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		ph = phaseResponseHeaders
		resp = tx.responseHeaders(r.ResponseHeaders)
	case *extprocv3.ProcessingRequest_ResponseBody:
		ph = phaseResponseBody
		resp = tx.body(&tx.resp, phaseResponseBody, r.ResponseBody)
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		ph = phaseResponseTrailers
		resp = continueReply(ph, nil, nil, nil)
	default:
		tx.s.metrics.message("unknown", "error", time.Since(start))
		return nil, status.Errorf(codes.InvalidArgument, "ext_proc message with no request oneof")
	}
	outcome := "continue"
	switch r := resp.Response.(type) {
	case *extprocv3.ProcessingResponse_ImmediateResponse:
		outcome = "immediate"
		tx.done = true
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

// overloaded answers any first message with a fail-closed 503.
func (tx *transaction) overloaded(req *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, error) {
	tx.captureRequestContext(req)
	if tx.policy == nil {
		tx.policy = tx.selectPolicy()
	}
	v := tx.s.engine.FailClosed(tx.policy, pipeline.Request, pipeline.CauseOverload, 0, "firewall overloaded")
	tx.done = true
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
		tx.s.log.Warn("policy selector names no policy; using the default",
			"initial_metadata", tx.selector.InitialMetadata, "route_metadata", tx.selector.RouteMetadata, "default", p.Name)
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
	tx.sawRequest = true
	contentLength := -1
	hs := &headerSet{}
	for _, hv := range h.GetHeaders().GetHeaders() {
		k := strings.ToLower(hv.GetKey())
		v := headerValue(hv)
		switch k {
		case ":path":
			tx.path = v
		case ":method":
			tx.method = v
		case "content-type":
			tx.req.contentType = v
		case "content-encoding":
			tx.req.encoding = v
		case "content-length":
			tx.req.hasLength = true
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				contentLength = n
			}
		default:
			// A client must not be able to forge our decision headers upstream.
			if strings.HasPrefix(k, "x-llmfw-") {
				hs.Remove(k)
			}
		}
	}
	tx.policy = tx.selectPolicy()
	if tx.policy == nil {
		// Not ready: health says NOT_SERVING until the first policy loads,
		// but a stream may still arrive; refuse it.
		v := tx.s.engine.FailClosed(nil, pipeline.Request, pipeline.CauseError, 503, "no policy loaded")
		return tx.refuse(&tx.req, &v)
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
	if !tx.sawRequest {
		// The stream began at response headers: an earlier filter produced
		// a local reply, there is no request to relate it to and no LLM
		// text in it. Pass the rest through.
		tx.passthrough = true
	}
	for _, hv := range h.GetHeaders().GetHeaders() {
		v := headerValue(hv)
		switch strings.ToLower(hv.GetKey()) {
		case ":status":
			tx.status, _ = strconv.Atoi(v)
		case "content-type":
			tx.resp.contentType = v
		case "content-encoding":
			tx.resp.encoding = v
		case "content-length":
			tx.resp.hasLength = true
		}
	}
	hs := &headerSet{}
	if tx.passthrough || tx.policy == nil || tx.policy.Mode == pipeline.Off {
		tx.passthrough = true
		return continueReply(phaseResponseHeaders, nil, nil, nil)
	}
	if v := tx.req.verdict; v != nil {
		hs.Set(HeaderDecisionID, v.DecisionID)
		hs.Set(HeaderDecision, decisionLabel(v))
	}
	if !h.GetEndOfStream() {
		if v, refused := tx.checkBodyMode(&tx.resp); refused {
			return tx.refuse(&tx.resp, v)
		}
	}
	return continueReply(phaseResponseHeaders, hs, nil, nil)
}

// body handles a request or response body message.
func (tx *transaction) body(d *direction, ph phase, b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	if tx.passthrough || tx.policy == nil || tx.policy.Mode == pipeline.Off {
		return continueReply(ph, nil, nil, nil)
	}
	chunk := b.GetBody()
	if !b.GetEndOfStream() {
		switch {
		case d.mode.known && d.mode.mode == filterv3.ProcessingMode_BUFFERED_PARTIAL,
			d.mode.known && d.mode.mode == filterv3.ProcessingMode_BUFFERED:
			// Envoy hit its buffer limit: the tail would bypass the scan.
			v := tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseTooLarge, tooLargeStatus(d.dir),
				d.dir.String()+" body exceeds the proxy buffer and cannot be scanned whole")
			return tx.refuse(d, &v)
		}
		// STREAMED (or an Envoy that did not announce its mode): hold every
		// chunk back until the whole body has been scanned.
		if len(d.held)+len(chunk) > tx.s.cfg.MaxBodyBytes {
			v := tx.tooLarge(d, len(d.held)+len(chunk))
			return tx.refuse(d, &v)
		}
		if v, ok := tx.s.engine.CheckBodySize(tx.policy, d.dir, len(d.held)+len(chunk)); !ok {
			return tx.refuse(d, &v)
		}
		d.held = append(d.held, chunk...)
		return continueReply(ph, nil, clearBody(), nil)
	}
	raw := chunk
	held := len(d.held) > 0
	if held {
		raw = append(d.held, chunk...)
		d.held = nil
	}

	ctx, cancel := tx.s.budgetCtx(tx.ctx)
	defer cancel()
	v, doc, decoded := tx.evaluate(ctx, d, raw)
	v.DecisionID = tx.id
	d.verdict = &v
	if v.Action != pipeline.Block {
		tx.audit(d.dir, &v) // refuse audits blocks itself
	}
	md := decisionMetadata(d.dir, &v)

	switch {
	case v.Action == pipeline.Block:
		return tx.refuse(d, &v)
	case v.Action == pipeline.Redact:
		out, err := doc.Rewrite(v.Redactions)
		if err != nil {
			fv := tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseError, 500, "redaction could not be written back")
			tx.s.log.Error("rewrite failed", "decision_id", v.DecisionID, "err", err)
			d.verdict = &fv
			return tx.refuse(d, &fv)
		}
		if held && d.hasLength && len(out) != len(raw) {
			// Headers already went out with the old length; a different
			// body would be cut or hang. Refuse instead of corrupting.
			fv := tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseError, 500, "cannot redact a streamed body with a fixed content-length")
			d.verdict = &fv
			return tx.refuse(d, &fv)
		}
		hs := &headerSet{}
		if decoded {
			hs.Remove("content-encoding")
		}
		if held {
			return continueReply(ph, nil, replaceBody(out), md)
		}
		hs.Set("content-length", itoa(len(out)))
		tx.decisionHeaders(hs, d, &v)
		return continueReply(ph, hs, replaceBody(out), md)
	default:
		if held {
			// The earlier chunks were cleared: release them all now. The
			// headers already left in STREAMED mode, so no header mutation.
			return continueReply(ph, nil, replaceBody(raw), md)
		}
		hs := &headerSet{}
		tx.decisionHeaders(hs, d, &v)
		return continueReply(ph, hs, nil, md)
	}
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
				"content-encoding "+strconvQuote(enc)+" is not supported"), nil, false
		case err != nil:
			return tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseMalformed, malformedStatus(d.dir),
				"body could not be decoded from content-encoding "+strconvQuote(enc)), nil, false
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
	in := pipeline.Input{Direction: d.dir, Meta: doc.Meta(), Segments: doc.Segments()}
	return tx.s.engine.Evaluate(ctx, tx.policy, &in), doc, decoded
}

// decode picks the codec for the body. On an LLM route a malformed request
// is refused (unless the policy relaxes it, then it is scanned as text); a
// response that is not what the API promises is scanned as JSON or text,
// never skipped.
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
		return codec.DecodeRequest(codec.PlainText, body, lim)
	}
	api := tx.api
	if tx.status < 200 || tx.status > 299 || !isJSON(d.contentType) {
		api = codec.GenericJSON
		if !isJSON(d.contentType) {
			api = codec.PlainText
		}
	}
	doc, err := codec.DecodeResponse(api, body, lim)
	if err == nil || errors.Is(err, codec.ErrTooLarge) {
		return doc, err
	}
	if api != codec.GenericJSON && api != codec.PlainText {
		if doc, err := codec.DecodeResponse(codec.GenericJSON, body, lim); err == nil {
			return doc, nil
		}
	}
	return codec.DecodeResponse(codec.PlainText, body, lim)
}

func isJSON(ct string) bool {
	ct = strings.ToLower(ct)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return ct == "application/json" || strings.HasSuffix(ct, "+json")
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

// audit records a decision without any of the scanned text.
func (tx *transaction) audit(dir pipeline.Direction, v *pipeline.Verdict) {
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

func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strconv.Quote(s)
}
