package extproc

// The body phases: a body is held back (STREAMED), refused (partial or too
// large), or scanned whole by the one scan step (internal/scan), and the
// reply carries what the step says goes on.

import (
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llm-firewall/llm-firewall/internal/scan"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

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
			v := tx.s.engine.FailClosed(tx.policy, d.dir, pipeline.CauseTooLarge, scan.TooLargeStatus(d.dir),
				d.dir.String()+" body exceeds the proxy buffer and cannot be scanned whole")
			return tx.refuse(d, &v)
		}
		// STREAMED (or an Envoy that did not announce its mode, when that is
		// allowed): hold every chunk back until the whole body is scanned.
		n := len(d.held) + len(chunk)
		if n > tx.s.cfg.MaxBodyBytes {
			v := tx.s.step.TooLarge(tx.policy, d.dir, n)
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
	// Decoding and parsing cost several times the body; bound it globally.
	work := decodeCost * int64(len(raw))
	if !tx.charge(work) {
		return tx.overBudget(d)
	}
	defer tx.releaseCharge(work)
	if !tx.s.acquireScan(tx.ctx) {
		return tx.scanOverload(d)
	}
	defer tx.s.releaseScan()

	out := bodyOut{held: held, original: raw, setLength: true}
	ctx, cancel := tx.s.budgetCtx(tx.ctx)
	r := tx.s.step.Scan(ctx, tx.policy, &scan.Message{
		Direction: d.dir, API: tx.api, ContentType: d.contentType, Encoding: d.encoding,
		Status: tx.status, Body: raw, Route: tx.selector.RouteName, ID: tx.id, Client: tx.client,
		// Headers are still paused only in BUFFERED modes; in STREAMED they
		// have left, so content-encoding can no longer be dropped.
		EncodingFixed: out.headersGone(d), PlantCanary: true,
	}, &tx.conv)
	cancel()
	v := r.Verdict
	v.DecisionID = tx.id
	d.verdict, d.segs = &v, r.Segments()
	if d.dir == pipeline.Request && r.Doc != nil {
		tx.reqStream = r.Stream()
	}
	if r.Restored > 0 {
		tx.s.metrics.restored(r.Restored)
	}
	if r.Unrestored > 0 {
		tx.s.metrics.unrestored(r.Unrestored)
	}
	if v.Action == pipeline.Block {
		return tx.refuse(d, &v)
	}
	out.body, out.decoded = r.Body, r.Decoded
	return tx.answer(d, ph, &v, out)
}

// bodyOut is what the reply to a body message must carry besides the
// verdict.
type bodyOut struct {
	// body is the body to send on when it changed; nil: as it came.
	body []byte
	// decoded says body is content-decoded (content-encoding goes).
	decoded bool
	// held says the body's earlier chunks were held back and cleared: the
	// reply must carry the whole body (original when it did not change),
	// and its headers have left.
	held     bool
	original []byte
	// streamed says the body goes out as it arrives (an event stream
	// through the guard): its headers have left.
	streamed bool
	// setLength writes content-length for a changed body while the headers
	// are still paused.
	setLength bool
}

// headersGone says no header mutation can go with the reply: the headers
// left before the body (STREAMED, held chunks).
func (o *bodyOut) headersGone(d *direction) bool {
	return o.held || o.streamed || d.mode.is(filterv3.ProcessingMode_STREAMED)
}

// answer records the decision and builds the body reply: the changed or
// released body, and, while the headers are still paused, the decision
// headers with the framing of a changed body.
func (tx *transaction) answer(d *direction, ph phase, v *pipeline.Verdict, o bodyOut) *extprocv3.ProcessingResponse {
	tx.audit(d.dir, v)
	md := decisionMetadata(d.dir, v)
	if o.headersGone(d) {
		b := o.body
		if b == nil && o.held {
			b = o.original // the earlier chunks were cleared: release them all now
		}
		if b == nil {
			return continueReply(ph, nil, nil, md)
		}
		// Envoy drops content-length itself when a streamed body changes.
		return continueReply(ph, nil, replaceBody(b), md)
	}
	hs := &headerSet{}
	var bm *extprocv3.BodyMutation
	if o.body != nil {
		if o.decoded {
			hs.Remove("content-encoding")
		}
		if o.setLength {
			hs.Set("content-length", itoa(len(o.body)))
		}
		bm = replaceBody(o.body)
	}
	tx.decisionHeaders(hs, d, v)
	return continueReply(ph, hs, bm, md)
}
