package extproc

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/internal/scan"
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
	client   string // x-llmfw-client, when a trusted filter set it
	status   int    // response :status
	first    bool   // the next message is the stream's first
	charged  int64  // bytes of the server's in-flight budget held by this transaction
	aborted  bool   // the stream broke before Envoy finished it

	req, resp direction
	outcome   string

	// conv carries the request's system prompt, planted canary and
	// pseudonyms to the response's scan. It lives and dies with the
	// stream: never logged, never cached.
	conv scan.Conversation

	reqStream bool         // the request asked for a streamed answer (stream: true)
	guard     *scan.Stream // scans a text/event-stream answer as it arrives
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
	tx.conv, tx.guard = scan.Conversation{}, nil
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
	if len(d.held) > 0 || (d.dir == pipeline.Response && tx.guard != nil && tx.guard.Final() == nil) {
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
	label := v.Label()
	if d.dir == pipeline.Response && tx.req.verdict != nil {
		// The client sees one header for the whole exchange: the strongest.
		if rv := tx.req.verdict; rv.Action > v.Action || (rv.Shadow && v.Action == pipeline.Allow) {
			label = rv.Label()
		}
	}
	hs.Set(HeaderDecision, label)
}

// refuse ends the transaction with a local reply, and records it.
func (tx *transaction) refuse(d *direction, v *pipeline.Verdict) *extprocv3.ProcessingResponse {
	v.DecisionID = tx.id
	d.verdict = v
	tx.outcome = blockOutcome(v)
	tx.audit(d.dir, v)
	return immediateReply(tx.api, v, decisionMetadata(d.dir, v))
}

// blockOutcome is the transaction outcome of a block: a policy's, or a
// fail-closed one.
func blockOutcome(v *pipeline.Verdict) string {
	if v.Cause != pipeline.CauseNone {
		return "fail_closed"
	}
	return "blocked"
}

// audit records a decision without any of the scanned text: a record in
// the audit log (evidence as keyed hashes of the matched text), then a log
// line.
func (tx *transaction) audit(dir pipeline.Direction, v *pipeline.Verdict) {
	d := &tx.req
	if dir == pipeline.Response {
		d = &tx.resp
	}
	scan.Record(tx.ctx, tx.s.log, tx.s.cfg.Audit, scan.Decision{
		Verdict: v, Direction: dir, Transport: "ext_proc", Route: tx.selector.RouteName, API: string(tx.api),
		Segments: d.segs, Took: time.Since(d.started), Attrs: []slog.Attr{slog.String("route", tx.selector.RouteName)},
	})
}
