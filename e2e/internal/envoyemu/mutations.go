package envoyemu

// What the processor's replies do to the transaction: header and body
// mutations, immediate responses, local error replies.

import (
	"net/http"
	"strconv"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

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
