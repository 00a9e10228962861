package extproc

// The header phases: what Envoy announces once per direction (body modes,
// attributes), the policy the stream runs under, and the request and
// response headers.

import (
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

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
	websocket := false
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
		case "x-llmfw-client":
			// The caller's identity, from a trusted filter before us (tool
			// pins are per route and client); removed before the upstream.
			tx.client = v
			hs.Remove(k)
		case "upgrade":
			websocket = websocket || strings.Contains(strings.ToLower(v), "websocket")
		default:
			// A client must not be able to forge our decision headers upstream.
			if strings.HasPrefix(k, "x-llmfw-") {
				hs.Remove(k)
			}
		}
	}
	tx.api = codec.ForRequest(tx.path, tx.req.contentType)

	if websocket && tx.policy.Mode != pipeline.Off {
		// Frames after the upgrade are never sent to us (the Realtime
		// API): the policy decides at the headers (server_side.websocket).
		if v, refused := tx.webSocket(); refused {
			return tx.refuse(&tx.req, v)
		}
	}
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
		hs.Set(HeaderDecision, v.Label())
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
		tx.req.mode.known && codec.IsEventStream(d.contentType) && (d.encoding == "" || equalFoldTrim(d.encoding, "identity"))
}

// webSocket applies the policy's server_side.websocket action to an
// upgrade request: a refusal, or nothing (allowed and flagged upgrades are
// counted, and flagged ones logged as a decision).
func (tx *transaction) webSocket() (*pipeline.Verdict, bool) {
	in := pipeline.Input{Direction: pipeline.Request, Route: tx.selector.RouteName,
		Meta: pipeline.Meta{ServerSide: []pipeline.ServerSide{{Field: "upgrade", Kind: pipeline.ServerWebSocket}}}}
	v := tx.s.engine.Evaluate(tx.ctx, tx.policy, &in)
	v.DecisionID = tx.id
	if v.Action == pipeline.Block {
		return &v, true
	}
	if len(v.Rules()) > 0 {
		tx.audit(pipeline.Request, &v)
	}
	return nil, false
}
