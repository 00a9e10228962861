package extproc

import (
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llm-firewall/llm-firewall/internal/codec"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// Header and metadata names the firewall writes.
const (
	HeaderDecision   = "x-llmfw-decision"    // allow | redact | block | shadow
	HeaderDecisionID = "x-llmfw-decision-id" // joins access logs with the audit log
	HeaderPolicy     = "x-llmfw-policy"      // gRPC initial-metadata key that selects a policy
	MetadataNS       = "llmfw"               // dynamic-metadata namespace (receiving_namespaces)
)

// phase names one ext_proc message kind; it labels metrics and picks the
// oneof of the reply.
type phase string

const (
	phaseRequestHeaders   phase = "request_headers"
	phaseRequestBody      phase = "request_body"
	phaseRequestTrailers  phase = "request_trailers"
	phaseResponseHeaders  phase = "response_headers"
	phaseResponseBody     phase = "response_body"
	phaseResponseTrailers phase = "response_trailers"
)

// headerSet collects header mutations; values go in raw_value only.
type headerSet struct {
	set    []*corev3.HeaderValueOption
	remove []string
}

func (h *headerSet) Set(k, v string) {
	h.set = append(h.set, &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: k, RawValue: []byte(v)},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	})
}

func (h *headerSet) Remove(k string) { h.remove = append(h.remove, k) }

func (h *headerSet) mutation() *extprocv3.HeaderMutation {
	if h == nil || (len(h.set) == 0 && len(h.remove) == 0) {
		return nil
	}
	return &extprocv3.HeaderMutation{SetHeaders: h.set, RemoveHeaders: h.remove}
}

// continueReply answers a message of phase ph with CONTINUE, optional header
// mutations and an optional body mutation.
func continueReply(ph phase, hs *headerSet, body *extprocv3.BodyMutation, md *structpb.Struct) *extprocv3.ProcessingResponse {
	common := &extprocv3.CommonResponse{HeaderMutation: hs.mutation(), BodyMutation: body}
	r := &extprocv3.ProcessingResponse{DynamicMetadata: md}
	switch ph {
	case phaseRequestHeaders:
		r.Response = &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: common}}
	case phaseResponseHeaders:
		r.Response = &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: common}}
	case phaseRequestBody:
		r.Response = &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: common}}
	case phaseResponseBody:
		r.Response = &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: common}}
	case phaseRequestTrailers:
		r.Response = &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{HeaderMutation: hs.mutation()}}
	case phaseResponseTrailers:
		r.Response = &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{HeaderMutation: hs.mutation()}}
	}
	return r
}

func replaceBody(b []byte) *extprocv3.BodyMutation {
	if b == nil {
		b = []byte{}
	}
	return &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: b}}
}

func clearBody() *extprocv3.BodyMutation {
	return &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}
}

// immediateReply is a local reply: the provider-shaped JSON error with an
// explicit status (Envoy turns a missing status into 200).
func immediateReply(api codec.API, v *pipeline.Verdict, md *structpb.Struct) *extprocv3.ProcessingResponse {
	status := v.Status
	if status < 400 || status > 599 {
		status = 500
	}
	code := v.ErrorCode()
	msg := v.Reason
	if msg == "" {
		msg = "request refused by llm-firewall"
	}
	msg = "llm-firewall: " + msg + " (decision " + v.DecisionID + ")"
	body := codec.ErrorBody(api, status, code, msg)
	hs := &headerSet{}
	hs.Set("content-type", "application/json")
	hs.Set(HeaderDecision, "block")
	hs.Set(HeaderDecisionID, v.DecisionID)
	if v.Cause == pipeline.CauseOverload {
		// Overload is temporary: clients and gateways may retry elsewhere.
		hs.Set("retry-after", "1")
	}
	details := code
	if rules := v.Rules(); len(rules) > 0 && v.Cause == pipeline.CauseNone {
		details += ":" + rules[0]
	}
	return &extprocv3.ProcessingResponse{
		Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(status)},
			Headers: hs.mutation(),
			Body:    body,
			Details: details,
		}},
		DynamicMetadata: md,
	}
}

// decisionMetadata is written to dynamic metadata namespace "llmfw" so access
// logs can print %DYNAMIC_METADATA(llmfw:decision_id)%.
func decisionMetadata(dir pipeline.Direction, v *pipeline.Verdict) *structpb.Struct {
	rules := ""
	for i, r := range v.Rules() {
		if i > 0 {
			rules += ","
		}
		rules += r
	}
	fields := map[string]*structpb.Value{
		"decision_id":    structpb.NewStringValue(v.DecisionID),
		"action":         structpb.NewStringValue(v.Label()),
		"direction":      structpb.NewStringValue(dir.String()),
		"policy":         structpb.NewStringValue(v.Policy),
		"policy_version": structpb.NewStringValue(v.PolicyVersion),
	}
	if rules != "" {
		fields["rules"] = structpb.NewStringValue(rules)
	}
	if v.Cause != pipeline.CauseNone {
		fields["cause"] = structpb.NewStringValue(string(v.Cause))
	}
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		MetadataNS: structpb.NewStructValue(&structpb.Struct{Fields: fields}),
	}}
}

func itoa(n int) string { return strconv.Itoa(n) }
